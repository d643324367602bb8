import pytest

from apps.comments.tests.factories import CommentFactory
from apps.follows.models import Follow
from apps.moderation.models import Report
from apps.posts.models import Post
from apps.posts.tests.factories import PostFactory
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def report(client, target_type, target_id, reason="spam", **extra):
    return client.post(
        "/reports/", {"target_type": target_type, "target_id": target_id, "reason": reason, **extra}, format="json"
    )


# --- filing reports -----------------------------------------------------------------------------------------


def test_reporting_needs_a_token(api_client):
    post = PostFactory()
    assert report(api_client, "post", post.pk).status_code == 401
    assert not Report.objects.exists()


@pytest.mark.parametrize("target_type", ["post", "comment", "user"])
def test_report_each_kind_of_target(client_for, user, target_type):
    post = PostFactory()
    target_id = {"post": post.pk, "comment": CommentFactory(post=post).pk, "user": post.author_id}[target_type]
    response = report(client_for(user), target_type, target_id, reason="abuse", note="rude")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["target_type"], body["target_id"], body["reason"], body["status"]) == (
        target_type,
        target_id,
        "abuse",
        "open",
    )
    assert body["reporter"]["username"] == user.username


def test_second_report_on_the_same_target_returns_the_open_one(client_for, user):
    post = PostFactory()
    client = client_for(user)
    first = report(client, "post", post.pk)
    second = report(client, "post", post.pk, reason="other")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Report.objects.count() == 1


def test_another_reporter_gets_their_own_report(client_for, user, other_user):
    post = PostFactory()
    assert report(client_for(user), "post", post.pk).status_code == 201
    assert report(client_for(other_user), "post", post.pk).status_code == 201
    assert Report.objects.count() == 2


def test_cannot_report_what_you_cannot_see(client_for, user):
    hidden = PostFactory(visibility=Post.Visibility.FOLLOWERS)
    removed = PostFactory(removed_at="2026-01-01T00:00:00Z")
    inactive = UserFactory(is_active=False)
    client = client_for(user)
    assert report(client, "post", hidden.pk).status_code == 404
    assert report(client, "post", removed.pk).status_code == 404
    assert report(client, "comment", CommentFactory(post=hidden).pk).status_code == 404
    assert report(client, "user", inactive.pk).status_code == 404
    assert report(client, "post", 987654321).status_code == 404
    assert not Report.objects.exists()


def test_followers_can_report_followers_only_posts(client_for, user):
    post = PostFactory(visibility=Post.Visibility.FOLLOWERS)
    Follow.objects.create(follower=user, followee=post.author)
    assert report(client_for(user), "post", post.pk).status_code == 201


def test_cannot_report_yourself(client_for, user):
    client = client_for(user)
    assert report(client, "user", user.pk).status_code == 400
    assert report(client, "post", PostFactory(author=user).pk).status_code == 400
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"target_type": "image", "target_id": 1, "reason": "spam"},
        {"target_type": "post", "target_id": "abc", "reason": "spam"},
        {"target_type": "post", "target_id": -1, "reason": "spam"},
        {"target_type": "post", "target_id": 10**30, "reason": "spam"},
        {"target_type": "post", "target_id": 1, "reason": "boring"},
        {"target_type": "post", "target_id": 1, "reason": "spam", "note": "x" * 1001},
        {"target_type": "post", "reason": "spam"},
        {},
    ],
)
def test_bad_report_input_is_400(client_for, user, body):
    PostFactory(pk=1)
    response = client_for(user).post("/reports/", body, format="json")
    assert response.status_code == 400
    assert not Report.objects.exists()


# --- the queue ----------------------------------------------------------------------------------------------


def test_queue_permissions(api_client, client_for, user, moderator, admin_user):
    assert api_client.get("/moderation/reports/").status_code == 401
    assert client_for(user).get("/moderation/reports/").status_code == 403
    assert client_for(moderator).get("/moderation/reports/").status_code == 200
    assert client_for(admin_user).get("/moderation/reports/").status_code == 200


def test_queue_lists_open_reports_first(client_for, moderator):
    resolved = Report.objects.create(
        reporter=UserFactory(), target_type="post", target_id=1, reason="spam", is_open=False, status="resolved"
    )
    older_open = Report.objects.create(reporter=UserFactory(), target_type="post", target_id=2, reason="spam")
    newer_open = Report.objects.create(reporter=UserFactory(), target_type="post", target_id=3, reason="spam")
    ids = [r["id"] for r in client_for(moderator).get("/moderation/reports/").json()["results"]]
    assert ids == [newer_open.pk, older_open.pk, resolved.pk]
    only_open = client_for(moderator).get("/moderation/reports/?status=open").json()["results"]
    assert [r["id"] for r in only_open] == [newer_open.pk, older_open.pk]
    assert client_for(moderator).get("/moderation/reports/?status=weird").status_code == 400


def test_queue_query_count_is_constant(client_for, moderator, django_assert_num_queries):
    client = client_for(moderator)

    def count_for(n):
        Report.objects.all().delete()
        for i in range(n):
            Report.objects.create(reporter=UserFactory(), target_type="post", target_id=i + 1, reason="spam")
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/moderation/reports/?page_size=100")
        assert len(response.json()["results"]) == n
        return len(ctx.captured_queries)

    assert count_for(1) == count_for(50)


def test_queue_paginates_without_repeats(client_for, moderator):
    for i in range(25):
        Report.objects.create(reporter=UserFactory(), target_type="post", target_id=i + 1, reason="spam")
    client = client_for(moderator)
    page = client.get("/moderation/reports/?page_size=10").json()
    seen = [r["id"] for r in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [r["id"] for r in page["results"]]
    assert len(seen) == len(set(seen)) == 25


def test_queue_pages_forward_and_back_across_open_and_resolved(client_for, moderator):
    reporter = UserFactory()
    Report.objects.bulk_create(
        Report(reporter=reporter, target_type="post", target_id=i + 1, reason="spam", is_open=i % 3 != 0)
        for i in range(1150)  # past DRF's 1000-row offset cutoff within one is_open group
    )
    expected = list(Report.objects.order_by("-is_open", "-id").values_list("id", flat=True))
    client = client_for(moderator)
    pages, page = [], client.get("/moderation/reports/?page_size=100").json()
    while True:
        pages.append([r["id"] for r in page["results"]])
        if not page["next"]:
            break
        page = client.get(page["next"]).json()
    assert [i for p in pages for i in p] == expected
    # ...and back again from the last page.
    back = [[r["id"] for r in page["results"]]]
    while page["previous"]:
        page = client.get(page["previous"]).json()
        back.append([r["id"] for r in page["results"]])
    assert back[::-1] == pages


@pytest.mark.parametrize("cursor", ["bm9uc2Vuc2U=", "bz0xJmk9YWJj", "bz01Jmk9MQ==", "!!!", "bz0xJmk9LTE="])
def test_queue_rejects_hand_made_cursors(client_for, moderator, cursor):
    response = client_for(moderator).get(f"/moderation/reports/?cursor={cursor}")
    assert response.status_code == 400
    assert response.json() == {"cursor": ["Invalid cursor."]}
