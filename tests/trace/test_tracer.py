"""The tracer: unknown ops are reported loudly, views are free, in-place ops allocate nothing."""

import pytest
import torch
from torch import nn

from attncost.trace import CostTracer, UnsupportedOpsError, trace_module


class Cumulative(nn.Module):
    def forward(self, x):
        return torch.cumsum(x, 1)


def test_unknown_op_is_reported_never_zero():
    with pytest.raises(UnsupportedOpsError, match="cumsum"):
        trace_module(Cumulative(), torch.randn(2, 3))
    _, _, unsupported = trace_module(Cumulative(), torch.randn(2, 3), allow_unsupported=True)
    assert sum(unsupported.values()) == 1


class ViewsAndInplace(nn.Module):
    def forward(self, x):
        y = x.view(2, -1).t()           # views: nothing allocated
        z = torch.relu(x)               # allocates 2*3*4 = 24
        z.add_(1.0)                     # in place: counted ops, no allocation
        return z + y.t().reshape(2, 3, 4)   # allocates 24


def test_views_and_inplace_memory():
    cost, shape, _ = trace_module(ViewsAndInplace(), torch.randn(2, 3, 4))
    assert cost.counts == {"elementwise.relu": 24, "elementwise.add": 48}
    assert cost.activation_elements == 48
    # input 24 live to the end (used by reshape at the last op): 24 + 24 + 24 at the final add
    assert cost.peak_live_elements == 72
    assert shape == (2, 3, 4)


def test_linear_is_told_from_matmul_by_parameter_operand():
    layer = nn.Linear(5, 7)
    cost, _, _ = trace_module(layer, torch.randn(3, 5))
    assert cost.counts == {"mac.linear": 3 * 5 * 7, "bias.add": 3 * 7, "tally.linear_adds": 3 * (5 - 1) * 7}
    assert cost.params == 5 * 7 + 7

    class Product(nn.Module):
        def forward(self, x):
            return x @ x.t()

    cost, _, _ = trace_module(Product(), torch.randn(3, 5))
    assert cost.counts == {"mac.matmul": 3 * 3 * 5}


def test_tracer_records_marked_attention_maps():
    from attncost.reference import attention_map

    class Marked(nn.Module):
        def forward(self, x):
            return attention_map(torch.softmax(x, -1)) * x

    tracer = CostTracer(Marked())
    x = torch.randn(2, 9)
    tracer.add_input(x)
    with torch.no_grad(), tracer:
        out = Marked()(x)
    assert tracer.result(out).attention_map_elements == 18


def test_flex_attention_is_named_not_counted_as_zero():
    """flex_attention reaches the tracer as a higher-order operator that it cannot look inside:
    it must stop the count with the operator's name, never pass as zero."""
    import warnings

    from torch.nn.attention.flex_attention import flex_attention

    from attncost.trace.tracer import UnsupportedOpsError

    class Flex(torch.nn.Module):
        def forward(self, q):
            return flex_attention(q, q, q)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(UnsupportedOpsError, match="higher-order operator flex_attention"):
            trace_module(Flex(), torch.randn(1, 2, 16, 8), allow_unsupported=True)
