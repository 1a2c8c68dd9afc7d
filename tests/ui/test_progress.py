"""Progress on stderr: plain lines when piped, a live view on a terminal, nothing when quiet."""

from __future__ import annotations

import io
import re

from noderr_deploy.images.engine import Built, Log, Step
from noderr_deploy.images.push import LayerProgress, Pushed
from noderr_deploy.ui.output import Output
from noderr_deploy.ui.progress import BuildView

BUILD = [
    Step(1, 2, "FROM base"),
    Log(" ---> 28628e8a0ac4"),
    Step(2, 2, "RUN pnpm install"),
    Log(" ---> Running in 5c2e21670511"),
    Log("Scope: 6 of 7 workspace projects"),
    Log(""),
    Log("Removing intermediate container 5c2e21670511"),
    Built("sha256:abc"),
]
PUSH = [
    LayerProgress("a1", "Preparing"),
    LayerProgress("a1", "Pushing", 100, 1000),
    LayerProgress("a1", "Pushing", 900, 1000),
    LayerProgress("b2", "Layer already exists"),
    LayerProgress("a1", "Pushed"),
    Pushed("1-all", "sha256:d1", 1570),
]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_piped() -> None:
    err = io.StringIO()
    view = BuildView(Output(stdout=io.StringIO(), stderr=err))
    with view.build("all") as on_event:
        for event in BUILD:
            on_event(event)
    with view.push("r/i:1-all") as on_push:
        for push_event in PUSH:
            on_push(push_event)
    assert err.getvalue() == (
        "[all] Step 1/2 : FROM base\n"
        "[all] Step 2/2 : RUN pnpm install\n"
        "[all]   Scope: 6 of 7 workspace projects\n"
        "pushing r/i:1-all\n"
        "  a1: Preparing\n"
        "  a1: Pushing\n"
        "  b2: Layer already exists\n"
        "  a1: Pushed\n"
        "  r/i:1-all: digest sha256:d1\n"
    )


def test_quiet_prints_nothing() -> None:
    err = io.StringIO()
    view = BuildView(Output(stdout=io.StringIO(), stderr=err, quiet=True))
    with view.build("all") as on_event:
        for event in BUILD:
            on_event(event)
    with view.push("r/i:1-all") as on_push:
        for push_event in PUSH:
            on_push(push_event)
    assert err.getvalue() == ""


def test_live_view_on_a_terminal_ends_with_a_summary_line() -> None:
    err = Terminal()
    view = BuildView(Output(stdout=io.StringIO(), stderr=err))
    assert view.mode == "live"
    with view.build("oracle") as on_event:
        for event in BUILD:
            on_event(event)
    with view.push("r/i:1-oracle") as on_push:
        for push_event in PUSH:
            on_push(push_event)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", err.getvalue())
    assert "built oracle (2 steps)" in text
    assert "pushed r/i:1-oracle" in text


# Build output and registry messages are outside text: npm colours its logs, a registry
# names layers and statuses. Escaped, piped and live; never read as rich markup.
EVIL = "\x1b[2J\x1b]0;owned\x07[bold]x[/bold]\u202e"
HOSTILE_BUILD = [Step(1, 1, f"RUN echo {EVIL}"), Log(f"npm {EVIL}"), Built("sha256:abc")]
HOSTILE_PUSH = [LayerProgress(f"l{EVIL}", f"s{EVIL}", 1, 10), Pushed("t", "sha256:d", 1)]


def test_plain_lines_escape_build_and_registry_text() -> None:
    err = io.StringIO()
    view = BuildView(Output(stdout=io.StringIO(), stderr=err))
    with view.build("all") as on_event:
        for event in HOSTILE_BUILD:
            on_event(event)
    with view.push(f"r/i:1{EVIL}") as on_push:
        for push_event in HOSTILE_PUSH:
            on_push(push_event)
    shown = err.getvalue()
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "[all]   npm \\x1b[2J\\x1b]0;owned\\x07[bold]x[/bold]\\u202e\n" in shown
    escaped = "\\x1b[2J\\x1b]0;owned\\x07[bold]x[/bold]\\u202e"
    assert f"  l{escaped}: s{escaped}\n" in shown
    assert "pushing r/i:1\\x1b[2J" in shown


def test_live_view_escapes_build_and_registry_text() -> None:
    err = Terminal()
    view = BuildView(Output(stdout=io.StringIO(), stderr=err))
    with view.build("oracle") as on_event:
        for event in HOSTILE_BUILD:
            on_event(event)
    with view.push(f"r/i:1{EVIL}") as on_push:
        for push_event in HOSTILE_PUSH:
            on_push(push_event)
    # rich's own sequences (colours, cursor moves, hiding the cursor) are all CSI ones.
    rest = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", err.getvalue())
    assert "\x1b" not in rest and "\x07" not in rest and "\u202e" not in rest
    assert "[bold]x[/bold]" in rest  # shown as typed, not read as markup
    assert "pushed r/i:1\\x1b[2J" in rest
