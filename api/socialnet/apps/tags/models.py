from django.conf import settings
from django.db import models


class Tag(models.Model):
    """A hashtag. `key` (NFKC, lower case) is what compares; `name` is how it was first written."""

    name = models.CharField(max_length=100)
    key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"#{self.name}"


class PostTag(models.Model):
    """A post carries a tag: written by apps.tags.services when the post's text is written, never read from text."""

    post = models.ForeignKey("posts.Post", on_delete=models.CASCADE, related_name="post_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="post_tags")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "tag"], name="post_tag_once")]
        # Tag timelines: a tag's posts newest first (post ids grow with time).
        indexes = [models.Index(fields=["tag", "-post"], name="post_tag_timeline")]

    def __str__(self) -> str:
        return f"Post {self.post_id} #{self.tag_id}"


class Mention(models.Model):
    """`@user` in a post's text (`post` set) or a comment's (`comment` set), exactly one of the two."""

    post = models.ForeignKey(
        "posts.Post", on_delete=models.CASCADE, null=True, blank=True, related_name="post_mentions"
    )
    comment = models.ForeignKey(
        "comments.Comment", on_delete=models.CASCADE, null=True, blank=True, related_name="comment_mentions"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentioned_in")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(post__isnull=False, comment__isnull=True)
                | models.Q(post__isnull=True, comment__isnull=False),
                name="mention_post_xor_comment",
            ),
            models.UniqueConstraint(
                fields=["post", "user"], condition=models.Q(post__isnull=False), name="mention_post_once"
            ),
            models.UniqueConstraint(
                fields=["comment", "user"], condition=models.Q(comment__isnull=False), name="mention_comment_once"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"@{self.user_id} in {'post ' + str(self.post_id) if self.post_id else 'comment ' + str(self.comment_id)}"
        )


class TagFollow(models.Model):
    """A user follows a tag: public posts carrying it are merged into their home feed at read time (apps.feed)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tag_follows")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tag"], name="tag_follow_once")]

    def __str__(self) -> str:
        return f"{self.user_id} follows #{self.tag_id}"
