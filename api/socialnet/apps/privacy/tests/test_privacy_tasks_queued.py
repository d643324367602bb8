"""The export and the erasure through the real broker and worker (not eagerly): what the API promises holds when
the tasks run on `default` in another thread, as deployed."""

from datetime import timedelta

from django.utils import timezone

from apps.common.testing.celery_worker import wait_until
from apps.posts.models import Post
from apps.privacy.models import DataExport
from apps.privacy.tasks import account_erasure_sweep_task
from apps.users.models import User
from apps.users.tests.factories import TEST_PASSWORD, UserFactory


def test_export_is_built_by_the_worker(celery_worker, client_for):
    user = UserFactory()
    Post.objects.create(author=user, text="queued")
    client = client_for(user)
    assert client.post("/users/me/export/").status_code == 202
    wait_until(lambda: client.get("/users/me/export/").json()["status"] == "ready", message="the export built")
    assert client.get("/users/me/export/").json()["url"]
    assert DataExport.objects.get().storage_key


def test_closed_account_is_erased_by_the_worker(celery_worker, client_for, settings):
    user = UserFactory()
    post = Post.objects.create(author=user, text="queued")
    assert client_for(user).delete("/users/me/", {"password": TEST_PASSWORD}, format="json").status_code == 204
    User.objects.filter(pk=user.pk).update(
        deletion_requested_at=timezone.now() - timedelta(days=settings.ACCOUNT_DELETION_GRACE_DAYS, seconds=1)
    )
    account_erasure_sweep_task.delay()
    wait_until(lambda: User.objects.get(pk=user.pk).erased_at is not None, message="the account erased")
    assert not Post.objects.filter(pk=post.pk).exists()
