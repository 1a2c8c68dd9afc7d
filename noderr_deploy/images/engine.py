"""Driving the Docker engine: connect, build from a context, tag, inspect, push.

The docker client is passed in (the CLI makes the real one with :func:`connect`). The engine
reports progress and most failures inside its JSON streams, with HTTP 200: build failures as
``errorDetail`` chunks, and push failures too (the SDK raises nothing for them), so every chunk
is parsed into an event and checked here.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from noderr_deploy.errors import BuildError, EngineError, NoderrError
from noderr_deploy.images.plan import BuildPlan, split_reference
from noderr_deploy.redact import redact_url

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
# Contexts above this are spooled to a temporary file rather than held in memory.
_SPOOL_BYTES = 64 * 1024 * 1024
_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$", re.DOTALL)
_TAIL_LINES = 10
# The classic builder's bookkeeping lines: not the step's output.
BUILDER_NOISE = (" ---> ", "Removing intermediate container ", "Successfully built ")


def transport_errors() -> tuple[type[BaseException], ...]:
    """What a lost engine connection raises mid-stream: requests', urllib3's or the socket's."""
    import requests
    import urllib3.exceptions

    return (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError)


@contextmanager
def engine_call(
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
            f"{local or refused}: docker credential helper: {reason(exc)} (credsStore or"
            " credHelpers of the docker config, DOCKER_CONFIG)"
        ) from None
    except docker.errors.DockerException as exc:
        # A bad argument the SDK checks itself, a credential store it wraps...
        raise error(f"{local or refused}: {reason(exc)}") from None
    except transport_errors() as exc:
        raise EngineError(f"{lost}: {reason(exc)}") from None


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
    # A socket path holds no secret; a tcp:// or ssh:// address may carry credentials, in
    # its user info or in a query or fragment (whatever their keys are called).
    if host.startswith(("unix://", "npipe://")):
        return host
    address, query, _ = host.partition("#")[0].partition("?")
    return redact_url(address) + ("?***" if query else "")


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
        why = reason(exc)
        host = environ.get("DOCKER_HOST", "").strip()
        if host and not host.startswith(("unix://", "npipe://")):
            why = why.replace(host, engine_address(environ))  # the SDK repeats it whole
        for secret in _host_secrets(host):
            why = why.replace(secret, "***")
        raise EngineError(
            f"cannot reach the Docker engine at {engine_address(environ)}: {why}"
        ) from None
    return client


def _host_secrets(host: str) -> list[str]:
    """The parts of a DOCKER_HOST that must never be printed (user info, the query and the
    fragment: ``?token=...``), longest first."""
    _, sep, rest = host.partition("://")
    userinfo = rest.split("/", 1)[0].rpartition("@")[0] if sep else ""
    parts = [userinfo, *userinfo.split(":", 1)] if userinfo else []
    query, _, fragment = rest.partition("?")[2].partition("#")
    fragment = fragment or rest.partition("#")[2]
    for extra in (query, fragment):
        parts += [extra, *(value for _, _, value in (p.partition("=") for p in extra.split("&")))]
    return sorted({p for p in parts if len(p) >= 3}, key=len, reverse=True)


def reason(exc: BaseException) -> str:
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
        with engine_call(
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
        with engine_call(
            f"cannot tag {image_id[:19]} as {reference}",
            f"lost the Docker engine while tagging {reference}",
        ):
            client.api.tag(image_id, repository, tag, force=True)


def inspect_image(client: Any, image_id: str) -> tuple[int, list[dict[str, Any]]]:
    """The image's size in bytes and its history (newest layer first)."""
    with engine_call(
        f"cannot inspect {image_id[:19]}",
        f"lost the Docker engine while inspecting {image_id[:19]}",
    ):
        attrs = client.api.inspect_image(image_id)
        return int(attrs["Size"]), list(client.api.history(image_id))
