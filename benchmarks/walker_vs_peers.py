"""ResNet-50 + CBAM: attncost's walker against fvcore, thop and FlopCounterMode, in one run.

Measured in one process, each tool counting the same network (attncost's PyTorch reference build for
the peers), median of --repeats runs after one warm-up, reported as ratios to fvcore:
  - one shape (1x3x224x224): attncost walking its Program (cold: a fresh Program every run), with and
    without building the networkx op graph (built lazily, only for GraphML and the critical path);
  - one shape from the compiled sweep function (compiled once, outside the timing);
  - a 100-resolution sweep (H = W = 64, 72, ..., 856): compile + evaluate, and evaluate alone;
  - the peers, one shape each (a sweep would cost 100 of them).

    python benchmarks/walker_vs_peers.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from attncost.cost import Program
from attncost.graph import walk
from attncost.networks import AttentionPlacement, definition, forward, with_attention
from attncost.networks.sweep import compile_totals
from attncost.reference.networks import build_network


def median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    spec = with_attention(definition("resnet50"), [AttentionPlacement("cbam")])
    model = build_network(spec)
    x = torch.randn(1, 3, 224, 224)
    sizes = np.arange(64, 64 + 8 * 100, 8)

    def walker():
        g = Program()
        return walk(g, forward(g, g.input((1, 3, 224, 224)), spec))

    def walker_with_graph():
        walker().graph          # the networkx op graph is built on first use

    def sweep_compile_and_evaluate():
        compile_totals.cache_clear()
        compile_totals(spec)(1, sizes, sizes)

    compiled = compile_totals(spec)

    def fvcore():
        from fvcore.nn import FlopCountAnalysis

        analysis = FlopCountAnalysis(model, x)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        analysis.total()

    def flopcounter():
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x)
        counter.get_total_flops()

    def thop():
        import thop as thop_module

        thop_module.profile(build_network(spec), inputs=(x,), verbose=False)

    timings = {
        "attncost walker, one shape": median_time(walker, args.repeats),
        "attncost walker + op graph, one shape": median_time(walker_with_graph, args.repeats),
        "attncost compiled, one shape": median_time(lambda: compiled(1, 224, 224), args.repeats),
        "attncost sweep, 100 shapes (compile+eval)": median_time(sweep_compile_and_evaluate, args.repeats),
        "attncost sweep, 100 shapes (eval)": median_time(lambda: compiled(1, sizes, sizes), args.repeats),
        "fvcore, one shape": median_time(fvcore, args.repeats),
        "FlopCounterMode, one shape": median_time(flopcounter, args.repeats),
        "thop, one shape": median_time(thop, args.repeats),
    }
    base = timings["fvcore, one shape"]
    print(f"ResNet-50 + CBAM (every block), median of {args.repeats}, one process")
    print(f"{'tool':44s} {'seconds':>10s} {'fvcore / tool':>14s}")
    for name, seconds in timings.items():
        print(f"{name:44s} {seconds:10.5f} {base / seconds:14.1f}")


if __name__ == "__main__":
    main()
