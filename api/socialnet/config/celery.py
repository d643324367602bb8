"""The Celery app. Queues, routes and reliability settings live in settings.py under CELERY_*."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("socialnet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in ("default", "follows", "media")]
app.autodiscover_tasks()
