"""Mutes: the endpoints, what a mute hides (home, recommended and trending feeds; notifications when asked) and what
it does not (profile, /posts/, threads), and expiry without any job."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.comments.services import comment_create
from apps.common.redis import redis_client
from apps.follows.services import follow_create
from apps.interactions.services import like_create
from apps.posts.services import post_create
from apps.safety import selectors
from apps.safety.models import Mute
from apps.safety.services import mute_set
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_mute_201_update_200_unmute_204(client_for, user, other_user):
    client = client_for(user)
    first = client.post(f"/users/{other_user.username}/mute/", {}, format="json")
    assert first.status_code == 201
    assert first.json() == {
        "account": first.json()["account"],
        "notifications": True,
        "expires_at": None,
    }
    assert first.json()["account"]["username"] == other_user.username
    again = client.post(
        f"/users/{other_user.username}/mute/", {"duration_seconds": 3600, "notifications": False}, format="json"
    )
    assert again.status_code == 200
    assert again.json()["notifications"] is False
    mute = Mute.objects.get(muter=user, muted=other_user)
    assert timedelta(minutes=59) < mute.expires_at - timezone.now() <= timedelta(hours=1)
    assert client.delete(f"/users/{other_user.username}/mute/").status_code == 204
    assert client.delete(f"/users/{other_user.username}/mute/").status_code == 204
    assert not Mute.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"duration_seconds": -5},
        {"duration_seconds": 0},
        {"duration_seconds": 10**30},
        {"duration_seconds": 367 * 86400},
        {"duration_seconds": "soon"},
        {"duration_seconds": 1.5},
        {"duration_seconds": True},
        {"duration_seconds": [1]},
        {"notifications": "perhaps"},
        {"notifications": None},
    ],
)
def test_bad_mute_input_is_400_and_changes_nothing(client_for, user, other_user, body):
    mute_set(muter=user, muted=other_user, duration=None, notifications=True)
    response = client_for(user).post(f"/users/{other_user.username}/mute/", body, format="json")
    assert response.status_code == 400, response.content
    mute = Mute.objects.get()
    assert (mute.expires_at, mute.notifications) == (None, True)


def test_mute_yourself_unknown_or_anonymous(api_client, client_for, user, other_user):
    client = client_for(user)
    assert client.post(f"/users/{user.username}/mute/", {}, format="json").status_code == 400
    assert client.post("/users/nobody_here/mute/", {}, format="json").status_code == 404
    assert client.delete("/users/nobody_here/mute/").status_code == 404
    assert api_client.post(f"/users/{other_user.username}/mute/", {}, format="json").status_code == 401
    assert api_client.get("/users/me/mutes/").status_code == 401
    assert client.post(f"/users/{user.username}/mute/", "[", content_type="application/json").status_code == 400
    assert not Mute.objects.exists()


def test_my_mutes_lists_only_mine_in_force(client_for, user, other_user):
    followed, expired, timed = UserFactory(), UserFactory(), UserFactory()
    follow_create(follower=user, followee=followed)
    mute_set(muter=user, muted=other_user)
    mute_set(muter=user, muted=followed, notifications=False)
    mute_set(muter=user, muted=timed, duration=timedelta(days=1))
    mute_set(muter=user, muted=expired, duration=timedelta(seconds=5))
    Mute.objects.filter(muted=expired).update(expires_at=timezone.now() - timedelta(seconds=1))
    mute_set(muter=other_user, muted=user)  # someone muting me: never shown to me
    body = client_for(user).get("/users/me/mutes/").json()
    rows = body["results"]
    assert [r["account"]["username"] for r in rows] == [timed.username, followed.username, other_user.username]
    assert rows[1]["notifications"] is False and rows[1]["account"]["is_following"] is True
    assert rows[0]["expires_at"] is not None and rows[2]["expires_at"] is None


def test_mutes_are_not_in_the_admin(admin_user):
    from django.test import Client

    staff = Client()
    staff.force_login(admin_user)
    assert staff.get("/admin/safety/mute/").status_code == 404
    assert "mute" not in staff.get("/admin/").content.decode().lower()


@pytest.fixture
def scene(django_capture_on_commit_callbacks):
    """`me` follows `loud` and `friend`; `friend` liked `loud`'s post (social proof for recommendations), which is
    engaging enough to trend; `loud` commented on `friend`'s post and liked `me`'s."""
    me, loud, friend = UserFactory(), UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        follow_create(follower=me, followee=loud)
        follow_create(follower=me, followee=friend)
        loud_post = post_create(author=loud, text="loud post")
        friends_post = post_create(author=friend, text="friend post")
        mine = post_create(author=me, text="my post")
        like_create(user=friend, post=loud_post)
        like_create(user=UserFactory(), post=loud_post)
        comment = comment_create(post=friends_post, author=loud, text="loud comment")
        like_create(user=loud, post=mine)
    return me, loud, friend, loud_post, friends_post, comment


def test_muted_author_leaves_feeds_but_stays_elsewhere(client_for, scene):
    me, loud, friend, loud_post, friends_post, comment = scene
    client = client_for(me)
    assert loud_post.pk in ids(client.get("/feed/"))
    assert loud_post.pk in ids(client.get("/feed/recommended/"))
    assert loud_post.pk in ids(client.get("/feed/trending/"))
    assert client.post(f"/users/{loud.username}/mute/", {"notifications": False}, format="json").status_code == 201
    assert loud_post.pk not in ids(client.get("/feed/"))
    assert friends_post.pk in ids(client.get("/feed/"))
    assert loud_post.pk not in ids(client.get("/feed/recommended/"))
    assert loud_post.pk not in ids(client.get("/feed/trending/"))
    # Not a block: still reachable, and their comments stay in threads.
    assert client.get(f"/users/{loud.username}/").status_code == 200
    assert client.get(f"/posts/{loud_post.pk}/").status_code == 200
    assert loud_post.pk in ids(client.get("/posts/"))
    assert comment.pk in ids(client.get(f"/posts/{friends_post.pk}/comments/"))
    assert [n["actor"]["username"] for n in client.get("/notifications/").json()["results"]] == [loud.username]
    # Others are not affected by my mute.
    assert loud_post.pk in ids(client_for(friend).get("/feed/trending/"))


def test_mute_with_notifications_hides_their_notifications(client_for, scene):
    me, loud, *_ = scene
    client = client_for(me)
    assert client.get("/notifications/unread_count/").json()["count"] == 1
    client.post(f"/users/{loud.username}/mute/", {}, format="json")
    assert client.get("/notifications/").json()["results"] == []
    assert client.get("/notifications/unread_count/").json()["count"] == 0
    client.delete(f"/users/{loud.username}/mute/")
    assert client.get("/notifications/unread_count/").json()["count"] == 1


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_a_timed_mute_ends_by_itself(client_for, scene, warm):
    me, loud, _, loud_post, *_ = scene
    client = client_for(me)
    client.post(f"/users/{loud.username}/mute/", {"duration_seconds": 1}, format="json")
    redis_client().delete(f"safety:sets:{me.pk}")  # the mute left a tombstone
    if warm:  # cached with its expiry: it must end there too, with nobody touching the cache
        assert selectors.safety_sets_rebuild(user_id=me.pk)
        assert loud.pk in selectors.muted_accounts(me).ids
    assert loud_post.pk not in ids(client.get("/feed/"))
    time.sleep(1.1)
    assert Mute.objects.exists()  # no job ran: the row is still there
    assert loud_post.pk in ids(client.get("/feed/"))
    assert client.get("/users/me/mutes/").json()["results"] == []
    # Muting again after expiry is a new mute.
    assert client.post(f"/users/{loud.username}/mute/", {}, format="json").status_code == 201
