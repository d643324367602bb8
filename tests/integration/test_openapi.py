"""The schema tells the whole truth: error statuses on every operation, limits as constraints, the enum and
partial-update bugs fixed, the empty cursor one rule everywhere (the Schemathesis suite in tests/reliability/
checks the running API against all of it)."""

import pytest

from apps.comments.tests.factories import CommentFactory
from apps.posts.tests.factories import PostFactory

pytestmark = pytest.mark.django_db

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            if method in METHODS:
                yield path, method, op


def test_every_operation_documents_its_error_statuses(schema):
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]
    for path, method, op in operations(schema):
        responses = op["responses"]
        where = f"{method.upper()} {path}"
        assert "Retry-After" in responses["429"]["headers"], where
        if any(requirement for requirement in op.get("security") or []):
            assert "WWW-Authenticate" in responses["401"]["headers"], where
            assert "403" in responses, where
        if "{" in path:
            assert "404" in responses, where
        if any(parameter["in"] in ("path", "query") for parameter in op.get("parameters", [])):
            assert responses["414"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error"), where
        if "requestBody" in op:
            assert {"400", "413", "415"} <= set(responses), where
    assert "401" in schema["paths"]["/posts/"]["get"]["responses"]
    assert "401" not in schema["paths"]["/health/"]["get"]["responses"]
    assert "414" in schema["paths"]["/search/"]["get"]["responses"]


def test_limits_are_schema_constraints(schema):
    params = {p["name"]: p["schema"] for p in schema["paths"]["/feed/"]["get"]["parameters"]}
    assert params["page_size"]["minimum"] == 1
    assert params["page_size"]["maximum"] == 100
    assert params["max_id"]["minimum"] == params["min_id"]["minimum"] == 1
    listed = {p["name"]: p["schema"] for p in schema["paths"]["/posts/"]["get"]["parameters"]}
    assert (listed["page_size"]["minimum"], listed["page_size"]["maximum"]) == (1, 100)


def test_report_resolution_may_be_blank(schema, client_for, user):
    resolution = schema["components"]["schemas"]["Report"]["properties"]["resolution"]
    allowed = set()
    for alternative in resolution.get("oneOf", [resolution]):
        target = alternative
        if "$ref" in alternative:
            target = schema["components"]["schemas"][alternative["$ref"].rsplit("/", 1)[1]]
        allowed |= set(target.get("enum", []))
    assert {"", "dismiss"} <= allowed
    post = PostFactory()
    response = client_for(user).post(
        "/reports/", {"target_type": "post", "target_id": post.pk, "reason": "spam"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["resolution"] == ""


def test_comment_patch_is_partial_like_its_schema(schema, client_for, user):
    assert "required" not in schema["components"]["schemas"]["PatchedCommentUpdateRequest"]
    comment = CommentFactory(author=user, text="as it was")
    client = client_for(user)
    response = client.patch(f"/comments/{comment.pk}/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["text"] == "as it was"
    response = client.patch(f"/comments/{comment.pk}/", {"text": "edited"}, format="json")
    assert response.status_code == 200
    assert response.json()["text"] == "edited"


@pytest.mark.parametrize("path", ["/posts/", "/feed/trending/", "/feed/recommended/", "/notifications/"])
def test_an_empty_cursor_is_the_first_page_everywhere(client_for, user, path):
    client = client_for(user)
    first = client.get(path)
    empty = client.get(path, {"cursor": ""})
    assert first.status_code == empty.status_code == 200, empty.content
    assert empty.json()["results"] == first.json()["results"]
