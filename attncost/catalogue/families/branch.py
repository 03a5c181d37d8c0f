"""Branch and dynamic-kernel attention: Selective Kernel, ResNeSt split attention, CondConv, DynamicConv.

The first two weigh parallel *feature* branches (convs with different receptive fields, or radix
splits) with a softmax across branches; the last two weigh parallel *kernels* and run one conv with
the per-sample mixture. Equivalences worth knowing: split attention with radix 1 is an SE gate (with
BN in its bottleneck) on the splat conv's output, and so is SK with one branch and a sigmoid in place
of the softmax. A mixed kernel costs one conv plus the mixture, ``N x experts x |W|``
multiply-accumulates; the per-sample kernels run as one conv grouped over the batch (groups = N), as
the PyTorch ports do (the official CondConv splits the batch instead: same MACs).
"""

from __future__ import annotations

from ...algebra import maximum
from ...cost import Program, Tensor
from ...errors import HyperparameterError
from ..common import fdiv, is_concrete, require_divisible
from ..registry import Hyperparameter as HP
from ..registry import Paper, register

SK_PAPER = Paper(
    title="Selective Kernel Networks", authors="Li, Wang, Hu, Yang", venue="CVPR 2019", year=2019,
    equation="Eq. 1 (fuse U = U1 + U2), Eq. 2 (GAP), Eq. 3 (z = ReLU(BN(W s)), d = max(C/r, L)), "
             "Eq. 5-6 (softmax across branches, V = a U1 + b U2)",
    code="github.com/implus/SKNet",
    follows="official sknet50.prototxt: branch m is a 3x3 conv, group G, dilation and pad m+1, no bias, "
            "BN, ReLU; Eltwise SUM; global average pool; B_fc1 1x1 conv C->d without bias, BN, ReLU; "
            "B_fc2 one 1x1 conv d->M*C without bias; reshape (N, M, C, 1), softmax over M; Scale + Axpy")

SPLAT_PAPER = Paper(
    title="ResNeSt: Split-Attention Networks",
    authors="Zhang, Wu, Zhang, Zhu, Lin, Zhang, Sun, He, Mueller, Manmatha, Li, Smola",
    venue="CVPRW 2022 (arXiv 2020)", year=2020,
    equation="Sec. 3.1-3.2 (Eq. 1 GAP of the summed splits, Eq. 2 r-softmax, Eq. 3 weighted fusion)",
    code="github.com/zhanghang1989/ResNeSt",
    follows="official resnest/torch/models/splat.py SplAtConv2d as the ResNeSt bottleneck builds it: 3x3 "
            "conv C->C*R, groups K*R, no bias, BN, ReLU; sum of the R splits (Python sum, starting at 0); "
            "GAP; fc1 1x1 conv C->max(C*R//4, 32) groups K with bias, BN, ReLU; fc2 1x1 conv groups K with "
            "bias; rSoftMax (softmax over R, sigmoid for R = 1); sum of R weighted splits")

CONDCONV_PAPER = Paper(
    title="CondConv: Conditionally Parameterized Convolutions for Efficient Inference",
    authors="Yang, Bender, Le, Ngiam", venue="NeurIPS 2019", year=2019,
    equation="Eq. 1 (y = sigma((a_1 W_1 + ... + a_n W_n) * x)), Eq. 2 (r(x) = Sigmoid(GAP(x) R))",
    code="github.com/tensorflow/tpu (models/official/efficientnet/condconv)",
    follows="official condconv_layers.py CondConv2D (kernel = routing_weights @ condconv_kernel, biases "
            "mixed the same way) with the EfficientNet-CondConv routing Dense(num_experts, sigmoid) with bias "
            "on the pooled input; per-sample convs run as one grouped conv over the batch (timm CondConv2d)")

