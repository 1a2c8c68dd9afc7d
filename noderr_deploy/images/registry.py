"""Does an image exist in its registry? One manifest lookup over the registry's v2 API.

``noderr publish`` asks before it proposes a version, so that nodes are never told to pull
an image they cannot get. The credentials are the build's: ``NODERR_REGISTRY_USER`` and
``NODERR_REGISTRY_PASSWORD``, else the docker config (``~/.docker/config.json``, with its
credential helpers). Loopback registries are spoken to over plain HTTP, as dockerd does;
every other over HTTPS. A Bearer challenge (ghcr.io, Docker Hub) is answered with a pull
token from the realm it names, a Basic challenge with the credentials themselves.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from noderr_deploy.errors import InputError, RegistryError, UsageError
from noderr_deploy.redact import redact_url

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


def check_tag(tag: str, flag: str = "--image-tag") -> str:
    """``tag`` if it is a valid Docker tag (no repository, no digest); else exit 2."""
    if not _TAG.match(tag):
        raise UsageError(
            f"{flag} {tag!r} is not an image tag: up to 128 of A-Z a-z 0-9 _ . - (not starting"
            " with . or -), without repository or digest"
        )
    return tag


def check_digest(digest: str, where: str) -> str:
    if not _DIGEST.match(digest):
        raise UsageError(f"{where}: {digest!r} is not a sha256 manifest digest")
    return digest


@dataclass(frozen=True)
class ImageRef:
    """``host[:port]/path:tag`` split into what the v2 API needs."""

    host: str
    """``host[:port]``."""
    name: str
    """The repository path inside the registry."""
    tag: str

    def __str__(self) -> str:
        return f"{self.host}/{self.name}:{self.tag}"


def image_ref(repository: str, tag: str) -> ImageRef:
    """``repository`` (``registry[/namespace]/image``) and ``tag`` as an :class:`ImageRef`.

    A repository without a registry host is Docker Hub's (``library/`` for one component).
    """
    first, _, rest = repository.partition("/")
    if rest and first in _DOCKER_HUB:  # docker.io/x: the Hub's API host, library/ for one part
        return image_ref(rest, tag)
    if rest and ("." in first or ":" in first or first == "localhost"):
        return ImageRef(first, rest, tag)
    name = repository if "/" in repository else f"library/{repository}"
    return ImageRef("registry-1.docker.io", name, tag)


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1 : host.index("]")]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def registry_credentials(host: str, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The build's credentials for ``host``: the NODERR_REGISTRY_* pair, else docker config."""
    user = environ.get("NODERR_REGISTRY_USER") or ""
    password = environ.get("NODERR_REGISTRY_PASSWORD") or ""
    if bool(user) != bool(password):
        missing = "NODERR_REGISTRY_PASSWORD" if user else "NODERR_REGISTRY_USER"
        raise UsageError(f"{missing} is not set: set both registry variables, or neither")
    if user:
        return user, password
    try:
        from docker import auth

        config = auth.load_config(config_path=None)
        entry = auth.resolve_authconfig(config, host) or {}
    except Exception:
        # An unreadable docker config or a failing credential helper: look up anonymously
        # (a registry that wants credentials then says so, and the message tells how).
        return None
    # An `auths` entry resolves to lowercase keys, a credential helper's answer to
    # capitalised ones.
    username = entry.get("username") or entry.get("Username") or ""
    secret = entry.get("password") or entry.get("Password") or ""
    return (username, secret) if username and secret else None


def registry_url(host: str) -> str:
    """``http://host`` for a loopback registry (as dockerd speaks to it), else ``https://``."""
    return f"{'http' if _is_loopback(host) else 'https'}://{host}"


