import pytest

pytestmark = pytest.mark.django_db


def test_schema_documents_the_account_lifecycle(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    expected = {
        "/users/me/": {"get", "patch", "delete"},
        "/users/verify-email/": {"post"},
        "/users/me/verify-email/resend/": {"post"},
        "/users/me/password/": {"post"},
        "/users/password-reset/": {"post"},
        "/users/password-reset/confirm/": {"post"},
        "/users/me/export/": {"get", "post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    components = schema["components"]["schemas"]
    assert {"email_verified", "pending_email"} <= set(components["PrivateProfile"]["properties"])
    assert {"id", "status", "created_at", "url"} <= set(components["DataExport"]["properties"])
    assert {"current_password", "new_password"} <= set(components["PasswordChangeRequest"]["properties"])
    assert '"password"' in paths["/users/me/"]["delete"]["description"]  # DELETE bodies have no schema in OpenAPI 3.0
