"""Full-convention FLOPs of SE, ECA, CBAM, GC, Non-local and MHSA, derived by hand op by op.

What is proved: for two shapes per module, the catalogue's symbolic cost and the tracer's count of
the real reference module (attncost/reference/*.py) both weigh to the same ``full`` FLOPs as a
derivation written here, and both report the same count for every arithmetic op kind (softmax,
norms, elementwise ops, pooling, reductions, MACs and bias adds), so that a wrong weight and a
wrong count are each caught.

Why it is independent: the expectation is plain integer arithmetic written in this file. Each
term follows one line of the reference module's ``forward`` and the unit of its op kind in
docs/CONVENTIONS.md, and carries the ``full`` weight from that table as a literal (mac 2, bias
add 1, elementwise / reduce / pool 1, softmax 5, norm.batch 2, norm.layer 5, norm.affine 2). No
attncost code (ops, Program, conventions, catalogue helpers such as ``eca_kernel``) is used to
build it. Copies (``cat``, ``contiguous``) weigh 0 under ``full`` and are left out of the
per-kind comparison.
"""

import pytest
import torch

from attncost import catalogue
from attncost.cost.conventions import flops
from attncost.reference import build
from attncost.trace import trace_module
from derivation import Derivation, arithmetic


def se(n, c, h, w, r):
    d, cr = Derivation(), c // r
    d.add("pool.global_avg", n * c * h * w, 1)   # adaptive_avg_pool2d(x, 1): reads N*C*H*W
    d.add("mac.conv", n * c * cr, 2)             # fc1: 1x1 conv C -> C/r on N vectors, 2 per MAC
    d.add("bias.add", n * cr, 1)                 # fc1 bias: N*C/r outputs
    d.add("elementwise.relu", n * cr, 1)         # relu(inplace=True) on N*C/r
    d.add("mac.conv", n * cr * c, 2)             # fc2: 1x1 conv C/r -> C on N vectors
    d.add("bias.add", n * c, 1)                  # fc2 bias: N*C outputs
    d.add("elementwise.sigmoid", n * c, 1)       # sigmoid gate on N*C
    d.add("elementwise.mul", n * c * h * w, 1)   # x * gate, broadcast to N*C*H*W
    return d


def eca(n, c, h, w, k):
    d = Derivation()
    d.add("pool.global_avg", n * c * h * w, 1)   # adaptive_avg_pool2d(x, 1): reads N*C*H*W
    d.add("mac.conv", n * c * k, 2)              # Conv1d(1, 1, k, pad (k-1)/2): N*C outputs x k taps
    d.add("elementwise.sigmoid", n * c, 1)       # sigmoid on N*C (no conv bias)
    d.add("elementwise.mul", n * c * h * w, 1)   # x * y.expand_as(x)
    return d


def cbam(n, c, h, w, r, kernel):
    d, cr = Derivation(), c // r
    # channel gate
    d.add("pool.avg", n * c * (h * w), 1)        # avg_pool2d(x, (H, W)): N*C outputs x H*W window
    d.add("mac.linear", n * c * cr, 2)           # mlp Linear C -> C/r on the avg vector
    d.add("bias.add", n * cr, 1)                 # its bias
    d.add("elementwise.relu", n * cr, 1)         # nn.ReLU() (not in place) on N*C/r
    d.add("mac.linear", n * cr * c, 2)           # mlp Linear C/r -> C
    d.add("bias.add", n * c, 1)                  # its bias
    d.add("pool.max", n * c * (h * w), 1)        # max_pool2d(x, (H, W)): N*C outputs x H*W window
    d.add("mac.linear", n * c * cr, 2)           # shared mlp again on the max vector: C -> C/r
    d.add("bias.add", n * cr, 1)                 # its bias
    d.add("elementwise.relu", n * cr, 1)         # ReLU
    d.add("mac.linear", n * cr * c, 2)           # C/r -> C
    d.add("bias.add", n * c, 1)                  # its bias
    d.add("elementwise.add", n * c, 1)           # att + mlp(max): N*C
    d.add("elementwise.sigmoid", n * c, 1)       # sigmoid(att): N*C
    d.add("elementwise.mul", n * c * h * w, 1)   # x * scale.expand_as(x)
    # spatial gate (cat of the two maps is a copy, weight 0)
    d.add("reduce.max", n * c * h * w, 1)        # torch.max(x, 1): reads N*C*H*W
    d.add("reduce.mean", n * c * h * w, 1)       # torch.mean(x, 1): reads N*C*H*W
    d.add("mac.conv", n * h * w * 2 * kernel * kernel, 2)   # conv 2 -> 1, k x k, same size, no bias
    d.add("norm.batch", n * h * w, 2)            # BatchNorm2d(1) in eval: subtract, scale
    d.add("norm.affine", n * h * w, 2)           # its affine weight and bias
    d.add("elementwise.sigmoid", n * h * w, 1)   # sigmoid on N*1*H*W
    d.add("elementwise.mul", n * c * h * w, 1)   # x * gate, broadcast over C
    return d


