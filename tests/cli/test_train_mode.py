"""``--mode train`` on compare, network, crossover, report and fit: the training step's numbers as the
CLI prints them, each checked against something that does not share the formula side's code: hand
derivations from the shapes (gradients are one element per trainable parameter, Adam keeps two more),
FlopCounterMode on the reference module's real backward, and the training tracer (a real step, or one
on FakeTensors for the large sizes of the memory-budget question)."""

import json

import pytest
import torch
from click.testing import CliRunner
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils.flop_counter import FlopCounterMode

from attncost.cli.main import cli
from attncost.reference import build
from attncost.trace.training import trace_training

#: SE at C = 64 (r = 16, hidden 4): 1x1 convs 64 -> 4 -> 64 with biases: 64*4 + 4 + 4*64 + 64 = 580
SE_PARAMS = 64 * 4 + 4 + 4 * 64 + 64


def run(*args):
    return CliRunner().invoke(cli, list(args))


def data(*args) -> dict:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def row(*args) -> dict:
    return data(*args)["rows"][0]


# -- memory by hand ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer, state", [("sgd", 0), ("momentum", 1), ("adam", 2), ("adamw", 2)])
@pytest.mark.parametrize("precision, low", [("fp32", 4), ("bf16", 2), ("fp16", 2)])
def test_gradient_and_optimizer_bytes_by_hand(optimizer, state, precision, low):
    r = row("compare", "se", "--shape", "2x64x8x8", "--mode", "train", "--optimizer", optimizer,
            "--precision", precision)
    assert r["params"] == r["trainable_params"] == SE_PARAMS
    assert r["gradient_bytes"] == SE_PARAMS * low                    # one gradient per parameter
    assert r["parameter_bytes"] == SE_PARAMS * low
    assert r["master_weight_bytes"] == (0 if precision == "fp32" else SE_PARAMS * 4)   # fp32 master copy
    assert r["optimizer_state_bytes"] == state * SE_PARAMS * 4       # optimizer state stays fp32
    # the step's peak: activations and gradients at their peak, plus what lives through the step
    assert r["train_peak_bytes"] == (r["activation_peak_bytes"] + r["parameter_bytes"] + r["master_weight_bytes"]
                                     + r["optimizer_state_bytes"])


def test_se_counts_by_hand():
    # SE at N = 2, C = 64, 8x8: the two 1x1 convs run on the pooled 2x64x1x1 map, 2 * (64*4 + 4*64) = 1024
    # forward MACs; backward computes each one's grad-input and grad-weight product (the input requires
    # grad, as inside a network): 2 * 1024 = 2048
    r = row("compare", "se", "--shape", "2x64x8x8", "--mode", "train", "--convention", "macs")
    assert r["macs"] == r["forward_macs"] == 2 * (64 * 4 + 4 * 64)
    assert r["backward_macs"] == 2 * r["forward_macs"]
    assert r["step_macs"] == r["forward_macs"] + r["backward_macs"]
    assert r["step_flops"] == r["forward_flops"] + r["backward_flops"]
    assert r["flops"] == r["macs"]                                   # the macs convention: inference too


def test_frozen_spatial_gate_drops_its_grad_weight_product():
    # CBAM trained only in its channel MLP (mlp1: 64*4 + 4, mlp2: 4*64 + 64): the spatial gate's 7x7 conv
    # 2 -> 1 still gives its input a gradient (the MLP is upstream) but no longer its weight one, whose
    # MACs are N * Cout * H * W * Cin * 7 * 7 = 2 * 1 * 8 * 8 * 2 * 49
    args = ("compare", "cbam", "--shape", "2x64x8x8", "--mode", "train", "--convention", "macs")
    everything, mlp = row(*args), row(*args, "--train-only", "mlp*")
    assert mlp["trainable_params"] == SE_PARAMS
    assert everything["trainable_params"] == SE_PARAMS + 98 + 2      # + the 7x7 conv and its batch norm
    assert everything["backward_macs"] - mlp["backward_macs"] == 2 * 1 * 8 * 8 * 2 * 49
    assert mlp["gradient_bytes"] == 4 * SE_PARAMS


