"""The verdict on a built image (size against budget, the largest layers) and its result.

Pure: the engine's answers (size, history) come in as plain values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from noderr_deploy.images.documents import BuildDocument, PushDocument, SavedTarball
from noderr_deploy.units import format_size

LARGEST_LAYERS = 5


@dataclass(frozen=True)
class Layer:
    """One entry of an image's history."""

    created_by: str
    size: int

    @property
    def instruction(self) -> str:
        """The Dockerfile instruction that made the layer, as a person would write it."""
        return instruction_of(self.created_by)


def instruction_of(created_by: str) -> str:
    """``/bin/sh -c #(nop) COPY dir:ab12 in /app`` -> ``COPY dir:ab12 in /app``; RUN likewise."""
    text = " ".join(created_by.split())
    if text.startswith("/bin/sh -c #(nop) "):
        return text.removeprefix("/bin/sh -c #(nop) ")
    if text.startswith("/bin/sh -c "):
        return "RUN " + text.removeprefix("/bin/sh -c ")
    if text.startswith("|"):  # "|3 PACKAGES=... /bin/sh -c ...": build args used by a RUN
        _, _, rest = text.partition(" /bin/sh -c ")
        return "RUN " + rest if rest else text
    return text or "(base image layer)"


def largest_layers(
    history: Iterable[Mapping[str, Any]], count: int = LARGEST_LAYERS
) -> list[Layer]:
    """The ``count`` largest layers of an ``image.history()`` answer, largest first."""
    layers = [
        Layer(str(entry.get("CreatedBy") or ""), int(entry.get("Size") or 0)) for entry in history
    ]
    return sorted((la for la in layers if la.size > 0), key=lambda la: -la.size)[:count]


def budget_report(tier: str, size: int, budget: int, layers: Sequence[Layer]) -> list[str]:
    """Lines telling an operator what to cut: size vs budget, then the largest layers."""
    lines = [
        f"tier {tier}: image {format_size(size)} ({size} bytes) > budget {format_size(budget)}"
        f" ({budget} bytes), {format_size(size - budget)} over"
    ]
    lines.append(f"{len(layers)} largest layers:")
    for layer in layers:
        instruction = layer.instruction
        if len(instruction) > 100:
            instruction = instruction[:97] + "..."
        lines.append(f"  {format_size(layer.size):>10}  {instruction}")
    return lines


@dataclass
class BuildResult:
    """What building (and maybe pushing) one tier produced."""

    tier: str
    image_id: str
    tags: tuple[str, ...]
    size_bytes: int
    budget_bytes: int
    duration_seconds: float
    layers: list[Layer] = field(default_factory=list)
    """The largest layers, for the over-budget report."""
    pushed: bool = False
    digest: str | None = None
    pushes: list[TagPush] = field(default_factory=list)
    """Per tag, whether it was pushed and the registry's digest (a push can stop part-way)."""
    saved: SavedTarball | None = None

    @property
    def within_budget(self) -> bool:
        return self.size_bytes <= self.budget_bytes

    def document(self) -> BuildDocument:
        """The ``--json`` / ``--metadata-file`` document (camelCase, a stable contract)."""
        return BuildDocument(
            tier=self.tier,
            image_id=self.image_id,
            tags=list(self.tags),
            size_bytes=self.size_bytes,
            budget_bytes=self.budget_bytes,
            within_budget=self.within_budget,
            duration_seconds=round(self.duration_seconds, 3),
            pushed=self.pushed,
            digest=self.digest,
            pushes=[
                PushDocument(tag=p.tag, pushed=p.digest is not None, digest=p.digest)
                for p in self.pushes
            ],
            saved=self.saved,
        )


@dataclass(frozen=True)
class TagPush:
    """One tag's push: its digest, or None when it was not (or not fully) pushed."""

    tag: str
    digest: str | None = None


def tarball_name(image: str, version: str, tier: str) -> str:
    """``noderr-node-os-1.4.0-oracle.tar``: the name the network's release uploads use."""
    return f"{image.rsplit('/', 1)[-1]}-{version}-{tier}.tar"
