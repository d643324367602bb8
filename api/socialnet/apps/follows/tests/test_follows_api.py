"""Follow/unfollow, followers/following lists, is_following on profiles, suggestions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.follows.models import Follow
from apps.users.models import User
from apps.users.tests.factories import UserFactory

from .factories import FollowFactory

pytestmark = pytest.mark.django_db


def with_avatar(user):
    """Profiles in lists carry their avatar: query-count tests must include them (no per-row image query). The image
    row is made through the relation User has from the images app (follows sits below images)."""
    image = user.images.create(status="ready", source_format="jpeg", original_ext="jpg", width=640, height=480)
    User.objects.filter(pk=user.pk).update(avatar=image)
    return user


def counts(user):
    user.refresh_from_db()
    return user.followers_count, user.following_count


def test_follow_201_then_200_and_counters(client_for, user, other_user, django_capture_on_commit_callbacks):
    client = client_for(user)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/users/{other_user.username}/follow/")
    assert first.status_code == 201
    assert first.json()["is_following"] is True
    assert first.json()["followers_count"] == 1
    assert client.post(f"/users/{other_user.username.upper()}/follow/").status_code == 200
    assert Follow.objects.filter(follower=user, followee=other_user).count() == 1
    assert counts(other_user) == (1, 0)
    assert counts(user) == (0, 1)


def test_cannot_follow_yourself(client_for, user):
    response = client_for(user).post(f"/users/{user.username}/follow/")
    assert response.status_code == 400
    assert "yourself" in response.json()["detail"]
    assert counts(user) == (0, 0)


def test_follow_absent_or_deactivated_user_is_404(client_for, user):
    gone = UserFactory(is_active=False)
    client = client_for(user)
    assert client.post("/users/nobody-here/follow/").status_code == 404
    assert client.post(f"/users/{gone.username}/follow/").status_code == 404
    assert not Follow.objects.exists()


def test_follow_needs_a_token_and_write_scope(api_client, client_for, user, other_user):
    assert api_client.post(f"/users/{other_user.username}/follow/").status_code == 401
    assert client_for(user, scope="read").post(f"/users/{other_user.username}/follow/").status_code == 403
    assert not Follow.objects.exists()


def test_unfollow_is_idempotent_and_never_negative(client_for, user, other_user):
    client = client_for(user)
    client.post(f"/users/{other_user.username}/follow/")
    assert client.delete(f"/users/{other_user.username}/follow/").status_code == 204
    assert client.delete(f"/users/{other_user.username}/follow/").status_code == 204
    assert counts(other_user) == (0, 0)
    assert counts(user) == (0, 0)
    assert not Follow.objects.exists()


def test_profile_is_following(client_for, api_client, user, other_user):
    client = client_for(user)
    assert client.get(f"/users/{other_user.username}/").json()["is_following"] is False
    client.post(f"/users/{other_user.username}/follow/")
    assert client.get(f"/users/{other_user.username}/").json()["is_following"] is True
    assert api_client.get(f"/users/{other_user.username}/").json()["is_following"] is False
    # Someone else's follows say nothing about mine.
    assert client_for(UserFactory()).get(f"/users/{other_user.username}/").json()["is_following"] is False


def test_followers_and_following_lists_newest_first(api_client, client_for, user):
    star = UserFactory()
    fans = UserFactory.create_batch(3)
    for fan in fans:
        FollowFactory(follower=fan, followee=star)
    FollowFactory(follower=user, followee=fans[1])
    FollowFactory(follower=UserFactory(is_active=False), followee=star)  # gone accounts are not listed
    body = client_for(user).get(f"/users/{star.username}/followers/").json()
    assert [u["username"] for u in body["results"]] == [f.username for f in reversed(fans)]
    assert [u["is_following"] for u in body["results"]] == [False, True, False]
    assert "email" not in body["results"][0]
    following = api_client.get(f"/users/{fans[0].username}/following/").json()
    assert [u["username"] for u in following["results"]] == [star.username]
    assert following["results"][0]["is_following"] is False
    assert api_client.get("/users/nobody-here/followers/").status_code == 404


def test_follow_lists_paginate(api_client):
    star = UserFactory()
    fans = UserFactory.create_batch(5)
    for fan in fans:
        FollowFactory(follower=fan, followee=star)
    seen, url = [], f"/users/{star.username}/followers/?page_size=2"
    while url:
        body = api_client.get(url).json()
        seen += [u["username"] for u in body["results"]]
        url = body["next"]
    assert seen == [f.username for f in reversed(fans)]


@pytest.mark.parametrize("side", ["followers", "following"])
@pytest.mark.parametrize("params", [{"cursor": "garbage"}, {"cursor": "cD1hYmM="}, {"page_size": "101"}])
def test_follow_lists_reject_malformed_pagination_with_400(api_client, user, side, params):
    assert api_client.get(f"/users/{user.username}/{side}/", params).status_code == 400


@pytest.mark.parametrize("side", ["followers", "following"])
def test_follow_lists_query_count_is_constant(client_for, user, side, django_assert_num_queries):
    star = UserFactory()
    client = client_for(user)

    def add(n):
        for u in UserFactory.create_batch(n):
            with_avatar(u)
            if side == "followers":
                FollowFactory(follower=u, followee=star)
            else:
                FollowFactory(follower=star, followee=u)

    add(1)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(f"/users/{star.username}/{side}/").json()["results"]) == 1
    add(60)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(client.get(f"/users/{star.username}/{side}/?page_size=50").json()["results"]) == 50


def test_suggestions_friends_of_friends_first_then_popular(client_for, user):
    friend_a, friend_b = UserFactory(), UserFactory()
    FollowFactory(follower=user, followee=friend_a)
    FollowFactory(follower=user, followee=friend_b)
    mutual2, mutual1 = UserFactory(), UserFactory()
    FollowFactory(follower=friend_a, followee=mutual2)
    FollowFactory(follower=friend_b, followee=mutual2)
    FollowFactory(follower=friend_a, followee=mutual1)
    FollowFactory(follower=friend_a, followee=friend_b)  # already followed: never suggested
    FollowFactory(follower=friend_b, followee=user)  # me: never suggested
    popular = UserFactory(followers_count=500)
    UserFactory(followers_count=900, is_active=False)
    body = client_for(user).get("/users/suggestions/?page_size=3").json()
    assert [u["username"] for u in body["results"]] == [mutual2.username, mutual1.username, popular.username]
    assert all(u["is_following"] is False for u in body["results"])


def test_suggestions_never_include_you_or_people_you_follow(client_for, user):
    followed = UserFactory.create_batch(3, followers_count=1000)
    for f in followed:
        FollowFactory(follower=user, followee=f)
    UserFactory.create_batch(4)
    user.followers_count = 10_000
    user.save(update_fields=["followers_count"])
    names = {u["username"] for u in client_for(user).get("/users/suggestions/?page_size=100").json()["results"]}
    assert user.username not in names
    assert not names & {f.username for f in followed}
    assert len(names) == 4  # exactly the four strangers


def test_suggestions_needs_token_and_valid_size(api_client, client_for, user):
    assert api_client.get("/users/suggestions/").status_code == 401
    assert client_for(user).get("/users/suggestions/?page_size=0").status_code == 400
    assert client_for(user).get("/users/suggestions/?page_size=x").status_code == 400


def test_suggestions_query_count_is_constant(client_for, user, django_assert_num_queries):
    friend = UserFactory()
    FollowFactory(follower=user, followee=friend)
    FollowFactory(follower=friend, followee=UserFactory())
    client = client_for(user)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/users/suggestions/?page_size=1").json()["results"]) == 1
    for u in UserFactory.create_batch(60):
        with_avatar(u)
        FollowFactory(follower=friend, followee=u)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(client.get("/users/suggestions/?page_size=50").json()["results"]) == 50


def test_names_in_unfollow_block_and_unblock_paths_ignore_case(client_for, user, other_user):
    """Every path that takes a username finds the account whatever the case (through the lower(username) index)."""
    client = client_for(user)
    assert client.post(f"/users/{other_user.username}/follow/").status_code == 201
    assert client.delete(f"/users/{other_user.username.upper()}/follow/").status_code == 204
    assert not Follow.objects.filter(follower=user, followee=other_user).exists()
    assert client.post(f"/users/{other_user.username.upper()}/block/").status_code == 201
    assert user.blocks_made.filter(blocked=other_user).exists()
    assert client.delete(f"/users/{other_user.username.title()}/block/").status_code == 204
    assert not user.blocks_made.filter(blocked=other_user).exists()
    assert client.delete("/users/nobody_at_all/block/").status_code == 404
