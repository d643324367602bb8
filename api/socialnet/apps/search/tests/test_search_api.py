"""GET /search/: full-text posts, typo-tolerant accounts, tag prefixes; a leak matrix over response bodies (locked
premium words, followers-only, private accounts, blocks, mutes, filters) and bad input as 4xx."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.follows.services import follow_create
from apps.posts.services import post_create, post_update
from apps.safety.services import block_create, keyword_filter_create, mute_set
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def search(client, **params):
    response = client.get("/search/", params)
    assert response.status_code == 200, response.content
    return response.json()


def post_ids(client, q):
    return [p["id"] for p in search(client, q=q, type="posts")["results"]]


def test_posts_by_full_text_best_match_first_then_newest(api_client, user):
    once = post_create(author=user, text="the quick brown fox")
    twice = post_create(author=user, text="fox news: a fox again")
    newer = post_create(author=user, text="quick brown fox")
    post_create(author=user, text="nothing to see")
    assert post_ids(api_client, "fox")[0] == twice.pk
    assert set(post_ids(api_client, "fox")) == {once.pk, twice.pk, newer.pk}
    assert post_ids(api_client, '"quick brown" -news') == [newer.pk, once.pk]  # websearch syntax, ties: newest
    assert post_ids(api_client, "fox or nothing")  # never a syntax error


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not rank")
def test_only_the_newest_readable_matches_are_ranked(api_client, user, monkeypatch):
    from apps.search import selectors

    monkeypatch.setattr(selectors, "RANKED_POSTS", 3)
    best_but_oldest = post_create(author=user, text="otter otter otter otter")
    ranked = [post_create(author=user, text=text).pk for text in ("otter", "otter otter", "an otter")]
    post_create(author=user, text="otter otter otter, followers only", visibility="followers")  # not readable here
    post_create(author=user, text="rivers and seals")  # newer, but no match: takes no place among the ranked
    # Among the three newest matches the reader may read: the best match first, then the newest.
    assert post_ids(api_client, "otter") == [ranked[1], ranked[2], ranked[0]]
    assert best_but_oldest.pk not in post_ids(api_client, "otter")


def test_edits_are_searchable_at_once(api_client, user):
    post = post_create(author=user, text="before")
    post_update(post=post, actor=user, text="after")
    assert post_ids(api_client, "before") == []
    assert post_ids(api_client, "after") == [post.pk]


def test_accounts_by_prefix_and_typo_more_followers_first(api_client):
    popular = UserFactory(username="margaret_h", first_name="Margaret")
    quiet = UserFactory(username="margot", first_name="Margot")
    for fan in UserFactory.create_batch(3, first_name="", last_name=""):  # no generated "Margaret" among them
        follow_create(follower=fan, followee=popular)
    names = [a["username"] for a in search(api_client, q="marg", type="accounts")["results"]]
    assert names == ["margaret_h", "margot"]
    assert "margaret_h" in [a["username"] for a in search(api_client, q="margaert_h", type="accounts")["results"]]
    # The account named exactly comes first whatever the followers.
    assert search(api_client, q="Margot")["accounts"][0]["username"] == quiet.username


def test_tags_by_prefix_of_readable_posts(api_client, user):
    post_create(author=user, text="#Cats and #category")
    post_create(author=user, text="#catsecret", visibility="premium")
    assert [t["name"] for t in search(api_client, q="#cat", type="tags")["results"]] == ["category", "Cats"]
    assert search(api_client, q="CAT")["tags"] == [{"name": "category"}, {"name": "Cats"}]


def test_leak_matrix(api_client, client_for, user, premium_user):
    """Every post carries the shared word and a secret of its own; each caller finds exactly what they may read,
    and the secrets of the others appear nowhere in any response body."""
    reader, follower, blocked, muted, filtered, private = (UserFactory() for _ in range(6))
    private.is_private = True
    private.save(update_fields=["is_private"])
    follow_create(follower=follower, followee=user)
    cases = {
        "public": (user, "public"),
        "premium": (user, "premium"),
        "followers": (user, "followers"),
        "private": (private, "public"),
        "blocked": (blocked, "public"),
        "muted": (muted, "public"),
        "filtered": (filtered, "public"),
    }
    for secret, (author, visibility) in cases.items():
        post_create(author=author, text=f"shared {secret}word #{secret}tag", visibility=visibility)
    block_create(blocker=reader, blocked=blocked)
    mute_set(muter=reader, muted=muted)
    keyword_filter_create(owner=reader, data={"phrase": "filteredword", "context": ["public"]})

    def found(client):
        seen = set()
        for params in ({"q": "shared"}, {"q": "shared", "type": "posts"}):
            seen |= {s for s in cases if f"{s}word" in client.get("/search/", params).content.decode()}
        for secret in cases:  # a secret's own word and tag find its post, or nothing
            for params in ({"q": f"{secret}word"}, {"q": f"{secret}tag", "type": "tags"}, {"q": f"#{secret}"}):
                body = client.get("/search/", params).content.decode()
                if secret not in seen:
                    assert f"{secret}word" not in body and f"{secret}tag" not in body, (secret, params)
        return seen

    everyone = {"public", "blocked", "muted", "filtered"}
    assert found(api_client) == everyone
    assert found(client_for(reader)) == {"public"}
    assert found(client_for(follower)) == everyone | {"followers"}
    assert found(client_for(premium_user)) == everyone | {"premium"}
    assert found(client_for(user)) == everyone | {"premium", "followers"}
    assert found(client_for(private)) == everyone | {"private"}

    # Accounts: a block hides each from the other; a private account is found (its profile is public).
    def accounts(client, q):
        return [a["username"] for a in search(client, q=q, type="accounts")["results"]]

    assert blocked.username not in accounts(client_for(reader), blocked.username)
    assert reader.username not in accounts(client_for(blocked), reader.username)
    assert private.username in accounts(api_client, private.username)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "   "},
        {"q": "x" * 201},
        {"q": "a\x00b"},
        {"q": "fox", "type": "people"},
        {"q": "fox", "type": "posts", "cursor": "garbage"},
        {"q": "fox", "type": "accounts", "page_size": "0"},
        {"q": "fox", "type": "tags", "cursor": "%%%"},
    ],
)
def test_bad_input_is_a_400(api_client, params):
    response = api_client.get("/search/", params)
    assert response.status_code == 400, response.content


@pytest.mark.parametrize("q", ["x" * 200, "!!!", "&|:*()", "'\"", "#", "@", "-", "or", "\u0301", "日本語"])
def test_odd_queries_are_answered(api_client, user, q):
    post_create(author=user, text="日本語 text")
    assert set(search(api_client, q=q)) == {"accounts", "posts", "tags"}
    for kind in ("accounts", "posts", "tags"):
        search(api_client, q=q, type=kind)


def test_pages_follow_the_ranking_without_repeats(api_client, user):
    ids = {post_create(author=user, text="word " * (i % 3 + 1)).pk for i in range(7)}
    seen, url = [], "/search/?q=word&type=posts&page_size=3"
    while url:
        body = api_client.get(url).json()
        seen += [p["id"] for p in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    # A name no generated first or last name comes near: typo tolerance would rightly find "Smith" for "wordsmith".
    for fan_count in range(4):
        account = UserFactory(username=f"quokkaqueen{fan_count}")
        for fan in UserFactory.create_batch(fan_count, first_name="", last_name=""):
            follow_create(follower=fan, followee=account)
    seen, url = [], "/search/?q=quokkaqueen&type=accounts&page_size=3"
    while url:
        body = api_client.get(url).json()
        seen += [a["username"] for a in body["results"]]
        url = body["next"]
    assert seen == ["quokkaqueen3", "quokkaqueen2", "quokkaqueen1", "quokkaqueen0"]
    # The account named exactly leads the first page, then the similar ones by followers, none twice or skipped.
    seen, url = [], "/search/?q=quokkaqueen0&type=accounts&page_size=1"
    while url:
        body = api_client.get(url).json()
        seen += [a["username"] for a in body["results"]]
        url = body["next"]
    assert seen == ["quokkaqueen0", "quokkaqueen3", "quokkaqueen2", "quokkaqueen1"]


def test_query_count_is_constant(client_for, user, django_assert_num_queries):
    client = client_for(user)
    post_create(author=UserFactory(username="needle0"), text="needle #needle")
    with CaptureQueriesContext(connection) as one:
        search(client, q="needle")
        search(client, q="needle", type="posts")
    for i in range(1, 30):
        post_create(author=UserFactory(username=f"needle{i}"), text=f"needle #needle{i} @{user.username}")
    with django_assert_num_queries(len(one)):
        body = search(client, q="needle")
        search(client, q="needle", type="posts")
    assert all(len(body[kind]) == 5 for kind in ("accounts", "posts", "tags"))
