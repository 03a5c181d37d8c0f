"""Inputs of users' models: any rank, several inputs, dtypes, example inputs from FILE.py:FN; and the
model as given: torch.compile'd, under inference_mode, in train or eval mode, its modes, buffers and
torch's RNG left as they were."""

import sys
from pathlib import Path

import pytest
import torch

import attncost
from attncost.cost.compare import differences
from attncost.errors import ShapeError
from attncost.shapes import parse_inputs
from attncost.usermodels import InputShape, input_specs, load_model

FIXTURES = Path(__file__).parents[1] / "fixtures"
ZOO = FIXTURES / "user_zoo.py"
sys.path.insert(0, str(FIXTURES))
import user_zoo as zoo  # noqa: E402


def test_shape_text_any_rank_several_inputs_and_dtypes():
    assert parse_inputs("196x768") == (((196, 768), None),)
    assert parse_inputs("3x224x224") == (((1, 3, 224, 224), None),)        # CxHxW: a batch of 1
    assert parse_inputs("3x224x224", exact=True) == (((3, 224, 224), None),)
    assert parse_inputs("1x3x224x224,1x77:int64") == (((1, 3, 224, 224), None), ((1, 77), "int64"))
    # several inputs are each taken as written, a 3-dim one too
    assert parse_inputs("2x6x16,2x6:bool") == (((2, 6, 16), None), ((2, 6), "bool"))
    N, L = attncost.symbols.N, attncost.symbols.symbol("L")
    assert parse_inputs("NxLx768", allow_symbols=True, exact=True) == (((N, L, 768), None),)
    for bad in ("", "3x0x4", "3xx4", "abc", "3x4:float8", "3xHxW"):
        with pytest.raises(ShapeError):
            parse_inputs(bad)


def test_python_inputs_shapes_tensors_and_lists():
    x = torch.zeros(2, 6, 16)
    assert input_specs((3, 8, 8)) == [InputShape((1, 3, 8, 8), None, True)]
    assert input_specs((3, 8, 8), exact_shape=True) == [InputShape((3, 8, 8))]
    assert input_specs([(2, 6, 16)]) == [InputShape((2, 6, 16))]       # a list: as written
    assert input_specs([(1, 3, 8, 8), ((1, 7), torch.long)]) == [InputShape((1, 3, 8, 8)), InputShape((1, 7), "int64")]
    assert input_specs(x)[0] is x and input_specs([x, (2, 6)])[0] is x
    with pytest.raises(ShapeError):
        input_specs(None)
    with pytest.raises(ShapeError):
        input_specs(["3x8x8x"])


def test_tokens_any_rank_and_the_batch_rule_hint():
    model = zoo.WithSDPA()
    a = attncost.analyze(model, (2, 6, zoo.DIM), exact_shape=True)
    b = attncost.analyze(model, [(2, 6, zoo.DIM)])
    c = attncost.analyze(model, torch.randn(2, 6, zoo.DIM))
    assert differences(a.network.total, b.network.total) == differences(a.network.total, c.network.total) == []
    assert a.inputs == (((2, 6, zoo.DIM), None),)
    rank2 = attncost.analyze(torch.nn.Linear(zoo.DIM, 8), [(6, zoo.DIM)])
    assert rank2.network.total.macs == 6 * zoo.DIM * 8 and rank2.inputs == (((6, zoo.DIM), None),)
    with pytest.raises(attncost.usermodels.ModelRunError, match="exact_shape"):
        attncost.analyze(zoo.WithMHA(), (2, 6, 16))           # read as CxHxW: 1x2x6x16


def test_two_inputs_from_tensors_shapes_text_and_example_inputs():
    model, example = load_model(f"{ZOO}:build_image_and_text", with_inputs=True)
    from_tensors = attncost.analyze(model, list(example))
    from_shapes = attncost.analyze(model, [(1, 3, 32, 32), ((1, 7), "int64")])
    from_text = attncost.analyze(model, "1x3x32x32,1x7:int64")
    for other in (from_shapes, from_text):
        assert differences(from_tensors.network.total, other.network.total) == []
    assert from_text.inputs == (((1, 3, 32, 32), None), ((1, 7), "int64"))
    # 16 patch tokens and 7 text tokens through one attention block
    tokens, d = 16 + 7, zoo.DIM
    assert from_tensors.network.total.counts["mac.conv"] == 16 * d * 3 * 8 * 8
    assert from_tensors.network.attention_share("macs")["macs"] == 2 * tokens * tokens * d
    assert load_model(f"{ZOO}:build_nonlocal", with_inputs=True)[1] is None


@pytest.mark.parametrize("dtype, nbytes", [("float16", 2), ("bfloat16", 2), ("float64", 8)])
def test_dtype_converts_inputs_and_parameters_not_the_model(dtype, nbytes):
    model = zoo.NonLocalCNN()
    base = attncost.analyze(model, (3, 16, 16))
    other = attncost.analyze(model, (3, 16, 16), dtype=dtype)
    assert differences(base.network.total, other.network.total) == []
    assert other.dtype == dtype and other.memory_bytes()["peak_bytes"] == base.network.total.peak_live_elements * nbytes
    assert base.dtype == "float32" and all(p.dtype == torch.float32 for p in model.parameters())
    with pytest.raises(attncost.errors.AttncostError):
        attncost.analyze(model, (3, 16, 16), dtype="int8")
    # without a dtype, inputs made from shapes take the model's
    half = attncost.analyze(torch.nn.Linear(8, 4).to(getattr(torch, dtype)), [(2, 8)])
    assert half.dtype == dtype and half.network.total.macs == 2 * 8 * 4


def test_compiled_inference_mode_train_and_eval():
    model = zoo.NonLocalCNN()
    model.stem[1].eval()                       # a mixed state, to be given back as it was
    modes = [m.training for m in model.modules()]
    stats = model.stem[1].running_mean.clone(), model.stem[1].num_batches_tracked.clone()
    x = torch.randn(2, 3, 16, 16)
    rng = torch.random.get_rng_state()
    eval_cost = attncost.analyze(model, (2, 3, 16, 16)).network.total
    assert differences(attncost.analyze(torch.compile(model), (2, 3, 16, 16)).network.total, eval_cost) == []
    with torch.inference_mode():
        inference = attncost.analyze(model, x).network.total
    assert differences(inference, eval_cost) == []
    train = attncost.analyze(model, (2, 3, 16, 16), mode="train")
    assert train.mode == "train"
    # train mode: dropout's mask on the pooled (2, 8) features, the batch norm's statistics and its
    # num_batches_tracked += 1; eval mode has neither
    counts = train.network.total.counts
    assert counts["elementwise.random"] == 2 * 8 and "elementwise.random" not in eval_cost.counts
    assert counts["elementwise.add"] == eval_cost.counts["elementwise.add"] + 1
    assert counts != eval_cost.counts
    as_given = attncost.analyze(model, (2, 3, 16, 16), mode=None)
    assert as_given.mode == "as given"
    assert [m.training for m in model.modules()] == modes
    assert torch.equal(model.stem[1].running_mean, stats[0])
    assert torch.equal(model.stem[1].num_batches_tracked, stats[1])
    assert torch.equal(torch.random.get_rng_state(), rng)
