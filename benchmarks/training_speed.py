"""ResNet-50 + CBAM at 224: one training step's costs from the formula side against one traced step.

Issue 16 asks for the walker's training costs at least 100x faster than one traced training step. In
one process, median of --repeats runs after one warm-up:
  - formula: the network's forward written into a training Program and run backwards
    (``attncost.api.network_step``: forward and backward counts, saved activations, peak memory), a
    fresh Program every run;
  - formula + walk: what ``attncost network ... --mode train`` computes, the inference walk included;
  - traced: one real training step of the PyTorch reference build under the training tracer
    (``attncost.trace.training.trace_training``: forward, ``backward()``, saved-tensor hooks), which
    gives the same numbers (checked here, and said in the output).

    python benchmarks/training_speed.py [--repeats 5] [--network resnet50] [--attn cbam] [--size 224] [--batch 1]

The last line is ``ratio: traced / formula = R x``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from attncost.api import network_step
from attncost.cost import Program
from attncost.crossings import training_options
from attncost.graph import walk
from attncost.networks import AttentionPlacement, definition, forward, with_attention
from attncost.reference.networks import build_network
from attncost.trace.training import trace_training


def median_time(fn, repeats: int) -> tuple[float, object]:
    """(median seconds of ``repeats`` runs after one warm-up, what the warm-up returned)."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--network", default="resnet50")
    parser.add_argument("--attn", default="cbam", help="an attention module in every block ('' for none)")
    parser.add_argument("--size", type=int, default=224, help="H = W of the Nx3xHxW input")
    parser.add_argument("--batch", type=int, default=1, help="N (a training batch norm needs N * H * W > 1 "
                                                              "at every layer)")
    args = parser.parse_args(argv)
    spec = definition(args.network)
    if args.attn:
        spec = with_attention(spec, [AttentionPlacement(args.attn)])
    shape = (args.batch, 3, args.size, args.size)
    options = training_options()
    model = build_network(spec)
    x = torch.randn(shape)

    def formula():
        return network_step(spec, shape, options).cost

    def formula_and_walk():
        g = Program()
        walk(g, forward(g, g.input(shape), spec))
        return formula()

    def traced():
        return trace_training(model, x).cost

    times, results = {}, {}
    for label, fn in (("formula", formula), ("formula + walk", formula_and_walk), ("traced", traced)):
        times[label], results[label] = median_time(fn, args.repeats)
    step, check = results["formula"], results["traced"]
    agree = (dict(step.backward_counts) == dict(check.backward_counts) and step.saved_elements == check.saved_elements
             and step.peak_elements == check.peak_elements and step.trainable_params == check.trainable_params)
    name = spec.name + (f" + {args.attn}" if args.attn else "")
    print(f"{name} at {'x'.join(map(str, shape))}, one training step (SGD, fp32), median of {args.repeats}:")
    for label, seconds in times.items():
        print(f"  {label:15} {seconds * 1000:10.1f} ms")
    print(f"  {'same' if agree else 'DIFFERENT'} numbers: backward counts, saved {step.saved_elements:,} "
          f"(traced {check.saved_elements:,}) and peak {step.peak_elements:,} (traced {check.peak_elements:,}) "
          "elements")
    ratio = times["traced"] / times["formula"]
    print(f"ratio: traced / formula = {ratio:.0f}x (with the inference walk: "
          f"{times['traced'] / times['formula + walk']:.0f}x)")
    return ratio


if __name__ == "__main__":
    main()
