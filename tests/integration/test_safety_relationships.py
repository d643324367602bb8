"""GET /users/relationships/: one row per known active account asked about, in order, in one query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.follows.services import follow_create
from apps.safety.services import block_create, mute_set
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FALSE = {"following": False, "followed_by": False, "requested": False, "blocking": False, "blocked_by": False}


def rel(client, names):
    response = client.get("/users/relationships/", {"usernames": names})
    assert response.status_code == 200, response.content
    return response.json()


def test_each_relationship(client_for, user):
    followed, follower, blocked, blocker, muted, stranger = (UserFactory() for _ in range(6))
    closed = UserFactory(is_active=False)
    follow_create(follower=user, followee=followed)
    follow_create(follower=follower, followee=user)
    block_create(blocker=user, blocked=blocked)
    block_create(blocker=blocker, blocked=user)
    mute_set(muter=user, muted=muted)
    mute_set(muter=user, muted=followed)
    names = [followed, follower, blocked, blocker, muted, stranger]
    asked = ",".join([n.username.upper() if i % 2 else n.username for i, n in enumerate(names)])
    body = rel(client_for(user), f"{asked},nobody_here,{closed.username},{followed.username}")
    assert [row["username"] for row in body] == [n.username for n in names]
    rows = {row.pop("username"): row for row in body}
    assert rows[followed.username] == {**FALSE, "following": True, "muting": True}
    assert rows[follower.username] == {**FALSE, "followed_by": True, "muting": False}
    assert rows[blocked.username] == {**FALSE, "blocking": True, "muting": False}
    assert rows[blocker.username] == {**FALSE, "blocked_by": True, "muting": False}
    assert rows[muted.username] == {**FALSE, "muting": True}
    assert rows[stranger.username] == {**FALSE, "muting": False}


def test_an_expired_mute_is_not_muting(client_for, user, other_user):
    mute = mute_set(muter=user, muted=other_user)[0]
    type(mute).objects.filter(pk=mute.pk).update(expires_at=mute.created_at)
    assert rel(client_for(user), other_user.username)[0]["muting"] is False


def test_one_query_for_fifty(client_for, user):
    client = client_for(user)
    one = UserFactory()
    with CaptureQueriesContext(connection) as single:
        assert len(rel(client, one.username)) == 1
    many = [UserFactory() for _ in range(49)]
    for other in many[:10]:
        follow_create(follower=user, followee=other)
    with CaptureQueriesContext(connection) as fifty:
        assert len(rel(client, ",".join(u.username for u in [one, *many]))) == 50
    assert len(fifty) == len(single)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"usernames": ""},
        {"usernames": " , ,"},
        {"usernames": ",".join(f"name{i}" for i in range(51))},
        {"usernames": "x" * 100000},
    ],
)
def test_bad_queries_are_400(client_for, user, params):
    response = client_for(user).get("/users/relationships/", params)
    assert response.status_code == 400
    assert "usernames" in response.json()


def test_needs_a_token_and_is_not_a_profile(api_client, client_for, user):
    assert api_client.get("/users/relationships/", {"usernames": user.username}).status_code == 401
    # "relationships" is reserved: nobody can register it and shadow the path.
    response = api_client.post(
        "/users/create/",
        {"username": "Relationships", "email": "r@example.com", "password": "a-long-password-1"},
        format="json",
    )
    assert response.status_code == 400
    assert "username" in response.json()


def test_duplicates_and_odd_names_are_harmless(client_for, user, other_user):
    names = f"{other_user.username},{other_user.username.upper()},{'y' * 400},%,_,{user.username}"
    body = rel(client_for(user), names)
    assert [row["username"] for row in body] == [other_user.username, user.username]
