"""The JSON documents of ``noderr build``: ``--json``, ``--dry-run --json`` and the metadata
file, as msgspec structs (the project's result type), encoded by ``ui.output.to_json``.

Field names are camelCase through ``rename="camel"`` and appear in field order: a stable
contract that CI reads, so a field is never renamed, retyped or reordered here.
"""

from __future__ import annotations

from noderr_deploy.results import Document


class PlanDocument(Document, frozen=True, kw_only=True):
    """One tier's plan (``--dry-run --json``)."""

    tier: str
    tags: list[str]
    packages: list[str]
    build_args: dict[str, str]
    labels: dict[str, str]
    dockerfile: str
    context_files: int
    context_bytes: int
    budget_bytes: int
    notes: list[str]


class PushDocument(Document, frozen=True, kw_only=True):
    """One tag's push: ``pushed`` is whether the registry holds it as ``digest``."""

    tag: str
    pushed: bool
    digest: str | None


class SavedTarball(Document, frozen=True):
    """An image written by ``--save``: ``docker load``-able, with its sha256 and size (a
    build's result and its document alike)."""

    path: str
    sha256: str
    size_bytes: int


class BuildDocument(Document, frozen=True, kw_only=True):
    """One tier's result (``--json`` and ``--metadata-file``)."""

    tier: str
    image_id: str
    tags: list[str]
    size_bytes: int
    budget_bytes: int
    within_budget: bool
    duration_seconds: float
    pushed: bool
    digest: str | None
    pushes: list[PushDocument]
    saved: SavedTarball | None
