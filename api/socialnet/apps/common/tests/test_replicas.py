"""The routing rules of apps.common.replicas that need no replica to check: pins in the real Redis, when a request's
scope knows who is asking, and what the router keeps on the primary. tests/e2e/test_read_replica.py runs the whole
thing against a real streaming replica."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.db import DEFAULT_DB_ALIAS, transaction
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.utils.functional import SimpleLazyObject
from oauth2_provider.models import AccessToken

from apps.common import replicas
from apps.common.redis import redis_client

pytestmark = pytest.mark.django_db


@override_settings(DATABASE_REPLICA_PIN_SECONDS=7)
def test_a_write_pins_its_author_and_nobody_else_for_the_pin_seconds(user, other_user):
    replicas.ReplicaReadsMiddleware(lambda request: HttpResponse(status=201))(_request("post", user))
    assert replicas._pinned(user.pk)
    assert not replicas._pinned(other_user.pk)
    assert not replicas._pinned(None)
    assert 0 < redis_client().ttl(f"dbpin:{user.pk}") <= 7


def test_reads_and_options_pin_nobody(user):
    for method in ("get", "head", "options"):
        replicas.ReplicaReadsMiddleware(lambda request: HttpResponse())(_request(method, user))
    assert not replicas._pinned(user.pk)


def test_a_drf_view_scope_waits_for_the_token_user(user):
    request = _request("get", SimpleLazyObject(AnonymousUser))
    scope = replicas._Scope(request)
    scope.drf_view = True
    assert scope._user_id() is replicas._UNKNOWN
    assert scope.read_alias() == DEFAULT_DB_ALIAS and scope.alias is None, "undecided reads use the primary"
    request.user = user  # what DRF's authentication does to the Django request
    assert scope._user_id() == user.pk


def test_another_view_scope_decides_once_the_session_user_is_evaluated():
    request = _request("get", SimpleLazyObject(AnonymousUser))
    scope = replicas._Scope(request)
    assert scope._user_id() is replicas._UNKNOWN
    assert not request.user.is_authenticated  # evaluates the session user
    assert scope._user_id() is None


# Group stands for any model of the apps (common may import none of them); credentials are oauth2_provider's.
@pytest.mark.django_db(transaction=True)  # no per-test transaction: reads outside atomic blocks, as in a request
def test_the_router_keeps_transactions_credentials_and_tasks_on_the_primary():
    router = replicas.ReplicaRouter()
    assert router.db_for_read(Group) == DEFAULT_DB_ALIAS, "no scope: a task or a command"
    with replicas.replica_reads():
        replicas._scope.get().alias = "replica1"  # as if the scope had found a replica
        assert router.db_for_read(Group) == "replica1"
        assert router.db_for_read(AccessToken) == DEFAULT_DB_ALIAS
        with transaction.atomic():
            assert router.db_for_read(Group) == DEFAULT_DB_ALIAS
        with replicas.primary_reads():
            assert router.db_for_read(Group) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Group) == "replica1"
    assert router.db_for_read(Group) == DEFAULT_DB_ALIAS
    assert router.db_for_write(Group) == DEFAULT_DB_ALIAS
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "auth") and not router.allow_migrate("replica1", "auth")


def _request(method: str, user):
    request = getattr(RequestFactory(), method)("/posts/")
    request.user = user
    return request