DYCONV_PAPER = Paper(
    title="Dynamic Convolution: Attention over Convolution Kernels",
    authors="Chen, Dai, Liu, Chen, Yuan, Liu", venue="CVPR 2020", year=2020,
    equation="Eq. 1 (W(x) = sum_k pi_k(x) W_k, b(x) = sum_k pi_k(x) b_k), Eq. 3 (softmax with "
             "temperature tau); Sec. 4 (attention: GAP, FC C->C/4, ReLU, FC -> K, softmax; tau = 30)",
    code="none released by the authors",
    follows="the paper (Sec. 3-4): FC layers with bias, hidden C // 4, logits / tau, softmax over the K "
            "kernels, aggregated kernel and bias; per-sample convs as one grouped conv over the batch, as "
            "the common PyTorch port kaijieshi7/Dynamic-convolution-Pytorch does")


def _sk_hidden(channels, r, min_hidden):
    """d = max(C / r, L) (SK Eq. 4), with C // r as the official prototxts size it."""
    return maximum(fdiv(channels, r), min_hidden)


def _sk_check(shape, hp):
    require_divisible("sk", "C", shape[1], hp["groups"], "groups")


@register(
    "sk", family="branch", aliases=("sknet", "skconv"),
    summary="selective kernel: M dilated grouped 3x3 branches, fused, softmax across branches per channel",
    paper=SK_PAPER,
    hyperparameters=[
        HP("branches", 2, "M: parallel branches; branch m is a 3x3 conv with dilation m+1 (2 to 64: each is "
                     "written out)", minimum=2, maximum=64),
        HP("groups", 32, "G: groups of each branch conv (C must be divisible by G)", minimum=1, symbolic=True),
        HP("r", 16, "reduction ratio of the fuse FC: d = max(C // r, L)", minimum=1, symbolic=True),
        HP("min_hidden", 32, "L: the smallest d", minimum=1),
        HP("stride", 1, "stride of every branch conv (sknet50.prototxt: 2 in the first unit of stages 3-5)",
           choices=(1, 2)),
    ],
    check=_sk_check,
    notes="The 5x5 branch is a dilated 3x3 (as in the paper's experiments and official models). For M > 2 "
          "the fuse sum and the weighted sum chain pairwise adds (Caffe's Eltwise/Axpy do it in place).",
)
def sk(g: Program, x: Tensor, *, branches, groups, r, min_hidden, stride) -> Tensor:
    """V = sum_m a_m U_m, a = softmax_M(W2 ReLU(BN(W1 GAP(sum_m U_m)))) (SK Eq. 1-6)."""
    n, c = x.shape[:2]
    features = []
    for m in range(branches):
        u = g.conv(x, c, 3, stride=stride, padding=m + 1, dilation=m + 1, groups=groups, bias=False,
                   name=f"branch{m}")
        u = g.batch_norm(u, name=f"branch{m}_bn")
        features.append(g.relu(u, inplace=True))
    fused = features[0]
    for u in features[1:]:
        fused = g.add(fused, u)                                        # Eltwise SUM
    z = g.global_avg_pool(fused)
    z = g.conv(z, _sk_hidden(c, r, min_hidden), 1, bias=False, name="fc1")
    z = g.relu(g.batch_norm(z, name="fc1_bn"), inplace=True)
    logits = g.conv(z, branches * c, 1, bias=False, name="fc2")       # the M fcs d -> C as one conv
    attention = g.softmax(g.view(logits, (n, branches, c, 1)), 1)
    g.mark_attention_map(attention)

    def branch_weight(m):                                              # a[:, m] -> (N, C, 1, 1)
        return g.view(g.select(attention, 1, m), (n, c, 1, 1))

    out = g.mul(features[0], branch_weight(0))                         # Scale
    for m, u in enumerate(features[1:], start=1):
        out = g.add(g.mul(u, branch_weight(m)), out)                   # Axpy: a * x + y
    return out


def _splat_inter(channels, radix, reduction):
    """inter_channels = max(C * R // reduction, 32) (splat.py)."""
    return maximum(fdiv(channels * radix, reduction), 32)


