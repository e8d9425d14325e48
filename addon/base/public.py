"""The public face of ``base``: everything other addons (and their tests) may use, in one place.

Import from here, never from base's floors (``core``, ``kit``, ``identity``, ``server``,
``runtime``): those are base's own and may be rearranged; import-linter holds every other
addon to this module (see the contracts in pyproject.toml). What is here stays, or changes with
a note in the release.
"""

# -- the kernel: host, settings, database, events, clock, errors, languages, secrets, logs
from .core.clock import Clock
from .core.crypto import SecretBox, SecretKeyMismatch, secret_box
from .core.db import Database, UTCDateTime, release, utcnow
from .core.errors import CodedError, Problem, UserError, ValidationFailed
from .core.events import AFTER_COMMIT_KEY, after_commit, commit, rollback
from .core.host import GraphQLPart, Host, load_host
from .core.i18n import (
    N_,
    LanguageChoice,
    Message,
    Moment,
    available_languages,
    choose_language,
    is_language_code,
    language_from_header,
    match_language,
    plural_forms,
    request_language,
    translate,
    translate_plural,
)
from .core.logs import (
    JsonFormatter,
    TextFormatter,
    bind_fields,
    field_of,
    log_fields,
    quiet_libraries,
)
from .core.migrate import pending_model_changes, upgrade
from .core.outage import is_database_unavailable
from .core.principal import Principal, Role
from .core.resources import data_path
from .core.settings import REPO_ROOT, Env, SettingsError

# -- people: who did what (the audit trail), sign-in, tokens, erasing a person's data
from .identity import audit
from .identity.audit import AuditEvent, acting_as
from .identity.auth import authenticate_request, create_token
from .identity.erasure import PLACEHOLDER, forget_signin_attempts, scrub_audit_trail, scrub_rows
from .identity.models import ApiToken, User
from .identity.sessions import SESSION_COOKIE
from .identity.signin import LANGUAGE_COOKIE, LOGIN_PATH
from .identity.users import create_user

# -- the kit an addon builds its GraphQL part with
from .kit.basics import (
    UNSET,
    Changes,
    allow_line_breaks,
    clean_text,
    control_character_problem,
    get_row,
    global_id,
    id_argument,
    payload,
    split_global_id,
)
from .kit.connections import (
    OrderDirection,
    Ordering,
    connection_type,
    empty_page,
    instant_key,
    int_key,
    keyset_page,
    page_request,
    text_key,
)
from .kit.extend import extend_type
from .kit.mutations import run_in_transaction
from .kit.nodes import Node, NodeLoader, rows_loader
from .kit.permissions import (
    STAFF_ONLY,
    IsAdmin,
    IsFrontend,
    IsStaff,
    StaffOnlyField,
    is_staff,
)
from .kit.preload import (
    at_path,
    known_or_load,
    loaded_by,
    preload,
    preload_selection,
    preloads,
    prime,
)

# -- the process: web app, server, CLI helpers, health
from .runtime.commands import DEMO_FILE, check_ready_to_run, seed
from .runtime.health import Degraded, health_routes
from .runtime.secrets_cli import cli_actor
from .runtime.serve import Server, ServingAddress, server_config
from .runtime.web import create_app

# -- the GraphQL server: live updates, metrics
from .server.graphql_ws import (
    BAD_CREDENTIALS,
    COOKIE_FROM_OTHER_SITE,
    CREDENTIALS_ENDED,
    NO_PONG,
    ROLE_CHANGED,
    event_reads,
    listening,
)
from .server.metrics import metrics_route, watch_pool
from .server.pubsub import broker
from .server.unavailable import DatabaseOutageAnswers

__all__ = [
    "AFTER_COMMIT_KEY", "BAD_CREDENTIALS", "COOKIE_FROM_OTHER_SITE", "CREDENTIALS_ENDED", "DEMO_FILE", "LANGUAGE_COOKIE",
    "LOGIN_PATH",
    "N_", "NO_PONG", "PLACEHOLDER", "REPO_ROOT", "ROLE_CHANGED", "SESSION_COOKIE", "STAFF_ONLY", "UNSET",
    "ApiToken", "AuditEvent", "Changes", "Clock", "CodedError", "Database", "DatabaseOutageAnswers", "Degraded",
    "Env", "GraphQLPart", "Host", "IsAdmin",
    "IsFrontend", "IsStaff", "JsonFormatter", "LanguageChoice", "Message", "Moment", "Node", "NodeLoader", "OrderDirection",
    "Ordering", "Principal", "Problem", "Role", "SecretBox", "SecretKeyMismatch", "Server", "ServingAddress",
    "SettingsError",
    "StaffOnlyField", "TextFormatter", "UTCDateTime", "User", "UserError", "ValidationFailed",
    "acting_as", "after_commit", "allow_line_breaks", "at_path", "audit", "available_languages", "authenticate_request", "bind_fields",
    "broker", "check_ready_to_run", "choose_language", "clean_text", "cli_actor", "commit", "connection_type",
    "control_character_problem",
    "create_app", "create_token", "create_user", "data_path", "empty_page", "event_reads", "extend_type",
    "field_of", "forget_signin_attempts", "get_row", "global_id", "health_routes", "id_argument", "instant_key",
    "int_key", "is_database_unavailable", "is_language_code", "is_staff", "keyset_page", "known_or_load",
    "language_from_header", "listening", "load_host", "loaded_by", "log_fields", "match_language", "metrics_route",
    "page_request", "payload", "pending_model_changes", "plural_forms", "preload",
    "preload_selection", "preloads", "prime", "quiet_libraries", "release", "request_language", "rollback",
    "rows_loader", "run_in_transaction", "scrub_audit_trail", "scrub_rows", "secret_box", "seed", "server_config",
    "split_global_id", "text_key", "translate", "translate_plural", "upgrade", "utcnow", "watch_pool",
]
