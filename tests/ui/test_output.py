"""Output modes: rich on a terminal, plain when piped, NO_COLOR, JSON only on stdout."""

from __future__ import annotations

import io
import json

import pytest

from noderr_deploy.ui.output import Output, plain_table


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_piped_table_is_plain_aligned_text() -> None:
    out = Output(stdout=io.StringIO(), stderr=io.StringIO())
    out.table(("node", "bucket"), [("node-0", 92), ("n", None)], title="Cohorts")
    assert out.stdout.getvalue() == "Cohorts\nnode    bucket\nnode-0  92\nn       -\n"  # type: ignore[attr-defined]


def test_terminal_table_is_drawn_by_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    out = Output(stdout=Terminal(), stderr=io.StringIO())
    out.table(("node", "active"), [("node-0", True)])
    text = out.stdout.getvalue()  # type: ignore[attr-defined]
    assert "┃ node" in text or "│ node" in text
    assert "yes" in text
    assert "\x1b[" in text  # styled header


def test_no_color_is_honoured_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = Output(stdout=Terminal(), stderr=Terminal())
    out.table(("node",), [("node-0",)])
    out.warn("careful")
    assert "\x1b[3" not in out.stdout.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[3" not in out.stderr.getvalue()  # type: ignore[attr-defined]


def test_json_goes_alone_to_stdout_and_logs_to_stderr() -> None:
    out = Output(stdout=io.StringIO(), stderr=io.StringIO())
    out.info("reading ids.txt")
    out.json({"nodeId": "node-0", "bucket": 92})
    assert json.loads(out.stdout.getvalue()) == {"nodeId": "node-0", "bucket": 92}  # type: ignore[attr-defined]
    assert out.stderr.getvalue() == "reading ids.txt\n"  # type: ignore[attr-defined]


def test_quiet_silences_info_but_not_warnings() -> None:
    out = Output(stdout=io.StringIO(), stderr=io.StringIO(), quiet=True)
    out.info("progress")
    out.warn("the updater never updates 5% of nodes")
    assert out.stderr.getvalue() == "warning: the updater never updates 5% of nodes\n"  # type: ignore[attr-defined]


@pytest.mark.parametrize("tty", [False, True])
@pytest.mark.parametrize("data", ["[bold]node-1[/bold]", "[/]", "[red]", "a[b]c"])
def test_text_is_never_markup(data: str, tty: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    stream = Terminal() if tty else io.StringIO()
    out = Output(stdout=stream, stderr=Terminal() if tty else io.StringIO())
    out.text(data)
    out.table(("node",), [(data,)], title=data)
    out.warn(data)
    shown = out.stdout.getvalue()  # type: ignore[attr-defined]
    assert shown.splitlines()[0] == data
    assert shown.count(data) == 3  # the line, the title and the cell
    assert data in out.stderr.getvalue()  # type: ignore[attr-defined]


def test_a_style_is_dropped_when_piped_and_drawn_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = Output(stdout=io.StringIO(), stderr=io.StringIO())
    out.text("verdict: ok", style="bold green")
    assert out.stdout.getvalue() == "verdict: ok\n"  # type: ignore[attr-defined]
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    out = Output(stdout=Terminal(), stderr=io.StringIO())
    out.text("verdict: ok", style="bold green")
    assert out.stdout.getvalue() == "\x1b[1;32mverdict: ok\x1b[0m\n"  # type: ignore[attr-defined]


def test_a_piped_warning_shows_brackets_after_its_label() -> None:
    out = Output(stdout=io.StringIO(), stderr=io.StringIO())
    out.warn("[bold]5%[/bold] of nodes")
    out.error("no [red]chain[/red]")
    assert out.stderr.getvalue() == (  # type: ignore[attr-defined]
        "warning: [bold]5%[/bold] of nodes\nerror: no [red]chain[/red]\n"
    )


def test_plain_table_pads_every_column_but_the_last() -> None:
    assert plain_table(("a", "bb"), [("xyz", "1")]) == "a    bb\nxyz  1"


def test_a_cell_of_several_lines_is_one_line_each_on_a_terminal_and_commas_piped() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    rows = [("tags", ("r/i:1.4.0-all", "r/i:latest-all", "evil\nforged"))]
    screen = Terminal()
    Output(stdout=screen, stderr=io.StringIO()).table(("setting", "value"), rows)
    lines = [line for line in screen.getvalue().splitlines() if "r/i" in line or "evil" in line]
    assert len(lines) == 3, screen.getvalue()  # one per tag; the newline inside one escaped
    assert "evil\\nforged" in lines[2]
    piped = io.StringIO()
    Output(stdout=piped, stderr=io.StringIO()).table(("setting", "value"), rows)
    assert piped.getvalue().splitlines()[1] == (
        "tags     r/i:1.4.0-all, r/i:latest-all, evil\\nforged"
    )
