"""``attncost report``: from a spec or from options, progress on stderr, one-line errors with exit
code 2 and no output file left behind, and no torch imported."""

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from attncost.cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_report_from_options_shows_progress_only_where_asked(tmp_path, monkeypatch):
    out = tmp_path / "quick.html"
    monkeypatch.setenv("ATTNCOST_PROGRESS", "1")          # as on a terminal (CliRunner's stderr is none)
    result = run("report", "--modules", "se,eca", "--shape", "64x14x14", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "[1/" in result.output and "elapsed" in result.output and f"wrote {out}" in result.output
    monkeypatch.delenv("ATTNCOST_PROGRESS")               # not a terminal: the result line only
    result = run("report", "--modules", "se,eca", "--shape", "64x14x14", "-o", str(out))
    assert result.exit_code == 0 and result.output.strip() == f"wrote {out}"
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<math" in html and "plotly-graph-div" in html


@pytest.mark.parametrize("text, line", [
    ("modules: [se, cbma]\nshapes: [64x8x8]\n", 1),
    ("modules: [se]\nshapes: [64x8x8]\nunknown_key: 1\n", 3),
    ("modules: [se]\nshapes:\n  - 64x8xq\n", 3),
])
def test_bad_spec_is_one_line_exit_2_and_leaves_no_file(tmp_path, text, line):
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    out = tmp_path / "bad.html"
    result = run("report", str(spec), "-o", str(out))
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and result.output.startswith(f"Error: {spec}:{line}:")
    assert not out.exists() and list(tmp_path.iterdir()) == [spec]


def test_a_failure_while_rendering_leaves_the_old_file_untouched(tmp_path, monkeypatch):
    """The page is written atomically: a step that fails half-way leaves the previous report as it was."""
    from attncost.report import modules

    out = tmp_path / "page.html"
    out.write_text("previous report")

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(modules, "op_kinds_and_memory", broken)
    result = run("report", "--modules", "se", "--shape", "64x8x8", "-o", str(out))
    assert result.exit_code != 0
    assert out.read_text() == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


@pytest.mark.parametrize("args, message", [
    ([], "give a report SPEC file"),
    (["--modules", "se"], "--modules needs at least one --shape"),
    (["--modules", "se", "--shape", "64x8"], "must be CxHxW"),
    (["--modules", "sqeeze", "--shape", "64x8x8"], "did you mean"),
    (["--modules", "eca", "--shape", "64x8x8", "-o", "/nonexistent/folder/x.html"], "does not exist"),
])
def test_bad_options_exit_2(tmp_path, args, message):
    result = run("report", *args)
    assert result.exit_code == 2 and message in result.output


def test_report_does_not_import_torch(tmp_path):
    out = tmp_path / "r.html"
    code = ("import sys\nfrom attncost.cli.main import cli\ntry:\n"
            f"    cli(['report','--modules','se,cbam','--shape','64x8x8','--networks','resnet18','-o',{str(out)!r}])\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            "assert 'torch' not in sys.modules, 'torch was imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert out.exists()


def test_default_output_goes_to_reports(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    spec = tmp_path / "review.yaml"
    spec.write_text("modules: [se]\nshapes: [64x8x8]\n")
    assert run("report", str(spec)).exit_code == 0
    assert (tmp_path / "reports" / "review.html").exists()
    assert Path(tmp_path / "reports" / "review.html").stat().st_mode & 0o044   # readable by others, as files are


def test_same_inputs_same_bytes_across_processes(tmp_path):
    """Two processes with different hash seeds write byte-identical pages (no timestamps, no ids
    from uuid, no set order leaking into the output)."""
    import os

    pages = []
    for seed in ("1", "2"):
        out = tmp_path / f"r{seed}.html"
        proc = subprocess.run([sys.executable, "-m", "attncost.cli", "report", "--modules", "se,cbam,nonlocal",
                               "--shape", "64x16x16", "--networks", "resnet18", "-o", str(out)],
                              capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed})
        assert proc.returncode == 0, proc.stderr
        pages.append(out.read_bytes())
    assert pages[0] == pages[1]


def test_latency_only_report_from_options(tmp_path):
    import json

    lut = tmp_path / "sp.json"
    lut.write_text(json.dumps({"0": {"0": 1.5, "1": 1.5}, "1": {"0": 0.5, "1": 0.75}}))
    measured = tmp_path / "m.json"
    measured.write_text(json.dumps([{"name": "a", "predicted_ms": 9.0, "measured_ms": 10.0}]))
    out = tmp_path / "latency.html"
    result = run("report", "--lut", str(lut), "--measurements", str(measured), "-o", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "<title>attncost report: latency</title>" in page and '"type": "heatmap"' in page
    assert '<td class="text">10.00%</td>' in page.split('id="latency"')[1]          # MAPE |9 - 10| / 10
