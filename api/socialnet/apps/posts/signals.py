"""What happens to posts, for the apps above to react to (see apps.common.signals for the rules).

Sent by apps.posts.services after commit, with ids only.
"""

from django.dispatch import Signal

# A post was published. kwargs: post_id, author_id.
post_created = Signal()
# A post left every path: deleted (`post_delete`, the row is gone) or removed by moderation (`post_remove`, the
# row stays for the record). Readers react the same way to both. kwargs: post_id, author_id.
post_withdrawn = Signal()
