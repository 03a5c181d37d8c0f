"""Gradients of views, indexing and gathers: the scatters autograd runs (torch 2.13, CPU).

tools/autograd/derivatives.yaml writes them as: a slice, select or diagonal view -> ``slice_backward``,
``select_backward``, ``diagonal_backward`` (a zero tensor of the input's shape with the gradient
placed in it); ``x[idx]`` -> ``new_zeros`` then ``index_put(..., accumulate=True)``; ``gather`` ->
``new_zeros`` then ``scatter_add``; ``index_select`` -> ``new_zeros`` then ``index_add``;
``max``/``min`` over a dim -> ``new_zeros`` then ``scatter`` (value_selecting_reduction_backward);
``embedding`` -> ``embedding_dense_backward``; ``Tensor.unfold`` -> ``unfold_backward``; ``F.unfold``
(im2col) -> ``col2im`` (which is also ``F.fold``'s forward). ``new_zeros`` is the forward ``copy``
primitive's; this module counts the op after it.

Units: the tensor an op returns is written once per element (``copy``: a clone of ``self`` for the
out-of-place ops, zeros around the placed gradient); where the op accumulates, every source element is
read into a sum (``reduce.sum``, input elements read), as the forward reductions count.
"""

from __future__ import annotations

from .pointwise import COPY_KIND, DIV, REDUCE_SUM
from .primitive import Aten, define
from .shapes import numel


@define("slice_backward", kinds=(COPY_KIND,), aten=(Aten(("slice_backward",), lambda c: slice_backward(c.out_shape)),))
def slice_backward(input_shape) -> dict:
    """slice_backward(grad, input_sizes, dim, start, end, step): the input-shaped gradient written,
    zeros outside the slice and the gradient inside, each element once."""
    return {COPY_KIND.name: numel(input_shape)}


@define("select_backward", kinds=(COPY_KIND,),
        aten=(Aten(("select_backward",), lambda c: select_backward(c.out_shape)),))
def select_backward(input_shape) -> dict:
    """select_backward(grad, input_sizes, dim, index): the input-shaped gradient written once per element."""
    return {COPY_KIND.name: numel(input_shape)}


@define("diagonal_backward", kinds=(COPY_KIND,),
        aten=(Aten(("diagonal_backward",), lambda c: diagonal_backward(c.out_shape)),))
def diagonal_backward(input_shape) -> dict:
    """diagonal_backward(grad, input_sizes, offset, dim1, dim2): the input-shaped gradient written once
    per element."""
    return {COPY_KIND.name: numel(input_shape)}


def _index_put(inplace: bool):
    """index_put(self, indices, values, accumulate=False) and its in-place forms (``_index_put_impl_``
    has an extra ``unsafe`` flag)."""
    def counts(c):
        accumulate = c.kwargs.get("accumulate", c.args[3] if len(c.args) > 3 else False)
        return index_put(c.shape(c.args[0]), c.shape(c.args[2]), accumulate=bool(accumulate), inplace=inplace)
    return counts


@define("index_put", kinds=(COPY_KIND, REDUCE_SUM),
        aten=(Aten(("index_put",), _index_put(False)), Aten(("index_put_", "_index_put_impl_"), _index_put(True))))
def index_put(self_shape, values_shape, *, accumulate: bool, inplace: bool) -> dict:
    """self[indices] = values (or +=, ``accumulate``): out of place, ``self`` is cloned first (a copy
    per element); the values are then written (copies) or added (a sum reading each value). A value
    broadcast over the indexed positions (``x[mask] = 0``) counts its own elements: which positions a
    boolean mask selects is data, not shape."""
    counts = {} if inplace else {COPY_KIND.name: numel(self_shape)}
    placed = numel(values_shape)
    if accumulate:
        counts[REDUCE_SUM.name] = placed
    else:
        counts[COPY_KIND.name] = counts.get(COPY_KIND.name, 0) + placed
    return counts


