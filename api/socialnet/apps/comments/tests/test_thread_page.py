"""GET /posts/{id}/comments/ is a prepared page (apps.common.prepared): one SQL text per shape, each request binding
its own viewer's values. The suite runs with PREPARED_QUERIES_CHECK on, so every page below is also compiled the
ordinary way and compared: a value baked into a cached shape would fail here, and the results prove the bindings."""

import pytest

from apps.comments import services
from apps.common import prepared
from apps.follows.services import follow_create
from apps.images.tests.factories import ImageFactory
from apps.posts.models import Post
from apps.posts.services import post_create
from apps.safety.models import Block
from apps.safety.selectors import safety_sets_rebuild
from apps.safety.services import block_create, keyword_filter_create
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def texts(client, post_id, **params) -> list[str]:
    response = client.get(f"/posts/{post_id}/comments/", params)
    assert response.status_code == 200, response.content
    return [c["text"] for c in response.json()["results"]]


def test_each_viewer_gets_their_own_bindings_of_the_thread_shapes(api_client, client_for, user):
    prepared._shapes.clear()
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    post = post_create(author=user, text="a thread", visibility=Post.Visibility.PUBLIC)
    other_post = post_create(author=user, text="another thread", visibility=Post.Visibility.PUBLIC)
    first = services.comment_create(post=post, author=alice, text="hello tea")
    services.comment_create(post=post, author=bob, text="hello coffee")
    third = services.comment_create(post=post, author=carol, text="tea time")
    services.comment_create(post=post, author=bob, text="a reply", parent_id=first.pk)
    services.comment_create(post=post, author=alice, text="alice replies", parent_id=third.pk)
    services.comment_create(post=other_post, author=carol, text="elsewhere")

    # Blocks given as subqueries (the cache was just invalidated by the service)...
    blocks_alice = UserFactory()
    block_create(blocker=blocks_alice, blocked=alice)
    # ...and as cached ids (a block row the cache is then rebuilt from).
    blocked_by_bob = UserFactory()
    Block.objects.create(blocker=bob, blocked=blocked_by_bob)
    assert safety_sets_rebuild(user_id=blocked_by_bob.pk)
    assert safety_sets_rebuild(user_id=user.pk)  # cached, and empty: no block at all in the SQL
    filters_tea = UserFactory()
    keyword_filter_create(owner=filters_tea, data={"phrase": "tea", "context": ["thread"]})

    everything = ["hello tea", "hello coffee", "tea time"]
    assert texts(api_client, post.pk) == everything
    assert texts(client_for(user), post.pk) == everything
    assert texts(client_for(blocks_alice), post.pk) == ["hello coffee", "tea time"]
    assert texts(client_for(blocked_by_bob), post.pk) == ["hello tea", "tea time"]
    assert texts(client_for(filters_tea), post.pk) == ["hello coffee"]
    assert texts(client_for(filters_tea), other_post.pk) == ["elsewhere"]

    # Replies: another shape, the parent bound like the post.
    assert texts(api_client, post.pk, parent=first.pk) == ["a reply"]
    assert texts(client_for(user), post.pk, parent=first.pk) == ["a reply"]
    assert texts(client_for(user), post.pk, parent=third.pk) == ["alice replies"]
    assert texts(client_for(blocks_alice), post.pk, parent=third.pk) == []
    assert client_for(blocks_alice).get(f"/posts/{post.pk}/comments/", {"parent": first.pk}).status_code == 404
    assert texts(client_for(blocked_by_bob), post.pk, parent=first.pk) == []

    # The next page binds its cursor into the same shapes.
    page = client_for(blocked_by_bob).get(f"/posts/{post.pk}/comments/", {"page_size": 1}).json()
    assert [c["text"] for c in page["results"]] == ["hello tea"]
    assert [c["text"] for c in client_for(blocked_by_bob).get(page["next"]).json()["results"]] == ["tea time"]

    threads = {key[1:4] for key in prepared._shapes if key[0] == "comments.thread"}
    assert threads == {
        ("top", False, "empty"),
        ("top", True, "empty"),
        ("top", True, "subqueries"),
        ("top", True, "ids"),
        ("replies", False, "empty"),
        ("replies", True, "empty"),
        ("replies", True, "subqueries"),
        ("replies", True, "ids"),
    }


