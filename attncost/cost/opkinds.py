"""The registry of op kinds a :class:`~attncost.cost.Cost` counts.

An op kind is ``category.name`` (``mac.conv``, ``elementwise.sigmoid``, ``pool.max``). Its count is
the natural unit of that op, fixed here once so that the catalogue, the tracer and every convention
agree (see docs/CONVENTIONS.md):

- ``mac.*``: multiply-accumulates;
- ``bias.add``: one add per output element of a biased conv/linear;
- ``elementwise.*``: output elements;
- ``reduce.*`` and ``pool.*``: input elements read, summed over outputs (window size x outputs);
- ``softmax``: elements;
- ``norm.*``: elements normalised (``norm.affine``: elements scaled and shifted by weight and bias);
- ``interpolate.*``: output elements;
- ``copy``: elements written by data movement or constant fills (clone, cat, repeat, full); no arithmetic.
"""

from dataclasses import dataclass

CATEGORIES = ("mac", "bias", "elementwise", "reduce", "pool", "softmax", "norm", "interpolate", "copy")


@dataclass(frozen=True)
class OpKind:
    name: str
    description: str

    @property
    def category(self) -> str:
        return self.name.split(".", 1)[0]


OP_KINDS: dict[str, OpKind] = {}


def register_kind(name: str, description: str) -> OpKind:
    """Register an op kind; registering a name twice is a bug and raises."""
    category = name.split(".", 1)[0]
    if category not in CATEGORIES:
        raise ValueError(f"op kind {name!r} has unknown category {category!r}")
    if name in OP_KINDS:
        raise ValueError(f"op kind {name!r} registered twice")
    kind = OpKind(name, description)
    OP_KINDS[name] = kind
    return kind


def kind(name: str) -> OpKind:
    try:
        return OP_KINDS[name]
    except KeyError:
        raise KeyError(f"op kind {name!r} is not registered") from None


for _name, _description in [
    ("mac.conv", "convolution multiply-accumulates"),
    ("mac.linear", "fully-connected multiply-accumulates"),
    ("mac.matmul", "matrix-product multiply-accumulates (mm, bmm, einsum contractions)"),
    ("mac.affine_grid", "multiply-accumulates of the base grid x theta^T bmm inside aten.affine_grid_generator"),
    ("bias.add", "bias additions of conv and linear layers"),
    ("elementwise.add", "additions"),
    ("elementwise.sub", "subtractions"),
    ("elementwise.mul", "multiplications"),
    ("elementwise.div", "divisions"),
    ("elementwise.neg", "negations"),
    ("elementwise.relu", "ReLU"),
    ("elementwise.sigmoid", "logistic sigmoid"),
    ("elementwise.hardsigmoid", "hard sigmoid"),
    ("elementwise.hardtanh", "hardtanh: clamp to [min, max] (ReLU6 is hardtanh(0, 6))"),
    ("elementwise.tanh", "tanh"),
    ("elementwise.exp", "exponential"),
    ("elementwise.gelu", "GELU"),
    ("elementwise.silu", "SiLU / swish"),
    ("elementwise.sqrt", "square root"),
    ("elementwise.pow", "power"),
    ("elementwise.where", "masked select / fill"),
    ("elementwise.compare", "comparisons (gt, lt, ge, le, eq, ne)"),
    ("elementwise.leaky_relu", "leaky ReLU"),
    ("reduce.mean", "mean reduction (input elements read)"),
    ("reduce.sum", "sum reduction (input elements read)"),
    ("reduce.max", "max reduction (input elements read)"),
    ("pool.global_avg", "global average pooling over H and W (adaptive_avg_pool2d to 1x1)"),
    ("pool.adaptive_avg", "adaptive average pooling to a larger output (window elements read)"),
    ("pool.avg", "average pooling (window elements read)"),
    ("pool.max", "max pooling (window elements read)"),
    ("softmax", "softmax elements"),
    ("norm.batch", "batch-norm elements (inference statistics)"),
    ("norm.layer", "layer-norm elements"),
    ("norm.group", "group-norm elements"),
    ("norm.affine", "elements scaled and shifted by a norm's affine weight and bias"),
    ("interpolate.nearest", "nearest-neighbour upsampling output elements"),
    ("interpolate.bilinear", "bilinear interpolation output elements"),
    ("interpolate.grid_bilinear", "bilinear grid sampling output elements (4 reads, 4 products, 3 sums each)"),
    ("interpolate.grid_nearest", "nearest grid sampling output elements (1 read each)"),
    ("copy", "elements written by data movement or constant fills (clone, cat, contiguous, repeat, full)"),
]:
    register_kind(_name, _description)