def _splat_check(shape, hp):
    c, radix, cardinality = shape[1], hp["radix"], hp["cardinality"]
    require_divisible("split-attention", "C", c, radix * cardinality, "radix*cardinality")
    if is_concrete(c, radix, hp["reduction"], cardinality):
        inter = int(_splat_inter(int(c), radix, hp["reduction"]))
        if inter % cardinality:
            raise HyperparameterError(
                f"split-attention: inter channels max(C*radix//reduction, 32)={inter} is not divisible by "
                f"cardinality={cardinality}")


@register(
    "split-attention", family="branch", aliases=("splat", "resnest", "splat-conv"),
    summary="ResNeSt split attention: 3x3 conv into R radix splits, GAP of their sum, r-softmax across splits",
    paper=SPLAT_PAPER,
    hyperparameters=[
        HP("radix", 2, "R: splits per cardinal group (1 uses a sigmoid gate; at most 64: each split is written "
                  "out)", minimum=1, maximum=64),
        HP("cardinality", 1, "K: cardinal groups (groups of fc1/fc2; the conv has K*R groups)", minimum=1),
        HP("reduction", 4, "inter channels max(C*R // reduction, 32)", minimum=1),
    ],
    check=_splat_check,
)
def split_attention(g: Program, x: Tensor, *, radix, cardinality, reduction) -> Tensor:
    """V = sum_r a_r U_r, a = rSoftMax(fc2(ReLU(BN(fc1(GAP(sum_r U_r)))))) (ResNeSt Sec. 3)."""
    n, c, h, w = x.shape
    y = g.conv(x, c * radix, 3, padding=1, groups=cardinality * radix, bias=False, name="conv")
    y = g.relu(g.batch_norm(y, name="bn0"), inplace=True)
    if radix > 1:
        splits = g.split(y, [c] * radix, 1)                             # torch.split along channels
        gap = g.add(splits[0], 0)                                      # sum() starts from 0
        for s in splits[1:]:
            gap = g.add(gap, s)
    else:
        gap = y
    gap = g.global_avg_pool(gap)
    gap = g.conv(gap, _splat_inter(c, radix, reduction), 1, groups=cardinality, name="fc1")
    gap = g.relu(g.batch_norm(gap, name="bn1"), inplace=True)
    logits = g.conv(gap, c * radix, 1, groups=cardinality, name="fc2")
    if radix > 1:                                                      # rSoftMax
        logits = g.view(logits, (n, cardinality, radix, fdiv(c, cardinality)))
        attention = g.softmax(g.transpose(logits, 1, 2), 1)            # (N, R, K, C/K)
        attention = g.view(attention, (n, c * radix))
    else:
        attention = g.sigmoid(logits)
    g.mark_attention_map(attention)
    attention = g.view(attention, (n, c * radix, 1, 1))
    if radix == 1:
        return g.mul(attention, y)
    weights = g.split(attention, [c] * radix, 1)                        # torch.split
    products = [g.mul(a, s) for a, s in zip(weights, splits)]
    out = g.add(products[0], 0)
    for p in products[1:]:
        out = g.add(out, p)
    return g.contiguous(out)                                           # out.contiguous(): a copy of a channels-last map


def _mixed_conv(g: Program, x: Tensor, mixture: Tensor, out_channels, kernel, stride, bias) -> Tensor:
    """Per-sample kernel sum_i m_i W_i (and bias), run as one conv grouped over the batch.

    The mixture (N, E) times the (E, |W|) expert matrix is a matrix product with a parameter, which
    the tracer counts as ``mac.linear`` (it is the same arithmetic as a bias-free linear layer)."""
    n, c, h, w = x.shape
    weight = g.linear(mixture, out_channels * c * kernel * kernel, bias=False, name="weight")
    weight = g.view(weight, (n * out_channels, c, kernel, kernel))
    mixed_bias = None
    if bias:
        mixed_bias = g.view(g.linear(mixture, out_channels, bias=False, name="bias"), (n * out_channels,))
    xs = g.view(x, (1, n * c, h, w))
    out = g.conv_with_weight(xs, weight, mixed_bias, stride=stride, padding=fdiv(kernel - 1, 2), groups=n)
    return g.view(out, (n, out_channels, *out.shape[2:]))


