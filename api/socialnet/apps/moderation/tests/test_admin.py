"""The Django admin as staff use it: who may do what, and changelists that stay cheap on big tables."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.comments.tests.factories import CommentFactory
from apps.moderation.models import ModerationAction, Report
from apps.posts.tests.factories import PostFactory
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def staff_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_regular_users_cannot_enter_the_admin(user):
    response = staff_client(user).get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_moderator_sees_queue_but_cannot_change_roles(moderator):
    client = staff_client(moderator)
    assert client.get("/admin/moderation/report/").status_code == 200
    target = UserFactory()
    assert client.get(f"/admin/users/user/{target.pk}/change/").status_code == 200  # view only
    response = client.post(
        f"/admin/users/user/{target.pk}/change/",
        {"username": target.username, "role": "admin", "email": target.email},
    )
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.role == "user"


def test_admin_changes_role_through_the_service(admin_user):
    target = UserFactory()
    client = staff_client(admin_user)
    page = client.get(f"/admin/users/user/{target.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields if name != "password"}
    data.update(role="moderator", premium_until_0="", premium_until_1="")
    data.pop("premium_until", None)
    response = client.post(f"/admin/users/user/{target.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    target.refresh_from_db()
    assert target.role == "moderator" and target.is_staff
    assert ModerationAction.objects.filter(action="set_role", target_id=target.pk, actor=admin_user).exists()


def test_grant_premium_action_is_admin_only(moderator, admin_user):
    target = UserFactory()
    body = {"action": "grant_premium_30_days", "_selected_action": [target.pk]}
    staff_client(moderator).post("/admin/users/user/", body)
    target.refresh_from_db()
    assert not target.is_premium
    staff_client(admin_user).post("/admin/users/user/", body)
    target.refresh_from_db()
    assert target.is_premium


def test_suspend_action_from_user_changelist(moderator):
    target = UserFactory()
    staff_client(moderator).post("/admin/users/user/", {"action": "suspend_users", "_selected_action": [target.pk]})
    target.refresh_from_db()
    assert not target.is_active


def test_action_outcome_shown_on_the_page_it_redirects_to(moderator):
    # The message travels in a cookie to the next page: the storage is built as the action adds it
    # (apps.common.middleware.LazyMessageMiddleware), saved with the redirect and read by the changelist.
    target = UserFactory()
    body = {"action": "suspend_users", "_selected_action": [target.pk]}
    response = staff_client(moderator).post("/admin/users/user/", body, follow=True)
    assert response.redirect_chain == [("/admin/users/user/", 302)]
    assert [str(message) for message in response.context["messages"]] == ["1 user(s) suspended."]


@pytest.mark.parametrize(
    "url",
    [
        "/admin/users/user/",
        "/admin/moderation/report/",
        "/admin/moderation/moderationaction/",
        "/admin/posts/post/",
        "/admin/comments/comment/",
    ],
)
def test_changelists_have_no_per_row_queries(admin_user, url):
    client = staff_client(admin_user)

    def queries_with(n):
        for _ in range(n):
            post = PostFactory()
            CommentFactory(post=post, parent=CommentFactory(post=post))
            report = Report.objects.create(reporter=UserFactory(), target_type="post", target_id=post.pk, reason="spam")
            ModerationAction.objects.create(
                actor=admin_user, action="dismiss_report", target_type="post", target_id=post.pk, report=report
            )
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = queries_with(1)
    many = queries_with(30)
    assert many == few, f"{url}: {few} queries for 1 row, {many} for 31"


def test_moderator_removes_posts_and_comments_with_admin_actions(moderator):
    post = PostFactory()
    comment = CommentFactory()
    client = staff_client(moderator)
    client.post("/admin/posts/post/", {"action": "remove_posts", "_selected_action": [post.pk]})
    client.post("/admin/comments/comment/", {"action": "remove_comments", "_selected_action": [comment.pk]})
    post.refresh_from_db()
    comment.refresh_from_db()
    assert post.removed_at is not None and comment.removed_at is not None
    assert set(ModerationAction.objects.values_list("action", flat=True)) == {"remove_post", "remove_comment"}


def test_moderator_cannot_edit_posts_directly(moderator):
    post = PostFactory(text="original")
    response = staff_client(moderator).post(f"/admin/posts/post/{post.pk}/change/", {"text": "edited"})
    assert response.status_code == 403
    post.refresh_from_db()
    assert post.text == "original"


def test_admin_delete_goes_through_the_services(admin_user):
    from apps.posts.models import Post
    from apps.posts.services import post_create

    author = UserFactory()
    post = post_create(author=author, text="to be deleted")
    author.refresh_from_db()
    assert author.posts_count == 1
    response = staff_client(admin_user).post(f"/admin/posts/post/{post.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Post.objects.filter(pk=post.pk).exists()
    author.refresh_from_db()
    assert author.posts_count == 0


def test_moderators_cannot_delete_rows_in_the_admin(moderator):
    post = PostFactory()
    response = staff_client(moderator).post(f"/admin/posts/post/{post.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    post.refresh_from_db()
