"""The per-module table adds up: on every reference network (plain and with each attention it takes)
and on users' models, the rows without children sum to the network's totals (params, MACs, every op
kind, FLOPs under every convention, activation memory), every parent is the sum of its children (its
own ops, outside any child, being a child row of their own), and peaks and attention maps are the
largest of the children's, the largest of all being the network's. fvcore's and ptflops' per-layer
tables break these (ops run in a parent's forward are in no row), which is what they are checked
against."""

from __future__ import annotations

import pytest
import torch

import attncost
from attncost.cost import Convention, Program, flops
from attncost.graph import walk
from attncost.graph.modules import OWN, module_table, scope_kind
from attncost.networks import DEFINITIONS, AttentionPlacement, definition, forward, with_attention

PLACEMENTS = {
    "none": [],
    "se": [AttentionPlacement("se")],
    "eca": [AttentionPlacement("eca")],
    "cbam": [AttentionPlacement("cbam")],
    "bam": [AttentionPlacement("bam", "after_stage", (1, 2, 3))],
    "gc": [AttentionPlacement("gc", "every_block", (2, 3, 4))],
    "nonlocal": [AttentionPlacement("nonlocal", "after_blocks", (3,), (0, 1))],   # resnet18: blocks 0..1
}


def _has_places(network, attention):
    """Whether the network's spec class takes every placement of ``attention`` (supported_placements; None: all)."""
    supported = getattr(type(definition(network)), "supported_placements", None)
    return supported is None or all(p.where in supported for p in PLACEMENTS[attention])


MATRIX = [(n, a) for n in sorted(DEFINITIONS) for a in sorted(PLACEMENTS) if _has_places(n, a)]


def walked(spec, shape=(1, 3, 64, 64)):
    g = Program()
    return walk(g, forward(g, g.input(shape), spec))


def children(rows, row):
    return [r for r in rows if len(r.path) == len(row.path) + 1 and r.path[:-1] == row.path]


def check_adds_up(network, rows, peaks=True, maps=True):
    """The invariants of the module table for ``rows`` of ``network`` (a WalkResult)."""
    total = network.total
    assert rows, "no rows"
    leaves = [r for r in rows if not children(rows, r)]
    # the rows without children (at any depth cut) partition the network's ops
    assert sum(r.params for r in leaves) == total.params
    assert sum(r.macs for r in leaves) == total.macs
    kinds = set(total.counts) | {k for r in leaves for k in r.counts}
    for kind in kinds:
        assert sum(r.counts.get(kind, 0) for r in leaves) == total.counts.get(kind, 0), kind
    for convention in Convention:
        assert sum(r.flops(convention) for r in leaves) == flops(total, convention), convention
    assert sum(r.activation_elements for r in leaves) == total.activation_elements
    # every parent is the sum of its children, its own ops (outside any child) being one of them
    for row in rows:
        kids = children(rows, row)
        if not kids:
            continue
        assert not row.own
        assert row.params == sum(k.params for k in kids), row.name
        for kind in set(row.counts) | {k for kid in kids for k in kid.counts}:
            assert row.counts.get(kind, 0) == sum(k.counts.get(kind, 0) for k in kids), (row.name, kind)
        assert row.activation_elements == sum(k.activation_elements for k in kids), row.name
        own = [k for k in kids if k.own]
        assert len(own) <= 1 and all(k.path[-1] == OWN and not children(rows, k) for k in own)
        if peaks:
            assert row.peak_live_elements == max(k.peak_live_elements for k in kids
                                                 if k.peak_live_elements is not None), row.name
        if maps:
            assert row.attention_map_elements == max(k.attention_map_elements for k in kids), row.name
    # the network's peak and attention map are the largest of its rows'
    tops = [r for r in rows if r.depth == 1]
    if peaks:
        assert max(r.peak_live_elements for r in tops if r.peak_live_elements is not None) == total.peak_live_elements
        assert max(r.peak_live_elements for r in leaves if r.peak_live_elements is not None) \
            == total.peak_live_elements
    else:
        assert all(r.peak_live_elements is None for r in rows)
    if maps:
        assert max(r.attention_map_elements for r in tops) == total.attention_map_elements
    else:
        assert all(r.attention_map_elements is None for r in rows)


@pytest.mark.parametrize("name, attention", MATRIX)
def test_reference_networks_add_up(name, attention):
    network = walked(with_attention(definition(name), PLACEMENTS[attention]))
    full = module_table(network)
    check_adds_up(network, full)
    for depth in (1, 2, 3):
        rows = module_table(network, depth)
        assert max(r.depth for r in rows) <= depth
        check_adds_up(network, rows)
        # a row is the same whatever the cut: the cut only hides its children
        by_path = {r.path: r for r in full}
        assert all(by_path[r.path] == r for r in rows)
    if attention != "none":
        inside = [r for r in full if r.path[-1].startswith("attention:")]
        assert PLACEMENTS[attention][0].module in {r.type for r in inside}      # MnasNet has its own SE too


