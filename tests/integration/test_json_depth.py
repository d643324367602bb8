"""Deeply nested JSON is a 400 on every path that reads JSON, DRF or not (issue 18: it was a 500)."""

import json

import pytest

from apps.common.parsers import JSONTooDeep, json_loads_limited
from apps.users.oauth_clients import demo_client_ensure

pytestmark = pytest.mark.django_db

BRACKETS = "[" * 50000
DEEP_OBJECT = '{"a":' * 50000 + "1" + "}" * 50000


@pytest.fixture
def client(api_client):
    api_client.raise_request_exception = False  # see the response a real client would get
    return api_client


@pytest.mark.parametrize("body", [BRACKETS, DEEP_OBJECT, "[" * 33 + "]" * 33, '{"text": ' + "[" * 40 + "]" * 40 + "}"])
@pytest.mark.parametrize("path", ["/posts/", "/users/create/", "/o/token/", "/o/revoke_token/"])
def test_nested_json_is_400(client, client_for, user, path, body):
    demo_client_ensure()
    caller = client_for(user) if path == "/posts/" else client
    caller.raise_request_exception = False
    response = caller.post(path, data=body, content_type="application/json")
    assert response.status_code == 400, response.content[:200]


def test_ordinary_nesting_still_parses(client_for, user):
    response = client_for(user).post("/posts/", {"text": "hello", "image_ids": []}, format="json")
    assert response.status_code == 201


def test_depth_limit_counts_levels():
    assert json_loads_limited("[" * 32 + "]" * 32, max_depth=32)
    with pytest.raises(JSONTooDeep):
        json_loads_limited("[" * 33 + "]" * 33, max_depth=32)
    with pytest.raises(JSONTooDeep):
        json_loads_limited(BRACKETS + "]" * 50000)
    assert json_loads_limited(json.dumps({"a": [1, {"b": "[[[["}]})) == {"a": [1, {"b": "[[[["}]}
