"""Other attention mechanisms: spatial transformer, residual attention, PAN, deformable conv.

- The spatial transformer has no official code; ``loc=tutorial`` is the PyTorch STN tutorial's
  localisation net with its first conv taking C channels (H, W >= 18); the default ``loc=minimal``
  keeps one conv stage so that maps down to 2x2 work. The FC input size (and so the parameters)
  grows with H and W, as in every STN with a flattening localisation net.
- Residual attention follows the official Caffe prototxts (fwang91/residual-attention-network):
  pre-activation bottleneck units, max pooling down, interpolation up to the exact size of the
  level above, one unit on each skip connection, output T * M + T. ``variant=pytorch`` gives
  tengshaofeng/ResidualAttentionNetwork-pytorch, which also adds each level's down-path feature
  (and the trunk at the top) to the upsampled mask.
- PAN has no official code; FPA and GAU follow segmentation_models.pytorch (decoders/pan), the
  implementation most people use. GAU takes two inputs; this single-input entry uses the 2x2
  average-pooled input as the high-level feature (counted, see its notes).
- Deformable convolution v1 is written in pure PyTorch (torchvision is not a dependency): offsets
  regrouped into one sampling grid, one grid_sample, then a k x k stride-k conv over the sampled
  (kH x kW) map. The bilinear sampling is counted per sampled value (``interpolate.grid_bilinear``:
  4 reads, 4 products, 3 sums, the arithmetic of the official CUDA deformable_im2col).
"""

from __future__ import annotations

from ...algebra import exact_div
from ...cost import Program, Tensor
from ...ops.pointwise import ELEMENTWISE, POW, REDUCE_SUM, RELU, SQRT, SUB
from ...errors import HyperparameterError
from ..blocks import conv_bn_act
from ..common import fdiv, is_concrete, require_divisible
from ..registry import Hyperparameter as HP
from ..registry import Paper, register

STN_PAPER = Paper(
    title="Spatial Transformer Networks", authors="Jaderberg, Simonyan, Zisserman, Kavukcuoglu",
    venue="NeurIPS 2015", year=2015,
    equation="Eq. 1 (affine grid generator), Eq. 3 (sampler), Eq. 4 (integer kernel), Eq. 5 (bilinear kernel)",
    code="no official code; PyTorch tutorial 'Spatial Transformer Networks' (G. Hamrouni)",
    follows="PyTorch tutorial: localisation conv7 (C -> 8), max pool 2, ReLU, conv5 (8 -> 10), max pool 2, ReLU, "
            "Linear(10*h*w -> 32), ReLU, Linear(32 -> 6); F.affine_grid and F.grid_sample "
            "(align_corners=False). loc=minimal: one conv3x3 (C -> 8, padding 1), max pool 2, ReLU, same FC head")

RAN_PAPER = Paper(
    title="Residual Attention Network for Image Classification",
    authors="Wang, Jiang, Qian, Yang, Li, Zhang, Wang, Tang", venue="CVPR 2017", year=2017,
    equation="Sec. 3.1 (attention residual learning H = (1 + M) * F), Sec. 3.2 (soft mask branch), "
             "Sec. 3.3 (mixed f1, channel f2, spatial f3 mask activations)",
    code="github.com/fwang91/residual-attention-network",
    follows="official Attention-56 deploy prototxt: pre-activation bottlenecks (BN-ReLU-conv1x1 C/4, BN-ReLU-"
            "conv3x3, BN-ReLU-conv1x1, no bias), p = 1, t = 2, r = 1, max pool 3x3/2 (padding 1 as in "
            "tengshaofeng/ResidualAttentionNetwork-pytorch, equal to Caffe's for even sizes), one unit per skip, "
            "2r units at the bottom, interpolation to the skip's size, BN-ReLU-conv1x1-BN-ReLU-conv1x1-sigmoid "
            "mask head, T * M + T")

