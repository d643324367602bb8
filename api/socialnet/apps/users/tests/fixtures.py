"""Fixtures for every test: API clients with real tokens, users in each role, a clean Redis."""

import pytest
from rest_framework.test import APIClient

from .factories import UserFactory
from .oauth import issue_access_token


@pytest.fixture(autouse=True)
def _clean_cache():
    """Each test starts with an empty cache (timelines, view buffers, throttles live there)."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_for(db):
    """client_for(user, scope="read write") -> an APIClient sending that user's bearer token."""

    def make(user, scope: str = "read write") -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_access_token(user, scope=scope)}")
        client.user = user
        return client

    return make


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def premium_user(db):
    return UserFactory(premium=True)


@pytest.fixture
def moderator(db):
    return UserFactory(moderator=True)


@pytest.fixture
def admin_user(db):
    return UserFactory(admin=True)
