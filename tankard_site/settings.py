"""Settings for The Living Rusted Tankard.

One module: complete embedded defaults (SQLite, in-memory channel layer, local-memory cache,
in-process background work, a supervised local LLM) and environment variables that switch each
part to production services (DATABASE_URL, REDIS_URL, OPENAI_BASE_URL, ...). `.env.example`
lists every variable.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


# DEBUG is off unless asked for (DJANGO_DEBUG=true, for development): a player never meets a debug
# page, and no query is logged. Production is declared by a secret key, or by DJANGO_DEBUG=false,
# which then requires one; without either, the embedded default plays over plain http on this
# machine with a fixed local key.
DEBUG = env_bool("DJANGO_DEBUG", default=False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
PRODUCTION = bool(SECRET_KEY) or os.environ.get("DJANGO_DEBUG", "").strip().lower() in {"0", "false", "no", "off"}
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "embedded-development-key-not-for-production"

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "csp",
    "health_check",
    "llm",
    "npcs",
    "memory",
    "gameplay",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "tankard_site.urls"
ASGI_APPLICATION = "tankard_site.asgi.application"
WSGI_APPLICATION = None

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

# --- Database: SQLite embedded, any DATABASE_URL in production ---------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0))}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("TANKARD_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # WAL and a busy timeout let the game, the background worker and the admin share the file.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not shared-cache memory: concurrent turns in tests then wait on the busy timeout
            # as they do in play, instead of failing with "table is locked".
            # One file per test process, so parallel runs do not share it.
            "TEST": {"NAME": os.environ.get("TANKARD_SQLITE_TEST_PATH", str(BASE_DIR / "var" / f"test-db-{os.getpid()}.sqlite3"))},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache and Celery broker when REDIS_URL is set -----------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000, "expiry": 30},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tankard",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # A Redis outage degrades the cache to a miss instead of failing the turn.
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    # A shared tavern streams every reply to everyone in the room: room for bursts of tokens.
    CHANNEL_LAYERS = {"default": {"BACKEND": "tankard_site.channel_layers.SweepingInMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "tankard",
            "OPTIONS": {"MAX_ENTRIES": 20000},
        }
    }

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 90
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Celery: eager in-process by default, a Redis broker in production -------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", None)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not bool(REDIS_URL))
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE: dict = {}

# --- The LLM -----------------------------------------------------------------------------------
# OPENAI_BASE_URL / OPENAI_API_KEY are read by llm/ itself (the standard variables of `openai`);
# when OPENAI_BASE_URL is unset, `manage.py run` starts and supervises the local model server.
TANKARD_LLM_MODEL = os.environ.get("TANKARD_LLM_MODEL", "")
TANKARD_LLM = {
    "CONNECT_TIMEOUT": env_float("TANKARD_LLM_CONNECT_TIMEOUT", 3.0),
    "FIRST_TOKEN_TIMEOUT": env_float("TANKARD_LLM_FIRST_TOKEN_TIMEOUT", 20.0),
    "TOKEN_GAP_TIMEOUT": env_float("TANKARD_LLM_TOKEN_GAP_TIMEOUT", 8.0),
    "TOTAL_TIMEOUT": env_float("TANKARD_LLM_TOTAL_TIMEOUT", 60.0),
    "RETRIES": env_int("TANKARD_LLM_RETRIES", 1),
    "MAX_REPLY_TOKENS": env_int("TANKARD_LLM_MAX_REPLY_TOKENS", 60),  # 1-3 short sentences
    # Sampling for NPC replies (docs/playtest.md has what each did to the scorecard on the default model).
    "TEMPERATURE": env_float("TANKARD_LLM_TEMPERATURE", 0.6),
    "TOP_P": env_float("TANKARD_LLM_TOP_P", 0.9),
    "PRESENCE_PENALTY": env_float("TANKARD_LLM_PRESENCE_PENALTY", 0.0),
    "FREQUENCY_PENALTY": env_float("TANKARD_LLM_FREQUENCY_PENALTY", 0.0),
    "CONTEXT_WINDOW": env_int("TANKARD_LLM_CONTEXT_WINDOW", 2048),
    # The moment (situation, canon facts, memories) as a second system message just before the
    # player's line, so prompts share their start (docs/llm.md); false for a chat template that
    # takes a system message only first.
    "MOMENT_LAST": env_bool("TANKARD_LLM_MOMENT_LAST", True),
    # The most tokens of memories in a prompt (0: their share of the window, about 380 of 2048). The
    # small local model reads them again every turn and makes little of many: 160 by default for it.
    "MEMORY_TOKENS": env_int("TANKARD_LLM_MEMORY_TOKENS", 0 if os.environ.get("OPENAI_BASE_URL", "").strip() else 160),
    "CONCURRENCY": env_int("TANKARD_LLM_CONCURRENCY", 0),  # 0: LOCAL_SLOTS for the local server, else 8
    "QUEUE_SIZE": env_int("TANKARD_LLM_QUEUE_SIZE", 64),
    "THINKING_AFTER": env_float("TANKARD_LLM_THINKING_AFTER", 1.5),
    "LOCAL_PORT": env_int("TANKARD_LOCAL_LLM_PORT", 8765),
    "LOCAL_THREADS": env_int("TANKARD_LOCAL_LLM_THREADS", 2),
    # Replies the local model server decodes at once (one model, CONTEXT_WINDOW tokens per slot);
    # docs/benchmarks.md (llm_concurrency) has the figures that chose the default.
    "LOCAL_SLOTS": env_int("TANKARD_LOCAL_LLM_SLOTS", 8),
    # "q8_0": the shipped Q4_1 model re-encoded once as Q8_0 into var/models/ (about twice as fast on
    # CPUs: docs/llm.md); "as-shipped": the packaged file itself.
    "LOCAL_WEIGHTS": os.environ.get("TANKARD_LOCAL_LLM_WEIGHTS", "q8_0"),
    # A background request (pre-generation, summaries) is cut at this many tokens by the local server.
    "BACKGROUND_MAX_TOKENS": env_int("TANKARD_LLM_BACKGROUND_MAX_TOKENS", 160),
}

# --- Content-Security-Policy: no inline or foreign scripts; the socket on our own host ------------
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],  # the admin's inline styles; scripts stay strict
        "img-src": [SELF, "data:"],
        "connect-src": [SELF, "ws:", "wss:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- Game limits -------------------------------------------------------------------------------
TANKARD_MAX_LINE_CHARS = env_int("TANKARD_MAX_LINE_CHARS", 500)
TANKARD_MAX_FRAME_BYTES = env_int("TANKARD_MAX_FRAME_BYTES", 8192)
TANKARD_TURNS_PER_MINUTE = env_int("TANKARD_TURNS_PER_MINUTE", 40)  # per game, across processes
TANKARD_LLM_TOKENS_PER_HOUR = env_int("TANKARD_LLM_TOKENS_PER_HOUR", 100000)  # per game
TANKARD_NEW_GAMES_PER_HOUR = env_int("TANKARD_NEW_GAMES_PER_HOUR", 30)  # per client address
# Shared taverns (/tavern/<name>/, gameplay/tavern/).
TANKARD_TAVERN = {
    "NEW_PER_HOUR": env_int("TANKARD_NEW_TAVERNS_PER_HOUR", 20),  # taverns a client address may open
    "NPC_VOICES": env_int("TANKARD_TAVERN_NPC_VOICES", 1),  # lines an NPC of a shared tavern answers at once
    "PRESENCE_SECONDS": env_int("TANKARD_TAVERN_PRESENCE_SECONDS", 90),  # unseen this long: gone (a dead process)
    "WAIT_LEASE_SECONDS": env_int("TANKARD_TAVERN_WAIT_LEASE_SECONDS", 120),  # a place in an NPC's line, renewed while held
}

# --- Static files, i18n ------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGIN_URL = "/admin/login/"

# --- Production hardening ----------------------------------------------------------------------
if PRODUCTION and not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logs: plain lines by default, one JSON object a line with TANKARD_LOG_FORMAT=json -----------
# Every record carries the game and turn ids of `gameplay.logs.log_context`; secrets are masked.
TANKARD_LOG_FORMAT = "json" if os.environ.get("TANKARD_LOG_FORMAT", "").strip().lower() == "json" else "plain"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "gameplay.logs.ContextFilter"},
        "redact": {"()": "gameplay.logs.RedactFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s%(log_context)s %(message)s"},
        "json": {"()": "gameplay.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": TANKARD_LOG_FORMAT,
            "filters": ["context", "redact"],
            "stream": sys.stderr,
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("TANKARD_LOG_LEVEL", "INFO")},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}

# --- Operations: health, metrics -----------------------------------------------------------------
TANKARD_MAX_RSS_MB = env_int("TANKARD_MAX_RSS_MB", 1024)  # /ht/ fails above this resident memory
TANKARD_METRICS_TOKEN = os.environ.get("TANKARD_METRICS_TOKEN", "")  # Bearer token for /metrics; "" = staff only

# --- NPC memory (memory/conf.py documents each key and its default) -----------------------------
TANKARD_MEMORY = {
    "SUMMARISE_AFTER": env_int("TANKARD_MEMORY_SUMMARISE_AFTER", 40),  # raw turns per game and NPC before a fold
    "KEEP_RAW": 12,  # turns a fold leaves in place (the recent conversation)
    "HARD_RAW_LIMIT": 120,  # past this, recording folds at once without the model
    "MAX_SUMMARIES": 20,
    "MAX_FACTS": 40,
    "RECENCY_HALF_LIFE": 1440.0,  # game minutes
    "USE_LLM": env_bool("TANKARD_MEMORY_USE_LLM", True),  # model-written summaries and importance ratings
    "CACHE_MAX_BYTES": env_int("TANKARD_MEMORY_CACHE_BYTES", 32 * 1024 * 1024),
}
CELERY_BEAT_SCHEDULE["memory-summarise"] = {"task": "memory.tasks.summarise_due", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["memory-refine-importance"] = {"task": "memory.tasks.refine_due", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["memory-embed"] = {"task": "memory.tasks.embed_due", "schedule": 60.0}  # any the reply path left

# --- Database connections kept between turns ---------------------------------------------------
# Websocket turns reach the database through channels' database_sync_to_async, which closes any
# connection older than CONN_MAX_AGE before and after every call: at 0, each step of a turn opened a
# new connection (and closing SQLite's last WAL connection checkpoints the file). Measured in
# docs/benchmarks.md ("Load test"). DATABASE_CONN_MAX_AGE still overrides; health checks drop dead
# ones (on PostgreSQL a `SELECT 1` before each call: kept, so that every read survives a restart).
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- Reply cache and pre-generation (llm/reply_cache; docs/benchmarks.md "Reply cache") ----------
TANKARD_REPLY_CACHE = {
    "ENABLED": env_bool("TANKARD_REPLY_CACHE", True),
    "MEMORY_ENTRIES": env_int("TANKARD_REPLY_CACHE_MEMORY_ENTRIES", 4096),  # in-process LRU, per process
    "SHARED_TTL": env_int("TANKARD_REPLY_CACHE_SHARED_TTL", 24 * 3600),  # seconds in the Django cache (Redis)
    "PREGEN_CONTEXTS_PER_PART": 2,  # most-asked contexts per part of the day, per NPC
    "PREGEN_MAX_REPLIES": env_int("TANKARD_PREGEN_MAX_REPLIES", 60),  # model calls per run, all NPCs
    "PREGEN_SKIP_FLAGGED": 3,  # a question flagged this often is no longer pre-generated
    "PRUNE_UNSERVED_DAYS": 30,  # entries never reused are dropped after this
    "PRUNE_SERVES_DAYS": 30,  # served-reply records (statistics) are kept this long
}
CELERY_BEAT_SCHEDULE["npcs-pregenerate"] = {"task": "npcs.tasks.pregenerate", "schedule": env_float("TANKARD_PREGEN_EVERY", 900.0)}

# --- Holding the fort: a busy database, lost workers (docs/security.md) --------------------------
# A turn retries a busy or locked database for at most this long, then answers `server_busy`.
TANKARD_TURN_BUSY_SECONDS = env_float("TANKARD_TURN_BUSY_SECONDS", 8.0)
# PostgreSQL waits for a row lock at most this long (its default is forever): a stuck transaction
# elsewhere must not hang the turn, and with it every socket sharing the process's database thread.
TANKARD_DB_LOCK_TIMEOUT_MS = env_int("TANKARD_DB_LOCK_TIMEOUT_MS", 3000)
if "postgresql" in DATABASES["default"]["ENGINE"]:
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options["options"] = f"{_pg_options.get('options', '')} -c lock_timeout={TANKARD_DB_LOCK_TIMEOUT_MS}".strip()
# A job whose worker died (acks_late) goes back to the queue after this many seconds (kombu's
# default is an hour); tasks are idempotent, so one that outlives it and runs twice does no harm.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 900)}
