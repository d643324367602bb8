import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from apps.comments.models import Comment
from apps.comments.tests.factories import CommentFactory
from apps.moderation import services
from apps.moderation.models import ModerationAction, Report, Suspension
from apps.posts.models import Post
from apps.posts.tests.factories import PostFactory
from apps.users.tests.factories import TEST_PASSWORD, UserFactory
from apps.users.tests.oauth import issue_access_token

pytestmark = pytest.mark.django_db


def open_report(target_type, target_id, reporter=None):
    return Report.objects.create(
        reporter=reporter or UserFactory(), target_type=target_type, target_id=target_id, reason="abuse"
    )


def resolve(client, report, action, **extra):
    return client.post(f"/moderation/reports/{report.pk}/resolve/", {"action": action, **extra}, format="json")


@pytest.mark.parametrize("who", ["anonymous", "user", "author"])
def test_only_moderators_resolve(api_client, client_for, who):
    post = PostFactory()
    report = open_report("post", post.pk)
    client = {"anonymous": api_client, "user": client_for(UserFactory()), "author": client_for(post.author)}[who]
    response = resolve(client, report, "remove_content")
    assert response.status_code == (401 if who == "anonymous" else 403)
    report.refresh_from_db()
    post.refresh_from_db()
    assert report.is_open and post.removed_at is None
    assert not ModerationAction.objects.exists()


def test_dismiss(client_for, moderator):
    post = PostFactory()
    report = open_report("post", post.pk)
    response = resolve(client_for(moderator), report, "dismiss", note="fine")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["resolution"], body["resolved_by"]["username"]) == (
        "resolved",
        "dismiss",
        moderator.username,
    )
    post.refresh_from_db()
    assert post.removed_at is None
    action = ModerationAction.objects.get()
    assert (action.actor, action.action, action.reason, action.report) == (moderator, "dismiss_report", "fine", report)


def test_remove_post_hides_it_everywhere_and_closes_other_reports(api_client, client_for, moderator):
    author = UserFactory()
    post = PostFactory(author=author, text="offending words")
    report = open_report("post", post.pk)
    other = open_report("post", post.pk)
    viewer = client_for(UserFactory())
    assert viewer.get(f"/posts/{post.pk}/").status_code == 200

    assert resolve(client_for(moderator), report, "remove_content").status_code == 200

    post.refresh_from_db()
    assert post.removed_at is not None  # kept for the record
    for client in (api_client, viewer, client_for(author)):
        assert client.get(f"/posts/{post.pk}/").status_code == 404
        assert b"offending words" not in client.get("/posts/").content
        assert b"offending words" not in client.get(f"/posts/?author={author.username}").content
    other.refresh_from_db()
    assert not other.is_open and other.resolution == "remove_content"
    assert ModerationAction.objects.filter(action="remove_post", target_id=post.pk).count() == 1


def test_remove_comment(client_for, moderator):
    post = PostFactory()
    comment = CommentFactory(post=post, text="nasty reply")
    Post.objects.filter(pk=post.pk).update(comments_count=1)
    report = open_report("comment", comment.pk)
    assert resolve(client_for(moderator), report, "remove_content").status_code == 200
    comment.refresh_from_db()
    post.refresh_from_db()
    assert comment.removed_at is not None
    assert post.comments_count == 0
    viewer = client_for(UserFactory())
    assert viewer.get(f"/comments/{comment.pk}/").status_code == 404
    assert b"nasty reply" not in viewer.get(f"/posts/{post.pk}/comments/").content


def test_remove_content_on_a_user_report_is_400(client_for, moderator):
    report = open_report("user", UserFactory().pk)
    assert resolve(client_for(moderator), report, "remove_content").status_code == 400
    report.refresh_from_db()
    assert report.is_open


