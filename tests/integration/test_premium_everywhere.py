"""The premium matrix: every endpoint touching a premium post, for every kind of viewer."""

import pytest

from apps.comments.services import comment_create
from apps.interactions.services import view_buffer_flush
from apps.posts import services
from apps.posts.models import Post
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SECRET = "the-premium-secret-4f9a"
SECRET_COMMENT = "premium-comment-secret-77b1"

VIEWERS = ["anonymous", "regular", "expired", "premium", "author", "moderator", "admin"]
LOCKED_FOR = {"anonymous", "regular", "expired"}


@pytest.fixture
def setup(client_for, api_client):
    author = UserFactory(username="creator")
    users = {
        "regular": UserFactory(),
        "expired": UserFactory(expired_premium=True),
        "premium": UserFactory(premium=True),
        "author": author,
        "moderator": UserFactory(moderator=True),
        "admin": UserFactory(admin=True),
    }
    post = services.post_create(author=author, text=SECRET, visibility=Post.Visibility.PREMIUM)
    comment = comment_create(post=post, author=author, text=SECRET_COMMENT)
    clients = {name: client_for(u) for name, u in users.items()}
    clients["anonymous"] = api_client
    return post, comment, clients


@pytest.mark.parametrize("viewer", VIEWERS)
def test_premium_matrix(setup, viewer):
    post, comment, clients = setup
    client = clients[viewer]
    locked = viewer in LOCKED_FOR
    bodies = []

    def call(method, path, **kwargs):
        response = getattr(client, method)(path, format="json", **kwargs)
        bodies.append(response.content)
        return response

    # Listed for everyone, locked for some.
    for params in ({}, {"author": "creator"}):
        response = call("get", "/posts/", data=params)
        assert response.status_code == 200
        [item] = response.json()["results"]
        assert item["id"] == post.id
        assert item["locked"] is locked
        assert item["text"] == ("" if locked else SECRET)
        assert item["images"] == []
        assert item["visibility"] == "premium"

    response = call("get", f"/posts/{post.id}/")
    assert response.status_code == 200
    assert (response.json()["locked"], response.json()["text"]) == (locked, "" if locked else SECRET)

    # Content and engagement: refused when locked (401 first for anonymous writes).
    read_expected = 403 if locked else 200
    assert call("get", f"/posts/{post.id}/comments/").status_code == read_expected
    assert call("get", f"/posts/{post.id}/comments/", data={"parent": comment.id}).status_code == read_expected
    assert call("get", f"/posts/{post.id}/likes/").status_code == read_expected
    assert call("get", f"/comments/{comment.id}/").status_code == read_expected

    write = {"anonymous": 401}.get(viewer, 403 if locked else None)
    response = call("post", f"/posts/{post.id}/comments/", data={"text": "let me in"})
    assert response.status_code == (write or 201)
    response = call("post", f"/posts/{post.id}/comments/", data={"text": "reply", "parent": comment.id})
    assert response.status_code == (write or 201)
    assert call("post", f"/posts/{post.id}/like/").status_code == (write or 201)
    assert call("post", f"/posts/{post.id}/view/").status_code == (write or 204)

    if not locked:
        assert SECRET_COMMENT in call("get", f"/posts/{post.id}/comments/").content.decode()
    else:
        for body in bodies:
            assert SECRET.encode() not in body
            assert SECRET_COMMENT.encode() not in body

    view_buffer_flush()
    post.refresh_from_db()
    engaged = 0 if locked else 1
    assert (post.likes_count, post.views_count, post.comments_count) == (engaged, engaged, 1 + 2 * engaged)


def test_expired_premium_is_locked_again(client_for, setup):
    post, _, _ = setup
    lapsed = UserFactory(premium=True)
    client = client_for(lapsed)
    assert client.get(f"/posts/{post.id}/").json()["locked"] is False
    lapsed.premium_until = lapsed.premium_until.replace(year=2000)
    lapsed.save()
    body = client.get(f"/posts/{post.id}/").json()
    assert (body["locked"], body["text"]) == (True, "")


def test_author_may_read_own_premium_post_in_every_list(setup):
    _, _, clients = setup
    body = clients["author"].get("/posts/").json()
    assert body["results"][0]["text"] == SECRET


def test_switching_a_post_to_premium_locks_it_immediately(client_for, user, other_user):
    post = services.post_create(author=user, text="soon premium", visibility=Post.Visibility.PUBLIC)
    reader = client_for(other_user)
    assert reader.get(f"/posts/{post.id}/").json()["text"] == "soon premium"
    client_for(user).patch(f"/posts/{post.id}/", {"visibility": "premium"}, format="json")
    response = reader.get(f"/posts/{post.id}/")
    assert (response.json()["locked"], response.json()["text"]) == (True, "")
    assert b"soon premium" not in response.content
