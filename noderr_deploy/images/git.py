"""What the workspace's git repository says about a build: describe, HEAD, the public source.

Read once per run (:func:`read_git`); the source label never carries credentials or a local
path (:func:`public_source`).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class GitInfo:
    """What the workspace's git repository says (each None outside a repository)."""

    describe: str | None = None
    revision: str | None = None
    source: str | None = None
    committed: datetime | None = None
    """Time of the HEAD commit: the image's created time unless SOURCE_DATE_EPOCH says."""


Runner = Callable[[Sequence[str], Path], str | None]


def _git(args: Sequence[str], cwd: Path) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = result.stdout.strip()
    return out if result.returncode == 0 and out else None


def read_git(workspace: Path, run: Runner = _git) -> GitInfo:
    """``git describe --tags --always --dirty``, HEAD and the origin URL of ``workspace``."""
    source = run(["config", "--get", "remote.origin.url"], workspace)
    committed = run(["log", "-1", "--format=%ct"], workspace)
    return GitInfo(
        describe=run(["describe", "--tags", "--always", "--dirty"], workspace),
        revision=run(["rev-parse", "HEAD"], workspace),
        # The source label is public: no credentials from an https://user:token@ remote.
        source=public_source(source) if source else None,
        committed=(
            datetime.fromtimestamp(int(committed), tz=UTC)
            if committed and committed.isdigit()
            else None
        ),
    )


_SCP = re.compile(r"^(?:[^@/:\s]+@)?([A-Za-z0-9.-]+\.[A-Za-z]{2,}|localhost):(?!//)([^\s]+)$")


def public_source(url: str) -> str | None:
    """The remote as a public ``org.opencontainers.image.source``, or None.

    User info (``https://user:token@``), query and fragment are dropped, whatever the case
    of the scheme; scp-like remotes (``git@github.com:org/repo.git``) become ``ssh://`` URLs;
    a local path or ``file:`` remote is never a source (it names the builder's disk).
    """
    from urllib.parse import urlsplit, urlunsplit

    text = url.strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return None
    scp = _SCP.match(text)
    if scp and "://" not in text:
        text = f"ssh://{scp.group(1)}/{scp.group(2).lstrip('/')}"
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme in ("", "file") or not host:
        return None
    netloc = host if port is None else f"{host}:{port}"
    if ":" in host:
        netloc = f"[{host}]" if port is None else f"[{host}]:{port}"
    return urlunsplit((scheme, netloc, parts.path, "", ""))
