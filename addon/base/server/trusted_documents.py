"""Trusted documents: the operations of ``graphql/operations/`` published by the hash of their text.

The manifest (``graphql/trusted-documents.json``, rebuilt with ``make trusted-documents`` by
``tools/trusted_documents.py``) maps the SHA-256 of each file's text to the operation it holds.
Any caller may send a listed document by its hash alone, the way persisted queries are sent::

    {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}, "variables": {...}}

With ``IRESERVE_TRUSTED_DOCUMENTS=true`` callers below staff (``frontend`` tokens, and callers
without a token) may run only these documents: by hash, or as the full text of a listed file (the
exact text, whose hash is in the manifest). A leaked frontend token then cannot run a query of its
holder's making. Staff and admins are not restricted.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType as StrawberryOperationType

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
)

from ..core.errors import CodedError
from ..core.i18n import N_
from ..core.principal import Role
from ..core.resources import data_path

log = logging.getLogger(__name__)

OPERATIONS_DIR = data_path("graphql", "operations")
MANIFEST = data_path("graphql", "trusted-documents.json")
MANIFEST_FORMAT = "ireserve-trusted-documents"

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_TRUSTED = "DOCUMENT_NOT_TRUSTED"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"

UNKNOWN_HASH = N_("No trusted document has the hash {hash}; the documents are those of graphql/operations "
                  "(graphql/trusted-documents.json lists their hashes).")
ONLY_TRUSTED = N_("Your role may run only the trusted documents of graphql/operations: send the document's "
                  "hash (extensions.persistedQuery.sha256Hash) or its exact text.")
MISMATCH = N_("The document's text does not have the hash given in extensions.persistedQuery.sha256Hash.")
BAD_PERSISTED_QUERY = N_("extensions.persistedQuery must be {\"version\": 1, \"sha256Hash\": \"<64 hex digits>\"}.")


def document_hash(text: str) -> str:
    """The hash a document is known by: SHA-256 (hex) of its text, as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TrustedDocument:
    hash: str
    name: str  # the operation's name
    kind: str  # query, mutation or subscription
    file: str  # relative to the operations folder
    text: str


def read_operations(folder: Path = OPERATIONS_DIR) -> list[TrustedDocument]:
    """Every ``*.graphql`` file of ``folder``: one named operation each."""
    documents = []
    for path in sorted(folder.glob("*.graphql")):
        text = path.read_text(encoding="utf-8")
        operations = [d for d in parse(text, no_location=True).definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or operations[0].name is None:
            raise ValueError(f"{path.name}: a trusted document holds exactly one named operation")
        operation = operations[0]
        documents.append(TrustedDocument(document_hash(text), operation.name.value, operation.operation.value,
                                         path.name, text))
    return documents


class TrustedDocuments:
    """The documents the manifest lists, with their text read from the operations folder. A file
    whose text no longer has its listed hash is left out (and logged): only what the manifest
    vouches for is trusted."""

    def __init__(self, documents: Mapping[str, TrustedDocument]) -> None:
        self.by_hash = dict(documents)

    @classmethod
    def load(cls, manifest_path: Path = MANIFEST, folder: Path = OPERATIONS_DIR) -> "TrustedDocuments":
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            log.warning("no trusted-documents manifest at %s: no document can be sent by hash", manifest_path)
            return cls({})
        documents = {}
        for digest, entry in manifest.get("documents", {}).items():
            path = folder / entry["file"]
            try:
                text = path.read_text(encoding="utf-8")
            except OSError:
                log.warning("trusted document %s (%s) is missing", entry["file"], entry["name"])
                continue
            if document_hash(text) != digest:
                log.warning("trusted document %s changed since the manifest was built (make trusted-documents): "
                            "not trusted", entry["file"])
                continue
            documents[digest] = TrustedDocument(digest, entry["name"], entry.get("type", "query"), entry["file"], text)
        return cls(documents)

    def get(self, digest: str) -> TrustedDocument | None:
        return self.by_hash.get(digest)

    def __contains__(self, digest: str) -> bool:
        return digest in self.by_hash

    def __len__(self) -> int:
        return len(self.by_hash)


@lru_cache(maxsize=4)
def published(manifest_path: Path = MANIFEST, folder: Path = OPERATIONS_DIR) -> TrustedDocuments:
    return TrustedDocuments.load(manifest_path, folder)


_STUB_KINDS = {
    StrawberryOperationType.QUERY: OperationType.QUERY,
    StrawberryOperationType.MUTATION: OperationType.MUTATION,
    StrawberryOperationType.SUBSCRIPTION: OperationType.SUBSCRIPTION,
}


def refuse_before_parsing(execution_context, error: GraphQLError) -> None:
    """Answer ``error`` without parsing, validating or running anything.

    Strawberry has no way for an extension to end an operation early, so the refusal goes the way
    of a validation error: a placeholder document (of an allowed kind, with the requested
    operation's name, so strawberry finds "its" operation) and the error as the pre-execution
    errors, which skip validation and execution."""
    name = execution_context.operation_name  # the requested one: there is no document yet
    allowed = set(execution_context.allowed_operations)
    kind = next((_STUB_KINDS[k] for k in _STUB_KINDS if k in allowed), OperationType.QUERY)
    operation = OperationDefinitionNode(
        operation=kind, name=NameNode(value=name) if name else None, variable_definitions=(), directives=(),
        selection_set=SelectionSetNode(selections=(FieldNode(name=NameNode(value="__typename"), arguments=(),
                                                             directives=()),)))
    execution_context.graphql_document = DocumentNode(definitions=(operation,))
    execution_context.pre_execution_errors = [error]


def _persisted_hash(extensions: Mapping | None) -> tuple[str | None, GraphQLError | None]:
    persisted = (extensions or {}).get("persistedQuery") if isinstance(extensions, Mapping) else None
    if persisted is None:
        return None, None
    digest = persisted.get("sha256Hash") if isinstance(persisted, Mapping) else None
    if (not isinstance(persisted, Mapping) or persisted.get("version") != 1 or not isinstance(digest, str)
            or len(digest) != 64):
        return None, CodedError(BAD_PERSISTED_QUERY, NOT_SUPPORTED)
    return digest.lower(), None


class TrustedDocumentsGate(SchemaExtension):
    """Resolves a document sent by hash and, when ``enforce`` is on, keeps callers below staff to
    the trusted documents. Runs first, before anything is parsed."""

    def __init__(self, *, documents: TrustedDocuments, enforce: bool) -> None:
        self.documents = documents
        self.enforce = enforce

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        error = self._check(context)
        if error is not None:
            refuse_before_parsing(context, error)
        yield

    def _check(self, context) -> GraphQLError | None:
        digest, error = _persisted_hash(context.operation_extensions)
        if error is not None:
            return error
        if digest is not None:
            document = self.documents.get(digest)
            if context.query:
                if document_hash(context.query) != digest:
                    return CodedError(MISMATCH, HASH_MISMATCH)
            elif document is None:
                return CodedError(UNKNOWN_HASH, NOT_FOUND, hash=digest)
            else:
                context.query = document.text
        if self.enforce and _restricted(context.context) and context.query \
                and document_hash(context.query) not in self.documents:
            return CodedError(ONLY_TRUSTED, NOT_TRUSTED)
        return None


def _restricted(request_context) -> bool:
    """Callers below staff: frontend tokens, and callers without a token."""
    principal = getattr(request_context, "principal", None)
    return principal is None or principal.role < Role.STAFF