@define("index_backward", kinds=(COPY_KIND, REDUCE_SUM))
def index_backward(input_shape, grad_shape) -> dict:
    """The gradient of ``x[indices]`` (aten.index) after its ``new_zeros``: ``index_put`` of the
    gradient into the zeros with ``accumulate=True`` (repeated indices sum)."""
    return index_put(input_shape, grad_shape, accumulate=True, inplace=False)


@define("scatter", kinds=(COPY_KIND,),
        aten=(Aten(("scatter",), lambda c: scatter(c.shape(c.args[0]), c.shape(c.args[2]), inplace=False)),
              Aten(("scatter_",), lambda c: scatter(c.shape(c.args[0]), c.shape(c.args[2]), inplace=True))))
def scatter(self_shape, index_shape, *, inplace: bool) -> dict:
    """scatter(self, dim, index, src or value): out of place, the output written once per element
    (``self`` cloned, the indexed positions overwritten); in place, one write per index element."""
    return {COPY_KIND.name: numel(index_shape) if inplace else numel(self_shape)}


def _accumulating(source_position: int, inplace: bool):
    def counts(c):
        return scatter_add(c.shape(c.args[0]), c.shape(c.args[source_position]), inplace=inplace)
    return counts


@define("scatter_add", kinds=(COPY_KIND, REDUCE_SUM),
        aten=(Aten(("scatter_add",), _accumulating(2, False)), Aten(("scatter_add_",), _accumulating(2, True)),
              Aten(("index_add",), _accumulating(3, False)), Aten(("index_add_",), _accumulating(3, True))))
def scatter_add(self_shape, source_shape, *, inplace: bool) -> dict:
    """scatter_add(self, dim, index, src) and index_add(self, dim, index, source): out of place,
    ``self`` cloned (a copy per element); then every source element added at its index (a sum reading
    it). ``source_shape`` is the index's for scatter_add (src elements beyond it are not read) and the
    source's for index_add. They are the gradients of ``gather`` and ``index_select``."""
    counts = {} if inplace else {COPY_KIND.name: numel(self_shape)}
    counts[REDUCE_SUM.name] = numel(source_shape)
    return counts


def _embedding_dense_backward(c):
    """embedding_dense_backward(grad_output, indices, num_weights, padding_idx, scale_grad_by_freq)."""
    return embedding_backward(c.out_shape, c.shape(c.args[0]), scale_grad_by_freq=bool(c.args[4]))


@define("embedding_backward", kinds=(COPY_KIND, REDUCE_SUM, DIV),
        aten=(Aten(("embedding_dense_backward",), _embedding_dense_backward),))
def embedding_backward(weight_shape, grad_shape, *, scale_grad_by_freq: bool = False) -> dict:
    """Gradient of an embedding table of ``weight_shape`` (num_weights, D) from the grad of its
    lookups: the table gradient zeroed (a copy per element), every gradient row added to its index's
    row (a sum per grad element); ``scale_grad_by_freq`` divides each by its index's count."""
    counts = {COPY_KIND.name: numel(weight_shape), REDUCE_SUM.name: numel(grad_shape)}
    if scale_grad_by_freq:
        counts[DIV.name] = numel(grad_shape)
    return counts


@define("unfold_backward", kinds=(COPY_KIND, REDUCE_SUM),
        aten=(Aten(("unfold_backward",), lambda c: unfold_backward(c.out_shape, c.shape(c.args[0]))),))
def unfold_backward(input_shape, grad_shape) -> dict:
    """Gradient of ``Tensor.unfold`` (sliding windows as a view): the input gradient zeroed, then
    every window element's gradient added at its position (overlapping windows sum)."""
    return {COPY_KIND.name: numel(input_shape), REDUCE_SUM.name: numel(grad_shape)}


@define("col2im", kinds=(COPY_KIND, REDUCE_SUM),
        aten=(Aten(("col2im",), lambda c: col2im(c.out_shape, c.shape(c.args[0]))),))
def col2im(out_shape, columns_shape) -> dict:
    """col2im (F.fold, and the gradient of F.unfold/im2col): the image zeroed, then every column
    element added at its position (overlapping patches sum)."""
    return {COPY_KIND.name: numel(out_shape), REDUCE_SUM.name: numel(columns_shape)}
