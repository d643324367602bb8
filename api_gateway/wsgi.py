"""WSGI entry point: `gunicorn wsgi:app -c gunicorn.conf.py` from this directory."""

from app import create_app

app = create_app()
