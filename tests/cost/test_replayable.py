"""Program.replayable: replaying a recorded block gives exactly what running it again gives, and the
replay path is really taken (the block's function body runs once per distinct key, not once per call)."""

import pytest

from attncost.cost import Program
from attncost.networks import AttentionPlacement, definition, forward, with_attention
from attncost.symbols import H, N, W


def _walk(spec, shape, replay: bool, monkeypatch):
    """Walk ``spec``; count, per kind of key ("resnet-block", "attention"), how often ``replayable``
    was called and how often the function it was given actually ran. Without ``replay``, every call
    runs its function (what the program would do without replayable)."""
    calls, runs = {}, {}
    original = Program.replayable

    def spy(self, key, fn, *inputs):
        calls[key[0]] = calls.get(key[0], 0) + 1

        def counted(*args):
            runs[key[0]] = runs.get(key[0], 0) + 1
            return fn(*args)

        return original(self, key, counted, *inputs) if replay else counted(*inputs)

    monkeypatch.setattr(Program, "replayable", spy)
    g = Program()
    cost = g.finish(forward(g, g.input(shape), spec))
    monkeypatch.undo()
    return g, cost, calls, runs


# Which blocks are replayed, by hand: a block's key is its configuration and its input's shape and
# strides. In each stage of a ResNet-50 (3, 4, 6, 3 bottlenecks) block 0 (new stride or channels) and
# block 1 (input 4 * planes channels, unlike block 0's) differ; blocks 2.. have block 1's key: 8 of the
# 16 blocks run, 8 are replayed. In ResNet-18 (2, 2, 2, 2 basic blocks) stage 1's block 0 already takes
# 64 channels at stride 1, so its block 1 is replayed: 7 of 8 run. An attention module inside a block
# is reached only in blocks that run; it has the same input shape in blocks 0 and 1 of a stage, so it
# runs once per stage and is replayed in the other block that runs (ResNet-18 stage 1: no other).
EXPECTED = {  # network, attention: (block calls, block runs, attention calls, attention runs)
    ("resnet50", "cbam"): (16, 8, 8, 4),
    ("resnet18", "se"): (8, 7, 7, 4),
    ("resnext50-32x4d-v1", "eca"): (16, 8, 8, 4),
    ("resnet50-v1", None): (16, 8, 0, 0),
}


@pytest.mark.parametrize("network, attention", list(EXPECTED))
@pytest.mark.parametrize("shape", [(1, 3, 224, 224), (2, 3, 97, 131), (N, 3, H, W)], ids=["224", "odd", "symbolic"])
def test_replayed_blocks_equal_recomputed_ones(network, attention, shape, monkeypatch):
    spec = definition(network)
    if attention:
        spec = with_attention(spec, [AttentionPlacement(attention)])
    block_calls, block_runs, attention_calls, attention_runs = EXPECTED[(network, attention)]
    fast, fast_cost, calls, runs = _walk(spec, shape, True, monkeypatch)
    slow, slow_cost, _, slow_runs = _walk(spec, shape, False, monkeypatch)
    # the replay path was taken: fewer function bodies ran than blocks were asked for ...
    assert calls.get("resnet-block", 0) == block_calls and runs.get("resnet-block", 0) == block_runs
    assert calls.get("attention", 0) == attention_calls and runs.get("attention", 0) == attention_runs
    # ... while recomputation runs every block and every module in every block
    blocks_with_attention = block_calls if attention else 0
    expected_slow = {"resnet-block": block_calls, "attention": blocks_with_attention}
    assert slow_runs == {kind: n for kind, n in expected_slow.items() if n}
    # and every replayed block has its records (the stage3 block5 of ResNet-50 never ran its function)
    last_blocks = {(f"stage{s}", f"block{b}") for s, b in ((1, 2), (2, 3), (3, 5), (4, 2))} if block_calls == 16 \
        else {("stage1", "block1")}
    assert last_blocks <= {rec.scope[:2] for rec in fast.records}
    assert fast.records == slow.records                                   # scopes, counts, params, storages
    assert fast_cost.fields() == slow_cost.fields()
    assert fast.params_by_name() == slow.params_by_name()


def test_a_block_reading_another_live_tensor_is_not_replayed():
    """Replay maps only the given inputs to new storages; a block that reads some other live tensor
    is run again every time."""
    g = Program()
    x = g.input((1, 8, 4, 4))
    side = g.relu(x)
    runs = []

    def block(t):
        runs.append(t)
        return g.add(t, side)

    with g.scope("a"):
        y = g.replayable("k", block, x)
    with g.scope("b"):
        z = g.replayable("k", block, x)
    assert len(runs) == 2                                                 # run twice, not replayed
    assert g.replays.templates["k"] is None
    assert y.storage != z.storage and g.records[-1].scope == ("b",)


def test_a_self_contained_block_is_replayed_without_running_again():
    """The control for the test above: the same block without the side input runs once; the second
    call's records (one add of 1 * 8 * 4 * 4 = 128 elements) come from the template."""
    g = Program()
    x = g.input((1, 8, 4, 4))
    runs = []

    def block(t):
        runs.append(t)
        return g.add(t, t)

    with g.scope("a"):
        y = g.replayable("k", block, x)
    with g.scope("b"):
        z = g.replayable("k", block, x)
    assert len(runs) == 1
    assert [rec.scope for rec in g.records] == [("a",), ("b",)]
    assert y.storage != z.storage and z.shape == (1, 8, 4, 4)
    assert g.finish(z).counts == {"elementwise.add": 2 * 128}
