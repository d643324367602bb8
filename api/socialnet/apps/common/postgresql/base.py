"""Django's PostgreSQL backend, with a health check for pooled connections that skips the round trip when it can.

psycopg_pool's own check (what Django installs for CONN_HEALTH_CHECKS) sends an empty query every time a connection
leaves the pool: a third of what taking a connection costs a request. The check exists because after a PostgreSQL
restart every pooled connection is dead without knowing it, and each of them gave a request a 500. A server that
ends a connection (restart, crash, pg_terminate_backend, idle_session_timeout) sends its FATAL message and closes
the socket, so the socket turns readable: a connection whose socket has nothing to read and that was handed out
moments ago is as alive as the empty query would find it. A connection out of use for longer (a peer that vanished
without closing, a firewall that dropped an idle flow) or with something unexpected to read still gets the query.

Django passes psycopg's check to the pool itself (a `check` in the pool OPTIONS collides with it), hence a backend.
"""

from __future__ import annotations

import select
from time import monotonic

from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool

# Past this the socket alone is not trusted: only the server can say whether a long-idle connection still works.
TRUSTED_IDLE_SECONDS = 1.0


def check_pooled_connection(conn) -> None:
    """psycopg_pool's `check` callback: returns quietly for a connection that works, raises for one that does not
    (the pool then discards it and hands out another)."""
    now = monotonic()
    last = getattr(conn, "_handed_out_at", None)
    if last is None or now - last > TRUSTED_IDLE_SECONDS or _has_data_or_eof(conn):
        ConnectionPool.check_connection(conn)
    conn._handed_out_at = now


def _has_data_or_eof(conn) -> bool:
    """Whether an idle connection's socket is readable: a server's goodbye (or anything else nobody asked for)."""
    try:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN)
    except Exception:  # psycopg raises its own error for a closed connection: the full check will say so
        return True
    return bool(poller.poll(0))


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        pool = self.pool
        # Swapped once, after Django built the pool with psycopg's check (CONN_HEALTH_CHECKS) and before its first
        # hand-out. The attribute is psycopg_pool's private one: were it renamed, this fails at the first connection
        # instead of silently leaving connections unchecked.
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = check_pooled_connection
        return super().get_new_connection(conn_params)

    def _set_autocommit(self, autocommit):
        # Django sets autocommit on every connect; a pooled connection comes back in autocommit already, and psycopg
        # still runs its generator-and-wait machinery to change nothing.
        if self.connection.autocommit != autocommit:
            super()._set_autocommit(autocommit)
