"""Private accounts: following is a request the owner approves; only approved followers (the owner and staff too)
see any of its posts; everyone else sees the profile and nothing else."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.feed.services import trending_refresh
from apps.follows.models import Follow, FollowRequest
from apps.follows.services import follow_or_request, follow_request_accept
from apps.interactions.services import like_create
from apps.notifications.models import Notification
from apps.posts.services import post_create
from apps.safety.services import block_create
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


@pytest.fixture
def oncommit(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def private(client_for, oncommit):
    owner = UserFactory(username="zz_private_owner", bio="my bio")
    with oncommit(execute=True):
        assert client_for(owner).patch("/users/me/", {"is_private": True}, format="json").status_code == 200
        post = post_create(author=owner, text="private words", visibility="public")
        like_create(user=UserFactory(), post=post)  # engaging: would trend if it were public
    owner.refresh_from_db()
    return owner, post


def test_profile_says_private_and_stays_visible(client_for, api_client, user, private):
    owner, _ = private
    for client in (client_for(user), api_client):
        body = client.get(f"/users/{owner.username}/").json()
        assert body["is_private"] is True and body["bio"] == "my bio" and body["posts_count"] == 1
    assert client_for(owner).get("/users/me/").json()["is_private"] is True


def test_nobody_but_approved_followers_sees_the_posts(client_for, api_client, user, moderator, private):
    owner, post = private
    trending_refresh()
    for client in (client_for(user), api_client):
        assert client.get(f"/posts/{post.pk}/").status_code == 404
        assert client.get(f"/posts/{post.pk}/comments/").status_code == 404
        assert client.get(f"/posts/{post.pk}/likes/").status_code == 404
        assert ids(client.get("/posts/", {"author": owner.username})) == []
        assert post.pk not in ids(client.get("/feed/trending/"))
        assert ids(client.get(f"/users/{owner.username}/followers/")) == []
        assert "private words" not in client.get("/posts/").content.decode()
    assert post.pk not in ids(client_for(user).get("/feed/recommended/"))
    assert client_for(user).post(f"/posts/{post.pk}/like/").status_code == 404
    # The owner and staff (moderation) do see them.
    assert client_for(owner).get(f"/posts/{post.pk}/").status_code == 200
    assert client_for(moderator).get(f"/posts/{post.pk}/").status_code == 200


def test_follow_becomes_a_request_and_accepting_opens_everything(client_for, user, private, oncommit):
    owner, post = private
    client = client_for(user)
    with oncommit(execute=True):
        first = client.post(f"/users/{owner.username}/follow/")
    assert first.status_code == 202
    assert first.json()["requested"] is True and first.json()["is_following"] is False
    assert client.post(f"/users/{owner.username}/follow/").status_code == 202
    assert FollowRequest.objects.count() == 1 and not Follow.objects.exists()
    assert Notification.objects.filter(recipient=owner, actor=user, type="follow_request").count() == 1
    rel = client.get("/users/relationships/", {"usernames": owner.username}).json()[0]
    assert rel["requested"] is True and rel["following"] is False
    owner_client = client_for(owner)
    assert [p["username"] for p in owner_client.get("/users/me/follow-requests/").json()["results"]] == [user.username]
    assert client.get(f"/posts/{post.pk}/").status_code == 404  # not yet

    client.get("/feed/")  # a complete timeline: the accept must backfill it
    with oncommit(execute=True):
        accepted = owner_client.post(f"/users/me/follow-requests/{user.username}/accept/")
    assert accepted.status_code == 200
    assert owner_client.post(f"/users/me/follow-requests/{user.username}/accept/").status_code == 404
    assert Follow.objects.filter(follower=user, followee=owner).count() == 1
    owner.refresh_from_db()
    assert owner.followers_count == 1
    assert client.get(f"/posts/{post.pk}/").status_code == 200
    assert post.pk in ids(client.get("/feed/"))
    assert ids(client.get(f"/users/{owner.username}/followers/")) == [user.pk]
    assert client.post(f"/users/{owner.username}/follow/").status_code == 200  # following already

    # Removing a follower: the posts leave their home feed.
    with oncommit(execute=True):
        assert owner_client.delete(f"/users/me/followers/{user.username}/").status_code == 204
    assert owner_client.delete(f"/users/me/followers/{user.username}/").status_code == 204
    assert not Follow.objects.exists()
    assert post.pk not in ids(client.get("/feed/"))
    assert client.get(f"/posts/{post.pk}/").status_code == 404


def test_follow_requests_say_whom_you_already_follow_in_constant_queries(client_for, private):
    owner, _ = private
    followed, stranger = UserFactory(), UserFactory()
    follow_or_request(follower=owner, followee=followed)  # public: a follow at once
    owner_client = client_for(owner)
    owner_client.get("/users/me/follow-requests/")  # warm: the token, the safety sets
    follow_or_request(follower=followed, followee=owner)
    with CaptureQueriesContext(connection) as one:
        listed = owner_client.get("/users/me/follow-requests/").json()["results"]
    assert [(p["username"], p["is_following"]) for p in listed] == [(followed.username, True)]
    follow_or_request(follower=stranger, followee=owner)
    for _ in range(3):
        follow_or_request(follower=UserFactory(), followee=owner)
    with CaptureQueriesContext(connection) as five:
        listed = owner_client.get("/users/me/follow-requests/").json()["results"]
    assert [(p["username"], p["is_following"]) for p in listed[:2]] == [
        (followed.username, True),
        (stranger.username, False),
    ]
    assert len(listed) == 5 and len(five.captured_queries) == len(one.captured_queries)


def test_reject_cancel_and_bad_requests(client_for, api_client, user, other_user, private):
    owner, _ = private
    owner_client = client_for(owner)
    follow_or_request(follower=user, followee=owner)
    follow_or_request(follower=other_user, followee=owner)
    assert owner_client.post(f"/users/me/follow-requests/{user.username}/reject/").status_code == 204
    assert owner_client.post(f"/users/me/follow-requests/{user.username}/reject/").status_code == 404
    assert owner_client.post("/users/me/follow-requests/nobody_here/accept/").status_code == 404
    assert owner_client.delete("/users/me/followers/nobody_here/").status_code == 404
    # Cancelling: DELETE follow drops the pending request.
    assert client_for(other_user).delete(f"/users/{owner.username}/follow/").status_code == 204
    assert not FollowRequest.objects.exists() and not Follow.objects.exists()
    assert client_for(owner).post(f"/users/{owner.username}/follow/").status_code == 400
    assert api_client.get("/users/me/follow-requests/").status_code == 401
    assert client_for(owner).patch("/users/me/", {"is_private": "maybe"}, format="json").status_code == 400


def test_going_public_accepts_pending_requests(client_for, user, other_user, private, oncommit):
    owner, post = private
    follow_or_request(follower=user, followee=owner)
    follow_or_request(follower=other_user, followee=owner)
    with oncommit(execute=True):
        assert client_for(owner).patch("/users/me/", {"is_private": False}, format="json").status_code == 200
    assert set(Follow.objects.filter(followee=owner).values_list("follower_id", flat=True)) == {
        user.pk,
        other_user.pk,
    }
    assert not FollowRequest.objects.exists()
    owner.refresh_from_db()
    assert owner.followers_count == 2
    assert client_for(UserFactory()).get(f"/posts/{post.pk}/").status_code == 200


def test_a_block_removes_follow_requests_both_ways(user, other_user):
    User.objects.filter(pk__in=[user.pk, other_user.pk]).update(is_private=True)
    user.refresh_from_db()
    other_user.refresh_from_db()
    follow_or_request(follower=user, followee=other_user)
    follow_or_request(follower=other_user, followee=user)
    assert FollowRequest.objects.count() == 2
    block_create(blocker=user, blocked=other_user)
    assert not FollowRequest.objects.exists()


def test_images_of_private_posts_are_not_public():
    from apps.posts.selectors import post_is_public, post_visible_queryset

    owner = UserFactory(is_private=True)
    post = post_create(author=owner, text="x")
    assert post_is_public(post_visible_queryset(viewer=owner).get(pk=post.pk)) is False


@pytest.mark.django_db(transaction=True)
def test_accepting_twice_at_once_makes_one_follow():
    for _ in range(5):
        owner, requester = UserFactory(is_private=True), UserFactory()
        follow_or_request(follower=requester, followee=owner)
        barrier, errors, done = threading.Barrier(2), [], []

        def accept(owner=owner, requester=requester, barrier=barrier, errors=errors, done=done):
            try:
                barrier.wait()
                follow_request_accept(target=owner, requester=requester)
                done.append(1)
            except Exception as exc:
                errors.append(type(exc).__name__)
            finally:
                connection.close()

        threads = [threading.Thread(target=accept) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(done) == 1 and errors == ["Http404"]
        assert Follow.objects.filter(follower=requester, followee=owner).count() == 1
        owner.refresh_from_db()
        requester.refresh_from_db()
        assert (owner.followers_count, requester.following_count) == (1, 1)


def test_anonymous_client_is_plain():
    assert APIClient().get("/users/me/follow-requests/").status_code == 401
