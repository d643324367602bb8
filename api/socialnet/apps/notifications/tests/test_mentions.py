"""Tags and mentions (apps.tags) are parsed once into rows when text is written; the post object carries them
(empty when locked), with a constant number of queries; mentions notify once, only users who can see the post."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.comments.services import comment_create, comment_update
from apps.follows.services import follow_create
from apps.notifications.models import Notification
from apps.posts.services import post_create, post_update
from apps.safety.services import block_create
from apps.tags.models import Mention, PostTag, Tag
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """run(fn, **kwargs): a service with its after-commit hooks (the notification tasks run eagerly)."""

    def call(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return call


def mentions_of(user):
    return list(
        Notification.objects.filter(recipient=user, type="mention").values_list("actor_id", "post_id", "comment_id")
    )


def test_the_201_carries_tags_and_mentions(client_for, user, other_user):
    response = client_for(user).post(
        "/posts/", {"text": f"Hello #Café and #café, @{other_user.username.upper()} @nobody_here"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["tags"] == ["Café"]
    assert body["mentions"] == [{"id": other_user.pk, "username": other_user.username}]
    assert Tag.objects.get().key == "café"


def test_tags_are_shown_as_first_written(client_for, user):
    client_for(user).post("/posts/", {"text": "#DjangoCon"}, format="json")
    body = client_for(user).post("/posts/", {"text": "#djangocon"}, format="json").json()
    assert body["tags"] == ["DjangoCon"]


def test_a_locked_post_carries_no_tags_or_mentions(client_for, user, other_user, premium_user):
    post = post_create(author=user, text=f"#secretword @{other_user.username}", visibility="premium")
    locked = client_for(other_user).get(f"/posts/{post.pk}/").json()
    assert (locked["locked"], locked["tags"], locked["mentions"]) == (True, [], [])
    unlocked = client_for(premium_user).get(f"/posts/{post.pk}/").json()
    assert unlocked["tags"] == ["secretword"]
    listed = client_for(other_user).get("/posts/").json()["results"][0]
    assert "secretword" not in str(listed)


def test_edits_update_tags_and_mentions_and_never_notify_twice(run, user, other_user):
    third = UserFactory()
    post = run(post_create, author=user, text=f"#one #two @{other_user.username}")
    assert mentions_of(other_user) == [(user.pk, post.pk, None)]

    run(post_update, post=post, actor=user, text=f"#two #three @{third.username}")
    assert sorted(PostTag.objects.filter(post=post).values_list("tag__name", flat=True)) == ["three", "two"]
    assert list(Mention.objects.filter(post=post).values_list("user_id", flat=True)) == [third.pk]
    assert mentions_of(third) == [(user.pk, post.pk, None)]

    run(post_update, post=post, actor=user, text=f"back to @{other_user.username} @{third.username}")
    assert not PostTag.objects.filter(post=post).exists()
    assert len(mentions_of(other_user)) == 1 and len(mentions_of(third)) == 1

    run(post_update, post=post, actor=user, visibility="followers")  # no text: tags untouched, nobody notified
    assert Mention.objects.filter(post=post).count() == 2


def test_who_is_mentioned_and_who_is_notified(run, user, other_user):
    blocked, blocker, stranger = UserFactory(), UserFactory(), UserFactory()
    block_create(blocker=user, blocked=blocked)
    block_create(blocker=blocker, blocked=user)
    follow_create(follower=other_user, followee=user)
    names = " ".join(f"@{u.username}" for u in (user, other_user, blocked, blocker, stranger))
    post = run(post_create, author=user, text=f"followers only {names}", visibility="followers")

    # A block means no mention (plain text); self is a mention, never a notification.
    assert set(Mention.objects.filter(post=post).values_list("user_id", flat=True)) == {
        user.pk,
        other_user.pk,
        stranger.pk,
    }
    assert mentions_of(other_user) == [(user.pk, post.pk, None)]
    assert mentions_of(stranger) == []  # cannot see a followers-only post
    assert mentions_of(user) == mentions_of(blocked) == mentions_of(blocker) == []


def test_comment_mentions_notify_once(run, user, other_user):
    post = run(post_create, author=user, text="a post")
    comment = run(comment_create, post=post, author=other_user, text=f"@{user.username} look")
    assert mentions_of(user) == [(other_user.pk, post.pk, comment.pk)]
    run(comment_update, comment=comment, actor=other_user, text=f"@{user.username} look again")
    assert len(mentions_of(user)) == 1
    assert Notification.objects.filter(recipient=user).count() == 2  # the comment and the mention


def test_mention_notifications_are_listed(run, client_for, user, other_user):
    run(post_create, author=user, text=f"hey @{other_user.username}")
    listed = client_for(other_user).get("/notifications/").json()["results"]
    assert [n["type"] for n in listed] == ["mention"]


def test_post_list_query_count_is_constant(client_for, user, other_user, django_assert_num_queries):
    client = client_for(other_user)
    post_create(author=user, text=f"#first @{other_user.username}")
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/posts/?page_size=50").json()["results"]) == 1
    for i in range(49):
        post_create(author=UserFactory(), text=f"#t{i} #shared @{user.username} @{other_user.username}")
    with django_assert_num_queries(len(one)):
        results = client.get("/posts/?page_size=50").json()["results"]
    assert len(results) == 50
    assert all(r["tags"] and r["mentions"] for r in results)


def test_a_closed_account_is_left_out_of_mentions_in_lists_and_on_the_detail_page(client_for, user, other_user):
    closed = UserFactory()
    post = post_create(author=user, text=f"#hi @{other_user.username} @{closed.username}")
    closed.is_active = False
    closed.save(update_fields=["is_active"])
    client = client_for(other_user)
    shown = [client.get(f"/posts/{post.pk}/").json(), client.get("/posts/").json()["results"][0]]
    for body in shown:
        assert body["id"] == post.pk
        assert body["mentions"] == [{"id": other_user.pk, "username": other_user.username}]
        assert body["tags"] == ["hi"]
