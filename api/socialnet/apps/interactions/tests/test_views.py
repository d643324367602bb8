import pytest

from apps.common.redis import redis_client
from apps.interactions import services
from apps.interactions.models import ViewFlush
from apps.interactions.services import VIEW_BATCH_FIELD, VIEW_BUFFER_KEY, VIEW_FLUSHING_KEY
from apps.interactions.tasks import flush_view_buffer_task
from apps.posts.models import Post
from apps.posts.services import post_create
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(user):
    return post_create(author=user, text="viewable")


def views_count(post):
    post.refresh_from_db()
    return post.views_count


def test_view_is_buffered_then_flushed_once_per_viewer(client_for, post, other_user):
    client = client_for(other_user)
    for _ in range(3):
        assert client.post(f"/posts/{post.id}/view/").status_code == 204
    assert client_for(UserFactory()).post(f"/posts/{post.id}/view/").status_code == 204
    assert views_count(post) == 0  # nothing written on the request path
    assert int(redis_client().hget(VIEW_BUFFER_KEY, post.id)) == 2

    assert flush_view_buffer_task.delay().get() == 2
    assert views_count(post) == 2
    assert flush_view_buffer_task.delay().get() == 0  # buffer emptied: a second flush adds nothing
    assert views_count(post) == 2
    assert client.post(f"/posts/{post.id}/view/").status_code == 204  # still inside the viewer's 24 h
    flush_view_buffer_task.delay().get()
    assert views_count(post) == 2


def test_dedupe_window_is_24_hours(client_for, post, other_user):
    client_for(other_user).post(f"/posts/{post.id}/view/")
    ttl = redis_client().ttl(f"views:seen:{post.id}:{other_user.id}")
    assert 86000 < ttl <= 86400


def test_view_after_the_window_counts_again(client_for, post, other_user):
    client = client_for(other_user)
    client.post(f"/posts/{post.id}/view/")
    redis_client().delete(f"views:seen:{post.id}:{other_user.id}")  # what expiry does after 24 h
    client.post(f"/posts/{post.id}/view/")
    services.view_buffer_flush()
    assert views_count(post) == 2


def test_views_need_a_token_and_a_visible_post(api_client, client_for, user, other_user):
    hidden = post_create(author=user, text="followers only", visibility=Post.Visibility.FOLLOWERS)
    assert api_client.post(f"/posts/{hidden.id}/view/").status_code == 401
    assert client_for(other_user).post(f"/posts/{hidden.id}/view/").status_code == 404
    assert client_for(other_user).post("/posts/abc/view/").status_code == 404
    assert client_for(other_user).post("/posts/99999999999999999999999/view/").status_code == 404
    services.view_buffer_flush()
    assert views_count(hidden) == 0
    assert not redis_client().exists(VIEW_BUFFER_KEY)


def test_a_batch_is_applied_exactly_once(post):
    """A flush that died after writing the counters but before deleting its batch is not re-applied."""
    redis = redis_client()
    redis.hset(VIEW_FLUSHING_KEY, mapping={VIEW_BATCH_FIELD: "batch-1", str(post.id): 5})
    assert services.view_buffer_flush() == 5
    assert views_count(post) == 5
    redis.hset(VIEW_FLUSHING_KEY, mapping={VIEW_BATCH_FIELD: "batch-1", str(post.id): 5})  # left behind again
    assert services.view_buffer_flush() == 0
    assert views_count(post) == 5
    assert not redis.exists(VIEW_FLUSHING_KEY)
    assert ViewFlush.objects.filter(batch_id="batch-1").count() == 1


def test_leftover_batch_is_finished_before_the_new_buffer(post, client_for, other_user):
    redis = redis_client()
    redis.hset(VIEW_FLUSHING_KEY, mapping={VIEW_BATCH_FIELD: "crashed", str(post.id): 3})
    client_for(other_user).post(f"/posts/{post.id}/view/")
    assert services.view_buffer_flush() == 4
    assert views_count(post) == 4


def test_views_of_deleted_posts_are_dropped_quietly(client_for, user, other_user):
    post = post_create(author=user, text="short-lived")
    client_for(other_user).post(f"/posts/{post.id}/view/")
    Post.objects.filter(pk=post.pk).delete()
    assert services.view_buffer_flush() == 1
    assert not redis_client().exists(VIEW_BUFFER_KEY)


def test_redis_down_drops_the_view_but_answers(client_for, post, other_user, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    assert client_for(other_user).post(f"/posts/{post.id}/view/").status_code == 204
    assert views_count(post) == 0


def test_embedded_mode_counts_through_the_cache_and_flushes_in_process(
    client_for, post, other_user, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""
    assert redis_client() is None
    client = client_for(other_user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.view_record(viewer=other_user, post=post) is True
    assert len(callbacks) == 1  # the flush, scheduled after commit
    assert views_count(post) == 0
    callbacks[0]()
    assert views_count(post) == 1
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert client.post(f"/posts/{post.id}/view/").status_code == 204  # deduplicated by the cache
        assert client_for(UserFactory()).post(f"/posts/{post.id}/view/").status_code == 204
    assert len(callbacks) == 1
    assert views_count(post) == 2


@pytest.mark.worker
def test_flush_through_a_real_worker(celery_worker, client_for):
    from apps.common.testing.celery_worker import wait_until

    author = UserFactory()
    post = post_create(author=author, text="viewed via the worker")
    client_for(UserFactory()).post(f"/posts/{post.id}/view/")
    flush_view_buffer_task.delay()
    wait_until(lambda: views_count(post) == 1, message="the worker to flush the view buffer")
