"""Users' own models: attncost.analyze equals the walker on reference networks, falls back when fx
cannot trace, names unknown ops, and the CLI loads FILE.py:FUNCTION."""

import subprocess
import sys
from pathlib import Path

import torch

import attncost
from attncost.cost import Program
from attncost.cost.compare import differences
from attncost.graph import walk
from attncost.networks import AttentionPlacement, definition, forward, with_attention
from attncost.reference.networks import build_network

FIXTURE = Path(__file__).parent / "fixtures" / "user_model.py"


def test_analyze_equals_the_walker_and_labels_catalogue_modules():
    spec = with_attention(definition("resnet18"), [AttentionPlacement("se")])
    shape = (1, 3, 64, 64)
    analysis = attncost.analyze(build_network(spec, shape[2:]), shape)
    g = Program()
    walked = walk(g, forward(g, g.input(shape), spec))
    assert differences(walked.total, analysis.network.total) == []
    kinds = {row["kind"]: row for row in analysis.network.breakdown("kind", "macs")}
    # SE (r = 16, with biases) in the 8 basic blocks, C = 64, 64, 128, 128, 256, 256, 512, 512:
    # 2 C C/16 + C/16 + C params and 2 C C/16 MACs each, at any resolution
    channels = (64, 64, 128, 128, 256, 256, 512, 512)
    assert kinds["se"]["params"] == sum(2 * c * (c // 16) + c // 16 + c for c in channels) == 89_080
    assert kinds["se"]["macs"] == sum(2 * c * (c // 16) for c in channels) == 87_040


def test_fx_counts_the_same_ops_but_not_the_same_memory():
    spec = definition("resnet18")
    model = build_network(spec, (32, 32))
    eager = attncost.analyze(model, (1, 3, 32, 32))
    fx = attncost.analyze(model, (1, 3, 32, 32), method="fx")
    assert fx.method == "torch.fx" and eager.network.total.counts == fx.network.total.counts
    # fx turns `out += identity` into an out-of-place add: one more allocation per residual block, of
    # its output's size. ResNet-18 at 32x32: stem /2, max pool /2 -> 8x8; two blocks per stage at
    # 64x8x8, 128x4x4, 256x2x2, 512x1x1
    extra = 2 * (64 * 8 * 8 + 128 * 4 * 4 + 256 * 2 * 2 + 512 * 1 * 1)
    assert fx.network.total.activation_elements - eager.network.total.activation_elements == extra == 15_360


def test_fallback_and_unknown_ops_are_reported():
    sys.path.insert(0, str(FIXTURE.parent))
    try:
        import user_model
    finally:
        sys.path.pop(0)

    class Branchy(torch.nn.Module):
        def forward(self, x):
            return torch.cumsum(x, 1) if x.sum() > -1e9 else x

    analysis = attncost.analyze(Branchy(), (1, 3, 4, 4), method="fx")
    assert analysis.method.startswith("eager hooks (torch.fx failed")
    assert "aten.cumsum.default" in analysis.unsupported
    tiny = attncost.analyze(user_model.build_tiny(), (2, 3, 8, 8))
    assert tiny.unsupported == {}
    # conv 3->32 3x3 pad 1 at 8x8: 2*32*64*27 = 110592 MACs; SE 2*32*2; head 2*32*10
    assert tiny.network.total.macs == 2 * 32 * 64 * 27 + 2 * 2 * 32 * 2 + 2 * 32 * 10


def test_cli_user_model(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "attncost.cli", "network", f"{FIXTURE}:build_weird", "--shape",
                         "3x8x8"], capture_output=True, text=True)
    assert ok.returncode == 0 and "no formula for aten.cumsum.default" in ok.stderr
    for bad in (f"{FIXTURE}:nope", f"{FIXTURE}:not_a_module", f"{tmp_path}/missing.py:build"):
        proc = subprocess.run([sys.executable, "-m", "attncost.cli", "network", bad], capture_output=True, text=True)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
