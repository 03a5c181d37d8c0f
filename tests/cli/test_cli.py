"""Every command through click's CliRunner, bad input included, and no torch for formula commands."""

import json
import subprocess
import sys

import pytest
import sympy
from click.testing import CliRunner

from attncost.cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_compare_table_and_ratio():
    result = run("compare", "se", "eca", "cbam", "--shape", "256x14x14", "--units", "exact")
    assert result.exit_code == 0
    assert "convention: full" in result.output
    # Full-convention FLOPs by hand at C = 256, HW = 196 (2 per MAC, 1 per bias add, pooled, reduced,
    # ReLU, sigmoid or multiplied element; batch norm 2 + affine 2 per element):
    # SE (r = 16): FCs 2 * 8192, biases 16 + 256, pool 50176, ReLU 16, sigmoid 256, rescale 50176
    se = 2 * 8192 + 272 + 50176 + 16 + 256 + 50176
    # ECA (k = 5, no bias): pool 50176, conv1d 2 * 5 * 256, sigmoid 256, rescale 50176
    eca = 50176 + 2 * 5 * 256 + 256 + 50176
    # CBAM: channel gate avg and max pool 2 * 50176, shared MLP on both 2 * (2 * 8192 + 272 + 16), sum 256,
    # sigmoid 256, rescale 50176; spatial gate max and mean over C 2 * 50176, 7x7 conv 2 -> 1 2 * 98 * 196,
    # BN 4 * 196, sigmoid 196, rescale 50176
    cbam = (2 * 50176 + 2 * (2 * 8192 + 272 + 16) + 256 + 256 + 50176
            + 2 * 50176 + 2 * 98 * 196 + 4 * 196 + 196 + 50176)
    assert (se, eca, cbam) == (117_280, 103_168, 374_308)
    header, _, *rows = [line.split() for line in result.output.splitlines()[:5]]
    flops = header.index("flops")
    assert header[-1] == "flops/first"
    # ratios with 3 significant digits: 103,168 / 117,280 = 0.8797 -> 0.880; 374,308 / 117,280 = 3.192 -> 3.19
    assert [(r[0], r[flops], r[-1]) for r in rows] == [
        ("se", f"{se:,}", "1.00"), ("eca", f"{eca:,}", "0.880"), ("cbam", f"{cbam:,}", "3.19")]
    # in human units (the default) SE's FLOPs are 117,280 / 1000 = 117.28 -> 117.3 K
    assert "117.3 K" in run("compare", "se", "eca", "cbam", "--shape", "256x14x14").output


def test_compare_json_numbers_match_hand_derivation():
    result = run("compare", "se", "eca", "--shape", "2x256x14x14", "--format", "json", "--convention", "macs")
    data = json.loads(result.output)
    se, eca = data["rows"]
    assert se["params"] == 8464                   # 2*256*16 + 16 + 256
    assert se["macs"] == se["flops"] == 2 * 8192   # batch 2, macs convention
    assert eca["params"] == 5                     # k = 5 at C = 256
    assert data["convention"] == "macs"


def test_compare_csv_and_markdown():
    # SE at C = 64, 8x8, r = 16 (hidden 4): params 2*64*4 + 4 + 64 = 580, MACs 2*64*4 = 512; full FLOPs
    # 2*512 + 68 bias adds + 4096 pooled + 4 ReLU + 64 sigmoid + 4096 rescaled = 9352; the attention
    # map is the 64 channel weights, 256 bytes in float32
    csv = [line for line in run("compare", "se", "--shape", "64x8x8", "--format", "csv").output.splitlines()
           if not line.startswith("#")]
    assert csv[0].startswith("module,params,macs,flops,")
    row = dict(zip(csv[0].split(","), csv[1].split(",")))
    assert (row["module"], row["params"], row["macs"], row["flops"], row["attention_map_bytes"]) == \
        ("se", "580", "512", "9352", "256")
    markdown = run("compare", "se", "--shape", "64x8x8", "--format", "markdown", "--units", "exact").output.splitlines()
    assert markdown[0].startswith("| module")
    assert [cell.strip() for cell in markdown[2].strip("|").split("|")][:4] == ["se", "580", "512", "9,352"]


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
    ["compare", "se", "eca", "--shape", "64x14x14", "--hp", "r=4"],    # two modules: NAME.KEY=VALUE
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
    rows = json.loads(run("list", "cbam*", "--format", "json").output)["rows"]
    # CBAM (Woo et al. 2018) and its two gates, on their own
    assert [(r["name"], r["family"]) for r in rows] == [("cbam", "spatial"), ("cbam-channel", "spatial"),
                                                        ("cbam-spatial", "spatial")]
    assert {r["paper"] for r in rows} == {"CBAM: Convolutional Block Attention Module (ECCV 2018)"}


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


