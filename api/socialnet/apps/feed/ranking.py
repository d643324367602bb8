"""How trending and "for you" posts are scored: pure arithmetic, no database, no cache (the reads are in
selectors.py, the trending cache is kept by services.py, the "for you" rankings by timeline.py).

Scores are kept in log space with the time decay folded in against a fixed epoch:

    log_score = ln(engagement) + ln(social proof) + ln(affinity) + ln(2) * created_at / half_life

`engagement * 0.5^(age / half_life)` ranks posts exactly like `engagement * 2^(created_at / half_life)`, because
every post ages at the same rate. So a score does not change while time passes, only when engagement does, and a
(score, id) cursor stays stable between pages without storing any per-user snapshot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

TRENDING_CACHE_KEY = "feed:trending:v1"
TRENDING_WINDOW = timedelta(hours=24)
# "Authors you interact with": likes and comments of this recent past.
AFFINITY_WINDOW = timedelta(days=30)
AFFINITY_BOOST = 1.5
# Candidates considered per request; the newest ones win when there are more.
MAX_CANDIDATES = 1000

# A ranking is a list of (score, post id), best first: tuples compare by score, then by id on a tie.
Entry = tuple[float, int]


@dataclass(frozen=True)
class Recommendations:
    """A viewer's "for you" ranking: everything a page needs besides the posts themselves."""

    entries: list[Entry]  # best first
    reasons: dict[int, int]  # post id -> its reason, as an index in Reason.ALL (what the stored ranking holds)

    def reason(self, post_id: int) -> str:
        return Reason.ALL[self.reasons[post_id]]


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
