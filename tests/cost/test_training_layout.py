"""TensorIterator's output layout (attncost/cost/iterator_layout.py) against torch itself: the strides of
``a + b`` and ``relu(a)`` for permuted, expanded, sliced and broadcast operands on random shapes."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

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
