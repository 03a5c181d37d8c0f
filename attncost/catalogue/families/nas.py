"""Neural architecture search building blocks: the MBConv layer of the Single-Path NAS search space.

Single-Path NAS (Stamoulis et al. 2019) searches, per layer, the depthwise kernel size k in {3, 5},
the expansion ratio e in {3, 6}, and (on stride-1 layers whose channels do not change) skipping the
layer. Instead of parallel candidate paths it keeps one 5x5 depthwise *superkernel* over 6C channels
and decides with indicator functions which parts of it are used:

- Eq. 1-2 (kernel size): w_k = w_3x3 + 1(use 5x5) * w_5x5\\3x3, the indicator being
  1(||w_5x5\\3x3||^2 > t_k=5); the official code calls its value ``d5x5``.
- Eq. 3-4 (expansion ratio and skip): the 6C channels are two halves of 3C;
  w = 1(use e=3) * (w_k,3 + 1(use e=6) * w_k,6\\3), indicators 1(||w_k,3||^2 > t_e=3) (``d50c``; 0
  drops the whole layer, leaving the identity) and 1(||w_k,6\\3||^2 > t_e=6) (``d100c``).

Every cost of the layer follows the same algebra: with e' = 3C + d100c * 3C expanded channels and a
depthwise kernel of 9 + d5x5 * 16 taps, ``superkernel_cost`` gives the cost as a polynomial in the
indicators (multilinear, so it is the unique multilinear extension of the four concrete layers'
costs), and NAS code can differentiate it through a relaxation of the indicators. At 0/1 it equals
the concrete ``mbconv`` entry exactly (tests/catalogue/test_nas_superkernel.py).
"""

from __future__ import annotations

from ... import symbols
from ...algebra import is_zero, normalize
from ...cost import Cost, Program, Tensor
from ...errors import HyperparameterError
from ...ops.conv import conv
from ...ops.shapes import conv_output_size, numel
from ..blocks import ACTIVATIONS
from ..blocks import mbconv as mbconv_block
from ..common import is_concrete
from ..registry import Hyperparameter as HP
from ..registry import Paper, register

SINGLE_PATH_PAPER = Paper(
    title="Single-Path NAS: Designing Hardware-Efficient ConvNets in less than 4 Hours",
    authors="Stamoulis, Ding, Wang, Lymberopoulos, Priyantha, Liu, Marculescu",
    venue="ECML-PKDD 2019 (arXiv 1904.02877)", year=2019,
    equation="Eq. 1-2 (kernel-size superkernel), Eq. 3-4 (expansion ratio and skip as channel groups)",
    code="github.com/dstamoulis/single-path-nas",
    follows="official nas-search/singlepath_supernet.py MBConvBlock (from the MnasNet TPU code): 1x1 expand "
            "without bias, BN, ReLU; depthwise kxk (stride s, 'same' padding) without bias, BN, ReLU; 1x1 "
            "project without bias, BN; residual add when stride 1 and Cin == Cout; superkernel.py for Eq. 1-4")

#: The indicator values of Single-Path NAS Eq. 1-4, named as the official code names them: the sympy
#: symbols ``D5X5``, ``D50C``, ``D100C`` of this module, made on first use (``indicators()``) so that
#: importing the catalogue does not import sympy.
INDICATORS = ("D5X5", "D50C", "D100C")


def indicators() -> tuple:
    """(d5x5, d50c, d100c) as sympy symbols (real, nonnegative)."""
    if "D5X5" not in globals():
        import sympy

        globals().update(zip(INDICATORS, sympy.symbols("d5x5 d50c d100c", real=True, nonnegative=True)))
    return tuple(globals()[name] for name in INDICATORS)


def __getattr__(name: str):
    if name in INDICATORS:
        return indicators()[INDICATORS.index(name)]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _skippable(channels, out_channels, stride) -> bool:
    return stride == 1 and (out_channels is None or out_channels == channels)


def _mbconv_check(shape, hp):
    if hp["skip"] and is_concrete(shape[1]) and not _skippable(shape[1], hp["out_channels"], hp["stride"]):
        raise HyperparameterError(
            f"mbconv.skip=True needs stride 1 and out_channels == C (got stride={hp['stride']}, "
            f"out_channels={hp['out_channels']}, C={shape[1]}): only such layers can be identities")


