"""What happens to likes, for the apps above to react to (see apps.common.signals for the rules)."""

from django.dispatch import Signal

# A user liked a post for the first time (a repeated like sends nothing). kwargs: like_id.
post_liked = Signal()
