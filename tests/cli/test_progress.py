"""Progress lines: rewritten in place on a terminal, absent in a pipe, forced by ATTNCOST_PROGRESS;
the estimate is the mean time per finished step times the steps left (a fake clock: no waiting)."""

from __future__ import annotations

import io

import pytest

from attncost.cli.progress import ENVIRONMENT, Progress, mode


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def _unforced(monkeypatch):
    monkeypatch.delenv(ENVIRONMENT, raising=False)


def test_a_pipe_gets_nothing():
    stream = io.StringIO()
    progress = Progress(3, stream)
    for name in ("se", "eca", "cbam"):
        progress.step(f"verifying {name}")
    progress.note("a phase")
    progress.done()
    assert stream.getvalue() == ""


def test_a_terminal_gets_one_line_rewritten_with_an_estimate():
    stream, clock = Terminal(), Clock()
    progress = Progress(4, stream, clock)
    progress.step("verifying se")             # nothing finished yet: no estimate
    clock.now += 30                           # the first step took 30 s
    progress.step("verifying eca")
    text = stream.getvalue()
    assert text.startswith("\r[1/4] verifying se  0:00 elapsed")
    # 30 s for 1 step, 3 steps left: 90 s = 1:30
    assert "\r[2/4] verifying eca  0:30 elapsed, ~1:30 left" in text
    assert "\n" not in text
    progress.done()
    assert stream.getvalue().endswith("\r")


def test_forced_lines_for_logs(monkeypatch):
    monkeypatch.setenv(ENVIRONMENT, "1")
    stream, clock = io.StringIO(), Clock()
    progress = Progress(2, stream, clock)
    progress.step("a")
    clock.now += 3725                         # 1 h 2 min 5 s
    progress.step("b")
    # 3725 s per step, 1 step left
    assert stream.getvalue().splitlines() == ["[1/2] a  0:00 elapsed", "[2/2] b  1:02:05 elapsed, ~1:02:05 left"]


def test_forced_off_on_a_terminal(monkeypatch):
    monkeypatch.setenv(ENVIRONMENT, "0")
    assert mode(Terminal()) == "off"
    monkeypatch.delenv(ENVIRONMENT)
    assert mode(Terminal()) == "terminal"


def test_verify_and_lut_say_nothing_of_progress_off_a_terminal(monkeypatch):
    from click.testing import CliRunner

    from attncost.cli.main import cli

    result = CliRunner().invoke(cli, ["verify", "se", "--samples", "1", "--no-symbolic"])
    assert result.exit_code == 0 and "verifying" not in result.stderr and "pass" in result.stdout
    monkeypatch.setenv(ENVIRONMENT, "1")
    result = CliRunner().invoke(cli, ["verify", "se", "--samples", "1", "--no-symbolic"])
    assert result.exit_code == 0 and "[1/1] verifying se" in result.stderr