def test_rows_name_scopes_and_kinds():
    network = walked(with_attention(definition("resnet18"), [AttentionPlacement("se")]), (1, 3, 224, 224))
    rows = {r.name: r for r in module_table(network, 3)}
    assert [r.name for r in module_table(network, 1)] == ["stem", "stage1", "stage2", "stage3", "stage4", "head"]
    se = rows["stage2/block1/attention:se"]
    assert (se.type, se.depth, se.path) == ("se", 3, ("stage2", "block1", "attention:se"))
    # SE at C = 128 (r = 16, hidden 8, with biases): 2 * 128 * 8 + 8 + 128 params, 2 * 128 * 8 MACs;
    # its gate, the 128 channel weights, is the attention map
    assert (se.params, se.macs, se.attention_map_elements) == (2 * 128 * 8 + 8 + 128, 2 * 128 * 8, 128)
    own = rows[f"stage2/block1 {OWN}"]
    assert own.own and own.type == "block" and own.attention_map_elements == 0
    # the block's own ops are its two 3x3 convs 128 -> 128 at 28x28 (no downsample in block 1)
    assert own.macs == 2 * 128 * 128 * 9 * 28 * 28
    # the stem's peak, by hand: conv1's output (64 x 112 x 112) is live while batch norm writes its
    # own; the input (3 x 224 x 224) died at the conv; ReLU is in place; max pooling then holds the
    # BN output, its output and its indices (64 x 56 x 56 each): less
    assert rows["stem"].peak_live_elements == 2 * 64 * 112 * 112
    assert max(r.peak_live_elements for r in module_table(network, 1)) == network.total.peak_live_elements
    assert [scope_kind(s) for s in ("attention:cbam", "stage3", "block12", "block3+", "after", "head")] == \
        ["cbam", "stage", "block", "after block", "after stage", "head"]


