"""Cross-app events. A lower app must never import the apps that react to it (the layers in
docs/architecture.md), so when something happens that others care about, its service announces it:

- each app declares its events in `apps/<app>/signals.py` (custom `django.dispatch.Signal`s, ids only);
- the service sends them with `send_on_commit`, so nobody hears of a write that was rolled back;
- a reacting app connects receivers in `apps/<app>/receivers.py` (imported by its `AppConfig.ready()`), and a
  receiver only enqueues a task (`apps.common.tasks.enqueue`): the work runs on a queue, never in the request.
"""

from django.db import transaction
from django.dispatch import Signal


def send_on_commit(signal: Signal, *, sender, **ids) -> None:
    """Send `signal` once the current transaction commits (at once when there is none)."""
    transaction.on_commit(lambda: signal.send(sender=sender, **ids))
