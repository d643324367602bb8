import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.follows.models import Follow
from apps.posts import services
from apps.posts.models import Post
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def make_post(author, text="hello world", visibility=Post.Visibility.PUBLIC):
    return services.post_create(author=author, text=text, visibility=visibility)


# --- create ---------------------------------------------------------------------------------------------------------


def test_create_post_returns_post_object_and_counts_it(client_for, user):
    response = client_for(user).post("/posts/", {"text": "first!", "visibility": "followers"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "author",
        "text",
        "visibility",
        "images",
        "tags",
        "mentions",
        "likes_count",
        "comments_count",
        "views_count",
        "liked_by_me",
        "locked",
        "created_at",
        "edited_at",
    }
    assert body["author"] == {"id": user.id, "username": user.username, "avatar": None}
    assert (body["text"], body["visibility"], body["locked"], body["edited_at"]) == ("first!", "followers", False, None)
    assert Post.objects.get(pk=body["id"]).author_id == user.id
    user.refresh_from_db()
    assert user.posts_count == 1


def test_create_defaults_to_public(client_for, user):
    response = client_for(user).post("/posts/", {"text": "hi"}, format="json")
    assert response.status_code == 201
    assert response.json()["visibility"] == "public"


def test_create_needs_a_token(api_client):
    response = api_client.post("/posts/", {"text": "hi"}, format="json")
    assert response.status_code == 401
    assert "Bearer" in response["WWW-Authenticate"]
    assert not Post.objects.exists()


def test_create_needs_write_scope(client_for, user):
    response = client_for(user, scope="read").post("/posts/", {"text": "hi"}, format="json")
    assert response.status_code == 403
    assert not Post.objects.exists()


def test_create_ignores_author_and_counters_in_body(client_for, user, other_user):
    response = client_for(user).post(
        "/posts/", {"text": "hi", "author": other_user.id, "likes_count": 99, "views_count": 7}, format="json"
    )
    assert response.status_code == 201
    post = Post.objects.get()
    assert (post.author_id, post.likes_count, post.views_count) == (user.id, 0, 0)


@pytest.mark.parametrize(
    "body",
    [
        {"text": "x" * 5001},
        {"text": ""},
        {"text": "   \n  "},
        {},
        {"text": "hi", "visibility": "friends"},
        {"text": "hi", "visibility": ""},
        {"text": "hi", "visibility": ["public"]},
        {"text": ["hi"]},
        {"text": {"a": "b"}},
        {"text": "nul \x00 byte"},
        {"text": "hi", "image_ids": list(range(1, 12))},
        {"text": "hi", "image_ids": ["abc"]},
        {"text": "hi", "image_ids": [0]},
        {"text": "hi", "image_ids": [10**30]},
        {"text": "hi", "image_ids": "1,2"},
        {"text": "hi", "image_ids": [1, 1]},
    ],
)
def test_create_rejects_bad_input_and_changes_nothing(client_for, user, body):
    response = client_for(user).post("/posts/", body, format="json")
    assert response.status_code == 400, response.content
    assert not Post.objects.exists()
    user.refresh_from_db()
    assert user.posts_count == 0


def test_create_rejects_non_object_bodies(client_for, user):
    client = client_for(user)
    for raw in ("[1, 2]", '"text"', "{not json", "null"):
        response = client.post("/posts/", raw, content_type="application/json")
        assert response.status_code == 400, raw
    assert not Post.objects.exists()


def test_text_of_exactly_5000_chars_is_accepted(client_for, user):
    response = client_for(user).post("/posts/", {"text": "x" * 5000}, format="json")
    assert response.status_code == 201


def test_empty_text_is_accepted_with_image_ids(client_for, user):
    from apps.images.tests.factories import ImageFactory

    image = ImageFactory(owner=user)
    response = client_for(user).post("/posts/", {"text": "", "image_ids": [image.pk]}, format="json")
    assert response.status_code == 201
    assert response.json()["text"] == ""
    assert [i["id"] for i in response.json()["images"]] == [image.pk]


# --- list and detail ------------------------------------------------------------------------------------------------


def test_list_is_newest_first_and_filters_by_author(api_client, user, other_user):
    first = make_post(user, "one")
    second = make_post(other_user, "two")
    third = make_post(user, "three")
    body = api_client.get("/posts/").json()
    assert [p["id"] for p in body["results"]] == [third.id, second.id, first.id]
    body = api_client.get("/posts/", {"author": user.username.upper()}).json()
    assert [p["id"] for p in body["results"]] == [third.id, first.id]
    assert api_client.get("/posts/", {"author": "nobody-by-that-name"}).json()["results"] == []


def test_list_paginates_with_stable_cursor(api_client, user):
    posts = [make_post(user, f"p{i}") for i in range(5)]
    page1 = api_client.get("/posts/", {"page_size": 2}).json()
    assert [p["id"] for p in page1["results"]] == [posts[4].id, posts[3].id]
    make_post(user, "arrives while paging")
    page2 = api_client.get(page1["next"]).json()
    assert [p["id"] for p in page2["results"]] == [posts[2].id, posts[1].id]


@pytest.mark.parametrize("author", ["a\x00b", "x" * 151])
def test_list_rejects_bad_author_filter(api_client, user, author):
    make_post(user)
    assert api_client.get("/posts/", {"author": author}).status_code == 400


@pytest.mark.parametrize("page_size", ["0", "101", "1000000000", "-1", "abc", ""])
def test_list_rejects_bad_page_size(api_client, user, page_size):
    make_post(user)
    response = api_client.get("/posts/", {"page_size": page_size})
    assert response.status_code == 400
    assert "page_size" in response.json()


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "x" * 500,
        "bz0xJnA9eA==",  # o=1&p=x
        "cD1hYmM=",  # p=abc
        "bz0tNSZwPTE=",  # o=-5&p=1
        "cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ==",  # p=10^26
        "cD0xJTAw",  # p=1%00
        "cj0xJnA9eA==",  # r=1&p=x
    ],
)
def test_list_rejects_malformed_cursor(api_client, user, cursor):
    make_post(user)
    response = api_client.get("/posts/", {"cursor": cursor})
    assert response.status_code == 400, response.content
    assert response.json() == {"cursor": ["Invalid cursor."]}


