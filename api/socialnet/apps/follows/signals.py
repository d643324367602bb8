"""What happens to the follow graph, for the apps above to react to (see apps.common.signals for the rules)."""

from django.dispatch import Signal

# `follower_id` follows `followee_id`. `created` is False when the follow already existed: a client retrying, whose
# first request's work may have been lost to a broker outage, so idempotent work (a timeline backfill) is redone
# while one-off work (a notification) is not. kwargs: follower_id, followee_id, created.
followed = Signal()
# `follower_id` stopped following `followee_id`. kwargs: follower_id, followee_id.
unfollowed = Signal()
# `requester_id` asked to follow the private account `target_id` (a new request only). kwargs: requester_id,
# target_id.
follow_requested = Signal()
