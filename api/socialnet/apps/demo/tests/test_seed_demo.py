import pytest
from django.core.management import call_command

from apps.comments.models import Comment
from apps.follows.models import Follow
from apps.images.models import Image
from apps.interactions.models import Like
from apps.posts.models import Post
from apps.users.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_a_network_and_is_idempotent(capsys, django_capture_on_commit_callbacks):
    # Tasks (image processing, fan-out, notifications) run eagerly once each service's transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--users", "6", "--posts-per-user", "2", "--images", "2")
    counts = (User.objects.count(), Post.objects.count(), Follow.objects.count(), Image.objects.count())
    assert counts[0] == 6 and counts[1] == 12 and counts[2] > 0 and counts[3] == 2
    assert Like.objects.exists() and Comment.objects.exists()
    assert User.objects.get(username="alice").is_premium
    assert User.objects.get(username="carol").role == User.Role.MODERATOR
    assert set(Image.objects.values_list("status", flat=True)) == {"ready"}
    assert Post.objects.filter(visibility=Post.Visibility.PREMIUM).exists()
    alice = User.objects.get(username="alice")
    assert alice.posts_count == Post.objects.filter(author=alice).count()
    assert alice.check_password("socialnet-demo-2026")
    out = capsys.readouterr().out
    assert "alice" in out and "socialnet-demo-2026" in out

    call_command("seed_demo", "--users", "6", "--posts-per-user", "2", "--images", "2")
    assert (User.objects.count(), Post.objects.count(), Follow.objects.count(), Image.objects.count()) == counts
