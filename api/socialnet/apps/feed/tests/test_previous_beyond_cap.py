"""Paging back (`previous`, min_id) from below the Redis cap returns every post in between, none skipped."""

import pytest
from django.utils import timezone

from apps.feed.tests.factories import follow, publish
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_previous_links_from_deep_pages(client_for, settings, django_capture_on_commit_callbacks):
    oc = django_capture_on_commit_callbacks
    settings.FEED_TIMELINE_MAX = 5
    me = UserFactory(last_login=timezone.now())
    a = UserFactory(last_login=timezone.now())
    follow(oc, me, a)
    c = client_for(me)
    c.get("/feed/")  # complete timeline
    ids = [publish(oc, a, text=f"t{i}").pk for i in range(12)]
    # walk forward
    url, pages = "/feed/?page_size=3", []
    while url:
        body = c.get(url).json()
        pages.append(([p["id"] for p in body["results"]], body["previous"]))
        url = body["next"]
    forward = [i for page, _ in pages for i in page]
    assert forward == ids[::-1]
    # from the last page, walk back
    url, back = pages[-1][1], []
    while url:
        body = c.get(url).json()
        back = [p["id"] for p in body["results"]] + back
        url = body["previous"]
    expected = ids[::-1][: len(ids) - len(pages[-1][0])]
    assert back == expected, (back, expected, pages)


def test_previous_link_detail(client_for, settings, django_capture_on_commit_callbacks):
    oc = django_capture_on_commit_callbacks
    settings.FEED_TIMELINE_MAX = 5
    me = UserFactory(last_login=timezone.now())
    a = UserFactory(last_login=timezone.now())
    follow(oc, me, a)
    c = client_for(me)
    c.get("/feed/")
    ids = [publish(oc, a, text=f"t{i}").pk for i in range(12)]
    oldest_page = c.get(f"/feed/?page_size=3&max_id={ids[3]}").json()
    assert [p["id"] for p in oldest_page["results"]] == [ids[2], ids[1], ids[0]]
    back = c.get(oldest_page["previous"]).json()
    # The page just newer than ids[2] must be ids[3..5]
    assert [p["id"] for p in back["results"]] == [ids[5], ids[4], ids[3]], (
        ids,
        back["results"] and [p["id"] for p in back["results"]],
    )