PAN_PAPER = Paper(
    title="Pyramid Attention Network for Semantic Segmentation", authors="Li, Xiong, An, Wang",
    venue="BMVC 2018", year=2018,
    equation="Sec. 3.2 and Fig. 2 (Feature Pyramid Attention), Sec. 3.3 and Fig. 3 (Global Attention Upsample)",
    code="no official code; github.com/qubvel/segmentation_models.pytorch (decoders/pan)",
    follows="segmentation_models.pytorch FPABlock / GAUBlock: ConvBnRelu = conv (bias) + BN + ReLU; FPA pyramid "
            "max pool 2 + 7x7 / 5x5 / 3x3+3x3 convs to one channel, bilinear (align_corners) upsampling, "
            "pyramid * 1x1 branch + GAP branch; GAU: GAP(high) -> 1x1 conv + BN -> sigmoid, times "
            "ConvBnRelu 3x3 (low), plus the upsampled high-level feature")

DCN_PAPER = Paper(
    title="Deformable Convolutional Networks", authors="Dai, Qi, Xiong, Li, Zhang, Hu, Wei",
    venue="ICCV 2017", year=2017,
    equation="Eq. 2 (y(p0) = sum_n w(p_n) x(p0 + p_n + dp_n)), Eq. 3-4 (bilinear kernel G(q, p))",
    code="github.com/msracver/Deformable-ConvNets",
    follows="official ResNet res5 configuration: offset conv 3x3 with bias to 2*dg*k*k channels ((dy, dx) per "
            "group and kernel position), DeformableConvolution 3x3 without bias, dilation 2, 4 deformable "
            "groups; the sampling is written in pure PyTorch (one F.grid_sample, zero padding) instead of the "
            "CUDA deformable_im2col")


def _concrete_sizes(shape):
    """(H, W) as ints when known, else None (symbolic shapes skip size checks)."""
    return (int(shape[2]), int(shape[3])) if is_concrete(shape[2], shape[3]) else None


# -- spatial transformer -------------------------------------------------------------------------

STN_MIN_SIZE = {"tutorial": 18, "minimal": 2}


def _stn_check(shape, hp):
    sizes = _concrete_sizes(shape)
    need = STN_MIN_SIZE[hp["loc"]]
    if sizes is not None and min(sizes) < need:
        raise HyperparameterError(
            f"stn: loc={hp['loc']} needs H, W >= {need}; got {sizes[0]}x{sizes[1]}")


def _localisation(g: Program, x: Tensor, loc: str) -> Tensor:
    """Localisation net -> theta (N, 2, 3): conv/pool/ReLU features, flattened, FC 32, ReLU, FC 6."""
    n = x.shape[0]
    if loc == "tutorial":
        y = g.relu(g.max_pool2d(g.conv(x, 8, 7, name="loc.conv1"), 2, 2), inplace=True)
        y = g.relu(g.max_pool2d(g.conv(y, 10, 5, name="loc.conv2"), 2, 2), inplace=True)
    else:
        y = g.relu(g.max_pool2d(g.conv(x, 8, 3, padding=1, name="loc.conv1"), 2, 2), inplace=True)
    y = g.view(y, (n, y.shape[1] * y.shape[2] * y.shape[3]))      # flatten: the FC input grows with H, W
    y = g.relu(g.linear(y, 32, name="loc.fc1"), inplace=True)
    y = g.linear(y, 6, name="loc.fc2")
    return g.view(y, (n, 2, 3))


@register("stn", family="other", aliases=("spatial-transformer",),
          summary="spatial transformer: localisation net -> affine theta, affine grid, grid sampling of the input",
          paper=STN_PAPER,
          hyperparameters=[
              HP("loc", "minimal", "localisation net: minimal (conv3x3 8, pool 2) or tutorial (PyTorch tutorial: "
                 "conv7 8, pool 2, conv5 10, pool 2)", type=str, choices=("minimal", "tutorial")),
              HP("kernel", "bilinear", "sampling kernel: bilinear (Eq. 5) or nearest (integer, Eq. 4)", type=str,
                 choices=("bilinear", "nearest")),
          ],
          check=_stn_check,
          notes="The localisation FC input is 8*floor(H/2)*floor(W/2) (minimal) or 10*h2*w2 with "
                "h2 = floor((floor((H-6)/2)-4)/2) (tutorial), so parameters and FC MACs grow with H*W; "
                "minimal needs H, W >= 2, tutorial H, W >= 18. affine_grid counts its base grid (copy, 3 per "
                "position) and the bmm with theta^T (mac.affine_grid, 6 per position).")