def test_detail(api_client, user):
    post = make_post(user, "details")
    body = api_client.get(f"/posts/{post.id}/").json()
    assert (body["id"], body["text"], body["liked_by_me"], body["locked"]) == (post.id, "details", False, False)


@pytest.mark.parametrize("path_id", ["abc", "1.5", "-1", "0x10", "99999999999999999999999999", "999999"])
def test_detail_with_bad_or_unknown_id_is_404(client_for, user, path_id):
    make_post(user)
    client = client_for(user)
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(f"/posts/{path_id}/", {"text": "x"}, format="json")
        assert response.status_code == 404, (method, path_id, response.status_code)
    assert Post.objects.count() == 1


def test_removed_posts_and_posts_of_inactive_authors_are_gone(api_client, user, other_user):
    removed = make_post(user, "removed")
    Post.objects.filter(pk=removed.pk).update(removed_at=timezone.now())
    gone_author = make_post(other_user, "gone")
    other_user.is_active = False
    other_user.save()
    assert api_client.get("/posts/").json()["results"] == []
    assert api_client.get(f"/posts/{removed.id}/").status_code == 404
    assert api_client.get(f"/posts/{gone_author.id}/").status_code == 404


# --- edit -----------------------------------------------------------------------------------------------------------


def test_author_edits_text_and_visibility(client_for, user):
    post = make_post(user, "before")
    response = client_for(user).patch(f"/posts/{post.id}/", {"text": "after", "visibility": "premium"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["text"], body["visibility"]) == ("after", "premium")
    assert body["edited_at"] is not None
    post.refresh_from_db()
    assert (post.text, post.visibility) == ("after", "premium")
    assert post.edited_at is not None


@pytest.mark.parametrize(
    "body",
    [{}, {"text": ""}, {"text": "x" * 5001}, {"visibility": "secret"}, {"text": None}, {"text": ["a"]}],
)
def test_edit_rejects_bad_input(client_for, user, body):
    post = make_post(user, "unchanged")
    response = client_for(user).patch(f"/posts/{post.id}/", body, format="json")
    assert response.status_code == 400, response.content
    post.refresh_from_db()
    assert (post.text, post.visibility, post.edited_at) == ("unchanged", "public", None)


@pytest.fixture
def actors(user, other_user, moderator, admin_user):
    return {"author": user, "other": other_user, "moderator": moderator, "admin": admin_user}


@pytest.mark.parametrize(
    ("actor", "expected"),
    [("anonymous", 401), ("other", 403), ("moderator", 403), ("admin", 403), ("author", 200)],
)
def test_edit_permission_matrix(api_client, client_for, actors, actor, expected):
    post = make_post(actors["author"], "original")
    client = api_client if actor == "anonymous" else client_for(actors[actor])
    response = client.patch(f"/posts/{post.id}/", {"text": "hijacked"}, format="json")
    assert response.status_code == expected
    post.refresh_from_db()
    assert post.text == ("hijacked" if expected == 200 else "original")


@pytest.mark.parametrize(
    ("actor", "expected"),
    [("anonymous", 401), ("other", 403), ("moderator", 204), ("admin", 204), ("author", 204)],
)
def test_delete_permission_matrix(api_client, client_for, actors, actor, expected):
    author = actors["author"]
    post = make_post(author)
    client = api_client if actor == "anonymous" else client_for(actors[actor])
    response = client.delete(f"/posts/{post.id}/")
    assert response.status_code == expected
    author.refresh_from_db()
    if expected == 204:
        assert not Post.objects.filter(pk=post.pk).exists()
        assert author.posts_count == 0
        assert api_client.get(f"/posts/{post.id}/").status_code == 404
    else:
        assert Post.objects.filter(pk=post.pk).exists()
        assert author.posts_count == 1


def test_delete_takes_likes_and_comments_along(client_for, user, other_user):
    post = make_post(user)
    client = client_for(other_user)
    assert client.post(f"/posts/{post.id}/like/").status_code == 201
    assert client.post(f"/posts/{post.id}/comments/", {"text": "nice"}, format="json").status_code == 201
    assert client_for(user).delete(f"/posts/{post.id}/").status_code == 204
    assert not post.likes.exists()
    assert not post.comments.exists()
    assert client.delete(f"/posts/{post.id}/").status_code == 404


def test_posts_count_never_goes_negative(user):
    post = make_post(user)
    User.objects.filter(pk=user.pk).update(posts_count=0)  # drifted low, e.g. by hand
    services.post_delete(post=post, actor=user)
    user.refresh_from_db()
    assert user.posts_count == 0


def test_posts_count_is_on_the_public_profile(api_client, user):
    make_post(user)
    make_post(user)
    assert api_client.get(f"/users/{user.username}/").json()["posts_count"] == 2


# --- followers-only -------------------------------------------------------------------------------------------------


def test_followers_only_post_is_404_for_everyone_but_author_and_followers(api_client, client_for, user, other_user):
    follower = UserFactory()
    Follow.objects.create(follower=follower, followee=user)
    post = make_post(user, "for my followers", visibility="followers")

    for client in (api_client, client_for(other_user)):
        assert client.get(f"/posts/{post.id}/").status_code == 404
        assert client.get("/posts/").json()["results"] == []
        assert client.get("/posts/", {"author": user.username}).json()["results"] == []
        assert client.get(f"/posts/{post.id}/comments/").status_code == 404
        assert client.get(f"/posts/{post.id}/likes/").status_code == 404
    stranger = client_for(other_user)
    for path in ("like/", "view/", "comments/"):
        response = stranger.post(f"/posts/{post.id}/{path}", {"text": "hi"}, format="json")
        assert response.status_code == 404, path
    assert stranger.patch(f"/posts/{post.id}/", {"text": "x"}, format="json").status_code == 404
    assert stranger.delete(f"/posts/{post.id}/").status_code == 404
    assert b"for my followers" not in stranger.get("/posts/").content

    for client in (client_for(user), client_for(follower)):
        assert client.get(f"/posts/{post.id}/").json()["text"] == "for my followers"
        assert [p["id"] for p in client.get("/posts/").json()["results"]] == [post.id]
    post.refresh_from_db()
    assert (post.text, post.likes_count, post.comments_count) == ("for my followers", 0, 0)


# --- query counts ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("anonymous", [True, False])
def test_list_query_count_does_not_grow_with_page_size(api_client, client_for, django_assert_num_queries, anonymous):
    viewer = UserFactory()
    client = api_client if anonymous else client_for(viewer)
    authors = UserFactory.create_batch(3)
    make_post(authors[0])
    with CaptureQueriesContext(connection) as one:
        response = client.get("/posts/", {"page_size": 50})
    assert len(response.json()["results"]) == 1

    for i in range(49):
        post = make_post(authors[i % 3], visibility=["public", "premium", "followers"][i % 3])
        if i % 2:
            post.likes.create(user=viewer)
    for author in authors:
        Follow.objects.create(follower=viewer, followee=author)
    expected = 50 if not anonymous else 34
    with django_assert_num_queries(len(one)):
        response = client.get("/posts/", {"page_size": 50})
    assert len(response.json()["results"]) == expected
