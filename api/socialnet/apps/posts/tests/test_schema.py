import pytest

pytestmark = pytest.mark.django_db


def test_schema_documents_posts_comments_and_interactions(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    expected = {
        "/posts/": {"get", "post"},
        "/posts/{post_id}/": {"get", "patch", "delete"},
        "/posts/{post_id}/like/": {"post", "delete"},
        "/posts/{post_id}/view/": {"post"},
        "/posts/{post_id}/likes/": {"get"},
        "/posts/{post_id}/comments/": {"get", "post"},
        "/comments/{comment_id}/": {"get", "patch", "delete"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    post_props = schema["components"]["schemas"]["Post"]["properties"]
    assert {"id", "author", "text", "visibility", "images", "liked_by_me", "locked", "edited_at"} <= set(post_props)
    create_props = schema["components"]["schemas"]["PostCreateRequest"]["properties"]
    assert {"text", "visibility", "image_ids"} <= set(create_props)
    list_params = {p["name"] for p in paths["/posts/"]["get"]["parameters"]}
    assert {"author", "cursor", "page_size"} <= list_params
    comment_params = {p["name"] for p in paths["/posts/{post_id}/comments/"]["get"]["parameters"]}
    assert "parent" in comment_params
