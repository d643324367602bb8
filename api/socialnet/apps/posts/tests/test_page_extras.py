"""A post's images, tags and mentions come in the statement that reads the post (apps.posts.page_extras), in order,
and never for a post locked to the viewer."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.images.tests.helpers import ready_image
from apps.posts.selectors import post_get_visible, post_list_source, post_visible_queryset
from apps.posts.services import post_create
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rich(user, other_user):
    """A public and a premium post by `user`, each with two images, two tags and a mention of a third account."""
    mentioned = UserFactory(username="mentioned")
    posts = {}
    for visibility in ("public", "premium"):
        images = [ready_image(user).pk, ready_image(user).pk]
        text = f"{visibility} #Zeta #alpha @mentioned"
        posts[visibility] = post_create(author=user, text=text, visibility=visibility, image_ids=images)
        posts[visibility].image_ids = images
    return posts, mentioned


def _extras(item):
    """(tags, mention ids, image ids) of a list row or a post instance."""
    get = item.get if isinstance(item, dict) else lambda name: getattr(item, name)
    return get("tag_names"), [m["id"] for m in get("mention_cards")], [i.pk for i in get("ordered_images")]


def test_a_list_page_is_one_statement_with_its_extras_in_order(rich, other_user):
    posts, mentioned = rich
    for viewer in (AnonymousUser(), other_user):
        with CaptureQueriesContext(connection) as ctx:
            rows = {row["id"]: row for row in post_list_source(viewer=viewer).fetch()}
        assert len(ctx) == 1
        public = posts["public"]
        assert _extras(rows[public.pk]) == (["Zeta", "alpha"], [mentioned.pk], public.image_ids)


def test_posts_and_a_detail_are_one_statement_with_their_extras(rich, other_user):
    posts, mentioned = rich
    public = posts["public"]
    with CaptureQueriesContext(connection) as ctx:
        listed = {post.pk: post for post in post_visible_queryset(viewer=other_user)}
        detail = post_get_visible(viewer=other_user, post_id=public.pk, page_extras=True)
    assert len(ctx) == 2
    expected = (["Zeta", "alpha"], [mentioned.pk], public.image_ids)
    assert _extras(listed[public.pk]) == expected
    assert _extras(detail) == expected


def test_a_locked_post_comes_without_its_extras_and_opens_to_its_author(rich, user, other_user):
    posts, mentioned = rich
    premium = posts["premium"]
    for viewer in (AnonymousUser(), other_user):
        rows = {row["id"]: row for row in post_list_source(viewer=viewer).fetch()}
        assert rows[premium.pk]["is_locked"] and _extras(rows[premium.pk]) == ([], [], [])
        listed = {post.pk: post for post in post_visible_queryset(viewer=viewer)}
        assert _extras(listed[premium.pk]) == ([], [], [])
    rows = {row["id"]: row for row in post_list_source(viewer=user).fetch()}
    assert _extras(rows[premium.pk]) == (["Zeta", "alpha"], [mentioned.pk], premium.image_ids)