def stn(g: Program, x: Tensor, *, loc, kernel) -> Tensor:
    """V = sample(U, T_theta(G)), theta = f_loc(U) (STN Eq. 1, 3-5)."""
    theta = _localisation(g, x, loc)
    grid = g.affine_grid(theta, x.shape)                            # (N, H, W, 2)
    g.mark_attention_map(grid)
    return g.grid_sample(x, grid, kernel)


# -- residual attention --------------------------------------------------------------------------

def _preact_unit(g: Program, x: Tensor, name: str) -> Tensor:
    """Pre-activation bottleneck: BN-ReLU-conv1x1 (C/4), BN-ReLU-conv3x3, BN-ReLU-conv1x1 (C), + x."""
    c = x.shape[1]
    mid = fdiv(c, 4)
    y = g.relu(g.batch_norm(x, name=f"{name}.bn1"), inplace=True)
    y = g.conv(y, mid, 1, bias=False, name=f"{name}.conv1")
    y = g.relu(g.batch_norm(y, name=f"{name}.bn2"), inplace=True)
    y = g.conv(y, mid, 3, padding=1, bias=False, name=f"{name}.conv2")
    y = g.relu(g.batch_norm(y, name=f"{name}.bn3"), inplace=True)
    y = g.conv(y, c, 1, bias=False, name=f"{name}.conv3")
    return g.add(y, x, inplace=True)


def _units(g: Program, x: Tensor, count: int, name: str) -> Tensor:
    for i in range(count):
        x = _preact_unit(g, x, f"{name}.{i}")
    return x


def _mask_activation(g: Program, m: Tensor, mask: str) -> Tensor:
    """f1 mixed: sigmoid; f2 channel: x / ||x||_2 over channels; f3 spatial: sigmoid((x - mean) / std)
    with mean and (population) std over each channel's H x W map."""
    if mask == "mixed":
        return g.sigmoid(m)
    if mask == "channel":
        norm = g.unary(SQRT, g.reduce(REDUCE_SUM, g.binary(POW, m, 2), 1, keepdim=True))
        return g.div(m, norm)
    centered = g.binary(SUB, m, g.spatial_mean(m))
    std = g.unary(SQRT, g.spatial_mean(g.binary(POW, centered, 2)))
    return g.sigmoid(g.div(centered, std))


def _ran_check(shape, hp):
    if is_concrete(shape[1]) and int(shape[1]) < 4:
        raise HyperparameterError(f"residual-attention: C={shape[1]} leaves no bottleneck channels "
                                  f"(units use C // 4, need C >= 4)")


@register("residual-attention", family="other", aliases=("ran", "attention-module"),
          summary="residual attention module: trunk units times a bottom-up top-down soft mask, (1 + M) * T",
          paper=RAN_PAPER,
          hyperparameters=[
              HP("p", 1, "pre-activation units before the split and after the merge (at most 16, as t and r: "
                 "each unit is written out)", minimum=0, maximum=16),
              HP("t", 2, "units in the trunk branch (at most 16)", minimum=0, maximum=16),
              HP("r", 1, "units between adjacent pooling levels of the mask branch (2r at the bottom; at most 16)",
                 minimum=1, maximum=16),
              HP("depth", 3, "down/up-sampling levels of the mask branch (Attention-56 stages 1, 2, 3 use 3, 2, 1)",
                 choices=(1, 2, 3)),
              HP("upsample", "bilinear", "mask up-sampling: bilinear (Caffe Interp, align_corners) or nearest",
                 type=str, choices=("bilinear", "nearest")),
              HP("mask", "mixed", "mask activation: mixed f1 (sigmoid), channel f2 (L2 over C), spatial f3",
                 type=str, choices=("mixed", "channel", "spatial")),
              HP("variant", "caffe", "caffe (official prototxt) or pytorch (tengshaofeng: also adds the down-path "
                 "feature at each level and the trunk at the top)", type=str, choices=("caffe", "pytorch")),
          ],
          check=_ran_check,
          notes="Max pooling is 3x3, stride 2, padding 1, so any H, W works and each level is ceil(H/2); "
                "Caffe's unpadded ceil-mode pooling gives the same sizes when H and W are divisible by "
                "2**depth (as in the paper) and one less for odd sizes. Interpolation returns each level to "
                "the exact size of the level above.")
