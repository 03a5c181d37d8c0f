"""The Python API (docs/API.md): ``attncost.compare``, ``network``, ``analyze``, ``formula`` and
``crossover`` return result objects with totals as ints, ``to_dict()`` (the CLI's JSON), ``table()``
(the CLI's text), ``to_pandas()``, a one-line repr and an escaped HTML table; bad input is an
:class:`attncost.errors.AttncostError`.

Expected numbers are derived by hand next to them (``# 2 * 256 * 16 + 16 + 256 = 8,464``) or taken from
torch (``sum(p.numel())``) and torchvision's published counts; the CLI's output for the same command
is a consistency check (one object, two faces), not a witness.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from click.testing import CliRunner

import attncost
from attncost.cli.main import cli
from attncost.errors import AttncostError, HyperparameterError, ShapeError, UnknownModuleError
from attncost.results import REPR_LIMIT, CompareResult, CrossoverResult, FormulaResult, NetworkResult
from attncost.usermodels import ModelRunError

#: torchvision's ResNet-50 (``sum(p.numel() for p in resnet50().parameters())``, its model card)
RESNET50_PARAMS = 25_557_032


def _cli(*args) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout.rstrip("\n")


def _cli_json(*args) -> dict:
    return json.loads(_cli(*args, "--format", "json"))


def _one_line_repr(result) -> str:
    text = repr(result)
    assert "\n" not in text and len(text) <= REPR_LIMIT < 200, text
    assert text.startswith(f"<{type(result).__name__} ") and text.endswith(">"), text
    return text


# -- compare -------------------------------------------------------------------------------------------

def test_compare_answers_with_the_numbers_by_hand():
    r = attncost.compare(["se", "eca"], "256x14x14")
    assert isinstance(r, CompareResult) and r.names == ["se", "eca"] and len(r) == 2
    # SE at C = 256, r = 16: two FCs 256 -> 16 -> 256 with biases: 2 * 256 * 16 + 16 + 256 = 8,464
    # ECA at C = 256: k = |log2(256) / 2 + 1 / 2| = 4.5 -> 4 -> the next odd, 5: a 1-D conv of 5 weights
    assert r.params == {"se": 8_464, "eca": 5}
    assert r.macs == {"se": 2 * 256 * 16, "eca": 256 * 5}                    # 8,192 and 1,280
    # full: 2 per MAC, the bias adds (16 + 256), one per element of the ReLU (16), the sigmoid (256),
    # the global pool (256 * 14 * 14 = 50,176 read) and the scaling multiply (50,176)
    assert r.flops["se"] == 2 * 8_192 + 272 + 16 + 256 + 50_176 + 50_176 == 117_280
    # the peak: the input and the scaled output (50,176 elements each) while the 256-element gate lives
    assert r["se"]["peak_bytes"] == (2 * 50_176 + 256) * 4
    assert r.attention_map_bytes == {"se": 256 * 4, "eca": 256 * 4}         # the gate, C elements
    assert r.flops_vs_first["se"] == 1.0
    assert r.costs["se"].params == 8_464 and int(r.costs["eca"].macs) == 1_280
    assert [row["module"] for row in r] == ["se", "eca"] and r[1] is r["eca"]
    assert r["squeeze-excitation"] is r["se"]                                 # an alias finds its row
    with pytest.raises(KeyError, match="not among the modules compared"):
        r["cbam"]


def test_compare_takes_hyperparameters_shapes_conventions_and_dtypes():
    r = attncost.compare(["se", "eca", "cbam"], "256x14x14", hp={"se": {"r": 8}}, convention="macs",
                         dtype="float16")
    assert r.params["se"] == 2 * 256 * 32 + 32 + 256                          # r = 8: 32 hidden channels
    assert r.flops == r.macs                                                  # the macs convention: FLOPs = MACs
    # CBAM at C = 256, 14x14: the channel MLP on the average- and the max-pooled vector (2 * 2 * 256 * 16
    # MACs), the 7x7 conv of 2 maps into 1 (98 MACs per pixel); params: the MLP's 8,464, 98 + BN's 2
    assert r.macs["cbam"] == 4 * 256 * 16 + 98 * 14 * 14 == 35_592 and r.params["cbam"] == 8_464 + 100
    assert r.peak_bytes["se"] == (2 * 50_176 + 256) * 2                       # float16: 2 bytes
    for shape in ((256, 14, 14), (1, 256, 14, 14), [256, 14, 14], "1x256x14x14"):
        assert attncost.compare(["se"], shape).to_dict() == attncost.compare("se", "256x14x14").to_dict()
    assert attncost.compare("se,eca", (256, 14, 14)).names == ["se", "eca"]


def test_compare_is_the_cli_compare():
    r = attncost.compare(["se", "eca", "cbam"], "256x14x14", hp={"se": {"r": 8}})
    args = ["compare", "se", "eca", "cbam", "--shape", "256x14x14", "--hp", "se.r=8"]
    assert r.to_dict() == _cli_json(*args)
    assert r.to_dict()["command"] == "compare" and r.to_dict()["totals"] is None
    assert r.table() == _cli(*args)
    assert r.table(units="exact") == _cli(*args, "--units", "exact")
    assert r.render("markdown") == _cli(*args, "--format", "markdown")
    assert r.render("csv") == _cli(*args, "--format", "csv")
    assert json.loads(json.dumps(r)) == r.rows()                             # a list of the rows, as JSON


def test_compare_repr_and_html():
    r = attncost.compare(["se", "eca"], "256x14x14")
    assert _one_line_repr(r) == ("<CompareResult 1x256x14x14 (full): se 8.464 K params 8.192 K MACs; "
                                 "eca 5 params 1.280 K MACs>")
    many = attncost.compare(["se", "eca", "cbam", "gc", "bam"] * 4, "64x8x8")
    assert "more>" in _one_line_repr(many)
    html = r._repr_html_()
    assert html.startswith("<table>") and "<th>module</th>" in html and "<td>se</td>" in html
    assert "&lt;CompareResult" in html and "<CompareResult" not in html     # the repr, escaped
    assert ">8.464 K<" in html and ">393.0 KiB<" in html                   # cells as the table prints them


def test_compare_to_pandas():
    pandas = pytest.importorskip("pandas")
    frame = attncost.compare(["se", "eca"], "256x14x14").to_pandas()
    assert isinstance(frame, pandas.DataFrame) and list(frame.index) == ["se", "eca"]
    assert int(frame.loc["se", "params"]) == 8_464 and int(frame.loc["eca", "macs"]) == 1_280
    assert list(frame.columns) == ["params", "macs", "flops", "activation_bytes", "peak_bytes",
                                   "attention_map_bytes", "flops_vs_first"]


def test_to_pandas_without_pandas_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)                          # import pandas raises ImportError
    r = attncost.compare(["se"], "256x14x14")
    with pytest.raises(ImportError, match=r"to_pandas\(\) needs pandas.*pip install pandas"):
        r.to_pandas()
    with pytest.raises(ImportError, match="pip install pandas"):
        attncost.crossover("nonlocal", "ccnet", "512xHxW", hi=64).to_pandas()


@pytest.mark.parametrize("call, error, message", [
    (lambda: attncost.compare(["se", "nope"], "256x14x14"), UnknownModuleError, "nope"),
    (lambda: attncost.compare([], "256x14x14"), AttncostError, "at least one module"),
    (lambda: attncost.compare(["se"], "256x14"), ShapeError, "CxHxW"),
    (lambda: attncost.compare(["se"], (256, 14, 0)), ShapeError, "positive integer"),
    (lambda: attncost.compare(["se"], (256, 14, 14.5)), ShapeError, "positive integer"),
    (lambda: attncost.compare(["se"], 256), ShapeError, "CxHxW"),
    (lambda: attncost.compare(["se"], "256x14x14", hp={"cbam": {"r": 8}}), HyperparameterError,
     "cbam is not among the modules given"),
    (lambda: attncost.compare(["se"], "256x14x14", hp={"r": 8}), HyperparameterError, "maps each module"),
    (lambda: attncost.compare(["se"], "256x14x14", hp={"se": {"q": 8}}), HyperparameterError, "q"),
    (lambda: attncost.compare(["se"], "256x14x14", hp={"se": {"r": 512}}), HyperparameterError, "C // r"),
    (lambda: attncost.compare(["se"], "256x14x14", convention="gflops"), AttncostError, "convention 'gflops'"),
    (lambda: attncost.compare(["se"], "256x14x14", dtype="float8"), AttncostError, "dtype 'float8'"),
    (lambda: attncost.compare(["se"], "256x14x14").table(units="si"), AttncostError, "units='si'"),
    (lambda: attncost.compare(["se"], "256x14x14").render("json", units="exact"), AttncostError, "no effect"),
    (lambda: attncost.compare(["se"], "256x14x14").render("yaml"), AttncostError, "fmt='yaml'"),
])
def test_bad_input_is_one_attncost_error(call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert isinstance(info.value, AttncostError) and "\n" not in str(info.value)


# -- network -------------------------------------------------------------------------------------------

#: CBAM after each bottleneck of ResNet-50 (v1, 224x224): (output channels C, map side, blocks)
CBAM_SITES = ((256, 56, 3), (512, 28, 4), (1024, 14, 6), (2048, 7, 3))


def _cbam_params(c):      # the channel MLP C -> C/16 -> C with biases, the 7x7 conv 2 -> 1 and its BN
    return 2 * c * (c // 16) + c // 16 + c + 7 * 7 * 2 + 2


def _cbam_macs(c, side):  # the MLP on two pooled vectors, the 7x7 conv over 2 maps at every pixel
    return 2 * 2 * c * (c // 16) + 7 * 7 * 2 * side * side


def test_network_numbers_by_hand():
    plain = attncost.network("resnet50-v1")
    cbam = attncost.network("resnet50-v1", attn="cbam", where="every_block", stages=(1, 2, 3, 4), blocks=(),
                            shape=(3, 224, 224), convention="full", dtype="float32")
    assert isinstance(cbam, NetworkResult) and plain.params == RESNET50_PARAMS
    added = sum(n * _cbam_params(c) for c, _, n in CBAM_SITES)
    assert added == 2_532_592 and cbam.params == RESNET50_PARAMS + added == 28_089_624     # the paper's 28.09 M
    assert cbam.macs - plain.macs == sum(n * _cbam_macs(c, s) for c, s, n in CBAM_SITES) == 6_388_854
    assert cbam.total.params == cbam.params and int(cbam.total.macs) == cbam.macs
    assert cbam.attention_share["params"] == added
    assert cbam.memory_bytes() == {k: cbam.totals[k] for k in ("activation_bytes", "peak_bytes",
                                                               "attention_map_bytes")}
    assert not cbam.incomplete and cbam.unsupported_ops == [] and "stride on the first 1x1" in cbam.note
    assert sum(row["params"] for row in cbam.breakdown("stage")) == cbam.params
    # only stages 3 and 4, as text or a tuple
    late = attncost.network("resnet50-v1", attn="cbam", stages="3,4")
    assert late.params == RESNET50_PARAMS + sum(n * _cbam_params(c) for c, _, n in CBAM_SITES[2:])
    assert late.to_dict() == attncost.network("resnet50-v1", attn="cbam", stages=(3, 4)).to_dict()
    r8 = attncost.network("resnet50-v1", attn="cbam", hp={"cbam": {"r": 8}}, stages=(4,))
    assert r8.params == RESNET50_PARAMS + 3 * (2 * 2048 * 256 + 256 + 2048 + 100)


@pytest.mark.parametrize("args, call", [
    (["resnet50-v1", "--attn", "cbam"], dict(model="resnet50-v1", attn="cbam")),
    (["resnet50", "--attn", "se,eca", "--stages", "3,4", "--group-by", "kind", "--convention", "macs"],
     dict(model="resnet50", attn="se,eca", stages=(3, 4), convention="macs", group_by="kind")),
    (["resnet18", "--attn", "se", "--depth", "2", "--dtype", "float16", "--shape", "3x64x64"],
     dict(model="resnet18", attn="se", depth=2, dtype="float16", shape=(3, 64, 64))),
    (["specs/resnet50-gc.yaml", "--group-by", "block"], dict(model="specs/resnet50-gc.yaml", group_by="block")),
    (["mobilenet-v2", "--attn", "eca", "--stages", "2,3"], dict(model="mobilenet-v2", attn="eca", stages=(2, 3))),
    (["resnet50", "--attn", "gc", "--where", "after_stage", "--stages", "2"],
     dict(model="resnet50", attn="gc", where="after_stage", stages="2")),
])
def test_network_is_the_cli_network(args, call):
    call = dict(call)
    group_by, depth = call.pop("group_by", "stage"), call.pop("depth", None)
    result = attncost.network(call.pop("model"), **call)
    assert result.to_dict(group_by=group_by, depth=depth) == _cli_json("network", *args)
    assert result.table(depth=depth, group_by=group_by) == _cli("network", *args)
    assert result.table(depth=depth, group_by=group_by, units="exact") == _cli("network", *args, "--units", "exact")
    _one_line_repr(result)


def test_network_repr_html_and_pandas():
    r = attncost.network("resnet50-v1", attn="cbam")
    assert _one_line_repr(r) == ("<NetworkResult resnet50-v1+cbam 1x3x224x224: 28.09 M params, 3.864 G MACs, "
                                 f"{attncost.format.units.human_count(r.flops)} FLOPs (full)>")
    html = r._repr_html_()
    assert "<th>stage</th>" in html and "<td>stage1</td>" in html and "&lt;NetworkResult" in html
    assert "total: 28.09 M params" in html and "'GFLOPs'" not in html and "&#x27;GFLOPs&#x27;" in html
    pandas = pytest.importorskip("pandas")
    frame = r.to_pandas()
    assert isinstance(frame, pandas.DataFrame) and list(frame.index)[:2] == ["stem", "stage1"]
    assert int(frame["params"].sum()) == r.params
    modules = r.to_pandas(depth=1)
    assert list(modules.index) == ["stem", "stage1", "stage2", "stage3", "stage4", "head"]
    assert int(modules["macs"].sum()) == r.macs


@pytest.mark.parametrize("call, message", [
    (lambda: attncost.network("resnet51"), "resnet51"),
    (lambda: attncost.network("resnet50", attn="nope"), "nope"),
    (lambda: attncost.network("resnet50", stages=(3, 4)), "give attn= too"),
    (lambda: attncost.network("resnet50", attn="se", stages=(5,)), "stages"),
    (lambda: attncost.network("resnet50", attn="se", stages="x"), "not an integer"),
    (lambda: attncost.network("resnet50", attn="se", stages=()), "names no stage"),
    (lambda: attncost.network("resnet50", attn="se", where="everywhere"), "everywhere"),
    (lambda: attncost.network("resnet50", attn="se", hp={"eca": {"k": 3}}), "eca is not among"),
    (lambda: attncost.network("resnet50", fake=True), "fake= applies to your own model"),
    (lambda: attncost.network("resnet50", shape=(4, 224, 224)), "3 input channels"),
    (lambda: attncost.network("resnet50", dtype="half"), "dtype 'half'"),
    (lambda: attncost.network("resnet50").table(depth=0), "depth"),
    (lambda: attncost.network("resnet50").breakdown("layer"), "group_by='layer'"),
    (lambda: attncost.network(torch.nn.Conv2d(3, 8, 3), attn="se", shape=(3, 8, 8)), "attn= applies to reference"),
])
def test_network_bad_input(call, message):
    with pytest.raises(AttncostError, match=message):
        call()


# -- analyze (your own model) -------------------------------------------------------------------------

def test_analyze_numbers_by_hand_and_the_old_fields():
    model = torch.nn.Conv2d(3, 8, 3)
    a = attncost.analyze(model, (3, 32, 32), convention="macs")
    assert isinstance(a, NetworkResult) and a.name == "Conv2d" and a.shape == (1, 3, 32, 32)
    assert a.params == sum(p.numel() for p in model.parameters()) == 8 * 3 * 3 * 3 + 8
    assert a.macs == a.flops == 8 * 30 * 30 * 3 * 3 * 3                       # 194,400: one MAC per weight per pixel
    # what Analysis answered stays: the walk, memory, how it was traced
    assert a.network.total.params == a.params and a.memory_bytes()["peak_bytes"] == a.peak_bytes
    assert a.peak_bytes == (3 * 32 * 32 + 8 * 30 * 30) * 4                     # the input and the output
    assert a.method.startswith("eager") and a.inputs == (((1, 3, 32, 32), None),) and a.mode == "eval"
    assert a.analysis.network is a.network and a.module_name("") == ""
    assert attncost.network(model, shape=(3, 32, 32), convention="macs").to_dict() == a.to_dict()
    assert _one_line_repr(a).startswith("<NetworkResult Conv2d 1x3x32x32: 224 params, 194.4 K MACs")


MODELS = textwrap.dedent('''
    import torch

    def build():
        return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 1))
''')


def test_a_model_file_is_the_cli_network_and_formula(tmp_path, monkeypatch):
    (tmp_path / "models.py").write_text(MODELS)
    monkeypatch.chdir(tmp_path)
    result = attncost.network("models.py:build", shape=(3, 16, 16))
    args = ["network", "models.py:build", "--shape", "3x16x16"]
    assert result.to_dict(depth=1) == _cli_json(*args, "--depth", "1")
    assert result.table() == _cli(*args)
    assert result.name == "models.py:build" and result.params == 8 * 27 + 8 + 4 * 8 + 4
    assert result.macs == 8 * 27 * 14 * 14 + 4 * 8 * 14 * 14                    # 3x3 conv, then 1x1 on 14x14
    from attncost.usermodels import load_model

    built = attncost.analyze(load_model("models.py:build"), (3, 16, 16))
    assert built.to_dict()["totals"] == result.to_dict()["totals"] and built.name == "Sequential"
    symbolic = attncost.formula("models.py:build", "3xHxW")
    assert symbolic.table() == _cli("formula", "models.py:build", "--shape", "3xHxW")
    assert symbolic.at(H=16, W=16)["macs"] == result.macs


def test_html_escapes_the_models_name():
    evil = type("Net<b>&", (torch.nn.Module,), {"forward": lambda self, x: x * 2})
    a = attncost.analyze(evil(), (3, 4, 4))
    html = a._repr_html_()
    assert "Net&lt;b&gt;&amp;" in html and "Net<b>" not in html
    assert "<NetworkResult Net<b>& 1x3x4x4" in repr(a)


def test_a_model_that_rejects_the_input_is_one_line_naming_both():
    with pytest.raises(ModelRunError) as info:
        attncost.analyze(torch.nn.Linear(10, 5), (3, 32, 32))
    message = str(info.value)
    assert isinstance(info.value, AttncostError) and "\n" not in message
    assert message.startswith("Linear: the forward on 1x3x32x32 failed: RuntimeError: mat1 and mat2 shapes"), message
    with pytest.raises(ModelRunError, match=r"^BatchNorm1d: the forward on 1x3x32x32 failed: ValueError: "):
        attncost.analyze(torch.nn.BatchNorm1d(3), (3, 32, 32))
    with pytest.raises(ShapeError, match=r"input shape \(3, 32, 32.0\): sizes must be ints"):
        attncost.analyze(torch.nn.Linear(10, 5), (3, 32, 32.0))
    with pytest.raises(AttncostError, match="analyze counts an nn.Module, not str"):
        attncost.analyze("resnet50", (3, 32, 32))
    with pytest.raises(AttncostError, match="convention 'x'"):
        attncost.analyze(torch.nn.Linear(10, 5), (2, 10), convention="x")


# -- formula ---------------------------------------------------------------------------------------------

def test_formula_of_an_entry():
    f = attncost.formula("se")
    assert isinstance(f, FormulaResult) and f.symbols == ["C", "H", "N", "W", "r"]
    at = f.at(C=256, r=16, H=14, W=14)                                        # N = 1 unless given
    assert at["params"] == 2 * 256 * 16 + 16 + 256 and at["macs"] == 8_192 and at["flops"] == 117_280
    assert f.at(C=256, r=16, H=14, W=14, N=2)["macs"] == 2 * 8_192
    fixed = attncost.formula("se", hp={"r": 16})
    assert fixed.symbols == ["C", "H", "N", "W"] and fixed.at(C=256, H=1, W=1)["params"] == 8_464
    doc = fixed.to_dict()
    assert doc["command"] == "formula" and doc["module"] == "se" and doc["hp"] == {"r": 16}
    assert doc["rows"][0] == {"quantity": "params", "expression": "2*C*floor(C/16) + C + floor(C/16)"}
    assert f.table() == _cli("formula", "se")
    assert attncost.formula("nonlocal").table(leading=True) == _cli("formula", "nonlocal", "--leading")
    assert fixed.table(latex=True) == _cli("formula", "se", "--hp", "r=16", "--latex")
    assert _one_line_repr(f).startswith("<FormulaResult se in C, H, N, W, r: params = 2*C*floor(C/r)")
    assert "&lt;FormulaResult" in f._repr_html_() and "<td>params</td>" in f._repr_html_()
    frame = pytest.importorskip("pandas") and f.to_pandas()
    assert frame.loc["macs", "expression"] == "2*C*N*floor(C/r)"


def test_formula_of_a_model():
    model = torch.nn.Conv2d(3, 8, 3)
    f = attncost.formula(model, "3xHxW")
    assert f.name == "Conv2d" and f.network.total.params == 224 and f.specialised == {}
    assert f.at(H=32, W=32)["macs"] == 8 * 27 * 30 * 30
    assert f.to_dict()["inputs"] == "1x3xHxW" and f.to_dict()["traced_at"] == {"H": 224, "W": 224}


@pytest.mark.parametrize("call, message", [
    (lambda: attncost.formula("se", "3xHxW"), "inputs= applies to your own model"),
    (lambda: attncost.formula("se", mode="train"), "mode= applies to your own model"),
    (lambda: attncost.formula("eca", hp={"k": None}), "derived from C"),
    (lambda: attncost.formula("se", hp=16), "maps names to values"),
    (lambda: attncost.formula(torch.nn.Conv2d(3, 8, 3)), "give inputs"),
    (lambda: attncost.formula(torch.nn.Conv2d(3, 8, 3), "3xHxW", hp={"r": 2}), "hp= applies to catalogue"),
    (lambda: attncost.formula("se").at(C=256, H=14, W=14), "give a value for r"),
    (lambda: attncost.formula("se").at(C=256, H=14, W=14, r=16, K=3), "K: not a symbol"),
])
def test_formula_bad_input(call, message):
    with pytest.raises(AttncostError, match=message):
        call()


# -- crossover -------------------------------------------------------------------------------------------

def test_crossover_by_hand():
    # at C = 512 and t = H = W: Non-local (inner C/2 = 256, phi and g max-pooled to floor(t/2)^2 positions)
    # costs 4 * 512 * 256 t^2 + 2 * 256 t^2 floor(t/2)^2 MACs; CCNet (C/8 = 64 for q, k) 2 * 512^2 t^2
    # + 4 * 512 * 64 t^2 + 2 * 512 t^2 (2t) + 2 * 64 t^2 (2t). Floors dropped, the difference is
    # 128 t^2 (t^2 - 18 t - 1024), root 9 + sqrt(1105) = 42.24; with the floors, even t = 2m: m^2 - 9m - 256 > 0
    # from m = 22 (t = 44); odd t = 2m + 1 (t = 43, m = 21): 441 < 9 * 21 + 260.5, Non-local still cheaper.
    c = attncost.crossover("nonlocal", "ccnet", "512xHxW", vary="H=W", metric="macs")
    assert isinstance(c, CrossoverResult) and c.points == [44]
    assert c.segments == [(2, 43, "nonlocal"), (44, 1024, "ccnet")]               # t = 1: no pooled position
    t = next(iter(c.difference.free_symbols))
    assert (c.difference - (128 * t ** 4 - 2304 * t ** 3 - 131072 * t ** 2)).expand() == 0
    assert abs(c.symbolic_roots[0] - (9 + 1105 ** 0.5)) < 1e-9
    assert c.cheaper_at_lo == "nonlocal" and c.cheaper_at_hi == "ccnet"
    doc = c.to_dict()
    assert doc["command"] == "crossover" and doc["points"] == [44] and doc["range"] == [1, 1024]
    assert doc["segments"][1] == {"from": 44, "to": 1024, "cheaper": "ccnet"} and json.dumps(doc)
    assert c.table() == _cli("crossover", "nonlocal", "ccnet", "--shape", "512xHxW")
    assert _one_line_repr(c) == "<CrossoverResult nonlocal vs ccnet, macs, H=W in 1..1024: crosses at H = 44>"
    narrow = attncost.crossover("nonlocal", "ccnet", (512, "H", "W"), lo=2, hi=40)
    assert narrow.points == [] and narrow.segments == [(2, 40, "nonlocal")]
    assert repr(narrow).endswith("H=W in 2..40: nonlocal cheaper throughout>")
    assert "&lt;CrossoverResult" in c._repr_html_()
    frame = pytest.importorskip("pandas") and c.to_pandas()
    assert list(frame["cheaper"]) == ["nonlocal", "ccnet"]


def test_crossover_hyperparameters_and_errors():
    hp = attncost.crossover("se", "eca", "Cx14x14", vary="C", metric="params", hp={"se": {"r": 8}}, lo=8, hi=64)
    assert hp.segments[-1][2] == "eca"
    with pytest.raises(HyperparameterError, match="cbam is not among"):
        attncost.crossover("se", "eca", "Cx14x14", vary="C", hp={"cbam": {"r": 8}})
    with pytest.raises(AttncostError, match="--vary"):
        attncost.crossover("se", "eca", "256xHxW", vary="T")
    with pytest.raises(AttncostError, match="range"):
        attncost.crossover("se", "eca", "256xHxW", lo=5, hi=2)


def test_the_crossover_name_stays_the_function_when_the_solver_module_is_imported():
    import attncost.crossings as module

    assert attncost.crossover.__module__ == "attncost.api" and module.__name__ == "attncost.crossings"
    assert isinstance(attncost.crossover("se", "eca", "256xHxW", hi=8), CrossoverResult)


# -- the package ------------------------------------------------------------------------------------------

def test_the_api_imports_neither_torch_nor_sympy():
    code = ("import sys, attncost; r = attncost.compare(['se', 'eca', 'cbam'], '256x14x14'); r.table(); "
            "r.to_dict(); repr(r); n = attncost.network('resnet18', attn='se'); n.table(); "
            "print(sorted(m for m in ('torch', 'sympy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_package_lists_the_api():
    for name in ("analyze", "compare", "crossover", "formula", "network", "register_op"):
        assert name in attncost.__all__ and name in dir(attncost) and callable(getattr(attncost, name))
    assert attncost.compare is attncost.api.compare and attncost.network is attncost.api.network
