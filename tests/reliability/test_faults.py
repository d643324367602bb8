"""Faults under a client loop, on a private stack (tests/reliability/faultstack.py): kill -9 of the media worker
during uploads, of the follows worker during a fan-out, Redis stopped, PostgreSQL restarted. Each asserts what the
API promises (docs/operations.md, "Failures and what recovers them"), never how it is done: every acknowledged
write is there afterwards, every image becomes `ready`, every follower's timeline gets the post, notifications
made during an outage arrive, reads never answer 5xx while Redis is down, PostgreSQL errors stay inside its
restart window and the processes reconnect by themselves.

`make test` runs the bounded form (RELIABILITY_FAULTS unset: a 4 s Redis outage, 300 followers, 4 uploads);
`make reliability` the full one (RELIABILITY_FAULTS=full: a 45 s outage, 2,000 followers, 30 uploads).
The processes start once for the module; each test leaves them running and healthy for the next.
"""

import os
import time

import pytest
import redis
import requests

from apps.common.testing.celery_worker import wait_until
from apps.feed.timeline import timeline_key

from .faultstack import Account, ClientLoop, FaultStack, jpeg, make_accounts

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]

FULL = os.environ.get("RELIABILITY_FAULTS", "") == "full"
UPLOADS = 30 if FULL else 4
FOLLOWERS = 2000 if FULL else 300
REDIS_OUTAGE_SECONDS = 45 if FULL else 4
# Deadlines for recovery, generous: the machine is shared, and a miss fails the test rather than hiding a loss.
RECOVERY_SECONDS = 300 if FULL else 120


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    # Small fan-out batches: a fan-out of a few hundred followers is then several tasks, so a kill lands mid-way.
    stack = FaultStack(tmp_path_factory.mktemp("faults"), fanout_batch_size=50 if not FULL else 250)
    try:
        stack.start_all()
        accounts, fans = make_accounts(stack, "f", 6, followers=FOLLOWERS)
        stack.wait_ready()
        stack.accounts = dict(zip(("fanned", "media", "author", "liker", "reader", "writer"), accounts, strict=True))
        stack.fans = fans
        yield stack
    finally:
        stack.close()


def api(stack: FaultStack, method: str, path: str, account: Account | None = None, **kwargs) -> requests.Response:
    headers = account.headers if account else {}
    return requests.request(method, f"{stack.gateway_url}{path}", headers=headers, timeout=30, **kwargs)


def broker(stack: FaultStack) -> redis.Redis:
    return redis.Redis.from_url(stack.redis.url, socket_timeout=5)


def test_media_worker_killed_during_uploads(faults):
    owner = faults.accounts["media"]
    client = broker(faults)
    acknowledged = []
    killed_with = None
    for index in range(UPLOADS):
        response = api(faults, "POST", "/images/", owner, files={"file": (f"p{index}.jpg", jpeg(index), "image/jpeg")})
        assert response.status_code == 201, response.text
        acknowledged.append(response.json()["id"])
        if index == 1:
            # Once the worker holds a message it has not acknowledged (it is processing an upload), kill it.
            wait_until(lambda: client.hlen("unacked") > 0, timeout=60, message="the media worker to take an upload")
            faults.kill("celery_media")
            killed_at = time.monotonic()
            killed_with = {
                image_id
                for image_id in acknowledged
                if api(faults, "GET", f"/images/{image_id}/", owner).json()["status"] == "pending"
            }
    # The kill left work undone (else this test proves nothing)...
    assert killed_with, "every upload was processed before the kill"

    def statuses() -> dict[int, str]:
        return {i: api(faults, "GET", f"/images/{i}/", owner).json()["status"] for i in acknowledged}

    # ...and every acknowledged upload becomes ready: the broker's queue, then the pending-image sweeper for the
    # one the killed worker held (its message returns only after the visibility timeout).
    wait_until(
        lambda: set(statuses().values()) == {"ready"}, timeout=RECOVERY_SECONDS, interval=1, message="every image ready"
    )
    # Figures for docs/testing.md (`pytest -rA` shows them).
    print(f"{len(acknowledged)} uploads, {len(killed_with)} pending at the kill, all ready {since(killed_at)} later")


