from django.db.models import QuerySet

from apps.common.prepared import Param, PreparedSource
from apps.posts.models import Post
from apps.posts.selectors import Viewer
from apps.safety.selectors import hidden_accounts

from .models import Like


def like_list_for_post(*, viewer: Viewer, post: Post) -> PreparedSource:
    """Likes of a post by accounts still active and not behind a block with `viewer` (either way), with the liker
    joined: a prepared source for the pagination (newest first), one query per page."""
    hidden = hidden_accounts(viewer)

    def build() -> QuerySet[Like]:
        likes = Like.objects.filter(post_id=Param("post", post.pk), user__is_active=True)
        return hidden.exclude_from(likes, "user_id").select_related("user", "user__avatar")

    values = {"post": post.pk, **hidden.values()}
    return PreparedSource(key=("interactions.likes", hidden.shape), values=values, build=build)