def test_replayed_blocks_keep_their_own_attention_maps():
    """ResNet-50's repeated bottlenecks are replayed from the first (Program.replayable): each SE still
    owns its gate, C channel weights: 256, 512, 1024, 2048 in the four stages (3, 4, 6, 3 blocks)."""
    network = walked(with_attention(definition("resnet50"), [AttentionPlacement("se")]))
    se = [r for r in module_table(network, 3) if r.path[-1] == "attention:se"]
    assert [r.attention_map_elements for r in se] == [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3
    assert [r.path[:2] for r in se] == [(f"stage{s}", f"block{b}") for s, n in enumerate((3, 4, 6, 3), 1)
                                        for b in range(n)]


def test_peak_of_a_module_counts_what_is_held_for_later():
    """The identity a residual block holds stays live during its attention module, so SE's peak is
    the block's high-water mark while SE runs, not SE's own working set."""
    network = walked(with_attention(definition("resnet18"), [AttentionPlacement("se")]), (1, 3, 224, 224))
    rows = {r.name: r for r in module_table(network, 3)}
    se = rows["stage1/block0/attention:se"]
    # stage 1 at 64 x 56 x 56: SE pools its input (64), squeezes (4, ReLU in place), excites (64)
    # and gates (sigmoid, 64), each dying at the next op; its peak is the rescaling, which writes
    # C x HW while reading its input and the gate, with the block's input held for the residual
    # (SE's own working set at that step is 2 C HW + C: the row says what the allocator sees)
    c, hw = 64, 56 * 56
    assert se.peak_live_elements == 3 * c * hw + c == 602_176


def test_without_liveness_data_only_totals_have_peaks():
    network = walked(definition("resnet18"))
    bare = type(network)(network.total, network.records)
    rows = module_table(bare, 2)
    assert all(r.peak_live_elements is None and r.attention_map_elements is None for r in rows)
    check_adds_up(bare, rows, peaks=False, maps=False)


def test_depth_must_be_positive():
    with pytest.raises(ValueError):
        module_table(walked(definition("resnet18")), 0)


# -- users' models ---------------------------------------------------------------------------------------

class Functional(torch.nn.Module):
    """Ops in a parent's own forward (functional relu, a residual add, a mean, a reshape) and a
    parameter used directly: what per-layer tables of fvcore and ptflops leave out of every row."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.inner = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 1), torch.nn.BatchNorm2d(8))
        self.scale = torch.nn.Parameter(torch.ones(1, 8, 1, 1))
        self.head = torch.nn.Linear(8, 4)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        y = y + self.inner(y) * self.scale
        return self.head(y.mean((2, 3)))


class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Linear(16, 32)
        self.attn = torch.nn.MultiheadAttention(32, 4, batch_first=True)
        self.norm = torch.nn.LayerNorm(32)

    def forward(self, x):
        z = self.embed(x)
        return self.norm(z + self.attn(z, z, z, need_weights=False)[0])


class TwoSE(torch.nn.Module):
    def __init__(self):
        super().__init__()
        from attncost.reference import build

        self.conv = torch.nn.Conv2d(3, 32, 3, padding=1)
        self.se1 = build("se", (1, 32, 8, 8))
        self.se2 = build("se", (1, 32, 8, 8))

    def forward(self, x):
        return self.se2(self.se1(self.conv(x)))


def _user_models():
    from attncost.reference.networks import build_network

    spec = with_attention(definition("resnet18"), [AttentionPlacement("se")])
    return [("resnet18-se", build_network(spec, (32, 32)), (1, 3, 32, 32)),
            ("resnet50-cbam", build_network(with_attention(definition("resnet50"), [AttentionPlacement("cbam")]),
                                            (32, 32)), (1, 3, 32, 32)),
            ("functional", Functional(), (2, 3, 8, 8)),
            ("encoder", Encoder(), torch.randn(2, 6, 16)),
            ("two-se", TwoSE(), (1, 3, 8, 8)),
            ("sequential", torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                               torch.nn.Linear(4 * 6 * 6, 2)), (1, 3, 8, 8))]


@pytest.mark.parametrize("label, model, shape", _user_models(), ids=lambda v: v if isinstance(v, str) else "")
def test_user_models_add_up(label, model, shape):
    analysis = attncost.analyze(model, shape)
    assert analysis.network.inputs and analysis.network.attention_maps is not None
    for depth in (None, 1, 2, 3):
        rows = module_table(analysis.network, depth, analysis.modules)
        check_adds_up(analysis.network, rows)
    if label == "encoder":          # attention recognised from the ops has its map in its module's row
        rows = {r.name: r for r in module_table(analysis.network, None, analysis.modules)}
        assert rows["attn"].attention_map_elements == analysis.network.total.attention_map_elements > 0


def test_user_model_rows_are_module_paths_and_classes():
    from attncost.reference.networks import build_network

    spec = with_attention(definition("resnet18"), [AttentionPlacement("se")])
    analysis = attncost.analyze(build_network(spec, (32, 32)), (1, 3, 32, 32))
    rows = {r.name: r for r in module_table(analysis.network, 4, analysis.modules)}
    # attncost.reference.networks names a ResNet's modules stem, layers.<block>.branch/attention/relu
    top = module_table(analysis.network, 1, analysis.modules)
    assert [(r.name, r.type) for r in top] == [("stem", "Sequential"), ("layers", "Sequential"), ("fc", "Linear"),
                                               ("(top level)", "ResNet")]
    # the functional global average pool in ResNet.forward (512 x 1 x 1 from 512 x 1 x 1 at 32x32) is
    # in no submodule: fvcore's and ptflops' per-module tables drop it, here it is the root's own row
    assert top[-1].own and top[-1].counts == {"pool.global_avg": 512, "tally.avg_pool_outputs": 512}
    assert [rows[f"stem.{i}"].type for i in range(4)] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert [name for name in rows if name.startswith("layers.0.branch.")] == [f"layers.0.branch.{i}" for i in range(5)]
    se = rows["layers.0.attention.0"]
    assert (se.type, se.path[-1], se.depth) == ("SqueezeExcite", "attention:se", 4)
    assert se.params == 2 * 64 * 4 + 4 + 64 and se.attention_map_elements == 64
    # the block's own op, `out += identity` in its forward, is a row of its own: at 32x32 the stem
    # leaves 64 x 8 x 8
    own = rows[f"layers.0 {OWN}"]
    assert own.own and own.type == "Bottleneck" and own.counts == {"elementwise.add": 64 * 8 * 8}

    functional = attncost.analyze(Functional(), (2, 3, 8, 8))
    rows = {r.name: r for r in module_table(functional.network, None, functional.modules)}
    top = rows["(top level)"]
    # relu (2*8*64), the add and the multiply by scale (2*8*64 each) and the mean run in the root's forward
    assert top.own and top.params == 8 and top.counts["elementwise.relu"] == 2 * 8 * 64
    assert rows["inner.0"].type == "Conv2d" and rows["inner"].type == "Sequential"
