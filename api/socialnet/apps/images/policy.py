"""Who may see an image shown on a post is the posts app's visibility rule, and posts sits above images in the
layers. So posts registers its rule here at startup (`PostsConfig.ready()`), and images only asks: the rule is
written once, in apps.posts.selectors, and images never imports posts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q


@dataclass(frozen=True)
class PostVisibilityRule:
    # public_q(prefix): a filter on the rows whose post (reached through `prefix`, e.g. "post__") anyone, anonymous
    # included, may open. Images on such posts are public: served with plain, cacheable URLs.
    public_q: Callable[[str], Q]
    # may_open(viewer, post_id): whether `viewer` may see the post and its content (not locked premium).
    may_open: Callable[[object, int], bool]


_rule: PostVisibilityRule | None = None


def register_post_visibility_rule(rule: PostVisibilityRule) -> None:
    global _rule
    _rule = rule


def post_visibility_rule() -> PostVisibilityRule:
    if _rule is None:
        raise ImproperlyConfigured("No post visibility rule registered: is apps.posts in INSTALLED_APPS?")
    return _rule
