"""What happens to posts, for the apps above to react to (see apps.common.signals for the rules).

Sent by apps.posts.services inside the transaction, with ids only. The two ways a post leaves: *deleted* (by its
author, or by a moderator through the API: the row is gone) and *removed* (by moderation: hidden everywhere, the row
kept for the record).
"""

from django.dispatch import Signal

# A post was published. kwargs: post_id, author_id.
post_created = Signal()
# A post was deleted; its row is gone. kwargs: post_id, author_id.
post_deleted = Signal()
# A post was removed by moderation (sent once, on the first removal). kwargs: post_id, author_id.
post_removed = Signal()
