"""WSGI entry point: `gunicorn wsgi:app -c gunicorn.conf.py` from this directory."""

import os
from pathlib import Path

from app import create_app
from app.config import load_env_file

# The checkout's .env (`make run` writes its secrets there), as Django's settings read it: the gateway started by
# hand gets the same GATEWAY_CLIENT_SECRET. SOCIALNET_ENV_FILE="" reads none; the environment always wins.
_env_file = os.environ.get("SOCIALNET_ENV_FILE", str(Path(__file__).resolve().parent.parent / ".env"))
if _env_file:
    load_env_file(_env_file)

app = create_app()
