"""Which accounts a viewer may not see at all is the safety app's rule (blocks, either direction), and safety sits
above users in the layers. So safety registers its rule here at startup (`SafetyConfig.ready()`), and users and
follows (a sibling of safety that may not import it) only ask: the rule is written once, in apps.safety.selectors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q, QuerySet

from apps.common.prepared import AnyOf, IdsParam


@dataclass(frozen=True)
class AccountSet:
    """A set of account ids, for excluding rows: either the ids themselves (read from a cache) or subqueries that
    PostgreSQL evaluates inside the query being filtered (no cache). Either way filtering a page costs no extra
    query, so a page's query count does not depend on the cache being warm.

    The ids go into SQL as one array parameter named `name`, and the subqueries carry their varying values as
    Params (`params`), so a prepared page (apps.common.prepared) keys on `shape` and binds `values()`."""

    ids: frozenset[int] = frozenset()
    subqueries: tuple[QuerySet, ...] = ()  # each `.values(<one id column>)`
    name: str = "ids"
    params: dict = dataclass_field(default_factory=dict)  # the values of the Params inside `subqueries`

    def q(self, field: str) -> Q:
        """Rows whose `field` (an account id) is in the set. Meaningless when `is_empty` (callers skip then)."""
        q = Q(AnyOf(field, IdsParam(self.name, self.ids))) if self.ids else Q()
        for sub in self.subqueries:
            q |= Q(**{f"{field}__in": sub})
        return q

    @property
    def is_empty(self) -> bool:
        return not self.ids and not self.subqueries

    @property
    def shape(self) -> str:
        """What the SQL looks like: nothing, one array parameter, or subqueries."""
        return "subqueries" if self.subqueries else "ids" if self.ids else "empty"

    def values(self) -> dict:
        """The values `q()` binds, by Param name."""
        values = dict(self.params)
        if self.ids:
            values[self.name] = self.ids
        return values

    def exclude_from(self, qs: QuerySet, field: str) -> QuerySet:
        return qs if self.is_empty else qs.exclude(self.q(field))

    def __contains__(self, user_id: int) -> bool:
        # One query in the subquery form: for single checks (a detail path), never per row of a list.
        if user_id in self.ids:
            return True
        return any(sub.filter(**{self._column(sub): user_id}).exists() for sub in self.subqueries)

    @staticmethod
    def _column(sub: QuerySet) -> str:
        return next(iter(sub.query.values_select))


EMPTY = AccountSet()


@dataclass(frozen=True)
class AccountVisibilityRule:
    # hidden(viewer): the accounts an (authenticated) `viewer` must never see, nor be seen by.
    hidden: Callable[[object], AccountSet]


_rule: AccountVisibilityRule | None = None


def register_account_visibility_rule(rule: AccountVisibilityRule) -> None:
    global _rule
    _rule = rule


def account_visibility_rule() -> AccountVisibilityRule:
    if _rule is None:
        raise ImproperlyConfigured("No account visibility rule registered: is apps.safety in INSTALLED_APPS?")
    return _rule


def hidden_accounts(viewer) -> AccountSet:
    """Accounts hidden from `viewer` (a block either way); empty for anonymous callers."""
    if not getattr(viewer, "is_authenticated", False):
        return EMPTY
    return account_visibility_rule().hidden(viewer)
