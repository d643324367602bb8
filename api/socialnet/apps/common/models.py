from django.db import models


class TimeStampedModel(models.Model):
    """Base for every model whose rows users create: when it was made and last changed."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class OutboxEvent(models.Model):
    """Work a task must eventually do, written in the same transaction as the change that calls for it, so it
    exists exactly when the change does. Relayed to Celery after commit and by the sweep; the task deletes it once
    it has run (apps.common.outbox)."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the sweep may publish it (again): a few seconds after commit, then backing off. Null once given up on
    # (OUTBOX_MAX_RELAYS): the row stays for an operator to read, and the sweep's index no longer finds it.
    relay_after = models.DateTimeField(null=True)
    relays = models.PositiveSmallIntegerField(default=0)  # how many times the sweep published it

    class Meta:
        indexes = [models.Index(fields=["relay_after"], name="outbox_relay_after")]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"