# -- against the tracer and FlopCounterMode ---------------------------------------------------------------

def _traced(name, shape, checkpoint=()):
    x = torch.randn(shape, requires_grad=True)                       # inside a network: the input needs grad
    return trace_training(build(name, shape), x, checkpoint=checkpoint).cost


def _flops(counts, weights) -> int:
    return sum(weights.get(kind.split(".")[0], 0) * value for kind, value in counts.items())


@pytest.mark.parametrize("name", ["se", "eca", "cbam", "nonlocal", "gc"])
def test_compare_train_equals_one_traced_step(name):
    shape = (2, 32, 8, 8)
    r = row("compare", name, "--shape", "2x32x8x8", "--mode", "train", "--optimizer", "adam",
            "--convention", "macs")
    traced = _traced(name, shape)
    macs = {"mac": 1}
    assert r["forward_macs"] == _flops(traced.forward.counts, macs)
    assert r["backward_macs"] == _flops(traced.backward_counts, macs)
    assert r["saved_activation_bytes"] == 4 * traced.saved_elements
    assert r["activation_peak_bytes"] == 4 * traced.peak_elements
    assert r["trainable_params"] == sum(p.numel() for p in build(name, shape).parameters())
    assert r["train_peak_bytes"] == 4 * (traced.peak_elements + 3 * r["trainable_params"])   # params + Adam's 2


@pytest.mark.parametrize("name", ["se", "cbam", "nonlocal"])
def test_backward_flops_equal_flopcountermode(name):
    shape = (2, 32, 8, 8)
    module = build(name, shape).train()
    x = torch.randn(shape, requires_grad=True)
    with FlopCounterMode(display=False) as forward:
        out = module(x)
    with FlopCounterMode(display=False) as backward:
        out.backward(torch.ones_like(out))
    r = row("compare", name, "--shape", "2x32x8x8", "--mode", "train", "--convention", "flopcounter")
    assert r["forward_flops"] == forward.get_total_flops()
    assert r["backward_flops"] == backward.get_total_flops()


def test_checkpointing_nonlocal_saves_only_its_input_and_recomputes():
    shape = (2, 32, 8, 8)
    args = ("compare", "nonlocal", "--shape", "2x32x8x8", "--mode", "train")
    plain, checkpointed = row(*args), row(*args, "--checkpoint", "nonlocal")
    assert checkpointed["saved_activation_bytes"] == 4 * 2 * 32 * 8 * 8          # the input alone
    # the saved attention map, N * HW * (H/2 * W/2) for the max-pooled keys, is among what is no longer kept
    assert plain["saved_activation_bytes"] - checkpointed["saved_activation_bytes"] >= 4 * 2 * 64 * 16
    traced = _traced("nonlocal", shape, checkpoint=[""])
    assert checkpointed["backward_macs"] == _flops(traced.backward_counts, {"mac": 1})
    assert checkpointed["backward_macs"] > plain["backward_macs"]                 # the recompute's products
    assert checkpointed["forward_flops"] == plain["forward_flops"]


# -- crossover and the memory budget ----------------------------------------------------------------------