RESNET50_PARAMS = 25_557_032          # torchvision's resnet50 model card (v1 and v1.5 alike)
RESNET50_V15_MACS = 4_089_184_256      # torchvision's resnet50 (v1.5): fvcore's count, the card's 4.09 "GFLOPS"
# v1 puts the stride of stages 2-4 on the first 1x1: 3 * 77,070,336 MACs fewer (see the last test)
RESNET50_V1_MACS = RESNET50_V15_MACS - 3 * 77_070_336
CBAM_BLOCKS = [(256, 56)] * 3 + [(512, 28)] * 4 + [(1024, 14)] * 6 + [(2048, 7)] * 3   # (C, H = W)


def test_network_command_reports_paper_figures(tmp_path):
    # CBAM (Woo et al., ECCV 2018) Table 4: ResNet50 + CBAM 28.09M params, 3.864 GFLOPs (conv+FC MACs).
    # Exactly, by hand, with CBAM in each of the 16 bottlenecks: channel attention is the shared MLP
    # C -> C/16 -> C with biases, run on the average- and the max-pooled vector (2 * 2 * C * C/16
    # MACs); spatial attention a 7x7 conv over [max; mean] (98 weights, 98 MACs per position) + BN.
    out = tmp_path / "graph.graphml"
    result = run("network", "resnet50-v1", "--attn", "cbam", "--convention", "macs", "--format", "json",
                 "--graphml", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    params = RESNET50_PARAMS + sum(2 * c * (c // 16) + c // 16 + c + 98 + 2 for c, _ in CBAM_BLOCKS)
    macs = RESNET50_V1_MACS + sum(2 * 2 * c * (c // 16) + 98 * h * h for c, h in CBAM_BLOCKS)
    assert (params, macs) == (28_089_624, 3_864_362_102)
    assert round(params / 1e6, 2) == 28.09 and round(macs / 1e9, 3) == 3.864          # the table's digits
    assert data["totals"]["params"] == params and data["totals"]["macs"] == macs
    assert [row["stage"] for row in data["rows"]] == ["stem", "stage1", "stage2", "stage3", "stage4", "head"]
    # the head: global pool, then fc 2048 -> 1000 with bias
    assert data["rows"][-1]["params"] == 2048 * 1000 + 1000 and data["rows"][-1]["macs"] == 2048 * 1000
    import networkx as nx

    graph = nx.read_graphml(out)
    assert sum(int(d["macs"]) for _, d in graph.nodes(data=True)) == macs


def test_crossover_command():
    result = run("crossover", "nonlocal", "ccnet", "--shape", "512xHxW", "--range", "2", "100")
    assert "crossing: H = 44" in result.output
    assert "128*t**2*(t**2 - 18*t - 1024)" in result.output


def _leading(name, quantity):
    """The expression ``attncost formula NAME --leading`` prints for ``quantity``."""
    result = run("formula", name, "--leading")
    assert result.exit_code == 0, result.output
    lines = [line.split(None, 1) for line in result.output.splitlines() if line.strip()]
    return sympy.sympify([rest for first, *rest in lines if first == quantity][0][0], locals=_SYMBOLS)


_C, _H, _N, _W, _groups, _r = sympy.symbols("C H N W groups r")
_SYMBOLS = {str(s): s for s in (_C, _H, _N, _W, _groups, _r)}          # N is sympy's N() otherwise


@pytest.mark.parametrize("name, macs", [
    # SK (M = 2 branches): two grouped 3x3 convs C -> C, C/groups inputs each: 2 * 9 C^2/groups per position
    ("sk", 18 * _C**2 * _N * _H * _W / _groups),
    # split-attention (radix 2, cardinality 1): one 3x3 conv C -> 2C in 2 groups: 2C * C/2 * 9 per position
    ("split-attention", 9 * _C**2 * _N * _H * _W),
    # CCNet, R = 2 recurrences: affinity over the H + W - 1 positions of the criss-cross with C/r query
    # channels, aggregation of C value channels: 2 * N H W (H + W) (C/r + C)
    ("ccnet", 2 * _C * _N * _H * _W * (_H + _W) * (_r + 1) / _r),
    # Non-local (embedded, C/2 inner channels, phi and g pooled to H W / 4): 2 * N H W * H W/4 * C/2
    ("nonlocal", _C * _N * _H**2 * _W**2 / 4),
    # MBConv (k3, expansion 6): expand C -> 6C, depthwise 6C * 9, project 6C -> C per position
    ("mbconv", (6 * _C * _C + 6 * _C * 9 + 6 * _C * _C) * _N * _H * _W),
    # GE-theta (global extent): a depthwise gather whose kernel is the whole map: C H W per sample
    ("ge-theta", _N * _C * _H * _W),
])
def test_leading_terms_for_entries_with_maxima_and_floors(name, macs):
    assert sympy.expand(_leading(name, "macs") - macs) == 0


def test_network_says_why_a_resnet_differs_from_papers():
    """Moving the stride from the 3x3 to the first 1x1 of the first bottleneck of stages 2-4 computes
    conv1 (C_in x width, 1x1) at a quarter of the positions: 256*128*(56^2-28^2) + 512*256*(28^2-14^2)
    + 1024*512*(14^2-7^2) = 3 * 77,070,336 MACs fewer."""
    data = json.loads(run("network", "resnet50", "--convention", "macs", "--format", "json").output)
    v15 = data["totals"]["macs"]
    assert v15 == RESNET50_V15_MACS
    v1 = v15 - 3 * 77_070_336
    assert f"MACs would be {v1:,} (-0.231 G)" in data["note"] and "conv+FC MACs" in data["note"]


@pytest.mark.parametrize("convention, expected", [
    # SE at C = 256, 14 x 14, r = 16 (by hand): FCs 2 * 256 * 16 = 8192 MACs
    ("macs", 8192),
    ("flopcounter", 2 * 8192),                               # torch's FlopCounterMode: 2 per MAC, nothing else
    # fvcore: MACs, plus adaptive_avg_pool2d at 1 per input element (256 * 196); sigmoid, mul, relu: 0
    ("fvcore", 8192 + 256 * 196),
    # full: 2 per MAC, 16 + 256 bias adds, pool 1 per input, ReLU 16, sigmoid 256, rescaling 256 * 196
    ("full", 2 * 8192 + (16 + 256) + 256 * 196 + 16 + 256 + 256 * 196),
])
def test_every_convention_is_a_cli_choice(convention, expected):
    """The four conventions of docs/CONVENTIONS.md are what ``--convention`` accepts, each weighs SE's
    counts as derived by hand, and any other value is a one-line error with exit code 2."""
    result = run("compare", "se", "--shape", "256x14x14", "--format", "json", "--convention", convention)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["convention"] == convention and data["rows"][0]["flops"] == expected


def test_an_unknown_convention_is_refused():
    result = CliRunner().invoke(cli, ["compare", "se", "--shape", "256x14x14", "--convention", "thop"])
    assert result.exit_code == 2
    assert "'thop' is not one of 'macs', 'fvcore', 'flopcounter', 'full'" in result.output


# -- nothing silently ignored: an option that would do nothing is a one-line error --------------------

def _error_line(args) -> str:
    """``attncost ARGS``'s one-line error (exit code 2, nothing on stdout)."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 2, (args, result.output)
    assert result.stdout == "", (args, result.stdout)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and len(lines[0]) <= 200, (args, result.stderr)
    return lines[0]


SPACE = "specs/singlepath-tiny.yaml"


@pytest.mark.parametrize("args, names", [
    # placements that insert nothing (checked by networks.with_attention, so spec files get them too)
    (["network", "resnet50", "--attn", "se", "--where", "after_stage", "--stages", "4"], ("after_stage", "last")),
    (["network", "resnet50", "--attn", "nonlocal", "--where", "after_blocks", "--stages", "3", "--blocks", "6"],
     ("blocks 0..5", "stage 3")),
    (["network", "resnet50", "--attn", "nonlocal", "--where", "after_blocks", "--blocks", "9"], ("block 9",)),
    (["network", "resnet50", "--attn", "nonlocal", "--where", "after_blocks", "--stages", "3,4", "--blocks", "4"],
     ("stage 4", "blocks 0..2")),
    (["network", "resnet50", "--attn", "se", "--stages", "5"], ("stages 1..4", "not 5")),
    (["network", "mobilenet-v2", "--attn", "se", "--stages", "8"], ("stages 1..7", "not 8")),
    (["network", "mnasnet-a1", "--attn", "se", "--stages", "0"], ("--stages",)),
    (["network", "resnet18", "--attn", "se", "--stages", "3,3"], ("more than once",)),
    (["network", "vit-b16", "--attn", "se"], ("vit-b16", "attention placements")),
    # option combinations
    (["network", "resnet50", "--attn", "se", "--blocks", "1"], ("--blocks", "after_blocks")),
    (["network", "resnet50", "--attn", "se", "--where", "after_blocks"], ("--blocks",)),
    (["network", "resnet50", "--stages", "3"], ("--stages", "--attn")),
    (["network", "resnet50", "--blocks", "1"], ("--blocks", "--attn")),
    (["network", "resnet50", "--where", "after_stage"], ("--where", "--attn")),
    (["network", "resnet50", "--where", "every_block"], ("--where", "--attn")),      # given, even as the default
    (["network", "resnet50", "--mode", "train-forward"], ("--mode",)),
    (["network", "resnet50", "--depth", "2", "--group-by", "kind"], ("--group-by", "--depth")),
    (["network", "resnet50", "--attn", "se,", "--stages", "3"], ("--attn", "empty name")),
    (["formula", "se", "--mode", "eval"], ("--mode",)),
    (["crossover", "nonlocal", "ccnet", "--shape", "256x14x14"], ("--shape 256x14x14", "H=14, W=14", "256xHxW")),
    (["crossover", "nonlocal", "ccnet", "--shape", "256xHx14"], ("W=14", "--vary H=W")),
    (["crossover", "nonlocal", "ccnet", "--shape", "256xHxW", "--vary", "W"], ("H", "--vary W")),  # H unvaried
    (["crossover", "nonlocal", "ccnet", "--shape", "512xHxW", "--convention", "fvcore"], ("--convention", "--metric")),
    (["crossover", "nonlocal", "--shape", "512xHxW"], ("two modules",)),
    (["crossover", "nonlocal", "ccnet", "se", "--shape", "512xHxW"], ("two modules",)),
    (["compare", "se", "--shape", "256x14x14", "--channels-last-ok"], ("--channels-last-ok",)),
    (["report", "--networks", "resnet18", "--shape", "64x8x8", "-o", "out.html"], ("--shape", "--modules")),
    (["report", "specs/attention-review.yaml", "--convention", "full", "-o", "out.html"], ("--convention", "SPEC")),
    (["lut", "build", SPACE, "-o", "t.json", "--format", "singlepath"], ("use --layout singlepath",)),
    (["lut", "predict", SPACE, "--device-profile", "p.json", "--layout", "singlepath"], ("--layout", "-o")),
    (["lut", "build", SPACE, "-o", "t.json", "--calibrate-archs", "0", "--fit", "scale+offset"],
     ("--fit", "--calibrate-archs 0")),
    # verify proves the step's counts and elements: the options of the training step change none of them
    (["verify", "se", "--mode", "train", "--samples", "1", "--optimizer", "adam"], ("--optimizer", "verify")),
    (["verify", "se", "--mode", "train", "--samples", "1", "--precision", "bf16"], ("--precision", "verify")),
    (["verify", "se", "--mode", "train", "--samples", "1", "--checkpoint", "attention:*"], ("--checkpoint", "verify")),
    (["verify", "se", "--mode", "train", "--samples", "1", "--train-only", "conv*"], ("--train-only", "verify")),
    (["verify", "se", "--samples", "1", "--optimizer", "sgd"], ("--optimizer", "verify")),   # given, even as a default
    (["verify", "se", "--mode", "train-forward", "--samples", "1"], ("--mode train-forward", "FILE.py:FN")),
])
def test_an_option_that_would_do_nothing_is_a_one_line_error(args, names, tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    root = Path(__file__).parents[2]
    shutil.copytree(root / "specs", tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    line = _error_line(args)
    assert all(name in line for name in names), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["specs"]        # nothing written


def test_formula_user_model_options_that_would_do_nothing(tmp_path):
    from pathlib import Path

    zoo = Path(__file__).parents[1] / "fixtures" / "user_zoo.py"
    assert "L is not a letter" in _error_line(["formula", f"{zoo}:build_nonlocal", "--shape", "3xHxW",
                                               "--hint", "L=5"])
    assert "N is not a letter" in _error_line(["formula", f"{zoo}:build_nonlocal", "--shape", "3xHxW",
                                               "--hint", "N=4"])   # a single 3-dim shape: a batch of 1
    assert "--exact-shape" in _error_line(["network", f"{zoo}:build_blocks", "--shape", "1x2x6x32",
                                           "--exact-shape"])
    assert "--where" in _error_line(["network", f"{zoo}:build_blocks", "--where", "after_stage"])


# -- stages: the breakdown's numbers are the ones --stages takes ------------------------------------------

def _json(*args) -> dict:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("network, stage", [("mobilenet-v2", 5), ("mobilenet-v2", 7), ("mnasnet-a1", 6),
                                            ("resnet50", 2)])
def test_stages_option_counts_as_the_breakdown_numbers(network, stage):
    plain = {row["stage"]: row for row in _json("network", network, "--shape", "3x64x64")["rows"]}
    se = {row["stage"]: row for row in _json("network", network, "--shape", "3x64x64", "--attn", "se", "--stages",
                                             str(stage))["rows"]}
    assert list(se) == list(plain)
    changed = [name for name in plain if plain[name]["params"] != se[name]["params"]]
    assert changed == [f"stage{stage}"]


# -- one grammar: module lists and --hp --------------------------------------------------------------------

def test_module_lists_with_spaces_or_commas_are_the_same():
    spaced = _json("compare", "se", "eca", "cbam", "--shape", "256x14x14")
    assert _json("compare", "se,eca,cbam", "--shape", "256x14x14") == spaced
    assert _json("compare", "se,eca", "cbam", "--shape", "256x14x14") == spaced
    assert _json("network", "resnet18", "--attn", "se,eca") == _json("network", "resnet18", "--attn", "se",
                                                                       "--attn", "eca")
    assert _json("crossover", "nonlocal,ccnet", "--shape", "512xHxW", "--range", "2", "64") == \
        _json("crossover", "nonlocal", "ccnet", "--shape", "512xHxW", "--range", "2", "64")
    assert "did you mean 'se'" in _error_line(["verify", "sqe,eca", "--samples", "1", "--no-symbolic"])
    assert "empty name" in _error_line(["report", "--modules", "se,,eca", "--shape", "64x8x8", "-o", "x.html"])
    assert "empty name" in _error_line(["compare", "se,", "--shape", "64x8x8"])


def test_hp_is_name_dot_key_everywhere_and_key_alone_with_one_module():
    # formula and compare with one module: KEY=VALUE and NAME.KEY=VALUE are the same
    assert run("formula", "eca", "--hp", "k=5").output == run("formula", "eca", "--hp", "eca.k=5").output
    assert _json("compare", "se", "--shape", "256x7x7", "--hp", "r=8") == \
        _json("compare", "se", "--shape", "256x7x7", "--hp", "se.r=8")
    assert _json("compare", "se", "--shape", "256x7x7", "--hp", "r=8")["rows"][0]["params"] == 2 * 256 * 32 + 32 + 256
    # several modules: NAME. is required
    assert "NAME.r=8" in _error_line(["compare", "se", "eca", "--shape", "256x7x7", "--hp", "r=8"])
    assert "NAME.reduction=2" in _error_line(["crossover", "nonlocal", "ccnet", "--shape", "512xHxW",
                                              "--hp", "reduction=2"])
    # a module not given, a key given twice
    assert "se is not among the modules given (eca)" in _error_line(["formula", "eca", "--hp", "se.r=8"])
    assert "given twice" in _error_line(["compare", "se", "--shape", "256x7x7", "--hp", "r=8", "--hp", "se.r=4"])


# -- the channels-last guard --------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, meant", [("14x14x256", "256x14x14"), ("224x224x3", "3x224x224"),
                                          ("8x14x14x256", "8x256x14x14"), ("7x7x2048", "2048x7x7")])
def test_a_channels_last_shape_is_refused_with_the_likely_one(shape, meant):
    line = _error_line(["compare", "se", "--shape", shape])
    assert line == (f"Error: --shape {shape} looks channels-last ({'Nx' if shape.count('x') == 3 else ''}HxWxC); "
                    f"attncost takes {'Nx' if shape.count('x') == 3 else ''}CxHxW: did you mean {meant}? "
                    "(--channels-last-ok to take it as written)")
    assert f"did you mean {meant}?" in _error_line(["report", "--modules", "se", "--shape", "64x8x8", "--shape",
                                                    shape, "-o", "x.html"])
    assert f"did you mean {meant}?" in _error_line(["network", "resnet18", "--shape", shape])


def test_channels_last_ok_takes_the_shape_as_written():
    from attncost import api

    written = _json("compare", "eca", "--shape", "14x14x256", "--channels-last-ok")
    # C = 14, H = 14, W = 256, as typed
    assert written["rows"][0]["macs"] == api.compare(["eca"], (1, 14, 14, 256))[0]["macs"]
    assert written["rows"][0]["macs"] != api.compare(["eca"], (1, 256, 14, 14))[0]["macs"]


@pytest.mark.parametrize("shape", ["256x14x14", "3x224x224", "2048x7x7", "64x56x56", "1024x14x14", "8x512x28x28",
                                   "3x32x32", "64x8x8", "16x4x4", "1x3x224x224"])
def test_channels_first_shapes_pass_the_guard(shape):
    from attncost.shapes import channels_last_guess, parse_shape

    assert channels_last_guess(parse_shape(shape)[-3:]) is None
    assert channels_last_guess([int(s) for s in shape.split("x")]) is None


def test_no_shape_of_the_readme_specs_docs_or_tests_trips_the_guard():
    """The guard fires on no shape the README, specs/, docs/ and the tests use (this file's own
    channels-last examples aside)."""
    import re
    from pathlib import Path

    from attncost.shapes import channels_last_guess

    root = Path(__file__).parents[2]
    files = [root / "README.md", *root.glob("docs/*.md"), *root.glob("specs/**/*.yaml"),
             *(p for p in root.glob("tests/**/*.py") if p.name != "test_cli.py"), *root.glob("tests/golden/*.txt")]
    shapes = {m for path in files for m in re.findall(r"(?<![\w.])\d+(?:x\d+){2,3}(?![\w.])", path.read_text())}
    assert {"256x14x14", "3x224x224", "1x197x768", "2048x7x7"} <= shapes
    tripping = {s for s in shapes if channels_last_guess([int(v) for v in s.split("x")])}
    # prose: "ViT-B/16 on 224x224x3" (an HxWxC image), and the README's examples of what the guard refuses
    assert tripping <= {"224x224x3", "14x14x256", "8x14x14x256"}


def test_the_guard_leaves_users_models_alone():
    """A user's model takes inputs of any meaning: 6x6x32 here is a batch of 6, 6 tokens of 32."""
    from pathlib import Path

    zoo = Path(__file__).parents[1] / "fixtures" / "user_zoo.py"
    assert _json("network", f"{zoo}:build_blocks", "--shape", "6x6x32", "--exact-shape")["inputs"] == "6x6x32"
