"""Every command through click's CliRunner, bad input included, and no torch for formula commands."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from attncost.cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_compare_table_and_ratio():
    result = run("compare", "se", "eca", "cbam", "--shape", "256x14x14")
    assert result.exit_code == 0
    assert "flops_vs_first" in result.output and "convention: full" in result.output


def test_compare_json_numbers_match_hand_derivation():
    result = run("compare", "se", "eca", "--shape", "2x256x14x14", "--format", "json", "--convention", "macs")
    data = json.loads(result.output)
    se, eca = data["rows"]
    assert se["params"] == 8464                   # 2*256*16 + 16 + 256
    assert se["macs"] == se["flops"] == 2 * 8192   # batch 2, macs convention
    assert eca["params"] == 5                     # k = 5 at C = 256
    assert data["convention"] == "macs"


def test_compare_csv_and_markdown():
    assert run("compare", "se", "--shape", "64x8x8", "--format", "csv").output.startswith("module,params,macs")
    assert run("compare", "se", "--shape", "64x8x8", "--format", "markdown").output.startswith("| module")


def test_compare_hyperparameter_and_dtype():
    data = json.loads(run("compare", "se", "--shape", "256x7x7", "--hp", "se.r=8", "--dtype", "float16",
                          "--format", "json").output)
    assert data["rows"][0]["params"] == 2 * 256 * 32 + 32 + 256
    assert data["rows"][0]["attention_map_bytes"] == 256 * 2


@pytest.mark.parametrize("args", [
    ["compare", "se", "--shape", "256x14"],
    ["compare", "se", "--shape", "abc"],
    ["compare", "se", "--shape", "0x14x14"],
    ["compare", "se", "--shape", "-3x14x14"],
    ["compare", "sqeeze", "--shape", "256x14x14"],
    ["compare", "se", "--shape", "256x14x14", "--hp", "se.r=0"],
    ["compare", "eca", "--shape", "256x14x14", "--hp", "eca.k=4"],
    ["compare", "se", "--shape", "8x14x14"],
    ["compare", "se", "--shape", "64x14x14", "--hp", "r=4"],
    ["compare", "se", "--shape", "64x14x14", "--hp", "se.r=abc"],
    ["formula", "nonlocal", "--hp", "mode=cosine"],
    ["list", "zzz*"],
])
def test_bad_input_is_one_line_and_exit_2(args):
    proc = subprocess.run([sys.executable, "-m", "attncost.cli", *args], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_unknown_module_suggests():
    proc = subprocess.run([sys.executable, "-m", "attncost.cli", "compare", "cbma", "--shape", "64x8x8"],
                          capture_output=True, text=True)
    assert "did you mean 'cbam'" in proc.stderr


def test_formula_leading_terms():
    assert "C*H**2*N*W**2/4" in run("formula", "nonlocal", "--leading").output
    assert "98*H*N*W" in run("formula", "cbam-spatial", "--leading").output
    assert "C*N*k" in run("formula", "eca", "--leading").output
    latex = run("formula", "se", "--latex").output
    assert "\\left\\lfloor" in latex


def test_list_shows_families_and_papers():
    output = run("list").output
    assert "Squeeze-and-Excitation Networks" in output and "self-attention" in output
    assert run("list", "cbam*").output.count("cbam") >= 3


@pytest.mark.parametrize("command", [
    "from attncost.cli.main import cli; cli(['compare','se','eca','cbam','--shape','256x14x14'])",
    "from attncost.cli.main import cli; cli(['formula','nonlocal','--leading'])",
    "from attncost.cli.main import cli; cli(['list'])",
    "from attncost.cli.main import cli; cli(['crossover','nonlocal','ccnet','--shape','512xHxW','--range','2','64'])",
    "from attncost.cli.main import cli; cli(['network','resnet50','--attn','cbam','--group-by','kind'])",
])
def test_formula_commands_do_not_import_torch(command):
    code = (f"import sys\ntry:\n    {command}\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "assert 'torch' not in sys.modules, 'torch was imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_verify_command_passes_and_fails_loudly(monkeypatch):
    result = run("verify", "se", "eca", "--samples", "3")
    assert result.exit_code == 0 and result.output.count("pass") == 2

    from attncost.cost import Cost
    from attncost.catalogue import registry

    entry = registry.REGISTRY["se"]
    broken = entry.program

    def wrong(g, x, **hp):          # drops the sigmoid gate's multiply from the formula
        out = broken(g, x, **hp)
        g._counts["elementwise.mul"] = 0
        return out

    monkeypatch.setitem(registry.REGISTRY, "se", registry.Entry(**{**entry.__dict__, "program": wrong}))
    registry._run.cache_clear()
    result = CliRunner().invoke(cli, ["verify", "se", "--samples", "2", "--no-symbolic"])
    registry._run.cache_clear()
    assert result.exit_code == 1 and "FAIL" in result.output
    assert Cost  # imported for the type only


def test_network_command_reports_paper_figures(tmp_path):
    out = tmp_path / "graph.graphml"
    result = run("network", "resnet50-v1", "--attn", "cbam", "--convention", "macs", "--format", "json",
                 "--graphml", str(out))
    data = json.loads(result.output)
    assert data["params"] == "28,089,624" and data["macs"] == "3,864,362,102"
    assert {row["stage"] for row in data["rows"]} == {"stem", "stage1", "stage2", "stage3", "stage4", "head"}
    import networkx as nx

    graph = nx.read_graphml(out)
    assert sum(int(d["macs"]) for _, d in graph.nodes(data=True)) == 3_864_362_102


def test_crossover_command():
    result = run("crossover", "nonlocal", "ccnet", "--shape", "512xHxW", "--range", "2", "100")
    assert "crossing: H = 44" in result.output
    assert "128*t**2*(t**2 - 18*t - 1024)" in result.output


@pytest.mark.parametrize("name", ["sk", "split-attention", "ccnet", "nonlocal", "mbconv", "ge-theta"])
def test_leading_terms_for_entries_with_maxima_and_floors(name):
    result = run("formula", name, "--leading")
    assert result.exit_code == 0 and "macs" in result.output


def test_network_says_why_a_resnet_differs_from_papers():
    """Moving the stride from the 3x3 to the first 1x1 of the first bottleneck of stages 2-4 computes
    conv1 (C_in x width, 1x1) at a quarter of the positions: 256*128*(56^2-28^2) + 512*256*(28^2-14^2)
    + 1024*512*(14^2-7^2) = 3 * 77,070,336 MACs fewer."""
    data = json.loads(run("network", "resnet50", "--convention", "macs", "--format", "json").output)
    v15 = int(data["macs"].replace(",", ""))
    v1 = v15 - 3 * 77_070_336
    assert f"MACs would be {v1:,} (-0.231 G)" in data["note"] and "conv+FC MACs" in data["note"]
