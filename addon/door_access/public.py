"""The public face of ``door_access``: what a lock-vendor backend (and the console) may use — the
backend protocol and its errors, registering a backend, the integration's table and GraphQL type,
the vendor-call log, the door directory, the integration policy's checks, the parts a backend
adds to the admin console, and the vendor kit (a sandbox's fault scripting; a client's timeouts,
Retry-After, secret scrubbing, JSON answers, call records and token cache). Import from here,
never from door access's inner modules (import-linter holds every addon to it)."""

from .api.types import DoorIntegrationPayload, DoorIntegrationType
from .backend import (
    AccessModel,
    AccessSet,
    AccessSetRequest,
    BackendError,
    ConnectionReport,
    Door,
    DoorBackend,
    DoorConnection,
    Location,
    LockEntry,
    OpenAccepted,
    PermanentBackendError,
    Recipient,
    TransientBackendError,
    register_backend,
)
from .call_log import CallEntry, call_log
from .console import ConsolePart, console_parts, register_console_part
from .directory import forget_doors
from .models import DoorIntegration
from .policy import ensure_runnable, get_integration
from .vendor_kit.answers import list_of, parse_answer
from .vendor_kit.faults import Fault, FaultPlan, FaultRules, FaultSpecError, RandomFault
from .vendor_kit.http_calls import (OnCall, VendorCallRecord, call_deadline, report_call, retry_after_seconds,
                                    scrub_secrets, vendor_http_client)
from .vendor_kit.tokens import TokenCache, oauth_token_answer

__all__ = [
    "AccessModel", "AccessSet", "AccessSetRequest", "BackendError", "CallEntry", "ConnectionReport", "ConsolePart", "Door",
    "DoorBackend",
    "DoorConnection", "DoorIntegration", "DoorIntegrationPayload", "DoorIntegrationType", "Location", "LockEntry",
    "OpenAccepted",
    "PermanentBackendError", "Recipient", "TransientBackendError",
    "call_log", "console_parts", "ensure_runnable", "forget_doors", "get_integration", "register_backend",
    "register_console_part",
    # the vendor kit
    "Fault", "FaultPlan", "FaultRules", "FaultSpecError", "OnCall", "RandomFault", "TokenCache", "VendorCallRecord",
    "call_deadline", "list_of", "oauth_token_answer", "parse_answer", "report_call", "retry_after_seconds",
    "scrub_secrets", "vendor_http_client",
]
