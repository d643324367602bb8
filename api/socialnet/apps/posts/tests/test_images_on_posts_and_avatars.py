"""Images on posts (`image_ids`), avatars (`avatar_id`), and what deleting either does to files."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.images.models import Image
from apps.images.tests import samples
from apps.images.tests.factories import ImageFactory
from apps.images.tests.helpers import ready_image
from apps.posts.models import Post
from apps.posts.services import post_create
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def create_post(client, **body):
    return client.post("/posts/", {"text": "with pictures", **body}, format="json")


def test_post_with_images_in_the_given_order(client_for, user):
    first, second, third = ImageFactory(owner=user, ready=True), ImageFactory(owner=user), ImageFactory(owner=user)
    response = create_post(client_for(user), image_ids=[third.pk, first.pk, second.pk])
    assert response.status_code == 201, response.content
    images = response.json()["images"]
    assert [i["id"] for i in images] == [third.pk, first.pk, second.pk]
    assert [i["status"] for i in images] == ["pending", "ready", "pending"]
    post_id = response.json()["id"]
    assert list(Image.objects.filter(post_id=post_id).order_by("position").values_list("pk", flat=True)) == [
        third.pk,
        first.pk,
        second.pk,
    ]


def test_another_users_image_cannot_be_attached(client_for, user, other_user):
    theirs = ImageFactory(owner=other_user, ready=True)
    response = create_post(client_for(user), image_ids=[theirs.pk])
    assert response.status_code == 400
    assert "Unknown image" in response.json()["image_ids"][0]
    theirs.refresh_from_db()
    assert theirs.post_id is None
    assert not Post.objects.filter(author=user).exists()  # the post was rolled back with the bad attachment


def test_an_image_already_on_a_post_cannot_be_attached_again(client_for, user):
    image = ImageFactory(owner=user, ready=True)
    client = client_for(user)
    assert create_post(client, image_ids=[image.pk]).status_code == 201
    response = create_post(client, image_ids=[image.pk])
    assert response.status_code == 400
    assert "already attached" in response.json()["image_ids"][0]
    assert Post.objects.filter(author=user).count() == 1


def test_failed_unknown_duplicate_and_too_many_images_are_refused(client_for, user):
    client = client_for(user)
    failed = ImageFactory(owner=user, status=Image.Status.FAILED)
    assert "could not be processed" in create_post(client, image_ids=[failed.pk]).json()["image_ids"][0]
    assert create_post(client, image_ids=[987654321]).status_code == 400
    ok = ImageFactory(owner=user)
    assert create_post(client, image_ids=[ok.pk, ok.pk]).status_code == 400
    eleven = [ImageFactory(owner=user).pk for _ in range(11)]
    assert create_post(client, image_ids=eleven).status_code == 400
    assert create_post(client, image_ids=eleven[:10]).status_code == 201
    assert not Post.objects.filter(author=user).exclude(images__isnull=False).exists()


def test_image_only_post(client_for, user):
    image = ImageFactory(owner=user)
    response = client_for(user).post("/posts/", {"text": "", "image_ids": [image.pk]}, format="json")
    assert response.status_code == 201
    post_id = response.json()["id"]
    # The text may not be emptied unless the post has images, which this one has.
    assert client_for(user).patch(f"/posts/{post_id}/", {"text": ""}, format="json").status_code == 200


def test_deleting_a_post_removes_its_images_and_files(client_for, user, media_root, django_capture_on_commit_callbacks):
    image = ready_image(user)
    post = post_create(author=user, text="bye", image_ids=[image.pk])
    assert len(samples.stored_files(media_root)) == 4
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(user).delete(f"/posts/{post.pk}/").status_code == 204
    assert not Image.objects.filter(pk=image.pk).exists()
    assert samples.stored_files(media_root) == []


def test_deleting_an_image_removes_it_from_its_post(client_for, user, django_capture_on_commit_callbacks):
    image = ready_image(user)
    post = post_create(author=user, text="hello", image_ids=[image.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(user).delete(f"/images/{image.pk}/").status_code == 204
    assert client_for(user).get(f"/posts/{post.pk}/").json()["images"] == []


def test_posts_list_with_images_is_a_constant_number_of_queries(client_for, user, api_client):
    client = client_for(user)

    def make_posts(n):
        for i in range(n):
            images = [ImageFactory(owner=user, ready=True).pk for _ in range(2)]
            post_create(author=user, text=f"post {i}", image_ids=images)

    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/posts/?page_size=100")
        assert response.status_code == 200
        return len(ctx), response.json()["results"]

    make_posts(1)
    one, results = count_queries()
    assert len(results) == 1 and len(results[0]["images"]) == 2
    make_posts(49)
    fifty, results = count_queries()
    assert len(results) == 50 and all(len(p["images"]) == 2 for p in results)
    assert fifty == one


# --- avatars --------------------------------------------------------------------------------------------------


def test_set_and_clear_avatar(client_for, user, api_client):
    image = ready_image(user)
    client = client_for(user)
    response = client.patch("/users/me/", {"avatar_id": image.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["avatar"]["id"] == image.pk
    profile = api_client.get(f"/users/{user.username}/").json()
    assert profile["avatar"]["id"] == image.pk
    # Avatars are public: plain URLs anyone can fetch.
    small = profile["avatar"]["urls"]["small"]
    assert "sig=" not in small
    assert api_client.get(f"/images/{image.pk}/").status_code == 200
    response = client.patch("/users/me/", {"avatar_id": None}, format="json")
    assert response.json()["avatar"] is None
    assert api_client.get(f"/users/{user.username}/").json()["avatar"] is None


def test_another_users_image_cannot_be_an_avatar(client_for, user, other_user):
    theirs = ImageFactory(owner=other_user, ready=True)
    response = client_for(user).patch("/users/me/", {"avatar_id": theirs.pk}, format="json")
    assert response.status_code == 400
    assert "avatar_id" in response.json()
    user.refresh_from_db()
    assert user.avatar_id is None


@pytest.mark.parametrize("value", ["abc", 0, -5, 2**70, [1]])
def test_bad_avatar_ids(client_for, user, value):
    assert client_for(user).patch("/users/me/", {"avatar_id": value}, format="json").status_code == 400


def test_deleting_the_avatar_image_clears_the_avatar(client_for, user, django_capture_on_commit_callbacks):
    image = ready_image(user)
    client = client_for(user)
    client.patch("/users/me/", {"avatar_id": image.pk}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        client.delete(f"/images/{image.pk}/")
    user.refresh_from_db()
    assert user.avatar_id is None


def test_author_avatars_in_post_lists_cost_no_extra_queries(client_for, user, api_client):
    def add_author_with_avatar():
        author = UserFactory()
        author.avatar = ImageFactory(owner=author, ready=True)
        author.save(update_fields=["avatar"])
        post_create(author=author, text="hi")

    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            results = api_client.get("/posts/?page_size=100").json()["results"]
        assert all(p["author"]["avatar"]["status"] == "ready" for p in results)
        return len(ctx), len(results)

    add_author_with_avatar()
    one = count_queries()
    for _ in range(9):
        add_author_with_avatar()
    ten = count_queries()
    assert (one[1], ten[1]) == (1, 10)
    assert ten[0] == one[0]


def test_a_post_image_and_an_avatar_are_never_the_same_image(client_for, user):
    """Avatars are public: sharing an image with a (maybe premium) post would publish the post's content."""
    client = client_for(user)
    on_post = ImageFactory(owner=user, ready=True)
    assert create_post(client, image_ids=[on_post.pk], visibility="premium").status_code == 201
    response = client.patch("/users/me/", {"avatar_id": on_post.pk}, format="json")
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.avatar_id is None

    avatar = ImageFactory(owner=user, ready=True)
    assert client.patch("/users/me/", {"avatar_id": avatar.pk}, format="json").status_code == 200
    response = create_post(client, image_ids=[avatar.pk], visibility="premium")
    assert response.status_code == 400
    assert "avatar" in response.json()["image_ids"][0]
    avatar.refresh_from_db()
    assert avatar.post_id is None
