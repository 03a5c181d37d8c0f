"""``ops.backward.index_backward``, the formula side's gradient of ``x[index]`` (Swin's relative position
bias ``table[index]``), by hand: aten.new_zeros of the input's shape, then aten.index_put_ of the gradient
with accumulate=True. (The formula side's use of it is proven against the tracer on the Swin entries in
tests/verify/test_training_formula_vs_tracer.py.)"""

from attncost.ops.backward import index_backward


def test_index_backward_by_hand():
    # Swin-T's table (2 * 7 - 1)^2 = 169 rows of 3 heads, gathered at 49 x 49 positions: the zeros of the
    # table's 507 elements written, then each of the 7,203 gradient values added into its row
    assert index_backward((169, 3), (49 * 49, 3)) == {"copy": 169 * 3, "reduce.sum": 49 * 49 * 3}
