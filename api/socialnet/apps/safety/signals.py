"""What happens to blocks, for the apps above to react to (see apps.common.signals for the rules)."""

from django.dispatch import Signal

# `blocker_id` blocked `blocked_id`; the follows between them are already gone (same transaction). Also sent on a
# repeated block (`created` False): the idempotent reactions (timeline purges) are redone in case the first
# request's were lost to a broker outage. kwargs: blocker_id, blocked_id, created.
blocked = Signal()
