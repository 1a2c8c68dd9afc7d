"""What the registry holds under a tag: its manifest and the image config it names.

After a push, ``noderr build`` asks the registry itself (over its v2 API, with the push's
credentials) which image the tag now names: the manifest's config digest is the image id,
so a tag moved by anyone between the push and the check is caught. A manifest list or OCI
index is resolved to the built image's platform. The registry's answer is outside text:
its size is bounded, redirects are followed only on the same host, and anything that is
not a manifest is one :class:`RegistryError` that never repeats the body or a credential.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from noderr_deploy.errors import RegistryError
from noderr_deploy.images.registry import (
    MANIFEST_TYPES,
    ImageRef,
    authorization,
    registry_url,
)

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
"""Real manifests are a few KB; an index of every platform is well under this."""
MAX_REDIRECTS = 5
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


@dataclass(frozen=True)
class Platform:
    """The image's ``os/architecture[/variant]``, as an index's entries name theirs."""

    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def matches(self, entry: Mapping[str, Any]) -> bool:
        if entry.get("os") != self.os or entry.get("architecture") != self.architecture:
            return False
        return self.variant is None or entry.get("variant") in (None, self.variant)


@dataclass(frozen=True)
class TagImage:
    """The manifest a tag names (after an index, the platform's) and its config digest."""

    manifest_digest: str
    config_digest: str


def image_at_tag(
    ref: ImageRef,
    *,
    platform: Platform,
    credentials: tuple[str, str] | None,
    timeout: float = 30.0,
    session: Any = None,
) -> TagImage:
    """The image ``ref``'s tag names in its registry; :class:`RegistryError` otherwise."""
    import requests

    http = session or requests.Session()
    shown = f"{ref}"
    digest, document = _get(
        http, ref, ref.tag, credentials=credentials, timeout=timeout, shown=shown
    )
    if _is_index(document):
        entry = _platform_entry(document, platform, shown)
        digest, document = _get(
            http, ref, entry, credentials=credentials, timeout=timeout, shown=shown
        )
        if _is_index(document):
            raise RegistryError(f"{shown}: the registry's index names another index")
    config = document.get("config")
    found = config.get("digest") if isinstance(config, dict) else None
    if not isinstance(found, str) or not _DIGEST.match(found):
        kind = "a schema 1 manifest" if document.get("schemaVersion") == 1 else "a manifest"
        raise RegistryError(f"{shown}: the registry answered {kind} without an image config digest")
    return TagImage(digest, found)


def _is_index(document: Mapping[str, Any]) -> bool:
    return document.get("mediaType") in _INDEX_TYPES or (
        "manifests" in document and "config" not in document
    )


def _platform_entry(document: Mapping[str, Any], platform: Platform, shown: str) -> str:
    entries = document.get("manifests")
    if not isinstance(entries, list):
        raise RegistryError(f"{shown}: the registry's index has no list of manifests")
    offered: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        found = entry.get("platform")
        spec: dict[str, Any] = found if isinstance(found, dict) else {}
        digest = entry.get("digest")
        if platform.matches(spec) and isinstance(digest, str) and _DIGEST.match(digest):
            return digest
        parts = (spec.get("os"), spec.get("architecture"), spec.get("variant"))
        offered.append("/".join(str(p) for p in parts if isinstance(p, str) and p) or "?")
    listed = ", ".join(repr(o) for o in offered[:8]) or "none"
    raise RegistryError(
        f"{shown}: the registry's index has no manifest for the image's platform {platform}"
        f" (it has: {listed})"
    )


def _get(
    http: Any,
    ref: ImageRef,
    reference: str,
    *,
    credentials: tuple[str, str] | None,
    timeout: float,
    shown: str,
) -> tuple[str, dict[str, Any]]:
    """(sha256 of the body, the body as a JSON object) of ``manifests/<reference>``."""
    import requests

    base = registry_url(ref.host)
    url = f"{base}/v2/{ref.name}/manifests/{reference}"
    headers = {"Accept": MANIFEST_TYPES}
    host = urlsplit(base).netloc
    try:
        response = _follow(http, url, headers, host=host, timeout=timeout, shown=shown)
        if response.status_code == 401:
            answer = authorization(
                http, response, ref, credentials, timeout, plain_http=base.startswith("http:")
            )
            if answer is not None:
                response.close()
                headers["Authorization"] = answer
                response = _follow(http, url, headers, host=host, timeout=timeout, shown=shown)
        with response:
            status = response.status_code
            if status in (401, 403):
                how = "the credentials were refused" if credentials else "it wants credentials"
                raise RegistryError(f"cannot check {shown}: registry answered HTTP {status}: {how}")
            if status == 404:
                raise RegistryError(f"cannot check {shown}: the registry has no such manifest")
            if status != 200:
                raise RegistryError(f"cannot check {shown}: registry answered HTTP {status}")
            body = _bounded_body(response, shown)
    except requests.RequestException as exc:
        raise RegistryError(
            f"cannot check {shown}: registry {ref.host} did not answer ({type(exc).__name__})"
        ) from None
    except ValueError:
        # requests parses a Location header even when not following it: "http://[::1/x".
        raise RegistryError(
            f"cannot check {shown}: the registry answered with a URL that does not parse"
        ) from None
    try:
        document = json.loads(body)
    except ValueError:
        raise RegistryError(f"cannot check {shown}: the registry's answer is not JSON") from None
    if not isinstance(document, dict):
        raise RegistryError(f"cannot check {shown}: the registry's answer is not a manifest")
    return "sha256:" + hashlib.sha256(body).hexdigest(), document


def _follow(
    http: Any, url: str, headers: Mapping[str, str], *, host: str, timeout: float, shown: str
) -> Any:
    """GET ``url``, following redirects only to ``host`` (credentials stay with it)."""
    for _ in range(MAX_REDIRECTS + 1):
        response = http.get(
            url, headers=dict(headers), timeout=timeout, allow_redirects=False, stream=True
        )
        if response.status_code not in (301, 302, 303, 307, 308):
            return response
        location = response.headers.get("Location") or ""
        response.close()
        target = urljoin(url, location)  # requests has parsed it already (see _get)
        parts = urlsplit(target)
        if parts.netloc != host or parts.scheme != urlsplit(url).scheme:
            raise RegistryError(
                f"cannot check {shown}: the registry redirected to another host; only"
                f" redirects within {host} are followed"
            )
        url = target
    raise RegistryError(f"cannot check {shown}: more than {MAX_REDIRECTS} redirects")


def _bounded_body(response: Any, shown: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_MANIFEST_BYTES:
            raise RegistryError(
                f"cannot check {shown}: the registry's answer is over"
                f" {MAX_MANIFEST_BYTES // (1024 * 1024)} MiB, not a manifest"
            )
        chunks.append(chunk)
    return b"".join(chunks)
