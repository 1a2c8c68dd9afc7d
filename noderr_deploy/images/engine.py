"""Driving the Docker engine: connect, build from a context, tag, inspect, push.

The docker client is passed in (the CLI makes the real one with :func:`connect`). The engine
reports progress and most failures inside its JSON streams, with HTTP 200: build failures as
``errorDetail`` chunks, and push failures too (the SDK raises nothing for them), so every chunk
is parsed into an event and checked here.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from noderr_deploy.errors import BuildError, EngineError, NoderrError, RegistryError
from noderr_deploy.images.plan import BuildPlan, split_reference
from noderr_deploy.redact import redact_url

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
# Contexts above this are spooled to a temporary file rather than held in memory.
_SPOOL_BYTES = 64 * 1024 * 1024
_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$", re.DOTALL)
_TAIL_LINES = 10
# The classic builder's bookkeeping lines: not the step's output.
BUILDER_NOISE = (" ---> ", "Removing intermediate container ", "Successfully built ")


def _transport_errors() -> tuple[type[BaseException], ...]:
    """What a lost engine connection raises mid-stream: requests', urllib3's or the socket's."""
    import requests
    import urllib3.exceptions

    return (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError)


@contextmanager
def _engine_call(
    refused: str, lost: str, error: type[NoderrError] = EngineError, local: str | None = None
) -> Iterator[None]:
    """Map the SDK's failures inside the block onto our errors.

    The engine's refusal (``APIError``) becomes ``error("<refused>: <its explanation>")``; a
    connection lost mid-call becomes ``EngineError("<lost>: <reason>")``. Our own errors
    pass through.
    """
    import warnings

    import docker.credentials.errors
    import docker.errors

    try:
        with warnings.catch_warnings():
            # The SDK warns on stderr about a missing credential helper, then raises: the
            # error line says it once.
            warnings.simplefilter("ignore")
            yield
    except docker.errors.APIError as exc:
        raise error(f"{refused}: {_api_message(exc)}") from None
    except docker.credentials.errors.StoreError as exc:
        raise error(
            f"{local or refused}: docker credential helper: {_reason(exc)} (credsStore or"
            " credHelpers of the docker config, DOCKER_CONFIG)"
        ) from None
    except docker.errors.DockerException as exc:
        # A bad argument the SDK checks itself, a credential store it wraps...
        raise error(f"{local or refused}: {_reason(exc)}") from None
    except _transport_errors() as exc:
        raise EngineError(f"{lost}: {_reason(exc)}") from None


_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@'\"]*@")


def scrub(text: str) -> str:
    """``text`` from the SDK or the engine with the user info of every URL in it masked
    (``tcp://user:secret@host`` from DOCKER_HOST can be repeated in the SDK's reasons)."""
    return _USERINFO.sub(r"\1***@", text)


def engine_address(environ: Mapping[str, str]) -> str:
    """The engine the SDK talks to, for messages: DOCKER_HOST (redacted) or the socket."""
    host = environ.get("DOCKER_HOST", "").strip()
    if not host:
        return DEFAULT_SOCKET
    # A socket path holds no secret; a tcp:// or ssh:// address may carry credentials.
    return host if host.startswith(("unix://", "npipe://")) else redact_url(host)


def connect(
    environ: Mapping[str, str],
    factory: Callable[..., Any] | None = None,
    timeout: int = 60,
) -> Any:
    """A docker client for DOCKER_HOST (else the local socket), or :class:`EngineError`."""
    import docker
    import docker.errors
    import requests

    make = factory or docker.from_env
    try:
        client = make(environment=dict(environ), timeout=timeout)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException, ValueError) as exc:
        # ValueError: the SDK's own parsing of a malformed DOCKER_HOST ("Invalid IPv6 URL").
        reason = _reason(exc)
        for secret in _host_secrets(environ.get("DOCKER_HOST", "")):
            reason = reason.replace(secret, "***")
        raise EngineError(
            f"cannot reach the Docker engine at {engine_address(environ)}: {reason}"
        ) from None
    return client


