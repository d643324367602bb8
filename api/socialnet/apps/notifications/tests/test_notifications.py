"""Notifications: made after commit by tasks, deduplicated, never about your own acts or from hidden users,
private to their recipient, and never leaking premium content."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.comments.services import comment_create
from apps.follows.services import follow_create, follow_delete
from apps.images.tests.factories import ImageFactory
from apps.interactions.services import like_create, like_delete
from apps.notifications.models import Notification
from apps.posts.models import Post
from apps.posts.tests.factories import PostFactory
from apps.users.models import User
from apps.users.tests.factories import UserFactory

from .factories import NotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """run(fn, **kwargs): call a service and its after-commit hooks (the tasks run eagerly)."""

    def call(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return call


def listed(client):
    response = client.get("/notifications/")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_like_comment_reply_and_follow_notifications(client_for, user, other_user, run):
    third = UserFactory()
    post = PostFactory(author=user, text="my post")
    run(like_create, user=other_user, post=post)
    comment = run(comment_create, post=post, author=other_user, text="nice")
    my_reply = run(comment_create, post=post, author=user, text="thanks", parent_id=comment.pk)
    run(comment_create, post=post, author=third, text="me too", parent_id=comment.pk)
    run(follow_create, follower=other_user, followee=user)

    mine = listed(client_for(user))
    assert [(n["type"], n["actor"]["username"]) for n in mine] == [
        ("follow", other_user.username),
        ("comment", third.username),
        ("comment", other_user.username),
        ("like", other_user.username),
    ]
    assert mine[3]["post"] == {"id": post.pk, "text": "my post", "locked": False}
    assert mine[2]["comment"] == {"id": comment.pk, "text": "nice"}
    assert all(n["read"] is False for n in mine)
    theirs = listed(client_for(other_user))
    assert {(n["type"], n["actor"]["username"]) for n in theirs} == {
        ("reply", third.username),
        ("reply", user.username),
    }
    assert {n["comment"]["id"] for n in theirs} >= {my_reply.pk}


def test_nothing_for_acting_on_your_own_things(client_for, user, run):
    post = PostFactory(author=user)
    run(like_create, user=user, post=post)
    comment = run(comment_create, post=post, author=user, text="self")
    run(comment_create, post=post, author=user, text="self reply", parent_id=comment.pk)
    assert listed(client_for(user)) == []
    assert not Notification.objects.exists()


def test_at_most_one_per_actor_type_target(user, other_user, run):
    post = PostFactory(author=user)
    for _ in range(3):
        run(like_create, user=other_user, post=post)
        run(like_delete, user=other_user, post=post)
        run(follow_create, follower=other_user, followee=user)
        run(follow_delete, follower=other_user, followee=user)
    run(follow_create, follower=other_user, followee=user)
    run(like_create, user=other_user, post=post)
    assert Notification.objects.filter(type="like").count() == 1
    assert Notification.objects.filter(type="follow").count() == 1


def test_tasks_are_idempotent(user, other_user, run):
    from apps.notifications.tasks import notification_like_task

    post = PostFactory(author=user)
    like, _ = run(like_create, user=other_user, post=post)
    for _ in range(3):
        notification_like_task.apply(args=[like.pk])
    assert Notification.objects.count() == 1


def test_notifications_are_made_after_commit_only(user, other_user, django_capture_on_commit_callbacks):
    post = PostFactory(author=user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        like_create(user=other_user, post=post)
    assert not Notification.objects.exists()  # nothing on the request path
    assert len(callbacks) >= 1
    for callback in callbacks:
        callback()
    assert Notification.objects.filter(type="like").count() == 1


def test_nothing_from_users_you_cannot_see(client_for, user, other_user, run):
    post = PostFactory(author=user)
    run(like_create, user=other_user, post=post)
    run(follow_create, follower=other_user, followee=user)
    client = client_for(user)
    assert len(listed(client)) == 2
    other_user.is_active = False  # deactivated or suspended
    other_user.save(update_fields=["is_active"])
    assert listed(client) == []
    assert client.get("/notifications/unread_count/").json() == {"count": 0}


def test_removed_or_deleted_posts_take_their_notifications_along(client_for, user, other_user, run):
    removed, deleted = PostFactory(author=user), PostFactory(author=user)
    run(like_create, user=other_user, post=removed)
    run(like_create, user=other_user, post=deleted)
    Post.objects.filter(pk=removed.pk).update(removed_at=timezone.now())
    deleted.delete()
    assert listed(client_for(user)) == []


def test_reply_to_someone_who_can_no_longer_see_the_post_is_not_notified(user, other_user, run):
    author = UserFactory()
    follow_create(follower=other_user, followee=author)
    post = PostFactory(author=author, visibility=Post.Visibility.FOLLOWERS)
    comment = run(comment_create, post=post, author=other_user, text="first")
    follow_delete(follower=other_user, followee=author)
    follow_create(follower=user, followee=author)
    run(comment_create, post=post, author=user, text="reply", parent_id=comment.pk)
    assert not Notification.objects.filter(recipient=other_user).exists()


def test_premium_content_never_leaks_through_notifications(client_for, run):
    author = UserFactory(premium=True)
    lapsing = UserFactory(premium=True)
    replier = UserFactory(premium=True)
    post = PostFactory(author=author, text="paid post", visibility=Post.Visibility.PREMIUM)
    comment = run(comment_create, post=post, author=lapsing, text="paid comment")
    run(comment_create, post=post, author=replier, text="paid reply", parent_id=comment.pk)
    lapsing.premium_until = timezone.now() - timedelta(days=1)
    lapsing.save(update_fields=["premium_until"])
    body = listed(client_for(lapsing))
    assert [n["type"] for n in body] == ["reply"]
    assert body[0]["post"] == {"id": post.pk, "text": "", "locked": True}
    assert body[0]["comment"] == {"id": body[0]["comment"]["id"], "text": ""}
    assert "paid" not in str(body)
    # The author still sees their own post's text.
    author_view = listed(client_for(author))
    assert {n["post"]["text"] for n in author_view} == {"paid post"}


def test_unread_count_and_mark_read(client_for, user):
    items = [NotificationFactory(recipient=user) for _ in range(4)]
    client = client_for(user)
    assert client.get("/notifications/unread_count/").json() == {"count": 4}
    assert client.post("/notifications/read/", {"up_to_id": items[1].pk}, format="json").status_code == 204
    assert client.get("/notifications/unread_count/").json() == {"count": 2}
    assert [n["read"] for n in listed(client)] == [False, False, True, True]
    assert client.post("/notifications/read/", {}, format="json").status_code == 204
    assert client.get("/notifications/unread_count/").json() == {"count": 0}


@pytest.mark.parametrize("body", [{"up_to_id": "x"}, {"up_to_id": 0}, {"up_to_id": -5}, {"up_to_id": 10**30}])
def test_mark_read_rejects_bad_input(client_for, user, body):
    NotificationFactory(recipient=user)
    assert client_for(user).post("/notifications/read/", body, format="json").status_code == 400
    assert Notification.objects.filter(read=False).count() == 1


def test_another_user_cannot_read_or_mark_my_notifications(client_for, user, other_user):
    mine = NotificationFactory(recipient=user)
    intruder = client_for(other_user)
    assert listed(intruder) == []
    assert intruder.get("/notifications/unread_count/").json() == {"count": 0}
    assert intruder.post("/notifications/read/", {"up_to_id": mine.pk}, format="json").status_code == 204
    mine.refresh_from_db()
    assert mine.read is False


def test_endpoints_need_a_token(api_client, client_for, user):
    assert api_client.get("/notifications/").status_code == 401
    assert api_client.get("/notifications/unread_count/").status_code == 401
    assert api_client.post("/notifications/read/").status_code == 401
    assert client_for(user, scope="read").post("/notifications/read/").status_code == 403


def test_the_prepared_page_is_right_for_each_viewer_and_shape(client_for, run):
    # The page's SQL is compiled once per shape and re-bound per request; the suite checks every fetch against the
    # ordinary queryset (PREPARED_QUERIES_CHECK). Viewers of different shapes and values in turn, twice each: with
    # their block/mute sets as subqueries (not cached), then as id arrays (cached, as a worker rebuilds them).
    from apps.common.redis import redis_client
    from apps.safety.selectors import safety_sets_rebuild
    from apps.safety.services import block_create, keyword_filter_create, mute_set

    reader, blocker, premium_reader = UserFactory(), UserFactory(), UserFactory(premium=True)
    author, blocked, muted, liker = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    paid = PostFactory(author=author, text="paid words", visibility=Post.Visibility.PREMIUM)
    for recipient in (reader, blocker, premium_reader):
        for actor in (author, blocked, muted, liker):
            NotificationFactory(recipient=recipient, actor=actor, type="follow")
        own = PostFactory(author=recipient, text="about tea")
        run(like_create, user=liker, post=own)
        comment = run(comment_create, post=paid, author=recipient, text="my paid comment")
        run(comment_create, post=paid, author=author, text="a paid reply", parent_id=comment.pk)
    block_create(blocker=reader, blocked=blocked)
    block_create(blocker=blocker, blocked=blocked)  # the reader's shape, but for the mute
    mute_set(muter=reader, muted=muted, notifications=True)
    keyword_filter_create(owner=reader, data={"phrase": "tea", "context": ["notifications"]})

    def summary(user):
        client = client_for(user)
        items = [
            (n["type"], n["actor"]["username"], n["post"] and n["post"]["text"], n["comment"] and n["comment"]["text"])
            for n in listed(client)
        ]
        # The unread count is prepared too (and nothing here is read yet).
        assert client.get("/notifications/unread_count/").json() == {"count": len(items)}
        return items

    for cached in (False, True):
        if cached:
            for viewer in (reader, blocker, premium_reader):
                redis_client().delete(f"safety:sets:{viewer.pk}")  # the blocks and mutes left a tombstone
                assert safety_sets_rebuild(user_id=viewer.pk)
        assert summary(reader) == [
            ("reply", author.username, "", ""),  # premium: locked for this reader, the comment too
            ("follow", liker.username, None, None),
            ("follow", author.username, None, None),
        ]
        assert summary(blocker) == [
            ("reply", author.username, "", ""),
            ("like", liker.username, "about tea", None),
            *[("follow", actor.username, None, None) for actor in (liker, muted, author)],
        ]
        assert summary(premium_reader) == [
            ("reply", author.username, "paid words", "a paid reply"),
            ("like", liker.username, "about tea", None),
            *[("follow", actor.username, None, None) for actor in (liker, muted, blocked, author)],
        ]


def test_list_query_count_is_constant(client_for, user, django_assert_num_queries):
    client = client_for(user)

    def add(n):
        for _ in range(n):
            post = PostFactory(author=user, visibility=Post.Visibility.PREMIUM)
            actor = UserFactory()
            User.objects.filter(pk=actor.pk).update(avatar=ImageFactory(owner=actor, ready=True))
            NotificationFactory(recipient=user, actor=actor, type="like", post=post)

    with CaptureQueriesContext(connection) as empty:
        assert listed(client) == []
    add(1)
    with CaptureQueriesContext(connection) as one:
        assert len(listed(client)) == 1
    # Actors, avatars, posts and their locks come with the notification rows: no query beyond the list's own.
    assert len(one.captured_queries) == len(empty.captured_queries)
    add(60)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(client.get("/notifications/?page_size=50").json()["results"]) == 50


def test_database_enforces_one_per_target(user, other_user):
    from django.db import IntegrityError, transaction

    post = PostFactory(author=user)
    NotificationFactory(recipient=user, actor=other_user, type="follow")
    NotificationFactory(recipient=user, actor=other_user, type="like", post=post)
    for kwargs in ({"type": "follow"}, {"type": "like", "post": post}):
        with pytest.raises(IntegrityError), transaction.atomic():
            NotificationFactory(recipient=user, actor=other_user, **kwargs)
    # Another target is another notification.
    NotificationFactory(recipient=user, actor=other_user, type="like", post=PostFactory(author=user))
    assert Notification.objects.count() == 3


def test_the_outbox_sweep_makes_the_notifications_a_broker_outage_lost(
    client_for, user, other_user, django_capture_on_commit_callbacks
):
    # Committed, but the after-commit relay never reached the broker (Redis down): the hooks are captured and
    # dropped. 95 of 95 like notifications were lost this way in a 60 s outage before the outbox, and mentions had
    # no sweeper at all; now each is an outbox row of the same transaction, which the sweep relays.
    from apps.common.models import OutboxEvent
    from apps.common.outbox import outbox_sweep

    post = PostFactory(author=user, text="my post")
    with django_capture_on_commit_callbacks(execute=False):
        like_create(user=other_user, post=post)
        comment_create(post=post, author=other_user, text=f"nice, @{user.username}")
        follow_create(follower=other_user, followee=user)
    assert listed(client_for(user)) == []
    assert outbox_sweep() == 0  # not due yet: the after-commit relay normally delivers within that time
    OutboxEvent.objects.update(relay_after=timezone.now())

    assert outbox_sweep() > 0
    assert sorted(n["type"] for n in listed(client_for(user))) == ["comment", "follow", "like", "mention"]
    assert not OutboxEvent.objects.exists()  # each task deleted its row when it had run
    assert outbox_sweep() == 0


@pytest.mark.django_db(transaction=True)
def test_comment_notification_for_a_comment_deleted_meanwhile_is_a_no_op(user, other_user):
    # The task read the comment, then the comment was deleted before the insert: the row's foreign key fails at
    # commit. That used to raise IntegrityError and retry; there is nothing left to notify.
    from apps.notifications.services import _notify

    post = PostFactory(author=user)
    _notify(recipient_id=user.pk, actor_id=other_user.pk, type="comment", post_id=post.pk, comment_id=2_000_000_000)
    assert not Notification.objects.exists()
