"""Read replicas (DATABASE_REPLICA_URLS): which server each read goes to, decided once per request.

Why per request and not per selector: every GET already is a read that may lag a little, and a rule that each
selector or view had to remember would be forgotten by the next one. So `ReplicaReadsMiddleware` opens a scope
for GET and HEAD requests and `ReplicaRouter` sends the reads of that scope to a replica; everything outside a
scope reads the primary: writes and every read a POST/PATCH/DELETE makes, Celery tasks and management commands
(unless a task declares itself a pure reader with `replica_reads`), and whatever runs inside `transaction.atomic`
(the services) or under `primary_reads`.

Inside a scope the primary still serves:
- credentials (tokens, sessions, login limits): a token issued or revoked a moment ago must count at once;
- the requests of a user who wrote within DATABASE_REPLICA_PIN_SECONDS (read-your-writes): the write's response
  pins the user in Redis, so the pin holds in every process and behind the gateway (a cookie would not: API
  clients do not keep them). Without Redis the pin cannot be known, so signed-in users read the primary;
- reads made before the scope knows who is asking (a DRF view authenticates inside the view).

The choice is taken once and kept for the rest of the request, so a page never mixes a lagging replica with the
primary (a list and its count from two servers could disagree). A replica that cannot be reached is skipped for
DATABASE_REPLICA_RETRY_SECONDS, logged once per process for that interval, and its reads go to the primary.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from contextvars import ContextVar

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils.functional import SimpleLazyObject, empty

from .redis import redis_client

logger = logging.getLogger(__name__)

# Apps whose rows decide who the caller is: never read from a copy that may lag.
PRIMARY_ONLY_APPS = frozenset({"oauth2_provider", "sessions", "axes"})
SAFE_METHODS = frozenset({"GET", "HEAD"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})  # OPTIONS and the like change nothing: no pin
_PIN_KEY = "dbpin:{}"
_UNKNOWN = object()


class _Scope:
    """Where one request's (or one pure-reader task's) reads go, decided at its first read that may leave the
    primary and kept from then on."""

    def __init__(self, request=None):
        self.request = request
        self.drf_view = False  # set by the middleware once the URL is resolved
        self.alias: str | None = None

    def read_alias(self) -> str:
        if self.alias is None:
            user_id = self._user_id()
            if user_id is _UNKNOWN:
                return DEFAULT_DB_ALIAS  # not decided yet: ask again at the next read
            self.alias = DEFAULT_DB_ALIAS if _pinned(user_id) else _reachable_replica()
        return self.alias

    def _user_id(self):
        if self.request is None:
            return None  # a task: nobody to pin
        user = self.request.__dict__.get("user")
        if isinstance(user, SimpleLazyObject):
            # Django's session user. DRF views replace it with the token's user when they authenticate, so until
            # then the caller is unknown; other views decide once something evaluated it.
            if self.drf_view or user._wrapped is empty:
                return _UNKNOWN
            user = user._wrapped
        if user is None:
            return _UNKNOWN
        return user.pk if user.is_authenticated else None


_scope: ContextVar[_Scope | None] = ContextVar("replica_scope", default=None)


@contextlib.contextmanager
def replica_reads():
    """For a task (or command) that only reads and may read slightly old data: its reads go to a replica.
    Usable as a decorator."""
    token = _scope.set(_Scope())
    try:
        yield
    finally:
        _scope.reset(token)


@contextlib.contextmanager
def primary_reads():
    """Reads that outlive the request (a timeline rebuilt into Redis) come from the primary, even in a GET.
    Usable as a decorator."""
    token = _scope.set(None)
    try:
        yield
    finally:
        _scope.reset(token)


# --- read-your-writes ---------------------------------------------------------------------------------------------
def pin_to_primary(user_id: int) -> None:
    """After `user_id` wrote: their reads stay on the primary for DATABASE_REPLICA_PIN_SECONDS."""
    client = redis_client()
    if client is None:
        return  # then every signed-in read goes to the primary anyway (_pinned)
    try:
        client.set(_PIN_KEY.format(user_id), 1, ex=settings.DATABASE_REPLICA_PIN_SECONDS)
    except redis.RedisError:
        _warn_once("pin", "replicas: cannot pin user %s to the primary (Redis unavailable)", user_id)


def _pinned(user_id: int | None) -> bool:
    if user_id is None:
        return False  # anonymous callers wrote nothing they could expect to read back
    client = redis_client()
    if client is None:
        return True
    try:
        return bool(client.exists(_PIN_KEY.format(user_id)))
    except redis.RedisError:
        _warn_once("pin", "replicas: Redis unavailable, signed-in users read the primary")
        return True  # unknown pin: the primary is always right


# --- replica health -----------------------------------------------------------------------------------------------
_lock = threading.Lock()
_down_until: dict[str, float] = {}
_warned_until: dict[str, float] = {}


def _reachable_replica() -> str:
    """A replica that answers (checked out of its pool, which tests the connection), else the primary."""
    aliases = list(settings.DATABASE_REPLICAS)
    random.shuffle(aliases)  # spread the processes' reads over the replicas
    for alias in aliases:
        if time.monotonic() < _down_until.get(alias, 0.0):
            continue
        try:
            connections[alias].ensure_connection()
        except DatabaseError as error:
            with _lock:
                _down_until[alias] = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS
            logger.warning(
                "replicas: %s unreachable (%s); its reads go to the primary for %s s",
                alias,
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__,
                settings.DATABASE_REPLICA_RETRY_SECONDS,
            )
            continue
        return alias
    return DEFAULT_DB_ALIAS


def _warn_once(topic: str, message: str, *args) -> None:
    """At most one warning per topic and DATABASE_REPLICA_RETRY_SECONDS: a Redis outage must not flood the log."""
    now = time.monotonic()
    with _lock:
        if now < _warned_until.get(topic, 0.0):
            return
        _warned_until[topic] = now + settings.DATABASE_REPLICA_RETRY_SECONDS
    logger.warning(message, *args)


# --- the pieces settings install ----------------------------------------------------------------------------------
class ReplicaRouter:
    """Writes to the primary; reads to the primary unless a scope says a replica may serve them (module doc).

    Always names a database: left to Django, a related object's read would follow the instance it hangs off
    (`instance._state.db`) to a replica, even inside a transaction."""

    def db_for_read(self, model, **hints) -> str:
        scope = _scope.get()
        if scope is None or model._meta.app_label in PRIMARY_ONLY_APPS or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return scope.read_alias()

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # every alias holds the same data

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS  # replicas follow the primary's schema through replication


class ReplicaReadsMiddleware:
    """Opens the replica scope of GET and HEAD requests; pins the user after a write request (POST, PATCH...)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in SAFE_METHODS:
            token = _scope.set(_Scope(request))
            try:
                return self.get_response(request)
            finally:
                _scope.reset(token)
        response = self.get_response(request)
        user = getattr(request, "user", None) if request.method in WRITE_METHODS else None
        if user is not None and user.is_authenticated:
            pin_to_primary(user.pk)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        scope = _scope.get()
        if scope is not None:
            scope.drf_view = hasattr(view_func, "cls")  # DRF's as_view() marks its views so
        return None
