"""What happens to comments, for the apps above to react to (see apps.common.signals for the rules)."""

from django.dispatch import Signal

# A comment or a reply was written. kwargs: comment_id.
comment_created = Signal()