def test_crossover_train_peak_matches_brute_force():
    """Non-local keeps its HW x HW/4 map for backward (growing as t^4 in t = H = W), CCNet its
    HW x (H + W - 1) maps (t^3): Non-local's step peaks lower on small maps, CCNet's on large ones. The
    crossover (one formula in t, evaluated vectorised) against compare at every size (each a concrete
    Program run backwards)."""
    doc = data("crossover", "nonlocal", "ccnet", "--shape", "2x32xHxW", "--mode", "train", "--metric", "peak",
               "--range", "2", "32")
    # JSON is data (docs/JSON.md): the metric as given, the step's options in `training`
    assert doc["mode"] == "train" and doc["metric"] == "peak"
    assert doc["training"]["optimizer"] == "sgd" and doc["training"]["precision"] == "fp32"
    cheaper = []
    for t in range(2, 33):
        a, b = data("compare", "nonlocal", "ccnet", "--shape", f"2x32x{t}x{t}", "--mode", "train")["rows"]
        cheaper.append("nonlocal" if a["train_peak_bytes"] < b["train_peak_bytes"] else
                       "ccnet" if b["train_peak_bytes"] < a["train_peak_bytes"] else "equal")
    segments = []
    for t, who in zip(range(2, 33), cheaper):
        if segments and segments[-1]["cheaper"] == who:
            segments[-1]["to"] = t
        else:
            segments.append({"from": t, "to": t, "cheaper": who})
    assert doc["rows"] == segments
    assert [s["cheaper"] for s in segments] == ["nonlocal", "ccnet"]


def test_fit_small_against_the_tracer():
    # the largest H = W at which Non-local's training step (Adam, fp32) fits 24 MiB at 2x32xHxW
    doc = data("fit", "nonlocal", "--shape", "2x32xHxW", "--budget", "24MiB", "--mode", "train",
               "--optimizer", "adam", "--range", "2", "64")
    budget = 24 * 2 ** 20
    largest = doc["largest"]
    for size, fits in ((largest, True), (largest + 1, False)):
        traced = _traced("nonlocal", (2, 32, size, size))
        peak = 4 * (traced.peak_elements + 3 * traced.trainable_params)        # params + Adam's two states
        assert (peak <= budget) is fits
        assert peak == (doc["peak_bytes"] if fits else doc["next_peak_bytes"])


@pytest.mark.slow
def test_fit_nonlocal_in_16_gib_at_batch_32_on_fake_tensors():
    """The issue's question: the largest H = W for Non-local at 32x512xHxW in 16 GiB, checked by one
    traced step on FakeTensors (no memory) at the answer and one past it."""
    doc = data("fit", "nonlocal", "--shape", "32x512xHxW", "--budget", "16GiB", "--mode", "train",
               "--optimizer", "adam", "--range", "1", "256")
    assert doc["largest"] == 109
    module = build("nonlocal", (32, 512, 8, 8))
    params = sum(p.numel() for p in module.parameters())
    for size, expected in ((109, doc["peak_bytes"]), (110, doc["next_peak_bytes"])):
        with FakeTensorMode(allow_non_fake_inputs=True):
            x = torch.empty(32, 512, size, size, requires_grad=True)
        peak = trace_training(module, x).cost.peak_elements
        assert 4 * (peak + 3 * params) == expected
    assert doc["peak_bytes"] <= 16 * 2 ** 30 < doc["next_peak_bytes"]


def test_fit_says_the_largest_size_and_its_exact_peak():
    result = run("fit", "nonlocal", "--shape", "2x32xHxW", "--budget", "24MiB", "--mode", "train",
                 "--range", "2", "64", "--units", "exact")
    assert result.exit_code == 0, result.output
    doc = data("fit", "nonlocal", "--shape", "2x32xHxW", "--budget", "24MiB", "--mode", "train", "--range", "2", "64")
    assert f"H=W = {doc['largest']} (peak {doc['peak_bytes']:,} bytes" in result.output
    assert "training step peak (sgd, fp32)" in result.output


def test_fit_inference_peak_is_compares_peak():
    doc = data("fit", "se", "--shape", "2x64xHxW", "--budget", "1MiB", "--range", "2", "200")
    at = row("compare", "se", "--shape", f"2x64x{doc['largest']}x{doc['largest']}")
    after = row("compare", "se", "--shape", f"2x64x{doc['next_size']}x{doc['next_size']}")
    assert at["peak_bytes"] == doc["peak_bytes"] <= 2 ** 20 < after["peak_bytes"] == doc["next_peak_bytes"]


# -- tables ---------------------------------------------------------------------------------------------

