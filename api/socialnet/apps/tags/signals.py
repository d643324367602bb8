"""What happens in tags, for the apps above to react to (see apps.common.signals for the rules)."""

from django.dispatch import Signal

# Users were newly mentioned in a post's or a comment's text (an edit sends only the names it added).
# kwargs: post_id (or None), comment_id (or None), user_ids (list of ints).
users_mentioned = Signal()
