from django.db.models import QuerySet

from apps.posts.models import Post

from .models import Like


def like_list_for_post(*, post: Post) -> QuerySet[Like]:
    """Likes of a post by accounts still active, newest first, with the liker joined (one query per page)."""
    return Like.objects.filter(post=post, user__is_active=True).select_related("user", "user__avatar").order_by("-id")