def residual_attention(g: Program, x: Tensor, *, p, t, r, depth, upsample, mask, variant) -> Tensor:
    """H = (1 + M(x)) * T(x) (Sec. 3.1), M from the soft mask branch (Sec. 3.2) with f1/f2/f3 (Sec. 3.3)."""
    x = _units(g, x, p, "pre")
    trunk = _units(g, x, t, "trunk")
    sizes, down, skips = [x.shape[2:]], [], []
    out = x
    for level in range(depth):
        out = g.max_pool2d(out, 3, 2, 1)
        out = _units(g, out, r if level < depth - 1 else 2 * r, f"down{level}")
        sizes.append(out.shape[2:])
        down.append(out)
        if level < depth - 1:
            skips.append(_preact_unit(g, out, f"skip{level}"))
    for level in reversed(range(depth - 1)):
        out = g.interpolate(out, sizes[level + 1], upsample)
        if variant == "pytorch":
            out = g.add(out, down[level])
        out = g.add(out, skips[level])
        out = _units(g, out, r, f"up{level}")
    out = g.interpolate(out, sizes[0], upsample)
    if variant == "pytorch":
        out = g.add(out, trunk)
    out = g.relu(g.batch_norm(out, name="head.bn1"), inplace=True)
    out = g.conv(out, x.shape[1], 1, bias=False, name="head.conv1")
    out = g.relu(g.batch_norm(out, name="head.bn2"), inplace=True)
    out = g.conv(out, x.shape[1], 1, bias=False, name="head.conv2")
    m = _mask_activation(g, out, mask)
    g.mark_attention_map(m)
    if variant == "caffe":
        out = g.add(g.mul(trunk, m), trunk)                          # T * M + T
    else:
        out = g.mul(g.add(m, 1), trunk)                              # (1 + M) * T
    return _units(g, out, p, "post")


# -- PAN: Feature Pyramid Attention and Global Attention Upsample --------------------------------

def _conv_bn_relu(g: Program, x: Tensor, out_channels, kernel, name: str, relu: bool = True) -> Tensor:
    """smp ConvBnRelu: conv with bias (padding k // 2), BatchNorm, ReLU in place."""
    return conv_bn_act(g, x, out_channels, kernel, padding=kernel // 2, bias=True, act=RELU if relu else None,
                       name=f"{name}.conv", bn_name=f"{name}.bn")


def _fpa_check(shape, hp):
    sizes = _concrete_sizes(shape)
    if hp["pool"] == "floor" and sizes is not None and min(sizes) < 8:
        raise HyperparameterError(f"pan-fpa: pool=floor max-pools by 2 three times and needs H, W >= 8; got "
                                  f"{sizes[0]}x{sizes[1]} (pool=ceil takes any size)")


UPSAMPLE = HP("upsample", "bilinear", "up-sampling: bilinear (align_corners=True, smp default) or nearest",
              type=str, choices=("bilinear", "nearest"))


