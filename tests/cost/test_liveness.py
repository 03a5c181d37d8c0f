"""Peak live memory over an execution order, hand-derived."""

import sympy

from attncost.cost.liveness import Liveness
from attncost.cost.program import Program
from attncost.symbols import C, H, N, W


def test_peak_counts_input_and_frees_after_last_use():
    live = Liveness()
    live.add_input("x", 100)
    live.record(["x"], [("a", 10)])      # step 1: x(100) + a(10) = 110
    live.record(["a"], [("b", 50)])      # step 2: x is dead (last used at 1): a(10) + b(50) = 60
    live.record(["b"], [("c", 5)])       # step 3: b(50) + c(5) = 55
    assert live.peak(outputs=["c"]) == 110
    assert live.activation_elements() == 65          # 10 + 50 + 5


def test_residual_keeps_input_alive():
    live = Liveness()
    live.add_input("x", 100)
    live.record(["x"], [("a", 10)])      # x + a = 110
    live.record(["a"], [("b", 100)])     # x (used again at 3) + a + b = 210
    live.record(["x", "b"], [("y", 100)])  # x + b + y = 300
    assert live.peak(outputs=["y"]) == 300


def test_program_peak_is_symbolic_max_of_non_dominated_candidates():
    g = Program()
    x = g.input((N, C, H, W))
    s = g.global_avg_pool(x)            # x + s = NCHW + NC
    y = g.mul(x, g.sigmoid(s))          # x + s + sig + y = 2NCHW + 2NC (s is dead after sigmoid: 2NCHW + NC)
    cost = g.finish(y)
    # step 2 (sigmoid): x + s + sig = NCHW + 2NC; step 3 (mul): x + sig + y = 2NCHW + NC
    assert cost.peak_live_elements == sympy.Max(N * C * H * W + 2 * N * C, 2 * N * C * H * W + N * C)
    assert cost.activation_elements == 2 * N * C + N * C * H * W


def test_an_early_output_stays_live_to_the_end():
    live = Liveness()
    live.add_input("x", 100)
    live.record(["x"], [("a", 10)])      # step 1: x + a = 110 (a is an output)
    live.record(["x"], [("b", 50)])      # step 2: x + a + b = 160 (a kept, though never read again)
    live.record(["b"], [("c", 5)])       # step 3: a + b + c = 65 (x dead after step 2)
    assert live.peak(outputs=["a", "c"]) == 160
    assert live.peak(outputs=["c"]) == 150   # a not an output: dead after step 1, so step 2 is x + b
