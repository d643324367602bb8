"""A suspension kills the authorization codes the user was issued before it (not only the tokens)."""

import secrets

import pytest
from oauth2_provider.models import get_access_token_model

from apps.moderation.services import user_suspend
from apps.users.tests.factories import UserFactory
from apps.users.tests.test_oauth_hardening import exchange, get_code, signed_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_a_code_issued_before_a_suspension_is_refused(signed_in):  # noqa: F811
    user, client = signed_in
    verifier = secrets.token_urlsafe(48)
    code = get_code(client, verifier)
    user_suspend(user=user, actor=UserFactory(moderator=True), reason="spam")
    response = exchange(code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not get_access_token_model().objects.filter(user=user).exists()


def test_a_token_in_use_is_refused_by_the_next_request_after_a_suspension(client_for):
    user, moderator = UserFactory(), UserFactory(moderator=True)
    client = client_for(user)
    assert client.get("/users/me/").status_code == 200
    user_suspend(user=user, actor=moderator, reason="spam")
    assert client.get("/users/me/").status_code == 401