@register("pan-fpa", family="other", aliases=("fpa", "feature-pyramid-attention"),
          summary="PAN feature pyramid attention: 7x7/5x5/3x3 U-shaped pyramid map times a 1x1 branch, plus GAP",
          paper=PAN_PAPER,
          hyperparameters=[HP("out_channels", None, "output channels (default C)", minimum=1, optional=True),
                           HP("pool", "floor", "pyramid 2x2 max pools: floor (smp, sizes H//2, H//4, H//8; needs "
                              "H, W >= 8) or ceil (ceil_mode, any size; up-sampling to each level's own size)",
                              type=str, choices=("ceil", "floor")),
                           UPSAMPLE],
          check=_fpa_check,
          notes="pool=floor is smp's code and needs H, W >= 8 (three 2x2 max pools); pool=ceil extends it to "
                "any size and equals it when H and W are divisible by 8. The pyramid runs on one channel, so "
                "its cost is tiny next to the two C -> C' 1x1 convs.")
def pan_fpa(g: Program, x: Tensor, *, out_channels, pool, upsample) -> Tensor:
    """FPA (PAN Sec. 3.2, Fig. 2): out = up(pyramid) * conv1x1(x) + up(conv1x1(GAP(x)))."""
    n, c, h, w = x.shape
    out_channels = out_channels if out_channels is not None else c
    ceil = pool == "ceil"
    context = _conv_bn_relu(g, g.global_avg_pool(x), out_channels, 1, "branch1")
    context = g.interpolate(context, (h, w), upsample)
    middle = _conv_bn_relu(g, x, out_channels, 1, "mid")
    x1 = _conv_bn_relu(g, g.max_pool2d(x, 2, 2, ceil_mode=ceil), 1, 7, "down1")
    x2 = _conv_bn_relu(g, g.max_pool2d(x1, 2, 2, ceil_mode=ceil), 1, 5, "down2")
    x3 = g.max_pool2d(x2, 2, 2, ceil_mode=ceil)
    x3 = _conv_bn_relu(g, _conv_bn_relu(g, x3, 1, 3, "down3.0"), 1, 3, "down3.1")
    quarter = x2.shape[2:] if ceil else (fdiv(h, 4), fdiv(w, 4))
    half = x1.shape[2:] if ceil else (fdiv(h, 2), fdiv(w, 2))
    x3 = g.interpolate(x3, quarter, upsample)
    x2 = _conv_bn_relu(g, x2, 1, 5, "conv2")
    pyramid = g.interpolate(g.add(x2, x3), half, upsample)
    x1 = _conv_bn_relu(g, x1, 1, 7, "conv1")
    pyramid = g.interpolate(g.add(pyramid, x1), (h, w), upsample)
    g.mark_attention_map(pyramid)
    return g.add(g.mul(pyramid, middle), context)


def _gau_check(shape, hp):
    sizes = _concrete_sizes(shape)
    if sizes is not None and min(sizes) < 2:
        raise HyperparameterError(f"pan-gau: the high-level input is the 2x2-pooled input, needs H, W >= 2; "
                                  f"got {sizes[0]}x{sizes[1]}")


@register("pan-gau", family="other", aliases=("gau", "global-attention-upsample"),
          summary="PAN global attention upsample: GAP(high) gates a 3x3 conv of the low-level map, plus up(high)",
          paper=PAN_PAPER,
          hyperparameters=[HP("gate", "sigmoid", "gate after the 1x1 conv + BN: sigmoid (smp) or relu (paper)",
                              type=str, choices=("sigmoid", "relu")),
                           UPSAMPLE],
          check=_gau_check,
          notes="Single-input entry: the input is the low-level feature (N, C, H, W) and the high-level "
                "feature is taken as avg_pool2d(input, 2), shape (N, C, H//2, W//2), so high and output "
                "channels are C. That stand-in pool is counted (pool.avg, N*C*(H//2)*(W//2)*4, and its "
                "output in memory); everything else is GAU.")
