import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.exceptions import ValidationError

from apps.comments import services
from apps.comments.models import Comment
from apps.posts.models import Post
from apps.posts.services import post_create
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(user):
    return post_create(author=user, text="a post", visibility=Post.Visibility.PUBLIC)


def counts(post):
    post.refresh_from_db()
    return post.comments_count


def test_create_list_and_reply(client_for, api_client, post, other_user):
    client = client_for(other_user)
    response = client.post(f"/posts/{post.id}/comments/", {"text": "first"}, format="json")
    assert response.status_code == 201, response.content
    top = response.json()
    assert set(top) == {"id", "post", "parent", "author", "text", "replies_count", "created_at", "edited_at"}
    assert (top["post"], top["parent"], top["text"], top["replies_count"]) == (post.id, None, "first", 0)
    assert top["author"]["username"] == other_user.username

    reply = client.post(f"/posts/{post.id}/comments/", {"text": "a reply", "parent": top["id"]}, format="json")
    assert reply.status_code == 201
    assert reply.json()["parent"] == top["id"]
    second = client.post(f"/posts/{post.id}/comments/", {"text": "second"}, format="json").json()

    listing = api_client.get(f"/posts/{post.id}/comments/").json()["results"]
    assert [c["id"] for c in listing] == [top["id"], second["id"]]  # top level only, oldest first
    assert listing[0]["replies_count"] == 1
    replies = api_client.get(f"/posts/{post.id}/comments/", {"parent": top["id"]}).json()["results"]
    assert [c["text"] for c in replies] == ["a reply"]
    assert counts(post) == 3


def test_comment_detail(api_client, post, other_user):
    comment = services.comment_create(post=post, author=other_user, text="hello")
    body = api_client.get(f"/comments/{comment.id}/").json()
    assert (body["id"], body["post"], body["text"]) == (comment.id, post.id, "hello")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "   "},
        {"text": "x" * 2001},
        {"text": None},
        {"text": ["a"]},
        {"text": "ok", "parent": "abc"},
        {"text": "ok", "parent": 0},
        {"text": "ok", "parent": 10**30},
        {"text": "ok", "parent": 999999},
        {"text": "nul \x00"},
    ],
)
def test_create_rejects_bad_input(client_for, post, other_user, body):
    response = client_for(other_user).post(f"/posts/{post.id}/comments/", body, format="json")
    assert response.status_code == 400, response.content
    assert not Comment.objects.exists()
    assert counts(post) == 0


def test_text_of_2000_chars_is_accepted(client_for, post, other_user):
    response = client_for(other_user).post(f"/posts/{post.id}/comments/", {"text": "x" * 2000}, format="json")
    assert response.status_code == 201


def test_parent_from_another_post_is_refused(client_for, post, user, other_user):
    elsewhere = post_create(author=other_user, text="another post")
    foreign = services.comment_create(post=elsewhere, author=other_user, text="over there")
    response = client_for(user).post(f"/posts/{post.id}/comments/", {"text": "x", "parent": foreign.id}, format="json")
    assert response.status_code == 400
    assert "parent" in response.json()
    assert Comment.objects.count() == 1
    foreign.refresh_from_db()
    assert foreign.replies_count == 0
    assert counts(post) == 0
    # The service guards the invariant for every caller, not just this view.
    with pytest.raises(ValidationError, match="No such comment on this post"):
        services.comment_create(post=post, author=user, text="x", parent_id=foreign.pk)


@pytest.mark.parametrize("parent", ["abc", "0", "-3", "1.5", "99999999999999999999999"])
def test_list_with_malformed_parent_is_400(api_client, post, parent):
    assert api_client.get(f"/posts/{post.id}/comments/", {"parent": parent}).status_code == 400


@pytest.mark.parametrize("params", [{"cursor": "garbage"}, {"cursor": "cD1hYmM="}, {"page_size": "0"}])
def test_list_with_malformed_pagination_is_400(api_client, post, params):
    assert api_client.get(f"/posts/{post.id}/comments/", params).status_code == 400


def test_list_with_parent_of_another_post_is_404(api_client, post, other_user):
    elsewhere = post_create(author=other_user, text="another post")
    foreign = services.comment_create(post=elsewhere, author=other_user, text="over there")
    response = api_client.get(f"/posts/{post.id}/comments/", {"parent": foreign.id})
    assert response.status_code == 404
    assert b"over there" not in response.content


def test_comments_need_a_token_to_write(api_client, post):
    response = api_client.post(f"/posts/{post.id}/comments/", {"text": "hi"}, format="json")
    assert response.status_code == 401
    assert not Comment.objects.exists()


@pytest.mark.parametrize("path", ["/comments/abc/", "/comments/99999999999999999999999/", "/comments/424242/"])
def test_unknown_or_bad_comment_ids_are_404(client_for, user, path):
    client = client_for(user)
    assert client.get(path).status_code == 404
    assert client.patch(path, {"text": "x"}, format="json").status_code == 404
    assert client.delete(path).status_code == 404


