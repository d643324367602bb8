"""Cross-app events: the rules (this module holds no code; each app's `signals.py` points here).

A lower app must never import the apps that react to it (the layers in docs/architecture.md), so when something
happens that others care about, its service announces it:

- each app declares its events in `apps/<app>/signals.py` (custom `django.dispatch.Signal`s, ids only);
- the service sends them with `signal.send(...)` inside the transaction of the change (not after commit), so that
  what the receivers record commits or rolls back with it;
- a reacting app connects receivers in `apps/<app>/receivers.py` (imported by its `AppConfig.ready()`), and a
  receiver only calls `apps.common.tasks.enqueue`, which writes an outbox row in that transaction: the work runs on
  a queue once the change is committed, never in the request, and is not lost to a broker outage.
"""