def timelines_holding(stack: FaultStack, post_id: int, client: redis.Redis) -> int:
    pipe = client.pipeline(transaction=False)
    for fan in stack.fans:
        pipe.zscore(timeline_key(fan), str(post_id))
    return sum(score is not None for score in pipe.execute())


def test_follows_worker_killed_during_fanout(faults):
    author, client = faults.accounts["fanned"], broker(faults)
    for attempt in range(5):
        wait_until(lambda: all(faults.alive().values()), timeout=60, message="the supervisor to restart the worker")
        response = api(faults, "POST", "/posts/", author, json={"text": f"to all my followers, take {attempt}"})
        assert response.status_code == 201, response.text
        post_id = response.json()["id"]
        # Kill as soon as the first batch is in: the fan-out has started and (usually) not finished.
        wait_until(
            lambda: timelines_holding(faults, post_id, client) > 0, timeout=60, interval=0.002, message="a batch"
        )
        faults.kill("celery_follows")
        killed_at = time.monotonic()
        at_kill = timelines_holding(faults, post_id, client)
        if at_kill < len(faults.fans):
            break
        # The fan-out finished before the kill landed: try again, a kill mid-way is the point.
    else:
        pytest.fail("five fan-outs finished before the worker could be killed")
    # A new worker and the fan-out sweeper finish the job, though the killed worker's messages are still held by
    # the broker (they return only after the visibility timeout).
    wait_until(
        lambda: timelines_holding(faults, post_id, client) == len(faults.fans),
        timeout=RECOVERY_SECONDS,
        interval=0.5,
        message=f"the post in all {len(faults.fans)} timelines ({at_kill} at the kill)",
    )
    print(f"{at_kill} of {len(faults.fans)} timelines at the kill (take {attempt}), all {since(killed_at)} later")


def since(moment: float) -> str:
    return f"{time.monotonic() - moment:.1f} s"


def calls_between(loop: ClientLoop, start: float, end: float, names: set[str]):
    """The calls of those names that started in [start, end)."""
    return [c for c in loop.calls if c.name in names and start <= c.started < end]


