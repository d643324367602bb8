from django.db.models import QuerySet

from apps.posts.models import Post
from apps.posts.selectors import Viewer
from apps.safety.selectors import hidden_accounts

from .models import Like


def like_list_for_post(*, viewer: Viewer, post: Post) -> QuerySet[Like]:
    """Likes of a post by accounts still active and not behind a block with `viewer` (either way), newest first,
    with the liker joined (one query per page)."""
    likes = Like.objects.filter(post=post, user__is_active=True)
    return hidden_accounts(viewer).exclude_from(likes, "user_id").select_related("user", "user__avatar").order_by("-id")
