import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.interactions import services
from apps.interactions.models import Like
from apps.posts.models import Post
from apps.posts.services import post_create
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(user):
    return post_create(author=user, text="likeable")


def likes_count(post):
    post.refresh_from_db()
    return post.likes_count


def test_like_is_201_then_200_and_counted_once(client_for, post, other_user):
    client = client_for(other_user)
    first = client.post(f"/posts/{post.id}/like/")
    assert (first.status_code, first.json()) == (201, {"liked": True, "likes_count": 1})
    again = client.post(f"/posts/{post.id}/like/")
    assert (again.status_code, again.json()) == (200, {"liked": True, "likes_count": 1})
    assert likes_count(post) == 1
    assert Like.objects.filter(post=post, user=other_user).count() == 1
    body = client.get(f"/posts/{post.id}/").json()
    assert (body["liked_by_me"], body["likes_count"]) == (True, 1)
    # liked_by_me is the caller's, not anyone's
    assert client_for(UserFactory()).get(f"/posts/{post.id}/").json()["liked_by_me"] is False


def test_unlike_is_204_and_idempotent(client_for, post, other_user):
    client = client_for(other_user)
    client.post(f"/posts/{post.id}/like/")
    assert client.delete(f"/posts/{post.id}/like/").status_code == 204
    assert client.delete(f"/posts/{post.id}/like/").status_code == 204
    assert likes_count(post) == 0
    assert not Like.objects.exists()


def test_unlike_only_removes_your_own_like(client_for, post, user, other_user):
    client_for(user).post(f"/posts/{post.id}/like/")
    assert client_for(other_user).delete(f"/posts/{post.id}/like/").status_code == 204
    assert Like.objects.filter(user=user, post=post).exists()
    assert likes_count(post) == 1


def test_likes_need_a_token(api_client, post):
    assert api_client.post(f"/posts/{post.id}/like/").status_code == 401
    assert api_client.delete(f"/posts/{post.id}/like/").status_code == 401
    assert likes_count(post) == 0


@pytest.mark.parametrize("path_id", ["abc", "99999999999999999999", "777777"])
def test_like_unknown_post_is_404(client_for, user, path_id):
    client = client_for(user)
    assert client.post(f"/posts/{path_id}/like/").status_code == 404
    assert client.delete(f"/posts/{path_id}/like/").status_code == 404
    assert client.get(f"/posts/{path_id}/likes/").status_code == 404
    assert not Like.objects.exists()


def test_likes_count_never_goes_negative(post, other_user):
    services.like_create(user=other_user, post=post)
    Post.objects.filter(pk=post.pk).update(likes_count=0)  # drifted low
    assert services.like_delete(user=other_user, post=post) is True
    assert likes_count(post) == 0


def test_unliking_a_post_that_became_locked_still_works(client_for, user, other_user):
    post = post_create(author=user, text="was public")
    client = client_for(other_user)
    client.post(f"/posts/{post.id}/like/")
    Post.objects.filter(pk=post.pk).update(visibility=Post.Visibility.PREMIUM)
    assert client.post(f"/posts/{post.id}/like/").status_code == 403
    assert client.delete(f"/posts/{post.id}/like/").status_code == 204
    assert likes_count(post) == 0


def test_likes_list_newest_first_without_inactive_users(api_client, post):
    first, second, gone = UserFactory.create_batch(3)
    for u in (first, gone, second):
        services.like_create(user=u, post=post)
    gone.is_active = False
    gone.save()
    body = api_client.get(f"/posts/{post.id}/likes/").json()
    assert [u["username"] for u in body["results"]] == [second.username, first.username]
    assert set(body["results"][0]) == {"id", "username", "avatar"}
    assert "email" not in api_client.get(f"/posts/{post.id}/likes/").content.decode()


def test_likes_list_rejects_bad_pagination(api_client, post):
    assert api_client.get(f"/posts/{post.id}/likes/", {"page_size": 0}).status_code == 400
    assert api_client.get(f"/posts/{post.id}/likes/", {"page_size": 10**9}).status_code == 400
    assert api_client.get(f"/posts/{post.id}/likes/", {"cursor": "cD1hYmM="}).status_code == 400


def test_likes_list_query_count_does_not_grow(client_for, post, django_assert_num_queries):
    client = client_for(UserFactory())
    services.like_create(user=UserFactory(), post=post)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(f"/posts/{post.id}/likes/", {"page_size": 50}).json()["results"]) == 1
    for liker in UserFactory.create_batch(49):
        services.like_create(user=liker, post=post)
    with django_assert_num_queries(len(one)):
        assert len(client.get(f"/posts/{post.id}/likes/", {"page_size": 50}).json()["results"]) == 50


def test_recount_repairs_likes_counters(post):
    for liker in UserFactory.create_batch(3):
        services.like_create(user=liker, post=post)
    Post.objects.filter(pk=post.pk).update(likes_count=17)
    assert services.likes_counters_recount() == 1
    assert likes_count(post) == 3
    assert services.likes_counters_recount() == 0


def test_recount_task_runs_through_celery(post):
    from apps.interactions.tasks import likes_counters_recount_task

    Post.objects.filter(pk=post.pk).update(likes_count=5)
    assert likes_counters_recount_task.delay().get() == 1
    assert likes_count(post) == 0