def test_redis_stopped_under_a_client_loop(faults):
    author, liker, reader = faults.accounts["author"], faults.accounts["liker"], faults.accounts["reader"]
    assert api(faults, "POST", f"/users/{author.username}/follow/", reader).status_code == 201
    assert api(faults, "POST", f"/users/{author.username}/follow/", liker).status_code == 201
    seed = api(faults, "POST", "/posts/", author, json={"text": "before the outage"}).json()["id"]

    def post_and_like(session, base):
        """A new post (fanned out to the reader), liked by the liker (a notification for the author)."""
        created = session.post(f"{base}/posts/", headers=author.headers, json={"text": "written now"}, timeout=30)
        if created.status_code != 201:
            return created
        post_id = created.json()["id"]
        return session.post(f"{base}/posts/{post_id}/like/", headers=liker.headers, timeout=30), post_id

    reads = [
        ("feed", lambda s, b: s.get(f"{b}/feed/", headers=reader.headers, timeout=30)),
        ("list", lambda s, b: s.get(f"{b}/posts/?author={author.username}", timeout=30)),
        ("detail", lambda s, b: s.get(f"{b}/posts/{seed}/", headers=reader.headers, timeout=30)),
        ("notifications", lambda s, b: s.get(f"{b}/notifications/", headers=author.headers, timeout=30)),
    ]
    # A write between every two reads: even a short outage sees a few.
    operations = [step for read in reads for step in (("like", post_and_like), read)]
    starts = {name: faults.starts(name) for name in faults.commands}
    with ClientLoop(faults.gateway_url, operations, threads=2) as loop:
        wait_until(lambda: loop.count() >= 10, timeout=60, message="the client loop to get going")
        down = time.monotonic()
        faults.redis.stop()
        time.sleep(REDIS_OUTAGE_SECONDS)  # the outage itself: the loop keeps calling meanwhile
        faults.redis.start()  # back empty, as after a crash without persistence
        up = time.monotonic()
        wait_until(
            lambda: len(calls_between(loop, up, time.monotonic(), {"feed"})) >= 3, timeout=60, message="reads after"
        )

    reads_during = calls_between(loop, down, up, {"feed", "list", "detail", "notifications"})
    assert reads_during, "no read ran while Redis was down"
    failed_reads = [(c.name, c.status) for c in loop.calls if c.name != "like" and c.status >= 500]
    assert not failed_reads and all(c.status for c in reads_during), failed_reads
    acknowledged_likes = [c for c in loop.calls if c.name == "like" and c.status in (200, 201)]
    during = [c for c in acknowledged_likes if down <= c.started < up]
    assert during, "no write was acknowledged while Redis was down: " + str({c.status for c in loop.calls})

    # Nothing acknowledged is lost: every liked post and its like are in PostgreSQL.
    liked = {c.subject for c in acknowledged_likes}
    rows = faults.sql("SELECT post_id FROM interactions_like WHERE user_id = %s", liker.id)
    assert liked <= {post_id for (post_id,) in rows}

    # Every like notification arrives (those made during the outage through the sweeper)...
    def notified() -> set[int]:
        found, url = set(), "/notifications/?page_size=100"
        while url:
            page = api(faults, "GET", url.replace(faults.gateway_url, ""), author).json()
            found |= {n["post"]["id"] for n in page["results"] if n["type"] == "like" and n.get("post")}
            url = page.get("next")
        return found

    wait_until(lambda: liked <= notified(), timeout=RECOVERY_SECONDS, interval=1, message="every like notification")

    # ...and every post reaches the follower's home feed.
    def in_feed() -> set[int]:
        found, url = set(), "/feed/?page_size=100"
        while url:
            page = api(faults, "GET", url.replace(faults.gateway_url, ""), reader).json()
            found |= {p["id"] for p in page["results"]}
            url = page.get("next")
        return found

    wait_until(lambda: liked <= in_feed(), timeout=RECOVERY_SECONDS, interval=1, message="every post in the feed")
    print(
        f"{len(loop.calls)} calls, {len(reads_during)} reads during the {up - down:.1f} s outage (none 5xx), "
        f"{len(during)} likes acknowledged during it, {len(liked)} in all: every notification and feed entry "
        f"{since(up)} after Redis came back; restarted by the supervisor: "
        f"{[name for name in faults.commands if faults.starts(name) > starts[name]] or 'none'}"
    )
    assert all(faults.alive().values()), faults.alive()


def test_postgres_restarted_under_a_client_loop(faults):
    writer = faults.accounts["writer"]
    pids = faults.pids()
    operations = [
        ("post", lambda s, b: s.post(f"{b}/posts/", headers=writer.headers, json={"text": "during"}, timeout=30)),
        ("list", lambda s, b: s.get(f"{b}/posts/", timeout=30)),
        ("feed", lambda s, b: s.get(f"{b}/feed/", headers=writer.headers, timeout=30)),
    ]
    with ClientLoop(faults.gateway_url, operations, threads=2) as loop:
        wait_until(lambda: loop.count() >= 10, timeout=60, message="the client loop to get going")
        down = time.monotonic()
        faults.postgres.restart()
        up = time.monotonic()
        wait_until(
            lambda: len(calls_between(loop, up + 1, time.monotonic(), {"post"})) >= 5, timeout=60, message="calls after"
        )

    # Errors only for calls that overlapped the restart (a second of slack after it, for the pool to notice)...
    errors = [c for c in loop.calls if c.status == 0 or c.status >= 500]
    outside = [(c.name, c.status, round(c.started - up, 2)) for c in errors if c.ended < down or c.started > up + 1]
    assert not outside, f"errors outside the restart window ({len(errors)} in all): {outside}"
    # ...no process restarted (the same pids, all running): the app reconnected by itself...
    assert faults.pids() == pids
    assert all(faults.alive().values()), faults.alive()
    # ...and nothing acknowledged was lost.
    acknowledged = {c.body["id"] for c in loop.calls if c.name == "post" and c.status == 201}
    rows = faults.sql("SELECT id FROM posts_post WHERE author_id = %s", writer.id)
    assert acknowledged and acknowledged <= {post_id for (post_id,) in rows}
    statuses = sorted({c.status for c in errors})
    print(
        f"{len(loop.calls)} calls, {len(errors)} errors {statuses} in a {up - down:.1f} s restart, "
        f"{len(acknowledged)} posts kept"
    )
