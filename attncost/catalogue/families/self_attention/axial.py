"""Axial-DeepLab's position-sensitive axial attention: self-attention along one axis (a column or a
row), with learned relative position embeddings for queries, keys and values; an axial-attention
layer is a height-axis attention followed by a width-axis one.

Follows the official code, csrhddlam/axial-deeplab ``lib/models/axialnet.py`` ``AxialAttention``, op
for op: the map permuted to one sequence per column (N W, C, H) and made contiguous; a qkv Conv1d
(no bias) + BatchNorm1d to 2 out channels, split per group into q, k (out / groups / 2 each) and v
(out / groups); the relative embeddings (2 out / groups, 2K - 1) gathered to K x K by index_select;
qk, qr, kr (einsums), concatenated and BatchNorm2d'ed (3 groups channels), summed; softmax; sv and sve
(einsums), concatenated, BatchNorm1d'ed (2 out channels) and summed; permuted back (a view); s x s
average pooling after the width attention for stride s (``AxialBlock``'s ``width_block``). The official
module spans the whole axis (kernel_size = the feature size of its stage, one value for both axes of
its square maps); here the height attention spans H and the width attention W, and the module is
built for that H x W (the embeddings are parameters of 2H - 1 and 2W - 1 positions).

``torch.einsum`` is written out as ATen runs it for two operands (``_einsum``): each operand viewed
with one dim per label (output labels first, then the summed one), one bmm over the dims both share,
views back; where the summed dim has size 1 (one q/k channel per group) it is a broadcast multiply.
MACs per axis of length L (N images, the other axis L'): qkv conv N L' L C 2 out; qk, qr, kr
3 N L' groups L^2 (out / groups / 2); sv, sve 2 N L' out L^2.
"""

from __future__ import annotations

from ....algebra import exact_div, is_one
from ....cost import Program, Tensor
from ....errors import HyperparameterError
from ....ops.pointwise import REDUCE_SUM
from ....ops.shapes import numel
from ...common import is_concrete, require_divisible
from ...registry import Hyperparameter as HP
from ...registry import Paper, register

AXIAL_PAPER = Paper(
    title="Axial-DeepLab: Stand-Alone Axial-Attention for Panoptic Segmentation",
    authors="Wang, Zhu, Green, Adam, Yuille, Chen", venue="ECCV 2020", year=2020,
    equation="Eq. 3: position-sensitive self-attention y_o = sum_p softmax_p(q_o^T k_p + q_o^T r^q_{p-o} + "
             "k_p^T r^k_{p-o}) (v_p + r^v_{p-o}), over the 1 x m (width) or m x 1 (height) span of Eq. 4; "
             "Sec. 3.2: an axial-attention layer = height-axis then width-axis",
    code="github.com/csrhddlam/axial-deeplab (lib/models/axialnet.py)",
    follows="official AxialAttention (bias=False): permute + contiguous to (N W, C, H), qkv Conv1d 1x1 C -> 2 out "
            "(no bias) + BatchNorm1d, split q, k, v per group, index_select of the (2 out/groups, 2K - 1) "
            "relative embedding, einsums qr, kr, qk, cat + BatchNorm2d(3 groups) + sum, softmax, einsums sv, "
            "sve, cat + BatchNorm1d(2 out) + sum, permute back; AxialBlock's pair: the height attention "
            "(C -> out), then the width attention (out -> out, AvgPool2d(stride) after it). The span K is the "
            "whole axis: H for the height attention, W for the width attention (official: one kernel_size, "
            "the stage's feature size)")

AXES = ("both", "height", "width")


