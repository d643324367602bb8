"""How trending and "for you" posts are scored: pure arithmetic, no database, no cache (the reads are in
selectors.py, the trending ranking is kept by services.py, the "for you" rankings by timeline.py).

Scores are kept in log space with the time decay folded in against a fixed epoch:

    log_score = ln(engagement) + ln(social proof) + ln(affinity) + ln(2) * created_at / half_life

`engagement * 0.5^(age / half_life)` ranks posts exactly like `engagement * 2^(created_at / half_life)`, because
every post ages at the same rate. So a score does not change while time passes, only when engagement does, and a
(score, id) cursor stays stable between pages without storing any per-user snapshot.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

# The trending ranking, packed (RankedEntries), in the Redis at REDIS_URL: read in the same round trip as the viewer's
# block and mute sets (apps.safety), which every trending page needs too. v3: a plain Redis value (v2 was kept
# through Django's cache, pickled, and cost a round trip of its own).
TRENDING_KEY = "feed:trending:v3"
TRENDING_WINDOW = timedelta(hours=24)
# "Authors you interact with": likes and comments of this recent past.
AFFINITY_WINDOW = timedelta(days=30)
AFFINITY_BOOST = 1.5
# Candidates considered per request; the newest ones win when there are more.
MAX_CANDIDATES = 1000

# A ranking is a list of (score, post id), best first: tuples compare by score, then by id on a tie.
Entry = tuple[float, int]


class RankedEntries(Sequence[Entry]):
    """(score, post id) pairs, best first, kept in two arrays: the form the cached rankings (trending, each reader's
    "for you") are read in. A page uses ~25 of up to MAX_CANDIDATES entries (a binary search for its cursor, then a
    slice): only those become Python tuples. Decoding all of them (unpickling a list of tuples, for trending) cost
    more than the cache read itself. A slice is another view, like a range's."""

    __slots__ = ("ids", "scores")

    def __init__(self, scores: array, ids: array):
        self.scores, self.ids = scores, ids

    @classmethod
    def of(cls, entries: list[Entry]) -> RankedEntries:
        return cls(array("d", [score for score, _ in entries]), array("q", [pid for _, pid in entries]))

    # Packed: the scores (float64), then the post ids (int64), 16 bytes an entry. Native byte order: the servers
    # reading a cache are the ones writing it.
    ENTRY_BYTES = 16

    def packed(self) -> bytes:
        return self.scores.tobytes() + self.ids.tobytes()

    @classmethod
    def unpacked(cls, raw: bytes) -> RankedEntries | None:
        """What `packed` made, or None when `raw` cannot be that."""
        if not isinstance(raw, bytes) or len(raw) % cls.ENTRY_BYTES:
            return None
        half = len(raw) // 2
        scores, ids = array("d"), array("q")
        scores.frombytes(raw[:half])
        ids.frombytes(raw[half:])
        return cls(scores, ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return RankedEntries(self.scores[index], self.ids[index])
        return self.scores[index], self.ids[index]

    def __iter__(self):
        return zip(self.scores.tolist(), self.ids.tolist(), strict=True)


@dataclass(frozen=True)
class Recommendations:
    """A viewer's "for you" ranking: everything a page needs besides the posts themselves."""

    entries: RankedEntries  # best first
    codes: bytes  # each entry's reason, as an index in Reason.ALL (what the stored ranking holds), in entry order

    def reason_at(self, index: int) -> str:
        """Why the entry at `index` is recommended (a page knows where its posts are in the ranking: no lookup by
        id, which meant a dict of every entry on each page)."""
        return Reason.ALL[self.codes[index]]


class Reason:
    LIKED_BY_FOLLOWING = "liked_by_following"
    COMMENTED_BY_FOLLOWING = "commented_by_following"
    AUTHOR_YOU_INTERACT_WITH = "author_you_interact_with"
    TRENDING = "trending"

    # Stored rankings keep a reason as its index here: append only, never reorder.
    ALL = (LIKED_BY_FOLLOWING, COMMENTED_BY_FOLLOWING, AUTHOR_YOU_INTERACT_WITH, TRENDING)


def engagement(*, likes: int, comments: int, views: int) -> float:
    return (
        1.0
        + settings.FEED_WEIGHT_LIKE * likes
        + settings.FEED_WEIGHT_COMMENT * comments
        + settings.FEED_WEIGHT_VIEW * views
    )


def log_score(*, likes: int, comments: int, views: int, created_at, social: int = 0, affinity: bool = False) -> float:
    half_life = settings.FEED_RECOMMEND_HALF_LIFE_HOURS * 3600
    value = math.log(engagement(likes=likes, comments=comments, views=views))
    value += math.log1p(social)
    if affinity:
        value += math.log(AFFINITY_BOOST)
    return value + math.log(2) * created_at.timestamp() / half_life


def recommendation_reason(*, followee_likes: int, followee_comments: int, affinity: bool) -> int:
    """The strongest reason a post is recommended, the one shown to the reader (its index in Reason.ALL)."""
    if followee_likes:
        return Reason.ALL.index(Reason.LIKED_BY_FOLLOWING)
    if followee_comments:
        return Reason.ALL.index(Reason.COMMENTED_BY_FOLLOWING)
    if affinity:
        return Reason.ALL.index(Reason.AUTHOR_YOU_INTERACT_WITH)
    return Reason.ALL.index(Reason.TRENDING)
