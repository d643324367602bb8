"""Create (or complete) this checkout's `.env`: random secrets and the settings of a local, plain-HTTP stack.

`make run` (and `make env`) call this before anything starts. The file is gitignored and readable only by its
owner; manage.py, the Celery workers and the gateway read it themselves (variables already set in the environment
win), and docker compose takes its secrets from it. Nothing secret is ever read from a tracked file.

Usage: python scripts/ensure_env.py [PATH]   (default: $SOCIALNET_ENV_FILE, else .env at the checkout's root)
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HEADER = """\
# This checkout's own settings, written by `make run` / `make env` on first use. Never commit or share it.
# Read by manage.py, the Celery workers and the gateway; a variable set in the environment wins over this file.
"""


def _token() -> str:
    return secrets.token_urlsafe(48)


# (name, value factory, comment). Secrets are random per checkout; the rest describe a plain-HTTP local stack.
ENTRIES = [
    ("DJANGO_SECRET_KEY", _token, "Signs sessions, password-reset tokens and media URLs."),
    ("GATEWAY_CLIENT_SECRET", _token, "The gateway's OAuth client secret (token introspection)."),
    ("POSTGRES_PASSWORD", _token, "docker compose's PostgreSQL password (make run itself does not use it)."),
    ("DJANGO_DEBUG", lambda: "false", "true shows tracebacks and settings to anyone who can reach Django."),
    ("DJANGO_SECURE_SSL_REDIRECT", lambda: "false", "Local stack: plain HTTP on localhost, no TLS in front."),
    ("DJANGO_SECURE_COOKIES", lambda: "false", None),
    ("DJANGO_HSTS_SECONDS", lambda: "0", None),
    ("OAUTH_REDIRECT_SCHEMES", lambda: "http,https", "The demo client's redirect URIs are http://localhost."),
]


def present_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            names.add(line.split("=", 1)[0].strip().removeprefix("export ").strip())
    return names


def ensure_env(path: Path) -> list[str]:
    """Write the missing entries; returns their names (empty when the file was already complete)."""
    existing = path.read_text() if path.exists() else ""
    have = present_names(existing)
    lines = []
    added = []
    for name, value, comment in ENTRIES:
        if name in have:
            continue
        if comment:
            lines.append(f"# {comment}")
        lines.append(f"{name}={value()}")
        added.append(name)
    if not added:
        return []
    text = existing
    if not existing:
        text = HEADER
    elif not existing.endswith("\n"):
        text += "\n"
    text += "\n".join(lines) + "\n"
    # Created owner-only from the start: the secrets never exist in a world-readable file, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
    return added


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else Path(os.environ.get("SOCIALNET_ENV_FILE") or ROOT / ".env")
    added = ensure_env(target)
    if added:
        print(f"==> Wrote {', '.join(added)} to {target} (random secrets for this checkout; keep the file private)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