def _check(shape, hp):
    c = shape[1]
    out = hp["out_channels"] if hp["out_channels"] is not None else c
    groups = hp["groups"]
    require_divisible("axial-attention", "C", c, groups, "groups")
    require_divisible("axial-attention", "out_channels", out, groups, "groups")
    if is_concrete(out) and (int(out) // groups) % 2:
        raise HyperparameterError(f"axial-attention: out_channels / groups = {int(out) // groups} must be even "
                                  f"(q and k take half of each group's channels each)")
    if hp["stride"] > 1:
        if hp["axis"] == "height":
            raise HyperparameterError("axial-attention: stride pools after the width attention; axis=height has none")
        if is_concrete(shape[2], shape[3]) and min(int(shape[2]), int(shape[3])) < hp["stride"]:
            raise HyperparameterError(f"axial-attention: stride={hp['stride']} pools {hp['stride']}x{hp['stride']}, "
                                      f"but H x W is {shape[2]} x {shape[3]}")


def _einsum(g: Program, equation: str, a: Tensor, b: Tensor) -> Tensor:
    """torch.einsum(equation, a, b) for two operands, each label once per operand and one summed label,
    as ATen runs it: both operands viewed with a dim per label (output labels in order, then the summed
    one; a label an operand lacks is a size-1 dim), then ``sumproduct_pair``: the dims of size > 1 in
    both operands (lro), in the left only (lo), in the right only (ro) and the summed one; a bmm of
    (lro, lo, sum) by (lro, sum, ro) (reshapes: views where strides allow, else copies), viewed back
    and permuted to label order; with nothing to sum (the summed dim of size 1 in both) a broadcast
    multiply instead. Where a dim that exists in an operand has size 1, the program is marked
    degenerate (the symbolic formula takes such sizes larger)."""
    inputs, output = equation.replace(" ", "").split("->")
    left, right = inputs.split(",")
    summed = sorted(set(left + right) - set(output))
    if len(summed) != 1 or len(set(left)) != len(left) or len(set(right)) != len(right):
        raise ValueError(f"_einsum models one summed label and no repeated labels, not {equation!r}")
    labels = list(output) + summed
    for t, own in ((a, left), (b, right)):
        ones = [label for label, size in zip(own, t.shape) if is_concrete(size) and int(size) == 1]
        if ones:
            g.mark_degenerate(f"einsum {equation!r}: a size of 1 ({', '.join(ones)}) changes how it contracts")

    def aligned(t: Tensor, own: str) -> Tensor:
        t = g.view(t, (*t.shape, *(1,) * (len(labels) - len(own))))            # unsqueeze(-1) per missing label
        missing = iter(range(len(own), len(labels)))
        return g.permute(t, [own.index(label) if label in own else next(missing) for label in labels])

    a, b = aligned(a, left), aligned(b, right)
    s = len(labels) - 1                                                        # the summed dim
    if is_one(a.shape[s]) and is_one(b.shape[s]):
        product = g.mul(a, b)
        return g.view(product, product.shape[:s])
    if is_one(a.shape[s]) or is_one(b.shape[s]):
        raise ValueError(f"_einsum: the summed label of {equation!r} has size 1 in one operand only")
    lro = [i for i in range(s) if not is_one(a.shape[i]) and not is_one(b.shape[i])]
    lo = [i for i in range(s) if not is_one(a.shape[i]) and is_one(b.shape[i])]
    ro = [i for i in range(s) if i not in lro and i not in lo]
    sizes = {i: (a.shape[i] if i in lro or i in lo else b.shape[i]) for i in range(s)}
    lro_size, lo_size, ro_size = (numel([sizes[i] for i in dims]) for dims in (lro, lo, ro))
    l3 = g.reshape(g.permute(a, lro + lo + [s] + ro), (lro_size, lo_size, a.shape[s]))
    r3 = g.reshape(g.permute(b, lro + [s] + ro + lo), (lro_size, b.shape[s], ro_size))
    order = lro + lo + [s] + ro
    product = g.view(g.bmm(l3, r3), [sizes[i] if i != s else 1 for i in order])
    product = g.permute(product, [order.index(i) for i in range(len(labels))])
    return g.view(product, product.shape[:s])


def axial_attention_1d(g: Program, x: Tensor, out_channels, groups, width: bool, stride=1) -> Tensor:
    """AxialAttention.forward on (N, C, H, W): attention along W (``width``) or H, -> (N, out, H, W)."""
    x = g.permute(x, (0, 2, 1, 3) if width else (0, 3, 1, 2))                 # (N, W, C, H) for the height axis
    n, other, c, length = x.shape
    x = g.view(g.contiguous(x), (n * other, c, length))
    qkv = g.batch_norm(g.conv(x, 2 * out_channels, 1, bias=False, name="qkv_transform"), name="bn_qkv")
    gp = exact_div(out_channels, groups)
    half = exact_div(gp, 2)
    qkv = g.reshape(qkv, (n * other, groups, 2 * gp, length))
    q, k, v = g.split(qkv, [half, half, gp], 2)                              # torch.split: one cat in backward
    relative = g.parameter("relative", (2 * gp, 2 * length - 1))
    embeddings = g.index_select(relative, 1, g.buffer("flatten_index", (length * length,)))
    embeddings = g.view(embeddings, (2 * gp, length, length))
    q_embedding, k_embedding, v_embedding = g.split(embeddings, [half, half, gp], 0)
    qr = _einsum(g, "bgci,cij->bgij", q, q_embedding)
    kr = g.transpose(_einsum(g, "bgci,cij->bgij", k, k_embedding), 2, 3)
    qk = _einsum(g, "bgci,bgcj->bgij", q, k)
    similarity = g.batch_norm(g.cat([qk, qr, kr], 1), name="bn_similarity")  # (N W, 3 groups, H, H)
    similarity = g.reduce(REDUCE_SUM, g.view(similarity, (n * other, 3, groups, length, length)), 1)
    similarity = g.mark_attention_map(g.softmax(similarity, 3))
    sv = _einsum(g, "bgij,bgcj->bgci", similarity, v)
    sve = _einsum(g, "bgij,cij->bgci", similarity, v_embedding)
    output = g.view(g.cat([sv, sve], -1), (n * other, 2 * out_channels, length))
    output = g.batch_norm(output, name="bn_output")
    output = g.reduce(REDUCE_SUM, g.view(output, (n, other, out_channels, 2, length)), -2)
    output = g.permute(output, (0, 2, 1, 3) if width else (0, 2, 3, 1))      # (N, out, H, W), a view
    return g.avg_pool2d(output, stride, stride) if stride > 1 else output


@register(
    "axial-attention", family="self-attention", aliases=("axial", "axial-deeplab"),
    summary="Axial-DeepLab axial attention: position-sensitive self-attention along H, then along W",
    paper=AXIAL_PAPER,
    hyperparameters=[
        HP("groups", 8, "attention heads (groups; must divide C and out_channels)", minimum=1),
        HP("out_channels", None, "output channels (default C); out / groups must be even", minimum=1,
           optional=True),
        HP("stride", 1, "average pooling stride after the width attention (AxialBlock)", minimum=1, maximum=8),
        HP("axis", "both", "both (the axial-attention layer: height, then width), height or width alone",
           type=str, choices=AXES),
    ],
    check=_check,
    notes="The module is built for its input's H x W: each attention spans its whole axis (the official "
          "kernel_size), with relative embeddings of 2 out/groups x (2K - 1) parameters (K = H, then W). "
          "Parameters of one axis: 2 out C (qkv conv) + 4 out (BN1d) + 6 groups (BN2d) + 4 out (BN1d) + "
          "2 (out/groups)(2K - 1). Attention maps: N W groups H^2 (height), N H groups W^2 (width).",
)
def axial_attention(g: Program, x: Tensor, *, groups, out_channels, stride, axis) -> Tensor:
    """Position-sensitive axial attention (Axial-DeepLab Eq. 3-4): the height axis, then the width axis."""
    n, c, h, w = x.shape
    out = out_channels if out_channels is not None else c
    ones = [name for name, size in (("H", h), ("W", w)) if is_concrete(size) and int(size) == 1]
    if ones:                    # a sequence of length 1: its einsums contract differently
        g.mark_degenerate(f"{', '.join(ones)} = 1 changes which copies aten makes")
    if axis in ("both", "height"):
        with g.scope("height_block"):
            x = axial_attention_1d(g, x, out, groups, width=False)
    if axis in ("both", "width"):
        with g.scope("width_block"):
            x = axial_attention_1d(g, x, out, groups, width=True, stride=stride)
    return x
