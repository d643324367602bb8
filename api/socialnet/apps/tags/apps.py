from django.apps import AppConfig


class TagsConfig(AppConfig):
    name = "apps.tags"

    def ready(self):
        # posts and comments sit below tags: they run these hooks inside the transaction that writes text, so the
        # rows exist in the response that created the post, and they never import tags (apps.common.hooks).
        from apps.posts.hooks import comment_text_written, post_text_written

        from .services import comment_text_index, post_text_index

        post_text_written.register(post_text_index)
        comment_text_written.register(comment_text_index)
