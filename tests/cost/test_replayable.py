"""Program.replayable: replaying a recorded block gives exactly what running it again gives."""

import pytest

from attncost.cost import Program
from attncost.networks import AttentionPlacement, get_network, run_network, with_attention
from attncost.symbols import H, N, W


def _walk(spec, shape, replay: bool, monkeypatch):
    if not replay:
        monkeypatch.setattr(Program, "replayable", lambda self, key, fn, *inputs: fn(*inputs))
    g = Program()
    cost = g.finish(run_network(g, g.input(shape), spec))
    monkeypatch.undo()
    return g, cost


@pytest.mark.parametrize("network, attention", [
    ("resnet50", "cbam"), ("resnet18", "se"), ("resnext50-32x4d-v1", "eca"), ("resnet50-v1", None),
])
@pytest.mark.parametrize("shape", [(1, 3, 224, 224), (2, 3, 97, 131), (N, 3, H, W)], ids=["224", "odd", "symbolic"])
def test_replayed_blocks_equal_recomputed_ones(network, attention, shape, monkeypatch):
    spec = get_network(network)
    if attention:
        spec = with_attention(spec, [AttentionPlacement(attention)])
    fast, fast_cost = _walk(spec, shape, True, monkeypatch)
    slow, slow_cost = _walk(spec, shape, False, monkeypatch)
    assert any(v is not None for v in fast._templates.values())          # something was replayed
    assert fast.records == slow.records                                   # scopes, counts, params, storages
    assert fast_cost.fields() == slow_cost.fields()
    assert fast._params == slow._params


def test_a_block_reading_another_live_tensor_is_not_replayed():
    """Replay maps only the given inputs to new storages; a block that reads some other live tensor
    is run again every time."""
    g = Program()
    x = g.input((1, 8, 4, 4))
    side = g.relu(x)

    def block(t):
        return g.add(t, side)

    with g.scope("a"):
        y = g.replayable("k", block, x)
    with g.scope("b"):
        z = g.replayable("k", block, x)
    assert g._templates["k"] is None
    assert y.storage != z.storage and g.records[-1].scope == ("b",)