def test_the_threads_own_post_check_binds_each_viewer(api_client, client_for, user, other_user, premium_user):
    """The thread's query carries the post's access rule (prepared like the rest): comments come back only while
    the post is open to that viewer; otherwise the page is empty and the view answers 404 (hidden) or 403
    (locked), comments or not."""
    prepared._shapes.clear()
    follower, blocked = UserFactory(), UserFactory()
    follow_create(follower=follower, followee=user)
    block_create(blocker=user, blocked=blocked)
    friends = post_create(author=user, text="for followers", visibility=Post.Visibility.FOLLOWERS)
    premium = post_create(author=user, text="premium", visibility=Post.Visibility.PREMIUM)
    public = post_create(author=user, text="public", visibility=Post.Visibility.PUBLIC)
    for post in (friends, premium, public):
        services.comment_create(post=post, author=user, text=f"on {post.text}")
    keyword_filter_create(owner=other_user, data={"phrase": "premium", "context": ["thread"]})

    def status(client, post):
        return client.get(f"/posts/{post.pk}/comments/").status_code

    assert texts(client_for(user), friends.pk) == ["on for followers"]
    assert texts(client_for(follower), friends.pk) == ["on for followers"]
    assert [status(c, friends) for c in (client_for(other_user), api_client, client_for(blocked))] == [404] * 3
    assert texts(client_for(user), premium.pk) == ["on premium"]
    assert texts(client_for(premium_user), premium.pk) == ["on premium"]
    assert [status(c, premium) for c in (client_for(other_user), client_for(follower), api_client)] == [403] * 3
    assert texts(api_client, public.pk) == texts(client_for(other_user), public.pk) == ["on public"]
    assert status(client_for(blocked), public) == 404
    empty = post_create(author=user, text="no comments yet", visibility=Post.Visibility.PUBLIC)
    assert texts(client_for(other_user), empty.pk) == []
    for post_id in (0, 424242, 99999999999999999999999):
        assert api_client.get(f"/posts/{post_id}/comments/").status_code == 404
        assert client_for(other_user).get(f"/posts/{post_id}/comments/").status_code == 404


def test_a_thread_shows_each_comment_as_its_detail_does(api_client, client_for, user):
    """The thread renders plain rows (serializers.thread_payload), the detail a model: the same object, avatars
    (ready or not) included."""
    post = post_create(author=user, text="a thread", visibility=Post.Visibility.PUBLIC)
    with_ready_avatar, with_pending_avatar, without = UserFactory(), UserFactory(), UserFactory()
    User.objects.filter(pk=with_ready_avatar.pk).update(avatar=ImageFactory(owner=with_ready_avatar, ready=True))
    User.objects.filter(pk=with_pending_avatar.pk).update(avatar=ImageFactory(owner=with_pending_avatar))
    top = services.comment_create(post=post, author=with_ready_avatar, text="top")
    services.comment_update(comment=top, actor=with_ready_avatar, text="top, edited")
    services.comment_create(post=post, author=with_pending_avatar, text="second")
    services.comment_create(post=post, author=without, text="reply", parent_id=top.pk)
    for client in (api_client, client_for(user)):
        listed = [
            *client.get(f"/posts/{post.pk}/comments/").json()["results"],
            *client.get(f"/posts/{post.pk}/comments/", {"parent": top.pk}).json()["results"],
        ]
        assert [c["text"] for c in listed] == ["top, edited", "second", "reply"]
        assert listed[0]["author"]["avatar"]["urls"]["small"].startswith("http")
        assert listed[0]["edited_at"] is not None and listed[1]["author"]["avatar"]["status"] == "pending"
        assert listed[2]["author"]["avatar"] is None
        details = [client.get(f"/comments/{c['id']}/").json() for c in listed]
        assert details == listed  # absolute avatar URLs in both, like every other place a card appears
    author = client_for(with_ready_avatar)
    edited = author.patch(f"/comments/{top.pk}/", {"text": "again"}, format="json").json()
    created = author.post(f"/posts/{post.pk}/comments/", {"text": "more"}, format="json").json()
    for answer in (edited, created):
        assert answer["author"]["avatar"]["urls"]["small"].startswith("http://testserver/"), answer