def test_suspension_revokes_tokens_refuses_login_and_hides_content(api_client, client_for, moderator):
    bad = UserFactory(username="troll")
    token = issue_access_token(bad)
    post = PostFactory(author=bad, text="troll post")
    report = open_report("post", post.pk)

    assert resolve(client_for(moderator), report, "suspend_user").status_code == 200

    bad.refresh_from_db()
    assert not bad.is_active and Suspension.objects.filter(user=bad).exists()
    assert not get_access_token_model().objects.filter(user=bad).exists()
    assert api_client.get("/users/me/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert api_client.get("/users/troll/").status_code == 404
    assert api_client.get(f"/posts/{post.pk}/").status_code == 404
    assert b"troll post" not in api_client.get("/posts/").content
    browser = Client()
    assert not browser.login(username="troll", password=TEST_PASSWORD)

    # Reversible: lifting the suspension brings the account and its content back.
    services.user_unsuspend(user=bad, actor=moderator)
    bad.refresh_from_db()
    assert bad.is_active
    assert api_client.get(f"/posts/{post.pk}/").status_code == 200
    assert Client().login(username="troll", password=TEST_PASSWORD)
    assert list(ModerationAction.objects.values_list("action", flat=True).order_by("id")) == [
        "suspend_user",
        "unsuspend_user",
    ]


def test_moderator_cannot_suspend_staff_but_admin_can(client_for, moderator, admin_user):
    other_mod = UserFactory(moderator=True)
    report = open_report("user", other_mod.pk)
    assert resolve(client_for(moderator), report, "suspend_user").status_code == 403
    other_mod.refresh_from_db()
    assert other_mod.is_active
    assert resolve(client_for(admin_user), report, "suspend_user").status_code == 200
    other_mod.refresh_from_db()
    assert not other_mod.is_active


def test_already_resolved_report_is_400(client_for, moderator):
    report = open_report("post", PostFactory().pk)
    client = client_for(moderator)
    assert resolve(client, report, "dismiss").status_code == 200
    assert resolve(client, report, "remove_content").status_code == 400
    assert ModerationAction.objects.count() == 1


@pytest.mark.parametrize("body", [{"action": "ban"}, {}, {"action": ["dismiss"]}])
def test_bad_resolution_input(client_for, moderator, body):
    report = open_report("post", PostFactory().pk)
    response = client_for(moderator).post(f"/moderation/reports/{report.pk}/resolve/", body, format="json")
    assert response.status_code == 400
    report.refresh_from_db()
    assert report.is_open


def test_unknown_report_is_404(client_for, moderator):
    assert resolve(client_for(moderator), Report(pk=999999), "dismiss").status_code == 404
    assert client_for(moderator).post("/moderation/reports/abc/resolve/", {}, format="json").status_code == 404


def test_only_admins_grant_premium_and_change_roles(moderator, admin_user, user):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.premium_grant(user=user, actor=moderator)
    with pytest.raises(PermissionDenied):
        services.role_change(user=user, actor=moderator, role="moderator")
    services.role_change(user=user, actor=admin_user, role="moderator")
    user.refresh_from_db()
    assert user.role == "moderator" and user.is_staff and not user.is_superuser
    services.premium_grant(user=user, actor=admin_user, days=30)
    user.refresh_from_db()
    assert user.is_premium


def test_grant_premium_command_extends_from_current_end(user):
    call_command("grant_premium", user.username, "--days", "10")
    user.refresh_from_db()
    first_end = user.premium_until
    assert timezone.timedelta(days=9) < first_end - timezone.now() <= timezone.timedelta(days=10)
    call_command("grant_premium", user.username.upper(), "--days", "5")
    user.refresh_from_db()
    assert user.premium_until - first_end == timezone.timedelta(days=5)
    assert ModerationAction.objects.filter(action="grant_premium", target_id=user.pk).count() == 2
    with pytest.raises(CommandError):
        call_command("grant_premium", "nobody-by-that-name")


def test_comment_removal_keeps_row(client_for, moderator):
    comment = CommentFactory()
    services.report_resolve(report=open_report("comment", comment.pk), moderator=moderator, action="remove_content")
    assert Comment.objects.filter(pk=comment.pk).exists()


def test_lifting_a_suspension_does_not_reopen_a_closed_account(client_for, moderator):
    from apps.users.services import user_deactivate

    closed = UserFactory()
    user_deactivate(user=closed)
    services.user_suspend(user=closed, actor=moderator, reason="reported before closing")
    services.user_unsuspend(user=closed, actor=moderator)
    closed.refresh_from_db()
    assert not closed.is_active
    assert not Suspension.objects.filter(user=closed).exists()


def test_moderators_delete_followers_only_posts_and_comments_others_still_get_404(client_for, moderator):
    author = UserFactory()
    post = PostFactory(author=author, visibility=Post.Visibility.FOLLOWERS)
    comment = CommentFactory(post=post, author=author)
    stranger = client_for(UserFactory())
    assert stranger.delete(f"/comments/{comment.pk}/").status_code == 404
    assert stranger.delete(f"/posts/{post.pk}/").status_code == 404
    mod = client_for(moderator)
    assert mod.get(f"/posts/{post.pk}/").status_code == 404  # still not readable: deleting is not reading
    assert mod.delete(f"/comments/{comment.pk}/").status_code == 204
    assert mod.delete(f"/posts/{post.pk}/").status_code == 204
    assert not Post.objects.filter(pk=post.pk).exists()
