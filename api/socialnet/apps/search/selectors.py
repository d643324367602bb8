"""GET /search/: accounts, tags and posts, only ever among what the viewer may see.

PostgreSQL: posts by full-text search on the stored `search_vector` (GIN, `websearch_to_tsquery`; the newest
RANKED_POSTS matches ranked by `ts_rank`, then newest), accounts by prefix (btree on lower(column)) or trigram
similarity (`pg_trgm` GiST, typo-tolerant) ordered by followers, tags by prefix of their key. The text
configuration is `simple` (no stemming): posts come in every language, and an English stemmer would mangle the
others. SQLite (embedded mode): case-insensitive substring matching, newest first, same visibility rules. Past one
PostgreSQL, an OpenSearch backend would replace these functions only.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Exists,
    Expression,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
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
RANKED_POSTS = 500  # matches ranked per post search, newest first (see search_posts)
TYPO_CANDIDATES = 50  # nearest accounts by trigram distance, per column (see _account_matches_postgres)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _readable_posts(viewer: Viewer) -> QuerySet[Post]:
    """What search may look into: THE visibility rule, minus muted authors and "public" keyword filters (API.md),
    and never a post locked for the viewer: its words must not find it."""
    return post_feed_queryset(viewer=viewer, context="public").filter(is_locked=False)


class _PostSearchVector(Expression):
    """The `search_vector` column the migration adds (not a model field, see there), of the posts table as aliased in
    the query being compiled: the same expression serves the outer query and the subquery of the newest matches,
    where Django renames the table (a literal "posts_post" there would correlate it with the outer row)."""

    output_field = SearchVectorField()

    def as_sql(self, compiler, connection):
        alias = compiler.query.get_initial_alias()
        return f"{compiler.quote_name_unless_alias(alias)}.{connection.ops.quote_name('search_vector')}", []


def search_posts(*, viewer: Viewer, q: str) -> QuerySet[Post]:
    """Posts matching `q`, annotated `rank` (0 on SQLite), best first then newest."""
    qs = _readable_posts(viewer)
    if not _postgres():
        for word in q.split():
            qs = qs.filter(text__icontains=word)
        return qs.annotate(rank=Value(0.0)).order_by("-id")
    vector = _PostSearchVector()
    query = SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch")
    # Only the newest RANKED_POSTS matches the viewer may read are ranked: a common word matches a large share of
    # all posts, and ranking every match (ts_rank reads each one's vector) made a page cost grow with the corpus.
    # PostgreSQL finds them by walking the primary key backwards until it has enough (common words) or through the
    # GIN index (rare ones, few matches). Older matches of a common word are beyond this search's reach; a narrower
    # query finds them. 500 ranked rows cost ~20 ms on the benchmark's data under load, 1000 twice that.
    newest = qs.annotate(search_vector=vector).filter(search_vector=query).order_by("-id").values("pk")
    # ts_rank is a float4: cast so that the cursor's Python float compares exactly with what PostgreSQL sorts.
    rank = Cast(SearchRank(vector, query), output_field=FloatField())
    return qs.filter(pk__in=newest[:RANKED_POSTS]).annotate(search_vector=vector, rank=rank).order_by("-rank", "-id")


def search_accounts(*, viewer: Viewer, q: str) -> QuerySet[User]:
    """Active accounts no block stands between (private ones too: their profile is public) by username or name:
    prefix, or on PostgreSQL trigram-similar to `q` (a typo or two); more followers first."""
    term = q.lstrip("@")
    matches = _account_matches_postgres(term) if _postgres() else _account_matches_sqlite(term)
    # The account named exactly comes first, then more followers first: one number, so pages can follow it.
    # A bigint: as an integer, Django takes the bonus for out of range and drops a cursor's `match_score < bonus`
    # as always true, so the exactly named account came back on every page.
    exact = Case(
        When(username__iexact=term, then=Value(EXACT_MATCH_BONUS)), default=Value(0), output_field=BigIntegerField()
    )
    match_score = ExpressionWrapper(F("followers_count") + exact, output_field=BigIntegerField())
    return (
        user_public_queryset(viewer=viewer)
        .filter(matches)
        .annotate(is_following=viewer_follows(viewer=viewer), match_score=match_score)
        .order_by("-match_score", "-id")
    )


def _account_matches_postgres(term: str) -> RawSQL:
    """Each column matches by prefix (`lower(column) LIKE 'prefix%'`: a range scan of its text_pattern_ops index)
    or is among the TYPO_CANDIDATES accounts nearest to `term` by trigram distance that pass pg_trgm's similarity
    threshold (`%`, `<->`: a nearest-neighbour scan of its GiST index, which stops after that many). Each `id =
    ANY(ARRAY(...))` runs once, before the scan, and probes the primary key, so PostgreSQL ORs six index scans
    and never reads every account (see migrations/0002). Typo matches are bounded: they suggest, prefixes list."""
    table = User._meta.db_table
    prefix = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    parts, params = [], []
    for column in ("username", "first_name", "last_name"):  # constant identifiers; the client's text is a parameter
        parts.append(f'lower("{table}"."{column}") LIKE lower(%s)')
        parts.append(
            f'"{table}"."id" = ANY(ARRAY(SELECT u."id" FROM "{table}" u WHERE u."{column}" %% %s '  # noqa: S608
            f'ORDER BY u."{column}" <-> %s LIMIT {TYPO_CANDIDATES}))'
        )
        params += [prefix, term, term]
    return RawSQL("(" + " OR ".join(parts) + ")", params, output_field=BooleanField())  # noqa: S611


def _account_matches_sqlite(term: str) -> Q:
    return Q(username__icontains=term) | Q(first_name__icontains=term) | Q(last_name__icontains=term)


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
