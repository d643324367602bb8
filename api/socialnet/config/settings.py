"""
SocialNet settings, read from the environment (12-factor).

Two modes, chosen only by which variables are set:
- embedded (nothing set): SQLite file, local-memory cache, Celery tasks run in-process. One command, no services.
- full: DATABASE_URL (PostgreSQL) and REDIS_URL (cache, broker, timelines) point at real services.

Every variable is documented in .env.example. With DJANGO_DEBUG off the defaults are production-safe.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent  # api/socialnet/
env = environ.Env()
# This checkout's `.env` (random secrets, written by `make run`; scripts/ensure_env.py), so manage.py, the workers
# and servers started by hand get the same keys as `make run`. The environment wins; "" reads no file.
SOCIALNET_ENV_FILE = env("SOCIALNET_ENV_FILE", default=str(BASE_DIR.parent.parent / ".env"))
if SOCIALNET_ENV_FILE and Path(SOCIALNET_ENV_FILE).is_file():
    environ.Env.read_env(SOCIALNET_ENV_FILE, overwrite=False)

# --- Core -----------------------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# No fallback key, in any mode: a key written in a tracked file is a key everyone has (it signs sessions, reset
# tokens and media URLs). Placeholders copied from .env.example are refused for the same reason.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY or "change-me" in SECRET_KEY:
    raise ImproperlyConfigured(
        "Set DJANGO_SECRET_KEY to a long random value: `make run` (or `make env`) writes one into this checkout's "
        ".env, which manage.py reads; elsewhere set it in the environment."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "apps.common",
    "apps.users",
    "apps.posts",
    "apps.comments",
    "apps.follows",
    "apps.safety",
    "apps.feed",
    "apps.images",
    "apps.interactions",
    "apps.tags",
    "apps.search",
    "apps.notifications",
    "apps.moderation",
    "apps.demo",
    "apps.privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # First of ours: everything below (throttles, login limits, logs) keys on request.client_ip.
    "apps.common.middleware.ClientAddressMiddleware",
    "apps.common.middleware.RejectNulCharactersMiddleware",
    "apps.common.middleware.JsonNotFoundWhenDebugMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.common.middleware.LazyMessageMiddleware",  # Django's, its storage built only when a page uses it
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes requires: turns a lockout flagged during the view into the 429 page (apps.users.login_limits).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "users.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3's built-in pool: a few warm connections per process instead of one TCP+auth handshake per request.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
        "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool owns connection reuse; Django must not hold them too
    # Lets list pages prepare their statements on the server (apps.common.prepared, the only queries that bind
    # their parameters server-side; Django's other queries never are prepared). Django turns preparing off unless
    # this is set, because of connection poolers: behind PgBouncer use 1.21+ with max_prepared_statements.
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5
    # With a pool this turns into the pool's `check`: each connection is tested as it leaves the pool. After a
    # PostgreSQL restart every pooled connection is dead; unchecked, each of them gave a request a 500 before the
    # pool noticed. Our backend's check skips psycopg's empty round trip for a connection in use moments ago whose
    # socket shows no goodbye from the server (apps.common.postgresql).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["ENGINE"] = "apps.common.postgresql"

# Read replicas (apps.common.replicas): GET and HEAD requests read a replica unless the caller wrote within
# DATABASE_REPLICA_PIN_SECONDS; writes, transactions, credentials and tasks stay on the primary. Unset: no router,
# no middleware, every read on the primary as before.
DATABASE_REPLICA_URLS = [url for url in env.list("DATABASE_REPLICA_URLS", default=[]) if url.strip()]
DATABASE_REPLICA_PIN_SECONDS = env.int("DATABASE_REPLICA_PIN_SECONDS", default=5)
# A replica that failed is not tried again (nor logged again) for this long; its reads go to the primary meanwhile.
DATABASE_REPLICA_RETRY_SECONDS = env.int("DATABASE_REPLICA_RETRY_SECONDS", default=30)
# The test suite sets this: every prepared list query (apps.common.prepared) is also compiled the ordinary way and
# compared with the cached SQL, so a shape key that misses a branch fails the tests instead of serving wrong rows.
PREPARED_QUERIES_CHECK = False
DATABASE_REPLICAS = []
for number, url in enumerate(DATABASE_REPLICA_URLS, 1):
    replica = env.db_url_config(url)
    # A streaming replica copies the primary's whole cluster, roles and passwords included: a URL may name just the
    # host (postgres://replica:5432) and take the rest from DATABASE_URL, so no second copy of the secret is needed.
    for key in ("NAME", "USER", "PASSWORD"):
        replica[key] = replica.get(key) or DATABASES["default"].get(key, "")
    if replica["ENGINE"] != "django.db.backends.postgresql" or "pool" not in DATABASES["default"].get("OPTIONS", {}):
        raise ImproperlyConfigured("DATABASE_REPLICA_URLS: replicas are PostgreSQL servers of a PostgreSQL primary.")
    # Short waits: a dead replica must cost a request about 2 s once per DATABASE_REPLICA_RETRY_SECONDS, not the
    # primary's 10 s pool timeout. connect_timeout covers a host that drops packets instead of refusing.
    replica["OPTIONS"] = {
        **replica.get("OPTIONS", {}),
        "connect_timeout": 2,
        "prepare_threshold": DATABASES["default"]["OPTIONS"]["prepare_threshold"],
        "pool": {**DATABASES["default"]["OPTIONS"]["pool"], "timeout": 2},
    }
    replica["CONN_MAX_AGE"] = 0
    replica["CONN_HEALTH_CHECKS"] = True  # a pooled connection to a restarted replica is dropped, not used
    replica["ENGINE"] = DATABASES["default"]["ENGINE"]
    # The test runner creates no database on a replica (it is read-only): the alias reads the test database.
    replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica{number}"] = replica
    DATABASE_REPLICAS.append(f"replica{number}")
if DATABASE_REPLICAS:
    DATABASE_ROUTERS = ["apps.common.replicas.ReplicaRouter"]
    # After authentication: the scope needs to know who is asking before it may leave the primary.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "apps.common.replicas.ReplicaReadsMiddleware",
    )

# --- Redis: cache, broker, timelines --------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
EMBEDDED = not REDIS_URL  # no Redis: cache in memory, tasks in-process
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "apps.common.cache.RedisCache",  # Django's, keeping its Redis clients (see there)
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="sn"),
            # Short socket timeouts: a dead Redis must degrade the API (slower), never hang it.
            "OPTIONS": {
                "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "socialnet"}}

# --- Auth -----------------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins (/accounts/login/, /admin/login/, /o/token/) limited per client address and per account by
# django-axes; the choices are explained in apps.users.login_limits.
AUTHENTICATION_BACKENDS = [
    "apps.users.login_limits.LoginLimitBackend",  # first: refuses locked-out attempts before any password check
    # Django's ModelBackend, extended so that signing in during the deletion grace period reopens the account.
    "apps.privacy.backends.AccountBackend",
]
AXES_HANDLER = "apps.users.login_limits.LoginLimitHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
# Lifted by time: the lock ends this long after the last failure that counted (failures while locked do not
# extend it, so a user waiting it out is not kept out by an attacker who keeps trying).
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False  # LoginLimitHandler clears the account's own counters on success instead
AXES_LOCKOUT_PARAMETERS = "apps.users.login_limits.lockout_parameters"
AXES_USERNAME_CALLABLE = "apps.users.login_limits.login_username"
AXES_CLIENT_IP_CALLABLE = "apps.common.client_address.client_ip"
AXES_LOCKOUT_CALLABLE = "apps.users.login_limits.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_COOLOFF_MESSAGE = "Too many failed sign-in attempts from this address or for this account. Try again later."
AXES_DISABLE_ACCESS_LOG = True  # a row per successful login is not needed for the limits and grows forever
AXES_SENSITIVE_PARAMETERS = ["password", "client_secret", "code", "code_verifier", "refresh_token"]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/api/docs/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

OAUTH_REDIRECT_SCHEMES = env.list("OAUTH_REDIRECT_SCHEMES", default=["http", "https"] if DEBUG else ["https"])
OAUTH2_PROVIDER = {
    "SCOPES": {"read": "Read your data", "write": "Change your data", "introspection": "Introspect tokens"},
    "DEFAULT_SCOPES": ["read", "write"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_ACCESS_TOKEN_SECONDS", default=3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_REFRESH_TOKEN_SECONDS", default=30 * 24 * 3600),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": env.int("OAUTH_CODE_SECONDS", default=60),
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "PKCE_REQUIRED": True,
    # Accept token requests as JSON as well as form-encoded (API.md), see apps.users.oauth.
    "OAUTH2_BACKEND_CLASS": "apps.users.oauth.JsonOrFormOAuthLibCore",
    "OAUTH2_VALIDATOR_CLASS": "apps.users.oauth.SocialNetOAuth2Validator",
    # https only in production; add custom schemes for mobile apps (e.g. "com.example.app"). Debug adds http.
    "ALLOWED_REDIRECT_URI_SCHEMES": OAUTH_REDIRECT_SCHEMES,
    "REQUEST_APPROVAL_PROMPT": "auto",
    "CLEAR_EXPIRED_TOKENS_BATCH_SIZE": 10000,
    # RFC 9700 (OAuth 2.0 Security BCP): enforce every recommendation DOT can enforce.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    # Allowing plain http (local development, docker compose on localhost) downgrades this to a deploy warning.
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": "http" not in OAUTH_REDIRECT_SCHEMES,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token", "client_credentials"],
}
# The public client created by `manage.py create_demo_client`; Swagger UI's Authorize button uses it.
DEMO_CLIENT_ID = env("DEMO_CLIENT_ID", default="socialnet-demo")
# Swagger UI sends <docs page directory>/oauth2-redirect.html (config.docs serves it), on whichever host and port
# the docs were opened: Django (:8000) and the gateway (:5000), by name and by address.
DEMO_REDIRECT_URIS = env.list(
    "DEMO_REDIRECT_URIS",
    default=[
        "http://localhost:8000/api/docs/oauth2-redirect.html",
        "http://127.0.0.1:8000/api/docs/oauth2-redirect.html",
        "http://localhost:5000/api/docs/oauth2-redirect.html",
        "http://127.0.0.1:5000/api/docs/oauth2-redirect.html",
        "http://127.0.0.1:8765/callback",
    ],
)
# The gateway's confidential client, used only for RFC 7662 introspection (`manage.py create_gateway_client`).
GATEWAY_CLIENT_ID = env("GATEWAY_CLIENT_ID", default="socialnet-gateway")
GATEWAY_CLIENT_SECRET = env("GATEWAY_CLIENT_SECRET", default="")

# --- DRF ------------------------------------------------------------------------------------------------------
THROTTLE_RATES = {
    "anon": env("THROTTLE_ANON", default="300/min"),
    "user": env("THROTTLE_USER", default="600/min"),
    "signup": env("THROTTLE_SIGNUP", default="20/hour"),
}
# Hits of the anon/user throttle a process counts in Redis at once and spends locally (apps.common.throttling).
THROTTLE_LEASE = env.int("THROTTLE_LEASE", default=10)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.users.authentication.ScopedOAuth2Authentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.common.pagination.IdCursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "apps.common.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # One throttle, one Redis round trip: the `user` rate with a token, else `anon` (apps.common.throttling).
    "DEFAULT_THROTTLE_CLASSES": ["apps.common.throttling.FailOpenRequestRateThrottle"],
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.common.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Who may tell Django the client's address (X-Forwarded-For): connections from these CIDRs only, see
# apps.common.client_address. The default is loopback, where `make run` puts the gateway; a header from anyone
# else is ignored. Replaces DRF's NUM_PROXIES, which believed the header whoever sent it.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=["127.0.0.1/32", "::1/128"])
try:  # a typo here must stop the process at start, not turn every request into a 500
    [ipaddress.ip_network(cidr, strict=False) for cidr in TRUSTED_PROXIES]
except ValueError as exc:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from exc

SPECTACULAR_SETTINGS = {
    "TITLE": "SocialNet API",
    "DESCRIPTION": "Users, posts, comments, images, follows, feeds, notifications and moderation.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for a choice set used by several fields (a report's `resolution`, the resolve `action`).
    "ENUM_NAME_OVERRIDES": {"ReportResolutionEnum": "apps.moderation.models.Report.Resolution"},
    # Every operation's error responses and query limits, derived in one place (apps/common/openapi.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.common.openapi.error_responses_hook",
    ],
    "OAUTH2_FLOWS": ["authorizationCode"],
    "OAUTH2_AUTHORIZATION_URL": "/o/authorize/",
    "OAUTH2_TOKEN_URL": "/o/token/",
    "OAUTH2_REFRESH_URL": "/o/token/",
    "OAUTH2_SCOPES": {"read": "Read your data", "write": "Change your data"},
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "SWAGGER_UI_OAUTH2_CONFIG": {
        "clientId": DEMO_CLIENT_ID,
        "usePkceWithAuthorizationCodeGrant": True,
        "scopes": "read write",
    },
}

# --- Limits ---------------------------------------------------------------------------------------------------
# JSON nested deeper than this is a 400 (apps.common.parsers); Python's decoder would otherwise recurse into a 500.
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=32)
# Bodies above this are refused with 413 before they are parsed (uploads have their own, larger, limit).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_JSON_BODY_BYTES", default=1024 * 1024)
IMAGE_MAX_BYTES = env.int("IMAGE_MAX_BYTES", default=15 * 1024 * 1024)
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=40_000_000)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Static and media -----------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "static")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Media is never served as a plain directory: a view checks visibility and URL signatures first.
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Celery ---------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None  # tasks report through the database, never through results
CELERY_TASK_ALWAYS_EAGER = EMBEDDED
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "default"
# Route by app: each queue's workers can be scaled and tuned (prefetch, concurrency) separately.
CELERY_TASK_ROUTES = {
    "apps.images.tasks.*": {"queue": "media"},
    "apps.feed.tasks.fanout*": {"queue": "follows"},
    "apps.feed.tasks.timeline*": {"queue": "follows"},
    "*": {"queue": "default"},
}
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_PREFETCH_MULTIPLIER", default=4)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TIME_LIMIT", default=90)
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # How long a message taken by a worker that then died (kill -9, lost host) waits before redelivery. It must
    # exceed the longest task's time_limit (data_export_build_task, 780 s) so a slow, still-running task is not
    # redelivered to a second worker, and stay short otherwise: with an hour, everything in flight when a whole
    # worker died came back an hour later. Retries' countdowns (at most 300 s) are below it too.
    # apps/common/tests/test_reliability_config.py checks every registered task against it.
    "visibility_timeout": 900,
    # A hung Redis must not hold the outbox relay for long: publishing waits at most this long per attempt (retries
    # off); what was not published is left to the outbox sweep. Requests never publish (apps.common.outbox).
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=1.0),
    "socket_connect_timeout": 1,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "clear-expired-oauth-tokens": {
        "task": "apps.users.tasks.clear_expired_tokens_task",
        "schedule": crontab(minute=17),
    },
    # Buffered post views (Redis) into Post.views_count: views show up within about this many seconds.
    "flush-view-buffer": {
        "task": "apps.interactions.tasks.flush_view_buffer_task",
        "schedule": env.float("VIEW_FLUSH_SECONDS", default=10.0),
    },
}
# The transactional outbox (apps.common.outbox): every task is a row written with the change that calls for it,
# published after commit by a thread of the process, and by this sweep when that did not get it handled.
# A row is swept once it is this many seconds old: enough for the after-commit publish and the task to have run,
# so the sweep republishes only what was really missed.
OUTBOX_RELAY_AFTER_SECONDS = env.int("OUTBOX_RELAY_AFTER_SECONDS", default=10)
# A published row whose task has not finished is published again after this lease. The default is the broker's
# visibility_timeout, which every task's time limit is below: the sweep never duplicates a task that is merely
# queued or running, and a task lost with a killed worker comes back when the broker would redeliver it anyway.
# The fault tests shorten it to see that recovery within seconds.
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"])
# Rows published per sweep: bounds the burst into the queues after an outage (the next sweep goes on).
OUTBOX_SWEEP_BATCH = env.int("OUTBOX_SWEEP_BATCH", default=500)
# Sweeps that published a row whose task still did not finish: then it is kept as dead, and logged as an error.
OUTBOX_MAX_RELAYS = env.int("OUTBOX_MAX_RELAYS", default=10)
CELERY_BEAT_SCHEDULE["sweep-outbox"] = {
    "task": "apps.common.tasks.outbox_sweep_task",
    "schedule": env.float("OUTBOX_SWEEP_SECONDS", default=5.0),
}
# Counters move with F() in the same transaction as their rows; each app's recount only repairs drift (e.g. manual
# SQL), hourly, at different minutes so the table scans do not coincide.
CELERY_BEAT_SCHEDULE |= {
    "recount-posts-counters": {"task": "apps.posts.tasks.posts_counters_recount_task", "schedule": crontab(minute=41)},
    "recount-comments-counters": {
        "task": "apps.comments.tasks.comments_counters_recount_task",
        "schedule": crontab(minute=43),
    },
    "recount-likes-counters": {
        "task": "apps.interactions.tasks.likes_counters_recount_task",
        "schedule": crontab(minute=45),
    },
    "recount-follows-counters": {
        "task": "apps.follows.tasks.follows_counters_recount_task",
        "schedule": crontab(minute=47),
    },
    "recount-tags-counters": {"task": "apps.tags.tasks.tags_counters_recount_task", "schedule": crontab(minute=49)},
    # Housekeeping only: expired mutes and filters already hide nothing (readers check expires_at).
    "purge-expired-safety-rows": {
        "task": "apps.safety.tasks.safety_expired_purge_task",
        "schedule": crontab(minute=53),
    },
}

# --- Feeds and notifications (apps.feed, apps.follows, apps.notifications) ------------------------------------
# Timelines live in Redis (FEED_REDIS_URL, default REDIS_URL); everything here can be rebuilt from PostgreSQL.
FEED_REDIS_URL = env("FEED_REDIS_URL", default="")
# With FEED_REDIS_CLUSTER, FEED_REDIS_URL names one node of a Redis Cluster and timelines spread over its nodes.
FEED_REDIS_CLUSTER = env.bool("FEED_REDIS_CLUSTER", default=False)
if FEED_REDIS_CLUSTER and not FEED_REDIS_URL:
    # REDIS_URL carries the broker and the cache, which need a single Redis: a cluster is only ever the feed's.
    raise ImproperlyConfigured("FEED_REDIS_CLUSTER=true needs FEED_REDIS_URL: a node of the timelines' Redis Cluster.")
FEED_TIMELINE_MAX = env.int("FEED_TIMELINE_MAX", default=400)
FEED_FANOUT_BATCH_SIZE = env.int("FEED_FANOUT_BATCH_SIZE", default=1000)
# Per sweep (every minute): bounds the re-fan-out after a Redis restart wiped every "fanned out" marker.
FEED_FANOUT_SWEEP_MAX = env.int("FEED_FANOUT_SWEEP_MAX", default=100)
# Authors with more followers than this are not fanned out; their posts are merged into feeds at read time.
FEED_CELEBRITY_THRESHOLD = env.int("FEED_CELEBRITY_THRESHOLD", default=10_000)
# Users not seen for this long are skipped by fan-out; their timeline is rebuilt from a query when they return.
FEED_INACTIVE_DAYS = env.int("FEED_INACTIVE_DAYS", default=14)
FEED_RECOMMEND_WINDOW_DAYS = env.int("FEED_RECOMMEND_WINDOW_DAYS", default=3)
FEED_RECOMMEND_HALF_LIFE_HOURS = env.float("FEED_RECOMMEND_HALF_LIFE_HOURS", default=12.0)
# How long a reader's "for you" ranking is reused (every page of it, first pages too); 0 computes it on every page.
FEED_RECOMMEND_CACHE_SECONDS = env.int("FEED_RECOMMEND_CACHE_SECONDS", default=300)
FEED_WEIGHT_LIKE = env.float("FEED_WEIGHT_LIKE", default=1.0)
FEED_WEIGHT_COMMENT = env.float("FEED_WEIGHT_COMMENT", default=3.0)
FEED_WEIGHT_VIEW = env.float("FEED_WEIGHT_VIEW", default=0.05)
FEED_TRENDING_SIZE = env.int("FEED_TRENDING_SIZE", default=200)
FEED_TRENDING_REFRESH_SECONDS = env.int("FEED_TRENDING_REFRESH_SECONDS", default=300)
CELERY_BEAT_SCHEDULE["refresh-trending"] = {
    "task": "apps.feed.tasks.trending_refresh_task",
    "schedule": FEED_TRENDING_REFRESH_SECONDS,
}
# The fan-out sweeper runs this often and redoes a fan-out only once it is SWEEP_GRACE_SECONDS old (younger ones
# are probably still in flight). Lowered only by the fault tests, which wait for it to finish what a killed
# worker left undone.
SWEEP_INTERVAL_SECONDS = env.float("SWEEP_INTERVAL_SECONDS", default=60.0)
SWEEP_GRACE_SECONDS = env.float("SWEEP_GRACE_SECONDS", default=60.0)
# Re-enqueues the fan-out of recent posts whose fan-out never started (broker outage at commit time).
CELERY_BEAT_SCHEDULE["sweep-fanout"] = {"task": "apps.feed.tasks.fanout_sweep_task", "schedule": SWEEP_INTERVAL_SECONDS}

# --- Images and media storage (apps.images) -------------------------------------------------------------------
# Where media files live: "local" (FileSystemStorage under MEDIA_ROOT) or "s3" (S3 or MinIO via django-storages).
# Either way clients fetch files through Django's media view, which checks visibility and signatures.
MEDIA_STORAGE = env("MEDIA_STORAGE", default="local")
if MEDIA_STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),  # e.g. http://minio:9000
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "access_key": env("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env("AWS_SECRET_ACCESS_KEY", default=None),
            "addressing_style": env("AWS_S3_ADDRESSING_STYLE", default="path"),  # MinIO wants path-style
            "default_acl": None,  # the bucket stays private: nothing is reachable without Django
            "file_overwrite": True,  # deterministic keys: a retried task overwrites
            "querystring_auth": True,
        },
    }
elif MEDIA_STORAGE != "local":
    raise ImproperlyConfigured('MEDIA_STORAGE must be "local" or "s3".')
# Lifetime of signed media URLs (images not public: followers-only/premium posts, unattached, pending).
MEDIA_URL_TTL_SECONDS = env.int("MEDIA_URL_TTL_SECONDS", default=3600)
# Cache-Control max-age of public images' files (public posts, avatars). Short: a shared cache keeps serving a
# copy this long after the post turns premium or private; after that it must revalidate (ETag, 304).
MEDIA_PUBLIC_CACHE_SECONDS = env.int("MEDIA_PUBLIC_CACHE_SECONDS", default=60)
# Processing attempts (task runs, retries and sweeps included) before an image is marked failed.
IMAGE_PROCESS_MAX_ATTEMPTS = env.int("IMAGE_PROCESS_MAX_ATTEMPTS", default=5)
# Uploads never attached to a post nor used as an avatar are deleted (with their files) after this many hours.
IMAGE_ORPHAN_HOURS = env.int("IMAGE_ORPHAN_HOURS", default=24)
CELERY_BEAT_SCHEDULE["delete-orphan-images"] = {
    "task": "apps.images.tasks.image_delete_orphans_task",
    "schedule": crontab(minute=41),
}

# --- Email and account lifecycle (apps.users) ------------------------------------------------------------------
# EMAIL_URL: smtp://user:pass@host:587, smtp+tls://..., smtp+ssl://...; unset (the embedded mode) prints every
# email to the console, so a reset link can be followed without any mail server.
EMAIL_URL = env("EMAIL_URL", default="") or "consolemail://"
vars().update(env.email_url_config(EMAIL_URL))
# A hung SMTP server must not hold a worker forever: the send fails, and the task retries later.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="SocialNet <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where the links in emails point (the gateway, or the front end's host that serves /accounts/...).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://localhost:5000").rstrip("/")
EMAIL_VERIFICATION_TIMEOUT = 48 * 3600  # seconds a verification link stays valid (API.md)
PASSWORD_RESET_TIMEOUT = 3600  # read by Django's PasswordResetTokenGenerator (API.md: 1 h)
# A closed account (DELETE /users/me/) is erased for good after this many days; signing in before that reopens it.
ACCOUNT_DELETION_GRACE_DAYS = env.int("ACCOUNT_DELETION_GRACE_DAYS", default=30)
CELERY_BEAT_SCHEDULE["erase-closed-accounts"] = {
    "task": "apps.privacy.tasks.account_erasure_sweep_task",
    "schedule": crontab(minute=29),
}
# Data exports (POST /users/me/export/) are copies of personal data: deleted this many days after they were made.
DATA_EXPORT_KEEP_DAYS = 7
# An export's `status` has an image's choices (pending/ready/failed): one schema enum for both, named for both.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["ProcessingStatusEnum"] = "apps.privacy.models.DataExport.Status"
CELERY_BEAT_SCHEDULE["delete-old-data-exports"] = {
    "task": "apps.privacy.tasks.data_exports_delete_old_task",
    "schedule": crontab(minute=31),
}
THROTTLE_RATES |= {
    "password_reset": env("THROTTLE_PASSWORD_RESET", default="10/hour"),  # per client address
    "password_reset_address": env("THROTTLE_PASSWORD_RESET_ADDRESS", default="5/hour"),  # per target address
    "password_change": "10/hour",  # per user: guessing the current password with a stolen token
    "email_verification_resend": "5/hour",  # per user
}

# --- Security -------------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the login form reads it from the page, not from JS; keep default for clarity
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe health over plain HTTP; the gateway introspects tokens over the internal network.
    SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^o/introspect/$"]
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = env.bool("DJANGO_USE_X_FORWARDED_HOST", default=False)

# --- I18N / time ----------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging --------------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # %(client)s: " [client address]" inside a request (apps.common.client_address), empty elsewhere.
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s%(client)s %(message)s"}},
    "filters": {"client_address": {"()": "apps.common.client_address.ClientAddressLogFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["client_address"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "oauth2_provider": {"level": "WARNING"},
        # Each failed login and lockout is a WARNING (with the client address); its INFO lines are bookkeeping.
        "axes": {"level": "WARNING"},
        # In the embedded mode tasks run inline: one INFO line per task would drown the server's own log.
        "celery.app.trace": {"level": "WARNING" if EMBEDDED else "INFO"},
        "kombu": {"level": "ERROR" if EMBEDDED else "WARNING"},
    },
}

# --- Discovery (apps.tags) ------------------------------------------------------------------------------------
# Trending tags are cached for 15 minutes (apps.tags.selectors); refreshed well within that.
CELERY_BEAT_SCHEDULE["refresh-trending-tags"] = {
    "task": "apps.tags.tasks.trending_tags_refresh_task",
    "schedule": 5 * 60.0,
}
