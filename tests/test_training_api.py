"""The Python API's training step: ``mode="train"`` on compare, network, crossover and fit, the result
objects (numbers, ``to_dict`` equal to the CLI's JSON, ``table``, ``repr``, ``_repr_html_``), users'
models traced, and users' errors. Expected values are hand derivations from the shapes or one step
traced by :func:`attncost.trace.training.trace_training`."""

import json

import pytest
import torch
from click.testing import CliRunner

import attncost
from attncost.cli.main import cli
from attncost.errors import AttncostError
from attncost.trace.training import trace_training


def cli_json(*args) -> dict:
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def small_model():
    """conv 3 -> 8 (3x3, padding 1), batch norm, ReLU, global pool, linear 8 -> 10."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 10))


def test_compare_train_is_the_clis_document():
    r = attncost.compare(["se", "eca"], "2x64x8x8", mode="train", optimizer="adam")
    assert r.to_dict() == cli_json("compare", "se", "eca", "--shape", "2x64x8x8", "--mode", "train",
                                   "--optimizer", "adam")
    assert r.mode == "train" and r.training.optimizer.value == "adam"
    # ECA at C = 64: k = |log2(64) / 2 + 1 / 2| = 3.5 -> 3, odd: 3 weights; Adam keeps 2 fp32 values each
    assert r["eca"]["optimizer_state_bytes"] == 2 * 3 * 4
    assert r.training_costs["eca"].trainable_params == 3
    assert set(r.column("train_peak_bytes")) == {"se", "eca"}


def test_compare_eval_has_no_training_columns():
    r = attncost.compare(["se"], "64x8x8")
    assert r.mode == "eval" and r.training is None and "step_flops" not in r["se"]
    assert "mode" not in r.to_dict()


def test_user_model_step_by_hand_and_against_the_tracer():
    model = small_model()
    r = attncost.network(model, shape=(2, 3, 16, 16), mode="train", optimizer="momentum", convention="macs")
    t = r.to_dict()["training"]
    conv, linear = 2 * 8 * 16 * 16 * 3 * 9, 2 * 8 * 10            # forward MACs at batch 2
    assert t["forward_macs"] == conv + linear
    # backward: the input needs no gradient, so the first conv computes only its grad-weight product;
    # the linear layer its grad-input and grad-weight products
    assert t["backward_macs"] == conv + 2 * linear
    params = 3 * 8 * 9 + 8 + 2 * 8 + 8 * 10 + 10                   # conv, batch norm, linear
    assert t["trainable_params"] == params and t["optimizer_state_bytes"] == 4 * params   # one momentum buffer
    traced = trace_training(small_model(), torch.randn(2, 3, 16, 16)).cost
    assert t["saved_activation_bytes"] == 4 * traced.saved_elements
    assert t["activation_peak_bytes"] == 4 * traced.peak_elements
    assert t["counted_by"] == "traced"
    assert r.total.macs == conv + linear                            # the inference figures stay the eval forward


def test_user_model_train_only_and_the_old_train_mode_forward():
    model = small_model()
    head = attncost.network(model, shape=(2, 3, 16, 16), mode="train", train_only="5")     # the Linear
    assert head.training.cost.trainable_params == 8 * 10 + 10
    assert all(p.requires_grad for p in model.parameters())                 # put back after the step
    forward = attncost.network(model, shape=(2, 3, 16, 16), mode="train-forward")
    assert forward.training is None and forward.mode == "train"
    assert forward.to_dict()["totals"] == attncost.analyze(model, (2, 3, 16, 16), mode="train").to_dict()["totals"]


def test_result_views_show_the_step():
    model = small_model()
    r = attncost.network(model, shape=(2, 3, 16, 16), mode="train", optimizer="adam")
    assert "train (adam, fp32)" in repr(r) and len(repr(r)) < 200
    assert "training memory:" in r.table() and "train peak" in r._repr_html_()
    rows = r.breakdown("stage")
    assert sum(row["backward_flops"] for row in rows) == r.to_dict()["training"]["backward_flops"]
    assert sum(row["step_flops"] for row in rows) == r.to_dict()["training"]["step_flops"]
    c = attncost.compare("se", "64x8x8", mode="train")
    assert "<td" in c._repr_html_() and "train" in repr(c)


def test_fit_and_crossover_results():
    f = attncost.fit("nonlocal", "2x32xHxW", "24MiB", mode="train", optimizer="adam", lo=2, hi=64)
    printed = cli_json("fit", "nonlocal", "--shape", "2x32xHxW", "--budget", "24MiB", "--mode", "train",
                       "--optimizer", "adam", "--range", "2", "64")
    assert printed.pop("rows") == f.rows() and printed == f.to_dict()
    assert f.peak_bytes <= f.budget_bytes == 24 * 2 ** 20 < f.next_peak_bytes and f.next_size == f.largest + 1
    step = attncost.compare("nonlocal", f"2x32x{f.largest}x{f.largest}", mode="train", optimizer="adam")
    assert step["nonlocal"]["train_peak_bytes"] == f.peak_bytes
    assert "FitResult" in repr(f) and "largest that fits" in f.table()
    c = attncost.crossover("nonlocal", "se", "2x32xHxW", metric="params", mode="train", lo=2, hi=8)
    assert c.to_dict()["training"]["optimizer"] == "sgd" and c.cheaper_at_lo == "se"


@pytest.mark.parametrize("call, words", [
    (lambda: attncost.compare("se", "64x8x8", optimizer="adam"), ("optimizer=", "mode='train'")),
    (lambda: attncost.compare("se", "64x8x8", mode="bogus"), ("mode='bogus'",)),
    (lambda: attncost.compare("se", "64x8x8", mode="train", optimizer="rmsprop"), ("rmsprop", "adamw")),
    (lambda: attncost.compare("se", "64x8x8", mode="train", precision="int8"), ("int8", "bf16")),
    (lambda: attncost.compare("se", "64x8x8", mode="train", train_only="nothing"), ("matches no parameter",)),
    (lambda: attncost.fit("se", "64xHxW", "1GiB", mode="train", dtype="float16"), ("dtype=",)),
    (lambda: attncost.fit("se", "64xHxW", "a lot"), ("budget",)),
    (lambda: attncost.network(small_model(), shape=(1, 3, 8, 8), mode="train", train_only="9"),
     ("matches no parameter",)),
])
def test_users_errors_are_attncost_errors(call, words):
    with pytest.raises(AttncostError) as error:
        call()
    assert all(word in str(error.value) for word in words), str(error.value)


def test_fit_where_nothing_fits_names_the_first_size_the_module_takes():
    # Non-local needs H = W >= 2 (its attention over H * W positions); the range starts at 1. With a
    # 16-byte budget nothing fits, and the answer names the first size evaluated, the one in the table.
    result = CliRunner().invoke(cli, ["fit", "nonlocal", "--shape", "32x512xHxW", "--budget", "16"])
    assert result.exit_code == 0, result.output
    first_row = result.output.splitlines()[2].split()
    assert first_row[0] == "2" and first_row[-1] == "False"
    assert "largest that fits: none: at H=W = 2 the peak is already" in result.output