def _host_secrets(host: str) -> list[str]:
    """The parts of a DOCKER_HOST that must never be printed, longest first."""
    _, sep, rest = host.partition("://")
    userinfo = rest.split("/", 1)[0].rpartition("@")[0] if sep else ""
    parts = [userinfo, *userinfo.split(":", 1)] if userinfo else []
    return sorted({p for p in parts if len(p) >= 3}, key=len, reverse=True)


def _reason(exc: BaseException) -> str:
    text = scrub(" ".join(str(exc).split()))
    text = text.removeprefix("Error while fetching server API version: ")
    # "('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))"
    text = re.sub(r"\('Connection aborted\.', \w+\(\d+, '([^']+)'\)\)", r"\1", text)
    return text if len(text) <= 300 else text[:297] + "..."


# -- build ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """``Step N/M : INSTRUCTION`` began."""

    number: int
    total: int
    instruction: str


@dataclass(frozen=True)
class Log:
    """A line of output of the current step."""

    line: str


@dataclass(frozen=True)
class Built:
    """The engine announced an image id (the last one is the image built)."""

    image_id: str


@dataclass(frozen=True)
class Failed:
    """The engine reported an error (``errorDetail``)."""

    message: str


BuildEvent = Step | Log | Built | Failed


class BuildStreamParser:
    """Turns decoded build-stream chunks into events; text is split into whole lines."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, chunk: Mapping[str, Any]) -> list[BuildEvent]:
        events: list[BuildEvent] = []
        if "stream" in chunk:
            self._pending += str(chunk["stream"])
            *lines, self._pending = self._pending.split("\n")
            events.extend(self._line(line) for line in lines)
        if "errorDetail" in chunk or "error" in chunk:
            events.extend(self.flush())
            detail = chunk.get("errorDetail") or {}
            message = detail.get("message") if isinstance(detail, dict) else None
            events.append(Failed(str(message or chunk.get("error") or "unknown error").strip()))
        aux = chunk.get("aux")
        if isinstance(aux, dict) and aux.get("ID"):
            events.append(Built(str(aux["ID"])))
        return events

    def flush(self) -> list[BuildEvent]:
        line, self._pending = self._pending, ""
        return [self._line(line)] if line else []

    @staticmethod
    def _line(line: str) -> BuildEvent:
        match = _STEP.match(line.rstrip("\r"))
        if match:
            return Step(int(match.group(1)), int(match.group(2)), match.group(3).strip())
        return Log(line.rstrip("\r"))


def build_image(
    client: Any,
    plan: BuildPlan,
    *,
    network: str | None = None,
    no_cache: bool = False,
    on_event: Callable[[BuildEvent], None] = lambda event: None,
) -> str:
    """Build ``plan`` untagged and return the image id; :class:`BuildError` on failure.

    The image gets its tags only after it is complete (:func:`tag_image`), so a failed build
    never moves a tag.
    """
    parser = BuildStreamParser()
    step: Step | None = None
    tail: list[str] = []
    image_id: str | None = None
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as context:
        plan.context.write(context)
        context.seek(0)
        with _engine_call(
            f"tier {plan.tier}: the engine refused the build",
            f"tier {plan.tier}: lost the Docker engine during the build",
            BuildError,
            local=f"tier {plan.tier}: cannot start the build",
        ):
            stream = client.api.build(
                fileobj=context,
                custom_context=True,
                dockerfile=plan.context.dockerfile,
                buildargs=plan.build_args,
                labels=plan.labels,
                network_mode=network,
                nocache=no_cache,
                pull=False,
                rm=True,  # the SDK's default is False, unlike the CLI's
                forcerm=True,
                decode=True,
            )
            for chunk in stream:
                for event in parser.feed(chunk):
                    on_event(event)
                    if isinstance(event, Step):
                        step, tail = event, []
                    elif isinstance(event, Log):
                        if event.line.strip() and not event.line.startswith(BUILDER_NOISE):
                            tail = [*tail[-(_TAIL_LINES - 1) :], event.line]
                    elif isinstance(event, Built):
                        image_id = event.image_id
                    else:
                        raise _step_failed(plan.tier, step, event.message, tail)
            for event in parser.flush():
                on_event(event)
    if image_id is None:
        raise BuildError(f"tier {plan.tier}: the build stream ended without an image id")
    return image_id


def _step_failed(tier: str, step: Step | None, message: str, tail: list[str]) -> BuildError:
    if step is None:
        return BuildError(f"tier {tier}: the build failed before its first step: {message}")
    instruction = step.instruction
    if len(instruction) > 120:
        instruction = instruction[:117] + "..."
    details = [f"error: {scrub(message)}"]
    if tail:
        details.append(f"last lines of step {step.number}:")
        details.extend(f"  {line}" for line in tail)
    return BuildError(
        f"tier {tier}: step {step.number}/{step.total} failed: {instruction}", details=details
    )


def _api_message(exc: Any) -> str:
    explanation = getattr(exc, "explanation", None)
    return scrub(" ".join(str(explanation or exc).split()))


def tag_image(client: Any, image_id: str, tags: Iterable[str]) -> None:
    """Point each tag at ``image_id`` (moving it if it pointed elsewhere)."""
    for reference in tags:
        repository, tag = split_reference(reference)
        with _engine_call(
            f"cannot tag {image_id[:19]} as {reference}",
            f"lost the Docker engine while tagging {reference}",
        ):
            client.api.tag(image_id, repository, tag, force=True)


def inspect_image(client: Any, image_id: str) -> tuple[int, list[dict[str, Any]]]:
    """The image's size in bytes and its history (newest layer first)."""
    with _engine_call(
        f"cannot inspect {image_id[:19]}",
        f"lost the Docker engine while inspecting {image_id[:19]}",
    ):
        attrs = client.api.inspect_image(image_id)
        return int(attrs["Size"]), list(client.api.history(image_id))


