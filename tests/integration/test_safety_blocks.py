"""Blocks: the endpoints, the follows they remove, the timelines they purge, and the leak matrix: with a block in
either direction, nothing of one account reaches the other through any endpoint that shows a post, a comment, a
profile or a notification (asserted over response bodies, not only status codes)."""

import pytest
from rest_framework.test import APIClient

from apps.comments.services import comment_create
from apps.feed.timeline import timeline_client, timeline_key
from apps.follows.models import Follow
from apps.follows.services import follow_create
from apps.interactions.services import like_create
from apps.notifications.models import Notification
from apps.posts.services import post_create
from apps.safety.models import Block
from apps.safety.services import block_create
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def oncommit(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def counts(user):
    user.refresh_from_db()
    return user.followers_count, user.following_count


# --- the endpoints ------------------------------------------------------------------------------------------------


def test_block_201_then_200_and_unblock_204_idempotent(client_for, user, other_user, oncommit):
    client = client_for(user)
    with oncommit(execute=True):
        first = client.post(f"/users/{other_user.username}/block/")
    assert first.status_code == 201
    assert first.json()["username"] == other_user.username
    assert client.post(f"/users/{other_user.username.upper()}/block/").status_code == 200
    assert Block.objects.filter(blocker=user, blocked=other_user).count() == 1
    assert client.delete(f"/users/{other_user.username}/block/").status_code == 204
    assert client.delete(f"/users/{other_user.username}/block/").status_code == 204
    assert not Block.objects.exists()
    assert client.get(f"/users/{other_user.username}/").status_code == 200  # visible again


def test_bad_block_requests_change_nothing(api_client, client_for, user, other_user):
    client = client_for(user)
    response = client.post(f"/users/{user.username}/block/")
    assert response.status_code == 400
    assert "yourself" in response.json()["detail"]
    assert client.post("/users/nobody_here/block/").status_code == 404
    assert client.delete("/users/nobody_here/block/").status_code == 404
    assert client.post(f"/users/{UserFactory(is_active=False).username}/block/").status_code == 404
    assert client.post("/users/%00/block/").status_code in (400, 404)
    assert api_client.post(f"/users/{other_user.username}/block/").status_code == 401
    assert client_for(user, scope="read").post(f"/users/{other_user.username}/block/").status_code == 403
    assert not Block.objects.exists()


def test_blocking_back_someone_who_blocked_you_works(client_for, user, other_user):
    block_create(blocker=other_user, blocked=user)
    assert client_for(user).post(f"/users/{other_user.username}/block/").status_code == 201
    assert Block.objects.count() == 2
    # Unblocking one side leaves the other standing: still hidden.
    client_for(other_user).delete(f"/users/{user.username}/block/")
    assert client_for(user).get(f"/users/{other_user.username}/").status_code == 404
    assert client_for(other_user).get(f"/users/{user.username}/").status_code == 404


def test_my_blocks_newest_first_and_only_mine(client_for, user, other_user):
    first, second = UserFactory(), UserFactory()
    block_create(blocker=user, blocked=first)
    block_create(blocker=user, blocked=second)
    block_create(blocker=other_user, blocked=user)  # someone blocking me is not in my list
    body = client_for(user).get("/users/me/blocks/").json()
    assert [p["username"] for p in body["results"]] == [second.username, first.username]
    assert all(p["is_following"] is False for p in body["results"])
    page = client_for(user).get("/users/me/blocks/", {"page_size": 1}).json()
    assert len(page["results"]) == 1 and page["next"]
    assert client_for(user).get("/users/me/blocks/", {"page_size": 0}).status_code == 400


def test_my_blocks_query_count_is_constant(client_for, user, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    block_create(blocker=user, blocked=UserFactory())
    client = client_for(user)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/users/me/blocks/", {"page_size": 50}).json()["results"]) == 1
    for _ in range(49):
        block_create(blocker=user, blocked=UserFactory())
    with django_assert_num_queries(len(one)):
        assert len(client.get("/users/me/blocks/", {"page_size": 50}).json()["results"]) == 50


def test_block_removes_follows_both_ways_with_exact_counters(client_for, user, other_user):
    follow_create(follower=user, followee=other_user)
    follow_create(follower=other_user, followee=user)
    bystander = UserFactory()
    follow_create(follower=bystander, followee=user)
    assert client_for(user).post(f"/users/{other_user.username}/block/").status_code == 201
    assert not Follow.objects.filter(follower__in=[user, other_user], followee__in=[user, other_user]).exists()
    assert counts(user) == (1, 0)  # the bystander still follows
    assert counts(other_user) == (0, 0)
    # A repeated block finds nothing more to remove and never goes negative.
    assert client_for(user).post(f"/users/{other_user.username}/block/").status_code == 200
    assert counts(user) == (1, 0)
    assert counts(other_user) == (0, 0)


def test_neither_can_follow_like_comment_or_reply(client_for, user, other_user):
    mine = post_create(author=user, text="mine")
    theirs = post_create(author=other_user, text="theirs")
    carol = UserFactory()
    open_post = post_create(author=carol, text="open to all")
    their_comment = comment_create(post=open_post, author=other_user, text="their comment")
    my_comment = comment_create(post=open_post, author=user, text="my comment")
    block_create(blocker=user, blocked=other_user)
    sides = ((user, other_user, theirs, their_comment), (other_user, user, mine, my_comment))
    for me, them, their_post, their_c in sides:
        client = client_for(me)
        assert client.post(f"/users/{them.username}/follow/").status_code == 404
        assert client.post(f"/posts/{their_post.pk}/like/").status_code == 404
        assert client.post(f"/posts/{their_post.pk}/comments/", {"text": "hi"}, format="json").status_code == 404
        reply = client.post(f"/posts/{open_post.pk}/comments/", {"text": "re", "parent": their_c.pk}, format="json")
        assert reply.status_code == 404
    assert not Follow.objects.exists()
    assert open_post.comments.count() == 2
    # A parent that does not exist on the post is still the 400 it always was.
    bad = client_for(user).post(f"/posts/{open_post.pk}/comments/", {"text": "x", "parent": 10**9}, format="json")
    assert bad.status_code == 400


def test_post_author_may_still_delete_a_blocked_users_comment(client_for, user, other_user):
    mine = post_create(author=user, text="mine")
    theirs = comment_create(post=mine, author=other_user, text="rude")
    block_create(blocker=user, blocked=other_user)
    assert client_for(user).get(f"/comments/{theirs.pk}/").status_code == 404
    assert client_for(user).delete(f"/comments/{theirs.pk}/").status_code == 204
    mine.refresh_from_db()
    assert mine.comments_count == 0


@pytest.mark.usefixtures("timeline_backend")  # on a single Redis and on a Redis Cluster
def test_block_purges_both_home_timelines(client_for, user, other_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        follow_create(follower=user, followee=other_user)
        follow_create(follower=other_user, followee=user)
    client_for(user).get("/feed/")  # complete timelines, so the posts below are fanned out into them
    client_for(other_user).get("/feed/")
    with django_capture_on_commit_callbacks(execute=True):
        mine = post_create(author=user, text="mine")
        theirs = post_create(author=other_user, text="theirs")
    redis = timeline_client()

    def stored(u):
        return {int(m) for m in redis.zrange(timeline_key(u.pk), 0, -1)}

    assert theirs.pk in stored(user) and mine.pk in stored(other_user)
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(user).post(f"/users/{other_user.username}/block/").status_code == 201
    assert theirs.pk not in stored(user)
    assert mine.pk not in stored(other_user)
    assert mine.pk in stored(user) and theirs.pk in stored(other_user)  # own posts stay


def test_admin_shows_blocks_read_only_to_moderators_and_never_mutes(user, other_user, moderator):
    from django.test import Client

    block = block_create(blocker=user, blocked=other_user)[0]
    staff = Client()
    staff.force_login(moderator)
    assert staff.get("/admin/safety/block/").status_code == 200
    assert staff.get(f"/admin/safety/block/{block.pk}/change/").status_code == 200
    assert staff.post(f"/admin/safety/block/{block.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff.get("/admin/safety/block/add/").status_code == 403
    assert staff.get("/admin/safety/mute/").status_code == 404
    assert Block.objects.filter(pk=block.pk).exists()
    regular = Client()
    regular.force_login(user)
    assert regular.get("/admin/safety/block/").status_code == 302


# --- the leak matrix ----------------------------------------------------------------------------------------------


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    """Alice and Bob, who know each other well, and Carol, whom both follow and who follows both; then Alice blocks
    Bob. Everything is made through the services with their after-commit work run, as in production."""
    alice = UserFactory(username="zz_alice_blk")
    bob = UserFactory(username="zz_bob_blk")
    carol = UserFactory(username="zz_carol_blk")
    dave = UserFactory(username="zz_dave_blk")  # followed by Carol: a suggestion for both (friends of friends)
    with django_capture_on_commit_callbacks(execute=True):
        for a, b in ((alice, bob), (bob, alice), (alice, carol), (bob, carol), (carol, alice), (carol, bob)):
            follow_create(follower=a, followee=b)
        follow_create(follower=carol, followee=dave)
        posts = {u: post_create(author=u, text=f"secret text of {u.username}") for u in (alice, bob)}
        open_post = post_create(author=carol, text="carol's open post")
        comments = {u: comment_create(post=open_post, author=u, text=f"comment by {u.username}") for u in (alice, bob)}
        replies = {
            alice: comment_create(post=open_post, author=alice, text="alice replies", parent_id=comments[bob].pk),
            bob: comment_create(post=open_post, author=bob, text="bob replies", parent_id=comments[alice].pk),
        }
        for liker in (alice, bob, carol):
            like_create(user=liker, post=open_post)
        like_create(user=alice, post=posts[bob])
        like_create(user=bob, post=posts[alice])
        like_create(user=carol, post=posts[alice])
        like_create(user=carol, post=posts[bob])
        comment_create(post=posts[alice], author=bob, text="bob comments on alice")
        comment_create(post=posts[bob], author=alice, text="alice comments on bob")
    assert Notification.objects.filter(recipient=alice, actor=bob).count() == 4  # follow, like, comment, reply
    with django_capture_on_commit_callbacks(execute=True):
        block_create(blocker=alice, blocked=bob)
    return {"users": (alice, bob, carol), "posts": posts, "open": open_post, "comments": comments, "replies": replies}


def _body(response) -> str:
    assert response.status_code == 200, (response.status_code, response.content[:300])
    return response.content.decode()


@pytest.mark.parametrize("direction", ["blocker", "blocked"])
def test_leak_matrix(client_for, world, direction):
    alice, bob, carol = world["users"]
    me, them = (alice, bob) if direction == "blocker" else (bob, alice)
    their_post, open_post = world["posts"][them], world["open"]
    client = client_for(me)
    traces = [them.username, their_post.text, world["comments"][them].text, world["replies"][them].text]

    # Detail paths: 404, as if nothing were there.
    for path in (
        f"/users/{them.username}/",
        f"/users/{them.username}/followers/",
        f"/users/{them.username}/following/",
        f"/posts/{their_post.pk}/",
        f"/posts/{their_post.pk}/comments/",
        f"/posts/{their_post.pk}/likes/",
        f"/comments/{world['comments'][them].pk}/",
        f"/comments/{world['replies'][them].pk}/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert them.username not in response.content.decode()
    assert client.get(f"/posts/{open_post.pk}/comments/", {"parent": world["comments"][them].pk}).status_code == 404

    # Lists: 200, and not a trace of the other account.
    for path, params in (
        ("/posts/", {}),
        ("/posts/", {"author": them.username}),
        (f"/posts/{open_post.pk}/", {}),
        (f"/posts/{open_post.pk}/comments/", {}),
        (f"/posts/{open_post.pk}/comments/", {"parent": world["comments"][me].pk}),
        (f"/posts/{open_post.pk}/likes/", {}),
        (f"/users/{carol.username}/followers/", {}),
        (f"/users/{carol.username}/following/", {}),
        (f"/users/{me.username}/followers/", {}),
        (f"/users/{me.username}/following/", {}),
        ("/feed/", {}),
        ("/feed/recommended/", {}),
        ("/feed/trending/", {}),
        ("/notifications/", {}),
        ("/users/suggestions/", {}),
    ):
        body = _body(client.get(path, params))
        for trace in traces:
            assert trace not in body, (path, params, trace)
    shown = len(client.get("/notifications/").json()["results"])
    assert client.get("/notifications/unread_count/").json()["count"] == shown

    # What should still be there is (the matrix is not passing because everything is empty).
    assert world["posts"][me].text in _body(client.get("/posts/"))
    assert world["comments"][me].text in _body(client.get(f"/posts/{open_post.pk}/comments/"))
    assert me.username in _body(client.get(f"/users/{carol.username}/followers/"))
    assert carol.username in _body(client.get("/notifications/"))
    # Carol and the anonymous public still see both.
    for c in (client_for(carol), APIClient()):
        assert their_post.text in _body(c.get("/posts/"))
        assert c.get(f"/users/{them.username}/").status_code == 200
