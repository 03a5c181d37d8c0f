"""Outputs: every command that writes a file (``report -o``, ``network --graphml``, ``lut build``,
``lut calibrate``, ``lut predict -o``, ``lut validate --report``, ``lut calibrate-sum``'s table) refuses
an output that is also one of its inputs (by path, through a symlink, through a hard link), an empty
path, a folder that does not exist and what is not a regular file, before any work and with one line;
writes through a symlink (the link stays), keeps an existing file's permissions; and SIGTERM or SIGINT
at any moment (random points of a real ``report`` and ``lut build``, and exactly while the temporary
file is being written) leaves the previous output byte for byte and no temporary file, and no
measuring worker behind. A measuring worker that dies is one line with its signal and what it was
doing; ``--threads`` is bounded by the CPUs.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from attncost.cli.main import cli
from attncost.io import atomic_write, temporary_files

ROOT = Path(__file__).parents[2]
TINY = ROOT / "specs" / "singlepath-tiny.yaml"
PROFILE = {"format": "attncost-device-profile", "version": 1, "name": "test", "macs_per_s": 2e10,
           "other_ops_per_s": 4e9, "bytes_per_s": 1.2e10, "seconds_per_op": 6e-6}
SMALL_REPORT = "title: small\nmodules: [se, eca]\nshapes: [64x8x8]\nsweep: {channels: [64], range: [7, 20]}\n"
QUICK_BUILD = ("--repeats", "5", "--warmup", "1", "--calibrate-archs", "2")
PREVIOUS = "the previous output, which must survive\n"
SEED = int(os.environ.get("ATTNCOST_FUZZ_SEED", "0"))


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def folder(tmp_path):
    """A folder with a space, a profile, a table (predicted, relabelled as measured), a network spec,
    a report spec and a validation report: every kind of input."""
    from attncost.lut.predict import predict_table
    from attncost.lut.space import load_space

    (tmp_path / "space.yaml").write_text(TINY.read_text())
    (tmp_path / "profile.json").write_text(json.dumps(PROFILE))
    data = json.loads(predict_table(load_space(TINY), PROFILE).text())
    data.update({"timing": "in-context", "threads": 1})
    (tmp_path / "table.json").write_text(json.dumps(data))
    (tmp_path / "net.yaml").write_text("network: resnet18\nattention: {module: se, where: every_block}\n")
    (tmp_path / "report.yaml").write_text("title: r\nnetworks: [resnet18, net.yaml]\nlatency: {lut: table.json}\n")
    return tmp_path


def _state(folder: Path) -> dict:
    return {p.name: (p.is_symlink(), p.read_bytes() if p.is_file() else None, p.stat().st_mode if p.exists() else None)
            for p in sorted(folder.iterdir())}


def _refused(result, *words):
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert all(word in lines[0] for word in words), (words, lines[0])


#: command lines writing OUT, each with the inputs it reads (file names in ``folder``)
WRITERS = {
    "report": lambda out: ["report", "report.yaml", "-o", out],
    "report --lut": lambda out: ["report", "--lut", "table.json", "-o", out],
    "network --graphml": lambda out: ["network", "net.yaml", "--graphml", out],
    "lut build": lambda out: ["lut", "build", "space.yaml", "-o", out],
    "lut predict": lambda out: ["lut", "predict", "space.yaml", "--device-profile", "profile.json", "-o", out],
    "lut calibrate": lambda out: ["lut", "calibrate", "table.json", "-o", out],
    "lut validate": lambda out: ["lut", "validate", "table.json", "--report", out],
}
SAME_AS_INPUT = [
    ("report", "report.yaml"), ("report", "net.yaml"), ("report", "table.json"), ("report --lut", "table.json"),
    ("network --graphml", "net.yaml"), ("lut build", "space.yaml"), ("lut predict", "space.yaml"),
    ("lut predict", "profile.json"), ("lut calibrate", "table.json"), ("lut validate", "table.json"),
]


@pytest.mark.parametrize("command, target", SAME_AS_INPUT, ids=[f"{c}-{t}" for c, t in SAME_AS_INPUT])
@pytest.mark.parametrize("how", ["path", "symlink", "hard-link", "dotted-path"])
def test_output_that_is_an_input_is_refused(folder, monkeypatch, fuzz_cases, command, target, how):
    fuzz_cases["output: is an input (in-process)"] += 1
    monkeypatch.chdir(folder)
    out = {"path": target, "dotted-path": f"./sub/../{target}"}.get(how, "alias.out")
    (folder / "sub").mkdir()
    if how == "symlink":
        os.symlink(target, folder / out)
    elif how == "hard-link":
        os.link(folder / target, folder / out)
    before = _state(folder)
    _refused(run(*WRITERS[command](out)), "is also the input", target if how != "path" else out)
    assert _state(folder) == before


@pytest.mark.parametrize("command", list(WRITERS))
@pytest.mark.parametrize("out, words", [
    ("", ("the output path is empty", "nothing written")),
    ("   ", ("the output path is empty",)),
    ("no-such-folder/out.file", ("no-such-folder", "does not exist", "nothing written")),
    ("/dev/null", ("/dev/null", "character device", "not a regular file")),
    ("a-folder/", ("a-folder",)),
    ("a-folder", ("a-folder",)),
    ("a-fifo", ("a-fifo", "FIFO", "not a regular file")),
], ids=["empty", "blank", "no-folder", "device", "folder-slash", "folder", "fifo"])
def test_unwritable_output_is_refused_before_any_work(folder, monkeypatch, fuzz_cases, command, out, words):
    fuzz_cases["output: cannot be written (in-process)"] += 1
    monkeypatch.chdir(folder)
    (folder / "a-folder").mkdir()
    os.mkfifo(folder / "a-fifo")
    before = _state(folder)
    started = time.monotonic()
    _refused(run(*WRITERS[command](out)), *words)
    assert time.monotonic() - started < 10                   # refused before measuring or walking
    assert _state(folder) == before and not (folder / "no-such-folder").exists()


def test_calibrate_sum_checks_its_table_is_writable(folder, fuzz_cases):
    fuzz_cases["output: cannot be written (in-process)"] += 1
    _refused(run("lut", "calibrate-sum", "/dev/null"), "/dev/null", "not a regular file")


def test_symlink_is_written_through_and_permissions_are_kept(folder, monkeypatch, fuzz_cases):
    fuzz_cases["output: written right (in-process)"] += 3
    monkeypatch.chdir(folder)
    (folder / "real.json").write_text(PREVIOUS)
    os.symlink("real.json", folder / "link.json")
    os.chmod(folder / "real.json", 0o640)
    assert run(*WRITERS["lut predict"]("link.json")).exit_code == 0
    assert (folder / "link.json").is_symlink() and os.readlink(folder / "link.json") == "real.json"
    assert json.loads((folder / "real.json").read_text())["format"] == "attncost-lut"
    assert (folder / "real.json").stat().st_mode & 0o777 == 0o640
    (folder / "page.html").write_text(PREVIOUS)
    os.chmod(folder / "page.html", 0o640)
    assert run("report", "--lut", "table.json", "-o", "page.html").exit_code == 0
    assert (folder / "page.html").stat().st_mode & 0o777 == 0o640 and "<html" in (folder / "page.html").read_text()
    umask = os.umask(0o022)
    try:
        assert run(*WRITERS["lut predict"]("new.json")).exit_code == 0
    finally:
        os.umask(umask)
    assert (folder / "new.json").stat().st_mode & 0o777 == 0o644          # 0666 & ~umask, not mkstemp's 0600
    assert temporary_files(folder) == []


def test_a_dangling_symlink_gets_its_target(folder, monkeypatch):
    monkeypatch.chdir(folder)
    os.symlink("made.json", folder / "dangling.json")
    assert run(*WRITERS["lut predict"]("dangling.json")).exit_code == 0
    assert (folder / "dangling.json").is_symlink() and (folder / "made.json").is_file()


# -- signals ------------------------------------------------------------------------------------------

def _environment() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTNCOST_")}
    env["ATTNCOST_PROGRESS"] = "1"        # progress lines as on a terminal: the first one says the run started
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _children(pid: int) -> list:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except OSError:
        pass
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _start(argv, cwd, prelude: str = ""):
    """``attncost ARGV`` as a real process (``prelude``: Python run in it first, e.g. a patch). Its SIGINT
    is Python's usual KeyboardInterrupt, as in a terminal, even where the suite itself was started in
    the background by a shell without job control (which starts it, and so this child, with SIGINT
    ignored)."""
    code = (f"import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); {prelude}\n"
            f"from attncost.cli.main import main; sys.argv = ['attncost'] + {list(argv)!r}; main()")
    return subprocess.Popen([sys.executable, "-c", code], cwd=cwd, env=_environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(process, timeout=60):
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("the process hung after the signal")
    return process.returncode, out, err


def _check_after(folder: Path, output: Path, code: int, signum: int, complete, workers=()) -> str:
    """The output is the previous one (or, where the signal came after the rename, a complete new
    one); no temporary file; no worker alive; the process ended by the signal (SIGTERM) or with
    'Aborted.' (SIGINT), unless it had finished."""
    assert temporary_files(folder) == [], temporary_files(folder)
    assert not [w for w in workers if _alive(w)], "a measuring worker outlived its parent"
    text = output.read_text()
    if code == 0:
        assert complete(text)
        return "finished"
    assert code == (-signal.SIGTERM if signum == signal.SIGTERM else 1), code
    assert text == PREVIOUS or complete(text)
    return "kept" if text == PREVIOUS else "written"


def _complete_html(text: str) -> bool:
    return text.rstrip().endswith("</html>")


def _complete_table(text: str) -> bool:
    return json.loads(text)["format"] == "attncost-lut"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("command", ["report", "lut build"])
def test_signal_at_random_points_keeps_the_previous_output(tmp_path, fuzz_cases, command, signum):
    """Two random moments in a real run (seeded: ATTNCOST_FUZZ_SEED) of ``report`` on a small spec
    and ``lut build`` of the tiny space."""
    (tmp_path / "small.yaml").write_text(SMALL_REPORT)
    (tmp_path / "space.yaml").write_text(TINY.read_text())
    output = tmp_path / ("page.html" if command == "report" else "table.json")
    argv = (["report", "small.yaml", "-o", output.name] if command == "report"
            else ["lut", "build", "space.yaml", "-o", output.name, *QUICK_BUILD])
    complete = _complete_html if command == "report" else _complete_table
    rng = random.Random(f"{SEED}-{command}-{signum}")
    outcomes = []
    duration = 1.0 if command == "report" else 2.0      # about how long a run takes here after its first line
    for delay in sorted(rng.uniform(0.0, duration) for _ in range(2)):
        fuzz_cases[f"output: {signal.Signals(signum).name} during {command} (process)"] += 1
        output.write_text(PREVIOUS)
        process = _start(argv, tmp_path)
        first = process.stderr.readline()                 # the run has started (Python and attncost loaded)
        assert first, "the process printed nothing"
        deadline, workers = time.monotonic() + delay, set()
        while time.monotonic() < deadline and process.poll() is None:
            workers.update(_children(process.pid))
            time.sleep(0.02)
        workers.update(_children(process.pid))
        process.send_signal(signum)
        code, _, err = _finish(process)
        time.sleep(0.1)
        outcomes.append(_check_after(tmp_path, output, code, signum, complete, workers))
        err = first + err
        assert "Traceback" not in err, err
    assert "kept" in outcomes or "finished" in outcomes


SLOW_FSYNC = ("import os, time, attncost.io as io; _fsync = os.fsync\n"
              "def slow(fd):\n    print('WRITING', flush=True); time.sleep(30); _fsync(fd)\n"
              "io.os.fsync = slow")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("command", ["report", "lut predict"])
def test_signal_while_the_temporary_file_is_written(tmp_path, fuzz_cases, command, signum):
    """The signal arrives exactly while the temporary file exists (its fsync held for 30 s): the
    temporary file is removed, the previous output stays, the process ends by the signal."""
    fuzz_cases[f"output: {signal.Signals(signum).name} while writing (process)"] += 1
    (tmp_path / "small.yaml").write_text(SMALL_REPORT)
    (tmp_path / "space.yaml").write_text(TINY.read_text())
    (tmp_path / "profile.json").write_text(json.dumps(PROFILE))
    output = tmp_path / "out.file"
    output.write_text(PREVIOUS)
    argv = (["report", "small.yaml", "-o", output.name] if command == "report"
            else ["lut", "predict", "space.yaml", "--device-profile", "profile.json", "-o", output.name])
    process = _start(argv, tmp_path, SLOW_FSYNC)
    assert process.stdout.readline().strip() == "WRITING"
    assert len(temporary_files(tmp_path)) == 1                    # the temporary file is there now
    process.send_signal(signum)
    code, _, err = _finish(process, timeout=20)
    assert code == (-signal.SIGTERM if signum == signal.SIGTERM else 1), (code, err)
    assert output.read_text() == PREVIOUS and temporary_files(tmp_path) == []
    assert "Traceback" not in err and (signum != signal.SIGINT or err.strip().endswith("Aborted."))


def test_ctrl_c_after_the_command_ended_changes_nothing(tmp_path, fuzz_cases):
    """SIGINT in the moment between the command's end (its output written) and the process's exit:
    the exit status stays the command's (0) instead of the process dying of SIGINT (-2). Held open
    here by a sleep after ``main()`` returns, where the real entry point exits at once."""
    fuzz_cases["output: SIGINT after the command ended (process)"] += 1
    (tmp_path / "space.yaml").write_text(TINY.read_text())
    (tmp_path / "profile.json").write_text(json.dumps(PROFILE))
    argv = ["lut", "predict", "space.yaml", "--device-profile", "profile.json", "-o", "table.json"]
    code = (f"import signal, sys, time; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            f"from attncost.cli.main import main; sys.argv = ['attncost'] + {argv!r}; main()\n"
            "sys.stderr.write('RETURNED\\n'); sys.stderr.flush(); time.sleep(2)")
    process = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=_environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while (line := process.stderr.readline()) and line.strip() != "RETURNED":
        pass
    assert line.strip() == "RETURNED"
    process.send_signal(signal.SIGINT)
    code, _, err = _finish(process, timeout=20)
    assert code == 0, (code, err)
    assert _complete_table((tmp_path / "table.json").read_text())


def test_atomic_write_failure_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text(PREVIOUS)

    def broken(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("attncost.io.os.fsync", broken)
    with pytest.raises(Exception, match="No space left on device"):
        atomic_write(target, "new text", "-o")
    assert target.read_text() == PREVIOUS and temporary_files(tmp_path) == []


# -- the measuring worker -----------------------------------------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGSEGV, signal.SIGKILL], ids=["SIGSEGV", "SIGKILL"])
def test_a_worker_that_dies_is_one_line(tmp_path, fuzz_cases, signum):
    fuzz_cases["worker: dies (process)"] += 1
    (tmp_path / "space.yaml").write_text(TINY.read_text())
    output = tmp_path / "table.json"
    output.write_text(PREVIOUS)
    process = _start(["lut", "build", "space.yaml", "-o", output.name, "--repeats", "200"], tmp_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _children(process.pid):
        time.sleep(0.02)
    worker = _children(process.pid)[0]
    time.sleep(1.0)                                               # into the measurement
    os.kill(worker, signum)
    code, _, err = _finish(process)
    lines = [line for line in err.strip().splitlines() if not line.startswith(("  round", "measuring"))]
    name = signal.Signals(signum).name
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith(f"Error: measurement worker died of {name} (signal {int(signum)}) while "), lines[0]
    assert "Traceback" not in err and output.read_text() == PREVIOUS and temporary_files(tmp_path) == []


def test_threads_are_bounded(folder, fuzz_cases):
    fuzz_cases["worker: threads out of range (in-process)"] += 3
    result = run("lut", "build", folder / "space.yaml", "-o", folder / "t.json", "--threads", "100000")
    _refused(result, "--threads", "100000")
    data = json.loads((folder / "table.json").read_text())
    data["threads"] = os.cpu_count() + 1                 # a valid table measured on a larger machine
    (folder / "big.json").write_text(json.dumps(data))
    _refused(run("lut", "calibrate-sum", folder / "big.json"), "big.json", f"{os.cpu_count() + 1} threads")
    _refused(run("lut", "validate", folder / "big.json"), "big.json", "give --threads")
    assert not (folder / "t.json").exists()
