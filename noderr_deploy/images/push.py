"""Pushing a built image's tags, and checking that the registry holds the image built.

The SDK raises nothing for a failed push: the failure is an ``errorDetail`` chunk of the
stream (HTTP 200), so every chunk is parsed into an event and checked here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from noderr_deploy.errors import EngineError, RegistryError
from noderr_deploy.images.engine import (
    Failed,
    engine_call,
    reason,
    scrub,
    tag_image,
    transport_errors,
)
from noderr_deploy.images.manifest import Platform, image_at_tag
from noderr_deploy.images.plan import split_reference
from noderr_deploy.images.registry import image_ref, registry_credentials


@dataclass(frozen=True)
class LayerProgress:
    """A layer's push status (``Preparing``, ``Pushing``, ``Pushed``, ``Layer already exists``)."""

    layer: str
    status: str
    current: int | None = None
    total: int | None = None


@dataclass(frozen=True)
class Pushed:
    """The registry accepted the manifest: its digest and size."""

    tag: str
    digest: str
    size: int | None = None


PushEvent = LayerProgress | Pushed | Failed


def parse_push_chunk(chunk: Mapping[str, Any]) -> list[PushEvent]:
    """The events in one decoded chunk of a push stream."""
    if "errorDetail" in chunk or "error" in chunk:
        detail = chunk.get("errorDetail") or {}
        message = detail.get("message") if isinstance(detail, dict) else None
        return [Failed(str(message or chunk.get("error") or "unknown error").strip())]
    aux = chunk.get("aux")
    if isinstance(aux, dict) and aux.get("Digest"):
        size = aux.get("Size")
        return [Pushed(str(aux.get("Tag", "")), str(aux["Digest"]), int(size) if size else None)]
    if chunk.get("id") and chunk.get("status"):
        progress = chunk.get("progressDetail") or {}
        return [
            LayerProgress(
                str(chunk["id"]),
                str(chunk["status"]),
                progress.get("current"),
                progress.get("total"),
            )
        ]
    return []


def registry_of(reference: str) -> str:
    """The registry host of ``reference`` (``docker.io`` when the name has none)."""
    first, sep, _ = reference.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _is_timeout(exc: BaseException) -> bool:
    import requests
    import urllib3.exceptions

    if isinstance(
        exc, requests.exceptions.Timeout | urllib3.exceptions.TimeoutError | TimeoutError
    ):
        return True
    inner = exc.args[0] if exc.args else None
    return isinstance(inner, BaseException) and inner is not exc and _is_timeout(inner)


def push_tag(
    client: Any,
    reference: str,
    *,
    image_id: str,
    auth: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = 600.0,
    on_event: Callable[[PushEvent], None] = lambda event: None,
) -> str:
    """Point ``reference`` at ``image_id``, push it and return the registry's manifest digest.

    The push API takes a name, not an id, so another build may move the tag between the
    tagging and the push, and anyone may push to the tag after it: afterwards the registry
    itself is asked (:func:`verify_pushed`, with the push's credentials: ``auth``, else the
    docker config as ``environ`` finds it) and its tag must name ``image_id``, or
    :class:`RegistryError` says it holds another image. ``timeout`` is how long the push may
    go without a word (the engine waits on the registry without limit); the engine client's
    own timeout is for the engine's calls.
    """
    repository, tag = split_reference(reference)
    digest: str | None = None
    tag_image(client, image_id, [reference])
    api = client.api
    saved = api.timeout
    api.timeout = timeout
    try:
        with engine_call(
            f"push of {reference} failed",
            f"lost the Docker engine while pushing {reference}",
            RegistryError,
        ):
            try:
                stream: Iterator[Mapping[str, Any]] = api.push(
                    repository,
                    tag=tag,
                    stream=True,
                    decode=True,
                    auth_config=dict(auth) if auth else None,
                )
                for chunk in stream:
                    for event in parse_push_chunk(chunk):
                        on_event(event)
                        if isinstance(event, Failed):
                            raise RegistryError(
                                f"push of {reference} failed: {scrub(event.message)}"
                            )
                        if isinstance(event, Pushed):
                            digest = event.digest
            except transport_errors() as exc:
                if not _is_timeout(exc):
                    raise
                api.timeout = saved
                try:
                    api.ping()
                except Exception:
                    raise EngineError(
                        f"lost the Docker engine while pushing {reference}: {reason(exc)}"
                    ) from None
                raise RegistryError(
                    f"registry {registry_of(reference)} stopped answering while pushing"
                    f" {reference} (nothing for {timeout:g} s; --push-timeout sets the limit)"
                ) from None
    finally:
        api.timeout = saved
    if digest is None:
        raise RegistryError(f"push of {reference}: the engine reported no manifest digest")
    if auth:
        credentials: tuple[str, str] | None = (auth["username"], auth["password"])
    else:
        credentials = registry_credentials(image_ref(repository, tag).host, environ or {})
    verify_pushed(client, image_id, reference, credentials=credentials, timeout=timeout)
    return digest


def verify_pushed(
    client: Any,
    image_id: str,
    reference: str,
    *,
    credentials: tuple[str, str] | None,
    timeout: float = 60.0,
) -> None:
    """:class:`RegistryError` unless the registry's ``reference`` names ``image_id``.

    The manifest the tag names (for a manifest list or OCI index, the one of the image's
    platform) is fetched from the registry, and its config digest is the image id: a tag
    moved by a concurrent build, or pushed to by anyone since, names another config.
    """
    repository, tag = split_reference(reference)
    with engine_call(
        f"cannot inspect {image_id[:19]}", f"lost the Docker engine while checking {reference}"
    ):
        attrs = client.api.inspect_image(image_id)
    platform = Platform(
        str(attrs.get("Os") or "linux"),
        str(attrs.get("Architecture") or "amd64"),
        str(attrs["Variant"]) if attrs.get("Variant") else None,
    )
    found = image_at_tag(
        image_ref(repository, tag), platform=platform, credentials=credentials, timeout=timeout
    )
    if found.config_digest != image_id:
        raise RegistryError(
            f"push of {reference}: the registry's tag {tag} names image {found.config_digest}"
            f" (manifest {found.manifest_digest}), which is not the image built {image_id}:"
            " a concurrent build moved the tag; build again"
        )
