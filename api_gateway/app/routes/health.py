"""The gateway's own paths: liveness (`/healthz`) and readiness (`/readyz`: can we reach a healthy upstream?)."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from ..extensions import gateway, upstream_path
from ..upstream import UpstreamError

bp = Blueprint("health", __name__)

# Every method is routed here so these paths stay the gateway's own (405), never falling through to Django.
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@bp.before_request
def _read_only():
    if request.method not in ("GET", "HEAD"):
        abort(405, valid_methods=["GET", "HEAD"])


READY_TIMEOUT = 2.0


@bp.route("/healthz", methods=ALL_METHODS)
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz", methods=ALL_METHODS)
def readyz():
    gw = gateway()
    try:
        answer = gw.upstream.request(
            "GET", upstream_path(gw.config, "/health/"), {}, replayable=True, read_timeout=READY_TIMEOUT
        )
        answer.close()
        upstream = "ok" if answer.status == 200 else f"unhealthy (HTTP {answer.status})"
    except UpstreamError:
        upstream = "unreachable"
    redis_state = {None: "not configured", True: "ok", False: "down"}[gw.cache.ping()]
    ready = upstream == "ok"
    # Redis is reported but does not decide readiness: without it the gateway still serves (per-process limits).
    response = jsonify(status="ready" if ready else "unavailable", upstream=upstream, redis=redis_state)
    response.status_code = 200 if ready else 503
    return response
