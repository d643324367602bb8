"""Schemathesis over the live API: every documented operation, generated requests (valid and invalid), as an
anonymous caller, a user and a moderator, every built-in check on. Any 5xx, any response the schema does not
describe (status, body, headers) fails the test.

The API runs as a real HTTP server (pytest-django's live_server: Django's WSGI app in a thread, the test database,
the real Redis); the schema is the one /api/schema/ serves. `make test` runs RELIABILITY_EXAMPLES (default 3)
examples per operation for the anonymous caller and the user (about 100 s); `make reliability` sets it to 100 and
adds the moderator.
"""

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks

from apps.comments.tests.factories import CommentFactory
from apps.posts.tests.factories import PostFactory
from apps.users.tests.factories import UserFactory
from apps.users.tests.oauth import issue_access_token

pytestmark = [pytest.mark.reliability]

EXAMPLES = int(os.environ.get("RELIABILITY_EXAMPLES", "3"))
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES < 10,  # the bounded run is the same every time; the long one explores
    suppress_health_check=list(HealthCheck),
)


def served_schema() -> dict:
    """The schema exactly as /api/schema/ serves it, generated in-process at collection (Schemathesis parametrizes
    the tests from it before any server runs; the requests then go to the live server)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(served_schema())
# "Schema-valid request rejected" also counts 400 as a failure, but what the schema cannot express is validated by
# the server: opaque cursors and tokens, password rules, `max_id` with `min_id`, ids of objects that must exist,
# and (415) an upload's bytes being an image. There these answers are the API working; a 5xx or an undocumented
# status still fails (not_a_server_error, status_code_conformance).
schema.config.checks.positive_data_acceptance.expected_statuses = [
    *schema.config.checks.positive_data_acceptance.expected_statuses,
    "400",
    "415",
]
load_all_checks()
(negative_data_rejection,) = CHECKS.get_by_names(["negative_data_rejection"])


@pytest.fixture
def seeded(transactional_db):
    """A little data for generated ids and usernames to sometimes hit (ids start low on a test database)."""
    author = UserFactory(username="author")
    post = PostFactory(author=author)
    CommentFactory(post=post, author=author)


def bearer(**user_kwargs) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_access_token(UserFactory(**user_kwargs), scope='read write')}"}


def check(case, live_server, headers=None):
    # One known deviation, for request bodies only: DRF's text fields take a number as its text (`"text": 0` is
    # "0"), its form parsing reads an empty field of a nullable field as null (`expires_at=` is "never") and an
    # empty form body as an empty object (`POST /notifications/read/`: mark all read). Query
    # and path parameters, and every other check, stay strict.
    excluded = [negative_data_rejection] if case.operation.body else []
    case.call_and_validate(base_url=live_server.url, headers=headers, excluded_checks=excluded)


@schema.parametrize()
@HYPOTHESIS
def test_anonymous_caller(case, seeded, live_server):
    check(case, live_server)


@schema.parametrize()
@HYPOTHESIS
def test_user(case, seeded, live_server):
    check(case, live_server, bearer())


@schema.parametrize()
@HYPOTHESIS
@pytest.mark.skipif(EXAMPLES < 10, reason="the bounded run (make test) fuzzes two callers; make reliability all three")
def test_moderator(case, seeded, live_server):
    check(case, live_server, bearer(moderator=True))