def _dynamic_conv_check(shape, hp):
    if hp["temperature"] <= 0:
        raise HyperparameterError(f"dynamic-conv.temperature={hp['temperature']:g} must be positive")
    if is_concrete(shape[1]) and fdiv(int(shape[1]), hp["reduction"]) < 1:
        raise HyperparameterError(f"dynamic-conv: C={shape[1]} with reduction={hp['reduction']} leaves no hidden "
                                  f"units (need C // reduction >= 1)")


@register(
    "condconv", family="branch", aliases=("cond-conv", "conditional-conv"),
    summary="conditionally parameterised conv: sigmoid routing over n expert kernels, one mixed kernel per sample",
    paper=CONDCONV_PAPER,
    hyperparameters=[
        HP("experts", 8, "n: expert kernels", minimum=1),
        HP("out_channels", None, "output channels (default C)", minimum=1, optional=True),
        HP("kernel", 3, "kernel size (padding (k-1)//2)", minimum=1, odd=True),
        HP("stride", 1, "conv stride", choices=(1, 2)),
        HP("bias", False, "expert biases, mixed like the kernels (EfficientNet-CondConv blocks: none, BN follows)",
           type=bool),
    ],
    notes="The official TF code splits the batch and runs one conv per example; the grouped conv here has "
          "the same MACs and parameters, one output allocation instead of N plus a concat.",
)
def condconv(g: Program, x: Tensor, *, experts, out_channels, kernel, stride, bias) -> Tensor:
    """y = (sum_i r_i(x) W_i) * x, r(x) = sigmoid(FC(GAP(x))) (CondConv Eq. 1-2)."""
    n, c = x.shape[:2]
    pooled = g.view(g.global_avg_pool(x), (n, c))                     # flatten(1)
    routing = g.sigmoid(g.linear(pooled, experts, name="routing"))
    g.mark_attention_map(routing)
    return _mixed_conv(g, x, routing, out_channels if out_channels is not None else c, kernel, stride, bias)


@register(
    "dynamic-conv", family="branch", aliases=("dyconv", "dynamic-convolution"),
    summary="dynamic convolution: SE-style softmax attention (temperature tau) over K kernels, aggregated per sample",
    paper=DYCONV_PAPER,
    hyperparameters=[
        HP("experts", 4, "K: parallel kernels", minimum=1),
        HP("out_channels", None, "output channels (default C)", minimum=1, optional=True),
        HP("kernel", 3, "kernel size (padding (k-1)//2)", minimum=1, odd=True),
        HP("stride", 1, "conv stride", choices=(1, 2)),
        HP("reduction", 4, "attention hidden width C // reduction", minimum=1),
        HP("temperature", 30.0, "tau of the softmax (30 at the start of training, annealed to 1; same cost)",
           type=float),
        HP("bias", True, "per-kernel biases, aggregated like the kernels (Eq. 1)", type=bool),
    ],
    check=_dynamic_conv_check,
    notes="The division by tau is counted at every value of tau (the code always divides).",
)
def dynamic_conv(g: Program, x: Tensor, *, experts, out_channels, kernel, stride, reduction, temperature,
                 bias) -> Tensor:
    """y = (sum_k pi_k W_k) * x + sum_k pi_k b_k, pi = softmax(FC2(ReLU(FC1(GAP(x)))) / tau) (Eq. 1, 3)."""
    n, c = x.shape[:2]
    pooled = g.view(g.global_avg_pool(x), (n, c))                     # flatten(1)
    hidden = g.relu(g.linear(pooled, fdiv(c, reduction), name="fc1"), inplace=True)
    logits = g.div(g.linear(hidden, experts, name="fc2"), temperature)
    attention = g.softmax(logits, 1)
    g.mark_attention_map(attention)
    return _mixed_conv(g, x, attention, out_channels if out_channels is not None else c, kernel, stride, bias)
