"""DELETE /users/me/, the grace period, and the erasure after it (API.md, Account lifecycle)."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from apps.comments.models import Comment
from apps.feed.timeline import timeline_client, timeline_key
from apps.follows.models import Follow
from apps.images.models import Image
from apps.images.tests import samples
from apps.interactions.models import Like
from apps.moderation.models import Suspension
from apps.posts.models import Post
from apps.privacy import services
from apps.privacy.tasks import account_erasure_sweep_task
from apps.users.models import User
from apps.users.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def close(client, password=TEST_PASSWORD):
    return client.delete("/users/me/", {"password": password}, format="json")


def sign_in(user, password=TEST_PASSWORD):
    return Client().post("/accounts/login/", {"username": user.username, "password": password})


# --- closing and reopening ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [{}, {"password": "wrong-password-42"}, {"password": None}, {"password": ["x"]}])
def test_closing_needs_the_password(user, client_for, body):
    client = client_for(user)
    response = client.delete("/users/me/", body, format="json")
    assert response.status_code == 400, response.content
    user.refresh_from_db()
    assert user.is_active and user.deletion_requested_at is None
    assert client.get("/users/me/").status_code == 200


def test_closing_hides_the_account_at_once_and_revokes_its_tokens(user, other_user, client_for, api_client):
    post = Post.objects.create(author=user, text="soon gone")
    client = client_for(user)
    second_device = client_for(user)
    assert close(client).status_code == 204
    user.refresh_from_db()
    assert not user.is_active and user.deletion_requested_at is not None and user.erased_at is None
    assert not get_access_token_model().objects.filter(user=user).exists()
    assert second_device.get("/users/me/").status_code == 401
    assert api_client.get(f"/users/{user.username}/").status_code == 404
    assert client_for(other_user).get(f"/posts/{post.pk}/").status_code == 404


def test_signing_in_during_the_grace_period_reopens_the_account(user, client_for):
    close(client_for(user))
    assert sign_in(user, "not-the-password").status_code == 200  # the form again: wrong password reopens nothing
    user.refresh_from_db()
    assert not user.is_active
    response = sign_in(user)
    assert response.status_code == 302, response.content
    user.refresh_from_db()
    assert user.is_active and user.deletion_requested_at is None
    services.users_erase_due()
    user.refresh_from_db()
    assert user.erased_at is None


def test_a_suspended_account_cannot_reopen_itself(user, client_for, moderator):
    close(client_for(user))
    Suspension.objects.create(user=user, suspended_by=moderator, reactivate_on_lift=False)
    assert sign_in(user).status_code == 200  # refused: the login form again
    user.refresh_from_db()
    assert not user.is_active and user.deletion_requested_at is not None


def test_closing_another_account_is_impossible(user, other_user, client_for):
    # The endpoint only ever acts on the token's owner; another user's password does not help.
    response = client_for(other_user).delete("/users/me/", {"password": TEST_PASSWORD}, format="json")
    assert response.status_code == 204
    user.refresh_from_db()
    assert user.is_active


# --- erasure ------------------------------------------------------------------------------------------------------
@pytest.fixture
def world(client_for, django_capture_on_commit_callbacks):
    """Through the API: gone (to be erased) posts with an image, comments, likes, follows both ways; others react."""
    gone = UserFactory(username="gone", last_login=timezone.now())
    friend = UserFactory(last_login=timezone.now())
    fan = UserFactory(last_login=timezone.now())
    as_gone, as_friend, as_fan = client_for(gone), client_for(friend), client_for(fan)
    with django_capture_on_commit_callbacks(execute=True):
        friends_post = as_friend.post("/posts/", {"text": "friend's post"}, format="json").json()["id"]
        assert as_gone.post(f"/users/{friend.username}/follow/").status_code == 201
        assert as_fan.post(f"/users/{gone.username}/follow/").status_code == 201
        upload = SimpleUploadedFile("p.jpg", samples.jpeg_bytes(), content_type="image/jpeg")
        image = as_gone.post("/images/", {"file": upload}, format="multipart").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        body = {"text": "gone's post", "image_ids": [image]}
        gones_post = as_gone.post("/posts/", body, format="json").json()["id"]
        assert as_gone.post(f"/posts/{friends_post}/like/").status_code == 201
        comment = as_gone.post(f"/posts/{friends_post}/comments/", {"text": "hi"}, format="json").json()["id"]
        as_friend.post(f"/posts/{friends_post}/comments/", {"text": "re", "parent": comment}, format="json")
        as_friend.post(f"/posts/{friends_post}/comments/", {"text": "mine"}, format="json")
        as_friend.post(f"/posts/{gones_post}/like/")
        as_friend.post(f"/posts/{gones_post}/comments/", {"text": "nice"}, format="json")
        upload = SimpleUploadedFile("q.jpg", samples.jpeg_bytes(), content_type="image/jpeg")
        as_gone.post("/images/", {"file": upload}, format="multipart")  # an upload never posted
        # Safety: gone's blocks, mutes, filters and follow requests both ways; someone else's block of gone.
        shy, pest, fussy = UserFactory(is_private=True), UserFactory(), UserFactory()
        assert as_gone.post(f"/users/{pest.username}/block/").status_code == 201
        assert (
            as_gone.post(f"/users/{fan.username}/mute/", {"duration_seconds": None}, format="json").status_code == 201
        )
        assert as_gone.post("/filters/", {"phrase": "spoiler", "context": ["home"]}, format="json").status_code == 201
        assert as_gone.post(f"/users/{shy.username}/follow/").status_code == 202
        assert client_for(fussy).post(f"/users/{gone.username}/block/").status_code == 201
    gone.is_private = True
    gone.save(update_fields=["is_private"])
    requester = UserFactory()
    assert client_for(requester).post(f"/users/{gone.username}/follow/").status_code == 202
    return {"gone": gone, "friend": friend, "fan": fan, "friends_post": friends_post, "gones_post": gones_post}


def erase_after_the_grace_period(user, client_for, settings, django_capture_on_commit_callbacks):
    assert close(client_for(user)).status_code == 204
    User.objects.filter(pk=user.pk).update(
        deletion_requested_at=timezone.now() - timedelta(days=settings.ACCOUNT_DELETION_GRACE_DAYS, minutes=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        account_erasure_sweep_task.delay()


def rows_pointing_at(user_id: int) -> dict[str, int]:
    """Every row of every table that references the user, except the moderation record (kept by design)."""
    found = {}
    for model in apps.get_models():
        if model._meta.app_label in ("moderation",):
            continue
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is User:
                count = model.objects.filter(**{field.name: user_id}).count()
                if count:
                    found[f"{model._meta.label}.{field.name}"] = count
    return found


def test_erasure_leaves_nothing_of_the_user_and_exact_counters(
    world, client_for, settings, media_root, api_client, django_capture_on_commit_callbacks
):
    gone, friend, fan = world["gone"], world["friend"], world["fan"]
    keys = [key for image in Image.objects.filter(owner=gone) for key in image.all_keys()]
    assert any((Path(media_root) / key).exists() for key in keys)
    assert world["gones_post"] in {int(m) for m in timeline_client().zrange(timeline_key(fan.pk), 0, -1)}

    erase_after_the_grace_period(gone, client_for, settings, django_capture_on_commit_callbacks)

    gone.refresh_from_db()
    assert gone.erased_at is not None and gone.email == "" and not gone.has_usable_password()
    # Only someone else's block of the erased account remains: that is their data, not the user's.
    assert rows_pointing_at(gone.pk) == {"safety.Block.blocked": 1}
    assert not [path for path in Path(media_root).rglob("*") if path.is_file()], "files of the erased user remain"
    friend.refresh_from_db()
    fan.refresh_from_db()
    assert (friend.followers_count, friend.following_count) == (Follow.objects.filter(followee=friend).count(), 0)
    assert (fan.followers_count, fan.following_count) == (0, 0)
    post = Post.objects.get(pk=world["friends_post"])
    assert post.likes_count == Like.objects.filter(post=post).count() == 0
    assert post.comments_count == Comment.objects.filter(post=post).count() == 1  # friend's own comment stays
    assert not Post.objects.filter(pk=world["gones_post"]).exists()
    assert world["gones_post"] not in {int(m) for m in timeline_client().zrange(timeline_key(fan.pk), 0, -1)}
    # The username stays taken, case-insensitively.
    body = {"username": "GONE", "email": "new@example.com", "password": "plum-tangerine-87-orbit"}
    assert api_client.post("/users/create/", body, format="json").status_code == 400
    assert services.user_erase(user_id=gone.pk) is False  # idempotent


def test_nothing_is_erased_before_the_grace_period_ends(user, client_for, settings, django_capture_on_commit_callbacks):
    post = Post.objects.create(author=user, text="kept for now")
    assert close(client_for(user)).status_code == 204
    User.objects.filter(pk=user.pk).update(
        deletion_requested_at=timezone.now() - timedelta(days=settings.ACCOUNT_DELETION_GRACE_DAYS - 1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        account_erasure_sweep_task.delay()
    assert Post.objects.filter(pk=post.pk).exists()
    user.refresh_from_db()
    assert user.erased_at is None


def test_suspended_accounts_are_not_erased_by_the_sweep(user, moderator, settings):
    # Only owners close accounts for erasure; a suspension alone (is_active off) never starts one.
    Suspension.objects.create(user=user, suspended_by=moderator)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert services.users_erase_due() == 0


def test_erase_user_command_erases_now_and_records_it(user, other_user):
    from django.core.management import CommandError, call_command

    from apps.moderation.models import ModerationAction

    post = Post.objects.create(author=user, text="to be erased")
    with pytest.raises(CommandError):
        call_command("erase_user", "nobody-here", reason="GDPR request #1")
    call_command("erase_user", user.username.upper(), reason="GDPR request #1")
    user.refresh_from_db()
    assert user.erased_at is not None and not user.is_active
    assert not Post.objects.filter(pk=post.pk).exists()
    record = ModerationAction.objects.get(action=ModerationAction.Action.ERASE_USER)
    assert (record.target_id, record.reason) == (user.pk, "GDPR request #1")
    other_user.refresh_from_db()
    assert other_user.is_active and other_user.erased_at is None
