from django.apps import AppConfig

from apps.images.policy import PostVisibilityRule, register_post_visibility_rule


class PostsConfig(AppConfig):
    name = "apps.posts"

    def ready(self):
        # Images ask posts' visibility rule through this registration (images sits below posts in the layers).
        from .selectors import post_may_open, post_public_q

        register_post_visibility_rule(PostVisibilityRule(public_q=post_public_q, may_open=post_may_open))
