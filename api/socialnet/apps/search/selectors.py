"""GET /search/: accounts, tags and posts, only ever among what the viewer may see.

PostgreSQL: posts by full-text search on the stored `search_vector` (GIN, `websearch_to_tsquery`, ranked by
`ts_rank` then newest), accounts by prefix or trigram similarity (`pg_trgm`, typo-tolerant) ordered by followers,
tags by prefix of their key. The text configuration is `simple` (no stemming): posts come in every language, and
an English stemmer would mangle the others. SQLite (embedded mode): case-insensitive substring matching, newest
first, same visibility rules. Past one PostgreSQL, an OpenSearch backend would replace these functions only.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import connection
from django.db.models import BooleanField, Case, Exists, F, FloatField, OuterRef, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from apps.common.pagination import ScoreCursor
from apps.follows.selectors import viewer_follows
from apps.posts.models import Post
from apps.posts.selectors import Viewer, post_feed_queryset
from apps.tags.models import Tag
from apps.tags.parsing import tag_key
from apps.users.models import User
from apps.users.selectors import user_public_queryset

SEARCH_CONFIG = "simple"  # as in migrations/0001_initial.py
EXACT_MATCH_BONUS = 10**12  # above any follower count


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _readable_posts(viewer: Viewer) -> QuerySet[Post]:
    """What search may look into: THE visibility rule, minus muted authors and "public" keyword filters (API.md),
    and never a post locked for the viewer: its words must not find it."""
    return post_feed_queryset(viewer=viewer, context="public").filter(is_locked=False)


def search_posts(*, viewer: Viewer, q: str) -> QuerySet[Post]:
    """Posts matching `q`, annotated `rank` (0 on SQLite), best first then newest."""
    qs = _readable_posts(viewer)
    if not _postgres():
        for word in q.split():
            qs = qs.filter(text__icontains=word)
        return qs.annotate(rank=Value(0.0)).order_by("-id")
    # The column the migration adds (not a model field, see there); identifiers only, nothing from the client.
    vector = RawSQL(f'"{Post._meta.db_table}"."search_vector"', [], output_field=SearchVectorField())  # noqa: S611
    query = SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch")
    # ts_rank is a float4: cast so that the cursor's Python float compares exactly with what PostgreSQL sorts.
    rank = Cast(SearchRank(vector, query), output_field=FloatField())
    return qs.annotate(search_vector=vector, rank=rank).filter(search_vector=query).order_by("-rank", "-id")


def search_accounts(*, viewer: Viewer, q: str) -> QuerySet[User]:
    """Active accounts no block stands between (private ones too: their profile is public) by username or name:
    prefix, or on PostgreSQL trigram-similar to `q` (a typo or two); more followers first."""
    term = q.lstrip("@")
    if _postgres():
        table = User._meta.db_table
        prefix = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matches = Q()
        # `ILIKE 'prefix%'` and `%` (pg_trgm's similarity operator, doubled for the driver) on the bare columns:
        # both are served by the trigram GIN indexes, so PostgreSQL ORs index scans instead of reading every
        # account (Django's istartswith wraps the column in UPPER(), which no index here covers).
        for column in ("username", "first_name", "last_name"):
            # Constant identifiers; the client's text goes in as parameters.
            matches |= RawSQL(  # noqa: S611
                f'("{table}"."{column}" ILIKE %s OR "{table}"."{column}" %% %s)',
                [prefix, term],
                output_field=BooleanField(),
            )
    else:
        matches = Q(username__icontains=term) | Q(first_name__icontains=term) | Q(last_name__icontains=term)
    # The account named exactly comes first, then more followers first: one number, so pages can follow it.
    exact = Case(When(username__iexact=term, then=Value(EXACT_MATCH_BONUS)), default=Value(0))
    return (
        user_public_queryset(viewer=viewer)
        .filter(matches)
        .annotate(is_following=viewer_follows(viewer=viewer), match_score=F("followers_count") + exact)
        .order_by("-match_score", "-id")
    )


def search_tags(*, viewer: Viewer, q: str) -> QuerySet[Tag]:
    """Tags whose name starts with `q` (a leading # ignored) carried by at least one post the viewer may read:
    a tag seen only on posts hidden from them, or locked, is not found."""
    prefix = tag_key(q.strip().lstrip("#"))
    if not prefix or any(ch.isspace() for ch in prefix):
        return Tag.objects.none()
    readable = _readable_posts(viewer).filter(post_tags__tag_id=OuterRef("pk"))
    return Tag.objects.filter(key__startswith=prefix).filter(Exists(readable)).order_by("key", "id")


def ranked_page(qs: QuerySet, *, score: str, cursor: ScoreCursor | None, limit: int) -> tuple[list, ScoreCursor | None]:
    """A page of `qs` (ordered by `score` then id, descending) strictly after `cursor`, and the next cursor."""
    if cursor is not None:
        qs = qs.filter(Q(**{f"{score}__lt": cursor.score}) | Q(**{score: cursor.score, "id__lt": cursor.id}))
    rows = list(qs[: limit + 1])
    page = rows[:limit]
    more = len(rows) > limit
    return page, (ScoreCursor(score=float(getattr(page[-1], score)), id=page[-1].pk) if more else None)