# -- push ----------------------------------------------------------------------------------


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
    timeout: float = 600.0,
    on_event: Callable[[PushEvent], None] = lambda event: None,
) -> str:
    """Point ``reference`` at ``image_id``, push it and return the registry's manifest digest.

    The push API takes a name, not an id, so another build may move the tag between the
    tagging and the push: afterwards the engine must record the pushed digest for
    ``image_id`` itself, or :class:`RegistryError` says the registry got another image.
    ``timeout`` is how long the push may go without a word (the engine waits on the registry
    without limit); the engine client's own timeout is for the engine's calls.
    """
    repository, tag = split_reference(reference)
    digest: str | None = None
    tag_image(client, image_id, [reference])
    api = client.api
    saved = api.timeout
    api.timeout = timeout
    try:
        with _engine_call(
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
            except _transport_errors() as exc:
                if not _is_timeout(exc):
                    raise
                api.timeout = saved
                try:
                    api.ping()
                except Exception:
                    raise EngineError(
                        f"lost the Docker engine while pushing {reference}: {_reason(exc)}"
                    ) from None
                raise RegistryError(
                    f"registry {registry_of(reference)} stopped answering while pushing"
                    f" {reference} (nothing for {timeout:g} s; --push-timeout sets the limit)"
                ) from None
    finally:
        api.timeout = saved
    if digest is None:
        raise RegistryError(f"push of {reference}: the engine reported no manifest digest")
    verify_pushed(client, image_id, reference, digest)
    return digest


def verify_pushed(client: Any, image_id: str, reference: str, digest: str) -> None:
    """:class:`RegistryError` unless the engine pushed ``image_id`` as ``digest``.

    The engine records ``repository@digest`` on the image it pushed (its RepoDigests): a
    manifest whose config is another image (a concurrent build moved the tag) is not ours.
    """
    repository, _ = split_reference(reference)
    with _engine_call(
        f"cannot inspect {image_id[:19]}", f"lost the Docker engine while checking {reference}"
    ):
        attrs = client.api.inspect_image(image_id)
    recorded = [str(d) for d in attrs.get("RepoDigests") or []]
    for entry in recorded:
        name, _, found = entry.rpartition("@")
        if found == digest and (name == repository or name.endswith("/" + repository)):
            return
    other = ""
    try:
        pushed = client.api.inspect_image(f"{repository}@{digest}")
        other = f" (image {str(pushed.get('Id', ''))[:19]})"
    except Exception:
        other = ""
    raise RegistryError(
        f"push of {reference}: the registry's manifest {digest} is not the image built"
        f" ({image_id[:19]}) but another{other}: a concurrent build moved the tag;"
        " build again"
    )


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
        with _engine_call(
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
