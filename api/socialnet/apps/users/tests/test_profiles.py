import pytest
from oauth2_provider.models import get_access_token_model
from rest_framework import serializers

from apps.users.serializers import PrivateProfileSerializer
from apps.users.tests.factories import TEST_PASSWORD, UserFactory
from apps.users.tests.oauth import issue_access_token

pytestmark = pytest.mark.django_db
PUBLIC_FIELDS = {
    "id",
    "username",
    "first_name",
    "last_name",
    "bio",
    "avatar",
    "followers_count",
    "following_count",
    "posts_count",
    "is_premium",
    "is_private",
    "is_following",
}


def test_me_requires_a_token(api_client):
    response = api_client.get("/users/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_me_returns_private_profile(client_for):
    user = UserFactory(premium=True)
    body = client_for(user).get("/users/me/").json()
    assert set(body) == PUBLIC_FIELDS | {"email", "email_verified", "pending_email", "role", "premium_until"}
    assert body["email"] == user.email
    assert body["is_premium"] is True
    assert body["role"] == "user"


def test_expired_premium_is_not_premium(client_for):
    assert client_for(UserFactory(expired_premium=True)).get("/users/me/").json()["is_premium"] is False


def test_patch_me_updates_profile_and_ignores_privileged_fields(client_for, user):
    response = client_for(user).patch(
        "/users/me/",
        {
            "bio": "Hello there",
            "first_name": "Al",
            "role": "admin",
            "is_staff": True,
            "premium_until": "2999-01-01T00:00:00Z",
            "email": "new@example.com",
            "username": "renamed",
        },
        format="json",
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.bio, user.first_name) == ("Hello there", "Al")
    assert (user.role, user.is_staff, user.premium_until, user.username) == ("user", False, None, user.username)
    assert user.email != "new@example.com"


@pytest.mark.parametrize("body", [{"bio": "x" * 501}, {"first_name": "x" * 151}, {"bio": ["a"]}, {"bio": None}])
def test_patch_me_rejects_bad_input(client_for, user, body):
    response = client_for(user).patch("/users/me/", body, format="json")
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.bio == ""


def test_delete_me_deactivates_and_revokes_tokens(api_client, user):
    token = issue_access_token(user)
    other_token = issue_access_token(user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.delete("/users/me/", {"password": TEST_PASSWORD}, format="json").status_code == 204
    user.refresh_from_db()
    assert user.is_active is False
    assert not get_access_token_model().objects.filter(user=user).exists()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {other_token}")
    assert api_client.get("/users/me/").status_code == 401
    # The profile disappears from public paths.
    api_client.credentials()
    assert api_client.get(f"/users/{user.username}/").status_code == 404


def test_public_profile_never_shows_email(api_client, user):
    response = api_client.get(f"/users/{user.username}/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PUBLIC_FIELDS
    assert user.email not in response.content.decode()
    assert body["is_following"] is False


def test_public_profile_lookup_is_case_insensitive(api_client):
    UserFactory(username="CamelCase")
    assert api_client.get("/users/camelcase/").json()["username"] == "CamelCase"


def test_unknown_profile_is_404_json(api_client):
    response = api_client.get("/users/nobody-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No User matches the given query."} or "detail" in response.json()


def test_a_user_cannot_change_another_users_profile(client_for, user, other_user):
    # There is no endpoint addressing someone else's private profile: writes go to /users/me/ only.
    client = client_for(other_user)
    assert client.patch(f"/users/{user.username}/", {"bio": "pwned"}, format="json").status_code == 405
    assert client.delete(f"/users/{user.username}/").status_code == 405
    user.refresh_from_db()
    assert user.bio == "" and user.is_active


def test_unknown_path_is_json_404(api_client):
    response = api_client.get("/definitely/not/here/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "traits",
    [{}, {"premium": True}, {"expired_premium": True}, {"moderator": True, "is_private": True, "bio": "Bio ✓"}],
)
def test_private_profile_written_out_is_what_the_declared_fields_make(traits):
    user = UserFactory(**traits, pending_email="next@example.com", followers_count=3, posts_count=7)
    user.is_following = True  # as a selector's annotation would set it
    serializer = PrivateProfileSerializer(user)
    declared = serializers.Serializer.to_representation(serializer, user)  # DRF's generic walk of the fields
    assert list(serializer.data.items()) == list(declared.items())