@pytest.fixture
def actors(user, other_user, moderator, admin_user):
    # `user` writes the post, `commenter` the comment.
    return {
        "post_author": user,
        "commenter": UserFactory(),
        "other": other_user,
        "moderator": moderator,
        "admin": admin_user,
    }


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("anonymous", 401),
        ("other", 403),
        ("post_author", 403),
        ("moderator", 403),
        ("admin", 403),
        ("commenter", 200),
    ],
)
def test_edit_permission_matrix(api_client, client_for, post, actors, actor, expected):
    comment = services.comment_create(post=post, author=actors["commenter"], text="original")
    client = api_client if actor == "anonymous" else client_for(actors[actor])
    response = client.patch(f"/comments/{comment.id}/", {"text": "changed"}, format="json")
    assert response.status_code == expected
    comment.refresh_from_db()
    assert comment.text == ("changed" if expected == 200 else "original")
    assert (comment.edited_at is not None) is (expected == 200)


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "x" * 2001}, {"text": ["x"]}])  # `{}` is a no-op edit
def test_edit_rejects_bad_input(client_for, post, other_user, body):
    comment = services.comment_create(post=post, author=other_user, text="original")
    response = client_for(other_user).patch(f"/comments/{comment.id}/", body, format="json")
    assert response.status_code == 400
    comment.refresh_from_db()
    assert (comment.text, comment.edited_at) == ("original", None)


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("anonymous", 401),
        ("other", 403),
        ("post_author", 204),
        ("moderator", 204),
        ("admin", 204),
        ("commenter", 204),
    ],
)
def test_delete_permission_matrix(api_client, client_for, post, actors, actor, expected):
    comment = services.comment_create(post=post, author=actors["commenter"], text="original")
    client = api_client if actor == "anonymous" else client_for(actors[actor])
    response = client.delete(f"/comments/{comment.id}/")
    assert response.status_code == expected
    assert Comment.objects.filter(pk=comment.pk).exists() is (expected != 204)
    assert counts(post) == (0 if expected == 204 else 1)


def test_deleting_a_thread_uncounts_its_replies(client_for, post, user, other_user):
    top = services.comment_create(post=post, author=other_user, text="top")
    reply = services.comment_create(post=post, author=user, text="reply", parent_id=top.pk)
    services.comment_create(post=post, author=other_user, text="reply to reply", parent_id=reply.pk)
    services.comment_create(post=post, author=user, text="unrelated")
    top.refresh_from_db()
    assert (counts(post), top.replies_count) == (4, 1)

    assert client_for(user).delete(f"/comments/{reply.id}/").status_code == 204
    top.refresh_from_db()
    assert (counts(post), top.replies_count) == (2, 0)
    assert client_for(other_user).delete(f"/comments/{top.id}/").status_code == 204
    assert counts(post) == 1
    assert Comment.objects.count() == 1


def test_comments_of_followers_only_posts_are_404_to_strangers(api_client, client_for, user, other_user):
    hidden = post_create(author=user, text="followers only", visibility=Post.Visibility.FOLLOWERS)
    comment = services.comment_create(post=hidden, author=user, text="hidden comment")
    for client in (api_client, client_for(other_user)):
        assert client.get(f"/comments/{comment.id}/").status_code == 404
        assert client.get(f"/posts/{hidden.id}/comments/").status_code == 404
    stranger = client_for(other_user)
    assert stranger.patch(f"/comments/{comment.id}/", {"text": "x"}, format="json").status_code == 404
    assert stranger.delete(f"/comments/{comment.id}/").status_code == 404
    comment.refresh_from_db()
    assert comment.text == "hidden comment"


def test_removed_comments_and_inactive_authors_are_hidden(api_client, post, user, moderator):
    gone = UserFactory()
    services.comment_create(post=post, author=gone, text="by a closed account")
    removed = services.comment_create(post=post, author=user, text="removed by moderation")
    services.comment_remove(comment=removed, actor=moderator)
    gone.is_active = False
    gone.save()
    assert api_client.get(f"/posts/{post.id}/comments/").json()["results"] == []
    assert api_client.get(f"/comments/{removed.id}/").status_code == 404
    assert counts(post) == 1  # the removal uncounted; the closed account's comment still exists
    services.comment_remove(comment=removed, actor=moderator)  # idempotent: not uncounted twice
    assert counts(post) == 1


def test_recount_repairs_comment_counters(post, user):
    top = services.comment_create(post=post, author=user, text="top")
    services.comment_create(post=post, author=user, text="reply", parent_id=top.pk)
    Post.objects.filter(pk=post.pk).update(comments_count=40)
    Comment.objects.filter(pk=top.pk).update(replies_count=9)
    repaired = services.comments_counters_recount()
    assert repaired["posts"] == 1 and repaired["comments"] == 1
    top.refresh_from_db()
    assert (counts(post), top.replies_count) == (2, 1)


@pytest.mark.parametrize("replies", [False, True])
def test_list_query_count_does_not_grow(client_for, post, other_user, django_assert_num_queries, replies):
    client = client_for(other_user)
    parent = services.comment_create(post=post, author=other_user, text="parent") if replies else None
    params = {"page_size": 50, **({"parent": parent.id} if replies else {})}
    services.comment_create(post=post, author=UserFactory(), text="c0", parent_id=parent and parent.pk)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(f"/posts/{post.id}/comments/", params).json()["results"]) == 1
    # The token; with ?parent=, the post and the parent; the thread (the post's access rule inside it).
    assert len(one) == (4 if replies else 2)
    for i in range(49):
        services.comment_create(post=post, author=UserFactory(), text=f"c{i + 1}", parent_id=parent and parent.pk)
    with django_assert_num_queries(len(one)):
        assert len(client.get(f"/posts/{post.id}/comments/", params).json()["results"]) == 50


def test_reply_to_a_removed_comment_is_refused_by_the_service(post, user, moderator):
    parent = services.comment_create(post=post, author=user, text="soon removed")
    services.comment_remove(comment=parent, actor=moderator)
    with pytest.raises(ValidationError, match="No such comment on this post"):
        services.comment_create(post=post, author=user, text="too late", parent_id=parent.pk)
    parent.refresh_from_db()
    assert parent.replies_count == 0
    assert Comment.objects.count() == 1