def gc(n, c, h, w, r):
    d, p, hw = Derivation(), c // r, h * w
    d.add("mac.conv", n * hw * c, 2)             # conv_mask: 1x1 conv C -> 1 over H*W
    d.add("bias.add", n * hw, 1)                 # its bias
    d.add("softmax", n * hw, 5)                  # softmax over the N*H*W mask logits
    d.add("mac.matmul", n * c * hw, 2)           # bmm (N, C, HW) x (N, HW, 1): N*C outputs x HW
    d.add("mac.conv", n * c * p, 2)              # transform conv C -> C' on the N context vectors
    d.add("bias.add", n * p, 1)                  # its bias
    d.add("norm.layer", n * p, 5)                # LayerNorm([C', 1, 1]): N*C' elements
    d.add("norm.affine", n * p, 2)               # its elementwise affine
    d.add("elementwise.relu", n * p, 1)          # ReLU(inplace=True) on N*C'
    d.add("mac.conv", n * p * c, 2)              # conv C' -> C
    d.add("bias.add", n * c, 1)                  # its bias
    d.add("elementwise.add", n * c * h * w, 1)   # x + channel term, broadcast to N*C*H*W
    return d


def nonlocal_embedded(n, c, h, w, inter):
    d, hw, m = Derivation(), h * w, (h // 2) * (w // 2)
    d.add("mac.conv", n * hw * c * inter, 2)     # g: 1x1 conv C -> C' over H*W
    d.add("bias.add", n * inter * hw, 1)         # its bias
    d.add("pool.max", n * inter * m * 4, 1)      # g's MaxPool2d(2): N*C'*M outputs x 2*2 window
    d.add("mac.conv", n * hw * c * inter, 2)     # theta: 1x1 conv C -> C'
    d.add("bias.add", n * inter * hw, 1)         # its bias
    d.add("mac.conv", n * hw * c * inter, 2)     # phi: 1x1 conv C -> C'
    d.add("bias.add", n * inter * hw, 1)         # its bias
    d.add("pool.max", n * inter * m * 4, 1)      # phi's MaxPool2d(2)
    d.add("mac.matmul", n * hw * m * inter, 2)   # f = theta (N, HW, C') @ phi (N, C', M)
    d.add("softmax", n * hw * m, 5)              # softmax(f, -1) (embedded gaussian)
    d.add("mac.matmul", n * hw * inter * m, 2)   # y = f (N, HW, M) @ g (N, M, C')
    d.add("mac.conv", n * hw * inter * c, 2)     # W: 1x1 conv C' -> C
    d.add("bias.add", n * c * hw, 1)             # its bias
    d.add("norm.batch", n * c * hw, 2)           # BatchNorm2d(C) in eval
    d.add("norm.affine", n * c * hw, 2)          # its affine
    d.add("elementwise.add", n * c * hw, 1)      # W(y) + x
    return d


def mhsa(n, c, h, w, heads, head_dim, qkv_bias):
    d, length, inner = Derivation(), h * w, heads * head_dim
    d.add("mac.linear", n * length * c * 3 * inner, 2)     # qkv Linear C -> 3*heads*d on N*HW tokens
    if qkv_bias:
        d.add("bias.add", n * length * 3 * inner, 1)       # qkv bias
    d.add("elementwise.mul", n * heads * length * head_dim, 1)   # q * scale
    d.add("mac.matmul", n * heads * length * length * head_dim, 2)   # q @ k^T: (L, d) x (d, L)
    d.add("softmax", n * heads * length * length, 5)       # softmax over keys
    d.add("mac.matmul", n * heads * length * head_dim * length, 2)   # attn @ v: (L, L) x (L, d)
    d.add("mac.linear", n * length * inner * c, 2)         # proj Linear heads*d -> C
    d.add("bias.add", n * length * c, 1)                   # proj bias (always on)
    return d


# name, shape, hp passed to the catalogue and build, the hand derivation.
# ECA-Net Eq. 12 (gamma 2, b 1): C=64: int((6 + 1) / 2) = 3, odd -> k 3; C=256: int((8 + 1) / 2) = 4 -> k 5.
CASES = [
    ("se", (1, 64, 14, 14), {}, lambda: se(1, 64, 14, 14, r=16)),
    ("se", (2, 256, 7, 7), {"r": 8}, lambda: se(2, 256, 7, 7, r=8)),
    ("eca", (1, 64, 14, 14), {}, lambda: eca(1, 64, 14, 14, k=3)),
    ("eca", (2, 256, 7, 7), {}, lambda: eca(2, 256, 7, 7, k=5)),
    ("cbam", (1, 64, 14, 14), {}, lambda: cbam(1, 64, 14, 14, r=16, kernel=7)),
    ("cbam", (2, 256, 7, 7), {"r": 8, "kernel": 3}, lambda: cbam(2, 256, 7, 7, r=8, kernel=3)),
    ("gc", (1, 64, 14, 14), {}, lambda: gc(1, 64, 14, 14, r=16)),
    ("gc", (2, 256, 7, 7), {"r": 4}, lambda: gc(2, 256, 7, 7, r=4)),
    ("nonlocal", (1, 64, 14, 14), {}, lambda: nonlocal_embedded(1, 64, 14, 14, inter=32)),
    ("nonlocal", (2, 256, 7, 7), {"mode": "embedded", "inter_channels": 64, "sub_sample": True, "bn": True},
     lambda: nonlocal_embedded(2, 256, 7, 7, inter=64)),
    ("mhsa", (1, 64, 14, 14), {}, lambda: mhsa(1, 64, 14, 14, heads=8, head_dim=8, qkv_bias=True)),
    ("mhsa", (2, 256, 7, 7), {"heads": 4, "qkv_bias": False},
     lambda: mhsa(2, 256, 7, 7, heads=4, head_dim=64, qkv_bias=False)),
]

IDS = [f"{name}-{'x'.join(map(str, shape))}" for name, shape, _, _ in CASES]


@pytest.mark.parametrize("name, shape, hp, derive", CASES, ids=IDS)
def test_catalogue_full_flops_match_hand_derivation(name, shape, hp, derive):
    expected = derive()
    cost = catalogue.get(name).cost(shape, hp)
    assert arithmetic(cost.counts) == expected.counts
    assert flops(cost, "full") == expected.total


@pytest.mark.parametrize("name, shape, hp, derive", CASES, ids=IDS)
def test_traced_reference_full_flops_match_hand_derivation(name, shape, hp, derive):
    expected = derive()
    torch.manual_seed(0)
    module = build(name, shape, hp)
    cost, _, _ = trace_module(module, torch.randn(*shape))
    assert arithmetic(cost.counts) == expected.counts
    assert flops(cost, "full") == expected.total

