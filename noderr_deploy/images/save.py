"""``--save``: the engine's export of a built image (``docker save``), streamed to a file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from noderr_deploy.errors import BuildError
from noderr_deploy.images.engine import engine_call


@dataclass(frozen=True)
class Saved:
    """An image tarball written by :func:`save_image`."""

    path: str
    sha256: str
    size: int


def save_image(client: Any, image_id: str, reference: str, target: Path) -> Saved:
    """Stream the engine's export of ``reference`` (``docker save``) to ``target``.

    Written to a temporary file beside it, hashed as it streams (never the whole image in
    memory), then renamed; the archive must hold ``image_id`` (a tag moved meanwhile is
    :class:`BuildError`).
    """
    import hashlib

    digest = hashlib.sha256()
    size = 0
    temporary = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with engine_call(
            f"cannot export {reference}", f"lost the Docker engine while exporting {reference}"
        ):
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
            with os.fdopen(fd, "wb") as handle:
                for chunk in client.api.get_image(reference, chunk_size=1024 * 1024):
                    handle.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                handle.flush()
                os.fsync(handle.fileno())
        held = _archive_config(temporary)
        if held is not None and held != image_id.removeprefix("sha256:"):
            raise BuildError(
                f"--save {target}: the engine exported image {held[:12]} for {reference}, not"
                f" the image built ({image_id.removeprefix('sha256:')[:12]}): a concurrent build"
                " moved the tag"
            )
        temporary.replace(target)
    except OSError as exc:
        raise BuildError(f"--save {target}: cannot write: {exc.strerror or exc}") from None
    finally:
        temporary.unlink(missing_ok=True)
    return Saved(str(target), digest.hexdigest(), size)


def _archive_config(path: Path) -> str | None:
    """The config digest (the image id's hex) in a ``docker save`` archive's manifest.json."""
    import json
    import tarfile

    try:
        with tarfile.open(path) as tar:
            member = tar.extractfile("manifest.json")
            if member is None:
                return None
            manifest = json.loads(member.read(1024 * 1024))
    except (OSError, KeyError, ValueError, tarfile.TarError):
        return None
    if not isinstance(manifest, list) or not manifest or not isinstance(manifest[0], dict):
        return None
    config = str(manifest[0].get("Config", ""))
    return config.rsplit("/", 1)[-1].removesuffix(".json") or None