def test_compare_train_table_is_one_row_per_quantity():
    text = run("compare", "se", "eca", "--shape", "2x64x8x8", "--mode", "train", "--optimizer", "adam",
               "--units", "exact").output
    lines = {line.split("  ")[0].strip(): line.split() for line in text.splitlines()}
    assert lines["quantity"] == ["quantity", "se", "eca"]
    assert lines["gradients"][-2:] == [f"{4 * SE_PARAMS:,}", f"{4 * 3:,}"]           # ECA: k = 3 at C = 64
    assert lines["optimizer state"][-2:] == [f"{8 * SE_PARAMS:,}", f"{8 * 3:,}"]
    assert "training: adam, fp32" in text and all(len(line) <= 100 for line in text.splitlines())


def test_csv_keeps_one_row_per_module_with_exact_numbers():
    lines = [line for line in run("compare", "se", "eca", "--shape", "2x64x8x8", "--mode", "train", "--format",
                                  "csv").output.splitlines() if not line.startswith("#")]
    header = lines[0].split(",")
    assert header[0] == "module" and "train_peak_bytes" in header and len(lines) == 3
    assert lines[1].split(",")[header.index("gradient_bytes")] == str(4 * SE_PARAMS)


# -- errors -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, words", [
    (["compare", "se", "--shape", "64x8x8", "--optimizer", "adam"], ("--optimizer", "--mode train")),
    (["compare", "se", "--shape", "64x8x8", "--precision", "bf16"], ("--precision", "--mode train")),
    (["compare", "se", "--shape", "64x8x8", "--checkpoint", "se"], ("--checkpoint", "--mode train")),
    (["compare", "se", "--shape", "64x8x8", "--train-only", "fc1"], ("--train-only", "--mode train")),
    (["compare", "se", "--shape", "64x8x8", "--mode", "train", "--train-only", "nothing*"],
     ("--train-only", "matches no parameter")),
    (["compare", "se", "--shape", "64x8x8", "--mode", "train", "--checkpoint", "eca"], ("--checkpoint eca",)),
    (["compare", "se", "--shape", "64x8x8", "--mode", "train-forward"], ("train-forward",)),
    (["crossover", "nonlocal", "gc", "--shape", "32xHxW", "--mode", "train", "--metric", "attention-map"],
     ("attention-map", "training")),
    (["fit", "se", "--shape", "64xHxW", "--budget", "1GiB", "--mode", "train", "--dtype", "float16"],
     ("--dtype", "--precision")),
    (["fit", "se", "--shape", "64xHxW", "--budget", "lots"], ("--budget",)),
    (["fit", "se", "--shape", "64xHxW", "--budget", "1GiB", "--optimizer", "adam"], ("--optimizer",)),
    (["formula", "se", "--mode", "train"], ("formula", "--mode train")),
    (["network", "resnet18", "--mode", "train-forward"], ("--mode train-forward", "your own model")),
    (["report", "--lut", "pyproject.toml", "--mode", "train", "-o", "x.html"], ("--mode train",)),
])
def test_options_that_would_do_nothing_are_one_line_errors(argv, words):
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()                          # click 8.2+ keeps stderr apart
    assert len(message.splitlines()) == 1 and message.startswith("Error:")
    assert all(word in message for word in words), message


# -- networks ---------------------------------------------------------------------------------------------

def test_network_head_only_backward_is_the_heads_grad_weight_product():
    # ResNet-18 with only its classifier trained: nothing upstream needs a gradient, so backward is the
    # fc layer's grad-weight product, 512 * 1000 MACs at batch 1, and 512 * 1000 + 1000 parameters train
    doc = data("network", "resnet18", "--shape", "3x64x64", "--mode", "train", "--train-only", "head",
               "--optimizer", "adam", "--convention", "macs")
    t = doc["training"]
    assert t["trainable_params"] == 512 * 1000 + 1000
    assert t["backward_macs"] == 512 * 1000
    assert t["gradient_bytes"] == 4 * t["trainable_params"] and t["optimizer_state_bytes"] == 8 * t["trainable_params"]
    assert t["counted_by"] == "formula" and doc["mode"] == "train"