def pan_gau(g: Program, x: Tensor, *, gate, upsample) -> Tensor:
    """GAU (PAN Sec. 3.3, Fig. 3): up(high) + ConvBnRelu3x3(low) * gate(BN(conv1x1(GAP(high))))."""
    n, c, h, w = x.shape
    high = g.avg_pool2d(x, 2)                                        # stand-in high-level feature
    high_up = g.interpolate(high, (h, w), upsample)
    low = _conv_bn_relu(g, x, c, 3, "conv2")
    weights = _conv_bn_relu(g, g.global_avg_pool(high), c, 1, "conv1", relu=False)
    weights = g.unary(ELEMENTWISE[gate], weights, inplace=gate == "relu")
    g.mark_attention_map(weights)
    return g.add(high_up, g.mul(low, weights))


# -- deformable convolution ----------------------------------------------------------------------

def _dcn_check(shape, hp):
    require_divisible("deform-conv", "C", shape[1], hp["deform_groups"], "deform_groups")


@register("deform-conv", family="other", aliases=("dcn", "dcnv1", "deformable-conv"),
          summary="deformable conv v1: offset conv, bilinear sampling at p0 + p_n + dp_n, k x k conv",
          paper=DCN_PAPER,
          hyperparameters=[
              HP("kernel", 3, "kernel size k", minimum=1, odd=True),
              HP("dilation", 2, "dilation (official res5: 2)", minimum=1),
              HP("deform_groups", 4, "deformable groups dg (official res5: 4); offsets: 2*dg*k*k channels",
                 minimum=1),
              HP("out_channels", None, "output channels (default C)", minimum=1, optional=True),
              HP("bias", False, "bias on the deformable conv (official: no_bias=True)", type=bool),
          ],
          check=_dcn_check,
          notes="Counts this pure-PyTorch implementation: offsets regrouped to (dx, dy) order (cat: copy), "
                "scaled and shifted to normalised coordinates in place (elementwise mul and add, each "
                "2*dg*k^2*N*H*W), one grid_sample writing the C*k^2*N*H*W sampled values "
                "(interpolate.grid_bilinear; 4 products + 3 sums each, as the CUDA deformable_im2col) and a "
                "k x k stride-k conv over the (kH, kW) sampled map (mac.conv = N*C_out*H*W*C*k^2). The CUDA "
                "kernel computes the same sampled values without the grid tensor. Stride 1, 'same' padding.")
def deform_conv(g: Program, x: Tensor, *, kernel, dilation, deform_groups, out_channels, bias) -> Tensor:
    """y(p0) = sum_n w(p_n) x(p0 + p_n + dp_n), x(p) bilinear (DCN Eq. 2-4)."""
    n, c, h, w = x.shape
    k, dg = kernel, deform_groups
    out_channels = out_channels if out_channels is not None else c
    pad = dilation * (k - 1) // 2
    offset = g.conv(x, 2 * dg * k * k, k, padding=pad, dilation=dilation, name="offset")
    offset = g.view(offset, (n, dg, k, k, 2, h, w))
    offset = g.permute(offset, (0, 1, 5, 2, 6, 3, 4))                 # (N, dg, H, k, W, k, [dy, dx])
    grid = g.cat([g.slice(offset, 6, 1, 2), g.slice(offset, 6, 0, 1)], 6)   # [dx, dy], as grid_sample reads
    grid = g.mul(grid, g.buffer("scale", (2,)), inplace=True)          # pixels -> [-1, 1] units
    grid = g.add(grid, g.buffer("base", (h, k, w, k, 2)), inplace=True)      # + normalised p0 + p_n
    g.mark_attention_map(grid)
    grid = g.view(grid, (n * dg, h * k, w * k, 2))
    per_group = fdiv(c, dg) if is_concrete(c) else exact_div(c, dg)   # C is divisible by dg
    groups = g.view(x, (n * dg, per_group, h, w))
    sampled = g.grid_sample(groups, grid, "bilinear")                # (N*dg, C/dg, kH, kW)
    sampled = g.view(sampled, (n, c, h * k, w * k))
    return g.conv(sampled, out_channels, k, stride=k, bias=bias, name="conv")
