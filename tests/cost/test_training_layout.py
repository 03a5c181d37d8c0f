"""Layouts against torch itself: TensorIterator's output strides (attncost/cost/iterator_layout.py) of
``a + b`` and ``relu(a)`` for permuted, expanded, sliced and broadcast operands on random shapes, and
the channels-last outputs of convolution, norms, pooling and upsampling (``Program.in_suggested_format``)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attncost.cost import Program
from attncost.cost.iterator_layout import iterator_strides


@st.composite
def operand(draw, shape):
    """A tensor of ``shape`` laid out as a permutation of a contiguous one, maybe with broadcast dims
    (size 1, then expanded) or a step along one dim."""
    ndim = len(shape)
    perm = draw(st.permutations(range(ndim)))
    sizes = [1 if draw(st.booleans()) and draw(st.integers(0, 3)) == 0 else s for s in shape]
    base = torch.empty([sizes[p] for p in perm]).permute(*[perm.index(i) for i in range(ndim)])
    if draw(st.booleans()):
        return base.expand(*shape) if draw(st.booleans()) else base
    return base


@settings(max_examples=100, deadline=None, database=None)
@given(data=st.data(), shape=st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_binary_output_strides_match_torch(data, shape):
    a = data.draw(operand(shape))
    b = data.draw(operand(shape))
    out = a + b
    expected = tuple(out.stride())
    got = iterator_strides(tuple(out.shape), [(tuple(a.shape), tuple(a.stride())), (tuple(b.shape), tuple(b.stride()))])
    # strides of size-1 dims are never read: compare the others
    assert [s for s, n in zip(got, out.shape) if n != 1] == [s for s, n in zip(expected, out.shape) if n != 1]


@settings(max_examples=100, deadline=None, database=None)
@given(data=st.data(), shape=st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_unary_output_strides_match_torch(data, shape):
    a = data.draw(operand(shape))
    out = torch.relu(a)
    got = iterator_strides(tuple(out.shape), [(tuple(a.shape), tuple(a.stride()))])
    assert [s for s, n in zip(got, out.shape) if n != 1] == [s for s, n in zip(out.stride(), out.shape) if n != 1]


def test_symbolic_layouts_are_decided_for_generic_sizes():
    # an NHWC-laid (N, C, H, W) map: dense whatever N, C, H, W are (strides C H W, 1, W C, C); a stride of
    # 2 on C leaves gaps; an elementwise op keeps the NHWC order, as it does at every concrete size
    import sympy

    from attncost.cost.iterator_layout import iterator_strides
    from attncost.cost.layout import is_dense

    n, c, h, w = sympy.symbols("N C H W", positive=True, integer=True)
    nhwc = (c * h * w, 1, w * c, c)
    assert is_dense((n, c, h, w), nhwc) and is_dense((n, c, h, w), (c * h * w, h * w, w, 1))
    assert not is_dense((n, c, h, w), (c * h * w, 2, w * c, c))
    assert iterator_strides((n, c, h, w), [((n, c, h, w), nhwc), ((1, c, 1, 1), (c, 1, 1, 1))]) == nhwc
    assert iterator_strides((2, 3, 4, 5), [((2, 3, 4, 5), (60, 1, 15, 3)), ((1, 3, 1, 1), (3, 1, 1, 1))]) == \
        torch.empty(2, 4, 5, 3).permute(0, 3, 1, 2).add(torch.ones(1, 3, 1, 1)).stride()


def test_broadcast_operands_skip_the_fast_setup():
    """Two contiguous operands of different shapes, (1, 1, 2, 1) + (2, 1, 1, 1), the second with the
    strides of a permuted tensor on its size-1 dims (still contiguous): TensorIterator's fast setup
    wants every operand of the output's shape (``compute_fast_setup_type``), so the dims are reordered
    by the operands' strides instead, and the output is not contiguous."""
    a, b = torch.empty(1, 1, 2, 1), torch.empty(2).as_strided((2, 1, 1, 1), (1, 2, 2, 2))
    assert a.is_contiguous() and b.is_contiguous()
    expected = (a + b).stride()
    assert expected != (2, 2, 1, 1)
    got = iterator_strides((2, 1, 2, 1), [((1, 1, 2, 1), a.stride()), ((2, 1, 1, 1), b.stride())])
    assert [got[0], got[2]] == [expected[0], expected[2]]


#: op -> (the Program's, torch's) on a (N, C, H, W) map of 16 channels
LAYOUT_OPS = {
    "conv 3x3": (lambda g, x: g.conv(x, 16, 3, padding=1), lambda x: torch.nn.Conv2d(16, 16, 3, padding=1)(x)),
    "conv 1x1": (lambda g, x: g.conv(x, 8, 1), lambda x: torch.nn.Conv2d(16, 8, 1)(x)),
    "depthwise": (lambda g, x: g.conv(x, 16, 3, padding=1, groups=16),
                  lambda x: torch.nn.Conv2d(16, 16, 3, padding=1, groups=16)(x)),
    "batch norm (eval)": (lambda g, x: g.batch_norm(x), lambda x: torch.nn.BatchNorm2d(16).eval()(x)),
    "group norm": (lambda g, x: g.group_norm(x, 4), lambda x: torch.nn.GroupNorm(4, 16)(x)),
    "max pool": (lambda g, x: g.max_pool2d(x, 3, 1, 1), lambda x: torch.nn.functional.max_pool2d(x, 3, 1, 1)),
    "avg pool": (lambda g, x: g.avg_pool2d(x, 3, 1, 1), lambda x: torch.nn.functional.avg_pool2d(x, 3, 1, 1)),
    "adaptive pool 2": (lambda g, x: g.adaptive_avg_pool2d(x, 2),
                        lambda x: torch.nn.functional.adaptive_avg_pool2d(x, 2)),
    "upsample": (lambda g, x: g.interpolate(x, (4, 4)), lambda x: torch.nn.functional.interpolate(x, (4, 4))),
    "relu": (lambda g, x: g.relu(x), torch.relu),
}


@pytest.mark.parametrize("op", sorted(LAYOUT_OPS))
@pytest.mark.parametrize("shape", [(2, 16, 3, 3), (2, 16, 1, 1), (2, 16, 2, 1), (2, 16, 1, 2), (1, 16, 2, 2)])
def test_channels_last_outputs_as_torch_allocates_them(op, shape):
    """A channels-last map (an (N, H, W, C) tensor permuted to (N, C, H, W), as a self-attention result
    viewed back) into each op: the Program's output strides equal torch's, size-1 dims included
    (batch norm keeps an (N, C, 1, 1) map that is contiguous as well contiguous; the others make it
    channels last)."""
    program_op, torch_op = LAYOUT_OPS[op]
    n, c, h, w = shape
    g = Program()
    out = program_op(g, g.permute(g.input((n, h, w, c)), (0, 3, 1, 2)))
    with torch.no_grad():
        expected = torch_op(torch.randn(n, h, w, c).permute(0, 3, 1, 2))
    assert tuple(out.strides) == tuple(expected.stride()), (out.strides, expected.stride())