def manifest_digest(
    ref: ImageRef,
    *,
    environ: Mapping[str, str],
    timeout: float = 10.0,
    session: Any = None,
) -> str | None:
    """The manifest digest of ``ref``, or None when the registry has no such tag.

    An unreachable registry, refused credentials or any other answer is a
    :class:`RegistryError` naming the image (never the credentials).
    """
    import requests

    http = session or requests.Session()
    scheme = registry_url(ref.host).partition(":")[0]
    url = f"{scheme}://{ref.host}/v2/{ref.name}/manifests/{ref.tag}"
    credentials = registry_credentials(ref.host, environ)
    headers = {"Accept": MANIFEST_TYPES}
    shown = f"image {ref}"
    try:
        response = http.head(url, headers=headers, timeout=timeout, allow_redirects=True)
        if response.status_code == 401:
            answer = authorization(
                http, response, ref, credentials, timeout, plain_http=scheme == "http"
            )
            if answer is not None:
                headers["Authorization"] = answer
                response = http.head(url, headers=headers, timeout=timeout, allow_redirects=True)
    except requests.RequestException as exc:
        raise RegistryError(
            f"cannot look up {shown}: registry {redact_url(f'{scheme}://{ref.host}')}"
            f" unreachable ({type(exc).__name__})"
        ) from None
    except ValueError:  # a Location (or realm) that does not parse: "http://[::1/x"
        raise RegistryError(
            f"cannot look up {shown}: the registry answered with a URL that does not parse"
        ) from None
    status = response.status_code
    if status == 404:
        return None
    if status in (401, 403):
        how = (
            "the credentials were refused"
            if credentials
            else "it wants credentials (NODERR_REGISTRY_USER/NODERR_REGISTRY_PASSWORD or docker"
            " login)"
        )
        raise RegistryError(f"cannot look up {shown}: registry answered HTTP {status}: {how}")
    if status != 200:
        raise RegistryError(f"cannot look up {shown}: registry answered HTTP {status}")
    digest = response.headers.get("Docker-Content-Digest", "")
    if not _DIGEST.match(digest):
        raise RegistryError(f"{shown}: the registry gave no valid Docker-Content-Digest")
    return digest


def authorization(
    http: Any,
    response: Any,
    ref: ImageRef,
    credentials: tuple[str, str] | None,
    timeout: float,
    *,
    plain_http: bool,
) -> str | None:
    """The Authorization header that answers the registry's challenge, or None.

    Credentials go over plain HTTP only to a loopback registry, as the lookup itself.
    """
    import base64

    challenge = response.headers.get("WWW-Authenticate", "")
    scheme = challenge.split(" ", 1)[0].lower()
    if scheme == "basic":
        if credentials is None:
            return None
        token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
        return f"Basic {token}"
    if scheme != "bearer":
        return None
    fields = dict(_CHALLENGE.findall(challenge))
    realm = fields.get("realm")
    allowed = ("https://", "http://") if plain_http else ("https://",)
    if not realm or not realm.startswith(allowed):
        return None
    params = {"scope": fields.get("scope") or f"repository:{ref.name}:pull"}
    if "service" in fields:
        params["service"] = fields["service"]
    answer = http.get(realm, params=params, auth=credentials, timeout=timeout)
    if answer.status_code != 200:
        return None
    try:
        body = answer.json()
    except ValueError:
        return None
    bearer: Any = (
        (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
    )
    return f"Bearer {bearer}" if isinstance(bearer, str) and bearer else None


@dataclass(frozen=True)
class BuiltImage:
    """One tier's entry of ``noderr build --metadata-file``: where it was pushed."""

    repository: str
    tag: str
    digest: str | None


def read_build_metadata(path: Path, tier: str) -> BuiltImage:
    """``tier``'s versioned tag and pushed digest from a ``noderr build`` metadata file.

    A damaged file, a tier it does not hold, or an image it does not say was pushed is
    exit 2 naming the file.
    """
    import json

    from noderr_deploy.images.plan import split_reference

    where = f"--from-metadata {path}"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{where}: cannot read: {exc.strerror or exc}") from None
    except ValueError:
        raise InputError(
            f"{where}: not JSON (expected the file noderr build --metadata-file wrote)"
        ) from None
    entries = document if isinstance(document, list) else [document]
    tiers = [e.get("tier") for e in entries if isinstance(e, dict)]
    matches = [e for e in entries if isinstance(e, dict) and e.get("tier") == tier]
    if not matches:
        known = ", ".join(repr(t) for t in tiers if isinstance(t, str)) or "none"
        raise InputError(f"{where}: no image of tier {tier!r} (it has: {known})")
    if len(matches) > 1:  # which one is meant cannot be told: never a silent choice
        raise InputError(
            f"{where}: tier {tier!r} stands {len(matches)} times (give the metadata file of"
            " one build)"
        )
    entry = matches[0]
    tags = entry.get("tags")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InputError(f"{where}: tier {tier!r}: tags is not a list of image references")
    if not tags:
        raise InputError(f"{where}: tier {tier!r} has no tags")
    repository, tag = split_reference(tags[0])
    check_tag(tag, f"{where}: tag")
    digest = entry.get("digest")
    if entry.get("pushed") is False or digest is None:
        raise InputError(f"{where}: tier {tier!r} was built but not pushed (noderr build --push)")
    if not isinstance(digest, str):
        raise InputError(f"{where}: tier {tier!r}: digest is not text")
    check_digest(digest, f"{where}: tier {tier!r}")
    return BuiltImage(repository, tag, digest)