def test_network_rows_sum_to_the_step_and_equal_the_api():
    args = ("network", "resnet18", "--attn", "se", "--shape", "2x3x64x64", "--mode", "train")
    doc = data(*args)
    for key in ("forward_flops", "backward_flops", "step_flops"):
        assert sum(row[key] for row in doc["rows"]) == doc["training"][key]
    import attncost

    api = attncost.network("resnet18", attn="se", shape="2x3x64x64", mode="train").to_dict()
    assert api == doc


def test_network_train_equals_one_traced_step_of_the_reference_build():
    from attncost import networks
    from attncost.reference.networks import build_network

    spec = networks.with_attention(networks.definition("resnet18"), [networks.AttentionPlacement("se")])
    traced = trace_training(build_network(spec), torch.randn(2, 3, 32, 32)).cost
    t = data("network", "resnet18", "--attn", "se", "--shape", "2x3x32x32", "--mode", "train",
             "--convention", "macs")["training"]
    macs = {"mac": 1}
    assert t["forward_macs"] == _flops(traced.forward.counts, macs)
    assert t["backward_macs"] == _flops(traced.backward_counts, macs)
    assert t["saved_activation_bytes"] == 4 * traced.saved_elements
    assert t["activation_peak_bytes"] == 4 * traced.peak_elements
    assert t["trainable_params"] == traced.trainable_params


def test_network_train_table_and_depth():
    text = run("network", "resnet18", "--shape", "3x64x64", "--mode", "train", "--optimizer", "adam").output
    assert "backward_flops" in text and "training memory:" in text and "train peak" in text
    assert "training: adam, fp32, 11.69 M trainable params (from the formula)" in text
    depth = run("network", "resnet18", "--shape", "3x64x64", "--mode", "train", "--depth", "1").output
    assert "training step:" in depth and "stage1" in depth


def test_checkpointing_an_attention_scope_in_a_network_recomputes_its_forward():
    # ResNet-50 with one Non-local block after stage 3's block 1 (1024 channels at 14x14): checkpointed,
    # backward recomputes the block, so its MACs grow by the block's forward MACs (compare's, at that
    # shape), and what is saved for backward shrinks
    args = ("network", "resnet50", "--attn", "nonlocal", "--where", "after_blocks", "--stages", "3", "--blocks", "1",
            "--mode", "train", "--convention", "macs")
    plain, checkpointed = data(*args)["training"], data(*args, "--checkpoint", "attention:*")["training"]
    block = row("compare", "nonlocal", "--shape", "1x1024x14x14")["macs"]
    assert checkpointed["backward_macs"] - plain["backward_macs"] == block
    assert checkpointed["saved_activation_bytes"] < plain["saved_activation_bytes"]
    assert checkpointed["checkpoint"] == ["attention:*"]
    refused = run("network", "resnet18", "--mode", "train", "--checkpoint", "nowhere")
    assert refused.exit_code == 2 and "matches no scope" in refused.stderr
    stage = run("network", "resnet18", "--mode", "train", "--checkpoint", "stage4")    # no scope of its own
    assert stage.exit_code == 2 and "with 'stage4/*'" in stage.stderr and "(stage4/block0, ...)" in stage.stderr


def test_a_concrete_training_step_loads_neither_sympy_nor_torch():
    """compare and network --mode train on concrete shapes are formula-side answers: no sympy, no torch
    (and no numpy), as their inference answers (tests/test_no_sympy.py)."""
    import subprocess
    import sys

    code = ("import contextlib, io, sys\nfrom attncost.cli.main import cli\n"
            "for argv in (['compare', 'se', 'nonlocal', '--shape', '2x64x14x14', '--mode', 'train', '--checkpoint', "
            "'nonlocal'], ['network', 'resnet18', '--attn', 'cbam', '--mode', 'train', '--optimizer', 'adam', "
            "'--train-only', 'attention:*']):\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        cli.main(argv, standalone_mode=False)\n"
            "print([m for m in ('sympy', 'torch', 'numpy') if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
