import pytest
from celery.result import EagerResult
from oauth2_provider.models import get_access_token_model

from apps.common.testing.celery_worker import wait_until
from apps.users.tasks import clear_expired_tokens_task
from apps.users.tests.oauth import issue_access_token

AccessToken = get_access_token_model()


@pytest.mark.worker
def test_expired_tokens_are_removed_by_the_worker_on_the_default_queue(celery_worker, user):
    issue_access_token(user, expires_in=-3600 * 24 * 60)  # long expired
    issue_access_token(user)  # still valid
    assert AccessToken.objects.count() == 2

    result = clear_expired_tokens_task.delay()
    assert not isinstance(result, EagerResult)  # went through the broker to the worker, not run inline

    wait_until(lambda: AccessToken.objects.count() == 1, message="expired token cleanup")
    assert AccessToken.objects.get().expires > AccessToken.objects.get().created


def test_cleanup_task_routes_to_default_queue():
    from celery import current_app as app

    route = app.amqp.router.route({}, clear_expired_tokens_task.name)
    assert route["queue"].name == "default"