@register(
    "mbconv", family="nas", aliases=("mbconv-block", "inverted-residual", "single-path-mbconv"),
    summary="MBConv of the Single-Path NAS space: 1x1 expand, depthwise k x k, 1x1 project, residual; or skip",
    paper=SINGLE_PATH_PAPER,
    hyperparameters=[
        HP("kernel", 3, "depthwise kernel size", choices=(3, 5)),
        HP("expansion", 6, "expansion ratio e: C*e hidden channels", choices=(3, 6)),
        HP("out_channels", None, "output channels (default C)", minimum=1, optional=True),
        HP("stride", 1, "depthwise stride", choices=(1, 2)),
        HP("skip", False, "the layer is skipped (an identity; stride 1 and out_channels == C only)", type=bool),
        HP("activation", "relu", "activation (the official code uses ReLU; MobileNetV2 uses ReLU6)", type=str,
           choices=tuple(ACTIVATIONS)),
    ],
    check=_mbconv_check,
    symbolic_channels=False,
    notes="Stride 2 uses symmetric padding (k-1)//2; TF's 'same' pads one more on the bottom/right, with the "
          "same output size and the same counts. superkernel_cost() in this module gives the cost as a "
          "function of the Single-Path NAS indicators.",
)
def mbconv(g: Program, x: Tensor, *, kernel, expansion, out_channels, stride, skip, activation) -> Tensor:
    """y = BN(W_p act(BN(DW_k act(BN(W_e x))))) + x (MnasNet/Single-Path MBConv); skip: y = x."""
    if skip:
        return x
    c = x.shape[1]
    return mbconv_block(g, x, out_channels if out_channels is not None else c, c * expansion, kernel, stride,
                        act=ACTIVATIONS[activation])


def superkernel_cost(shape=None, out_channels=None, stride=1, d5x5=None, d50c=None, d100c=None,
                     activation="relu") -> Cost:
    """The MBConv layer's cost as a function of the Single-Path NAS indicators (Eq. 1-4).

    ``d5x5`` = 1(use 5x5), ``d50c`` = 1(use e=3) (0 skips the layer), ``d100c`` = 1(use e=6); each
    may be a number or a symbol (the sympy symbols ``D5X5``, ``D50C``, ``D100C`` by default; ``shape``
    N, C, H, W by default), so the result can be differentiated with
    respect to them. With e' = 3C + d100c * 3C (Eq. 3) and the depthwise ring of 16 taps weighted by
    d5x5 (Eq. 1):

    - every count and parameter = d50c * (layer with e' channels and a 3x3 depthwise
      + d5x5 * the 5x5\\3x3 ring's MACs and weights) (Eq. 4);
    - activation elements = d50c * (those of the layer with e' channels) (kernel size changes no tensor);
    - peak live elements = d50c * (the layer's peak) + (1 - d50c) * input elements (the identity's).

    A skipped layer (``d50c`` = 0) must be skippable: stride 1 and out_channels == C, as in the
    official supernet, which fixes d50c to 1 on the other layers.
    """
    if None in (d5x5, d50c, d100c):
        d5x5, d50c, d100c = (d if v is None else v for v, d in zip((d5x5, d50c, d100c), indicators()))
    shape = tuple(normalize(s) for s in (symbols.SHAPE_SYMBOLS if shape is None else shape))
    channels = shape[1]
    out_channels = out_channels if out_channels is not None else channels
    if stride not in (1, 2):
        raise HyperparameterError(f"superkernel_cost: stride={stride} is not one of: 1, 2")
    if activation not in ACTIVATIONS:
        raise HyperparameterError(f"superkernel_cost: activation={activation!r} is not one of: relu, relu6")
    if is_zero(d50c) and not _skippable(channels, out_channels, stride):
        raise HyperparameterError("superkernel_cost: d50c=0 (skip) needs stride 1 and out_channels == C")
    hidden = 3 * channels + d100c * 3 * channels
    g = Program()
    x = g.input(shape)
    layer = g.finish(mbconv_block(g, x, out_channels, hidden, 3, stride, act=ACTIVATIONS[activation]))
    n, _, h, w = shape
    depthwise_out = (n, hidden, conv_output_size(h, 3, stride, 1), conv_output_size(w, 3, stride, 1))
    ring_taps = 5 * 5 - 3 * 3
    ring = conv((n, hidden, h, w), (hidden, 1, ring_taps), depthwise_out, False)
    counts = {kind: d50c * (layer.counts.get(kind, 0) + d5x5 * ring.get(kind, 0))
              for kind in set(layer.counts) | set(ring)}
    return Cost(
        counts=counts,
        params=d50c * (layer.params + d5x5 * ring_taps * hidden),
        activation_elements=d50c * layer.activation_elements,
        peak_live_elements=d50c * layer.peak_live_elements + (1 - d50c) * numel(shape),
        attention_map_elements=0,
    )
