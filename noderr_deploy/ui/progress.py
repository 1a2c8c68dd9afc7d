"""Progress of builds and pushes on stderr: live on a terminal, plain lines when piped.

- Terminal: a live view of the current step (``Step N/M``) with the tail of its log, and one
  progress bar per layer while pushing.
- Piped (CI logs): every step and log line, prefixed with the tier; push status changes per
  layer, not every byte count.
- ``--quiet``: nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from noderr_deploy.images.engine import BUILDER_NOISE, BuildEvent, Failed, Log, Step
from noderr_deploy.images.push import LayerProgress, Pushed, PushEvent
from noderr_deploy.text import printable
from noderr_deploy.ui.output import Output

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID
    from rich.text import Text

_LIVE_TAIL = 6


def _shown(event: BuildEvent) -> bool:
    if not isinstance(event, Log):
        return False
    return bool(event.line.strip()) and not event.line.startswith(BUILDER_NOISE)


class BuildView:
    """Renders engine events for one command run; built from the command's :class:`Output`."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.mode = "quiet" if out.quiet else ("live" if out.stderr_is_tty else "plain")

    # -- build ------------------------------------------------------------------------------
    @contextmanager
    def build(self, tier: str) -> Iterator[Callable[[BuildEvent], None]]:
        """A callback for the build events of ``tier``, live while the block runs."""
        if self.mode == "quiet":
            yield lambda event: None
        elif self.mode == "plain":
            yield lambda event: self._plain_build(tier, event)
        else:
            with self._live_build(tier) as callback:
                yield callback

    def _plain_build(self, tier: str, event: BuildEvent) -> None:
        if isinstance(event, Step):
            self._line(f"[{tier}] Step {event.number}/{event.total} : {event.instruction}")
        elif isinstance(event, Log) and _shown(event):
            self._line(f"[{tier}]   {event.line}")

    @contextmanager
    def _live_build(self, tier: str) -> Iterator[Callable[[BuildEvent], None]]:
        from rich.console import Group
        from rich.live import Live
        from rich.text import Text

        state: dict[str, Any] = {"step": None, "tail": []}

        def render() -> Group:
            step: Step | None = state["step"]
            head = Text.assemble(
                ("building ", "bold"),
                (tier, "bold cyan"),
                (f"  step {step.number}/{step.total}  " if step else "  sending context", ""),
                (_short(step.instruction, 90) if step else "", ""),
            )
            lines = [Text("  " + _short(line, 110), style="dim") for line in state["tail"]]
            return Group(head, *lines)

        console = self.out.console("stderr")
        with Live(render(), console=console, refresh_per_second=8, transient=True) as live:

            def callback(event: BuildEvent) -> None:
                if isinstance(event, Step):
                    state["step"], state["tail"] = event, []
                elif isinstance(event, Log) and _shown(event):
                    state["tail"] = [*state["tail"][-(_LIVE_TAIL - 1) :], event.line]
                else:
                    return
                live.update(render())

            yield callback
        step = state["step"]
        if step is not None:
            console.print(_done("built", f"{tier} ({step.total} steps)"))

    # -- push -------------------------------------------------------------------------------
    @contextmanager
    def push(self, reference: str) -> Iterator[Callable[[PushEvent], None]]:
        """A callback for the push events of ``reference``."""
        if self.mode == "quiet":
            yield lambda event: None
            return
        if self.mode == "plain":
            seen: dict[str, str] = {}
            self._line(f"pushing {reference}")

            def plain(event: PushEvent) -> None:
                if isinstance(event, LayerProgress):
                    # Byte counts would flood a CI log: one line per status change.
                    if seen.get(event.layer) != event.status:
                        seen[event.layer] = event.status
                        self._line(f"  {event.layer}: {event.status}")
                elif isinstance(event, Pushed):
                    self._line(f"  {reference}: digest {event.digest}")

            yield plain
            return
        with self._live_push(reference) as callback:
            yield callback

    @contextmanager
    def _live_push(self, reference: str) -> Iterator[Callable[[PushEvent], None]]:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        console = self.out.console("stderr")
        progress = Progress(
            TextColumn("{task.description}", markup=False),  # the registry's words
            BarColumn(),
            DownloadColumn(),
            console=console,
            transient=True,
        )
        tasks: dict[str, TaskID] = {}
        with progress:
            yield lambda event: _live_push_event(progress, tasks, event)
        console.print(_done("pushed", reference))

    def _line(self, text: str) -> None:
        # Every line holds outside text (build output, registry messages): escaped.
        self.out.stderr.write(printable(text) + "\n")
        self.out.stderr.flush()


def _done(verb: str, subject: str) -> Text:
    """``verb`` in green, then ``subject`` (a tier, an image reference) as text, not markup."""
    from rich.text import Text

    return Text.assemble((verb, "green"), " ", printable(subject))


def _live_push_event(progress: Progress, tasks: dict[str, TaskID], event: PushEvent) -> None:
    if isinstance(event, Failed | Pushed):
        return
    task = tasks.get(event.layer)
    if task is None:
        task = tasks[event.layer] = progress.add_task(printable(event.layer), total=event.total)
    description = printable(f"{event.layer} {event.status}")
    if event.status in ("Pushed", "Layer already exists"):
        done = progress.tasks[task].total or 1
        progress.update(task, description=description, total=done, completed=done)
    else:
        progress.update(
            task, description=description, completed=event.current or 0, total=event.total
        )


def _short(text: str, width: int) -> str:
    text = printable(" ".join(text.split()))  # build output: npm's colours, anything
    return text if len(text) <= width else text[: width - 3] + "..."
