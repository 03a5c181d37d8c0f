"""ResNet-50 + CBAM at 224: one training step's costs from the formula side against one traced step.

Issue 16 asks for the walker's training costs at least 100x faster than one traced training step. In
one process, for each batch size N asked (default 1, 8 and 32: 32 is the training batch the issue's
own questions use), the median of --repeats runs after one warm-up of:
  - formula: the network's forward written into a training Program and run backwards
    (``attncost.api.network_step``: forward and backward counts, saved activations, peak memory), a
    fresh Program every run;
  - formula + walk: what ``attncost network ... --mode train`` computes, the inference walk included;
  - traced: one real training step of the PyTorch reference build under the training tracer
    (``attncost.trace.training.trace_training``: forward, ``backward()``, saved-tensor hooks), which
    gives the same numbers (checked here, for every N, and said in the output).

The formula side's time does not grow with N (N is a number in its arithmetic, not a tensor's size);
a traced step's does (it computes the step). So the ratio is printed per N: about 10x at N = 1,
where both sides are dominated by visiting the step's ~2,000 ops once in Python, and past 100x at a
training batch. Traced steps above N = 8 run once (--repeats applies to the smaller ones): at N = 32
one takes tens of seconds and about 5 GB.

    python benchmarks/training_speed.py [--repeats 5] [--network resnet50] [--attn cbam] [--size 224]
                                        [--batch 1,8,32]

The last line is ``ratio at N=<largest>: traced / formula = R x``.
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

SINGLE_RUN_ABOVE = 8


def median_time(fn, repeats: int) -> tuple[float, object]:
    """(median seconds of ``repeats`` runs after one warm-up, what the warm-up returned)."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def batches(text: str) -> list[int]:
    values = [int(part) for part in text.split(",")]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"--batch wants positive integers separated by commas, got {text!r}")
    return sorted(set(values))


def same_numbers(step, check) -> bool:
    return (dict(step.backward_counts) == dict(check.backward_counts) and step.saved_elements == check.saved_elements
            and step.peak_elements == check.peak_elements and step.trainable_params == check.trainable_params)


def main(argv=None) -> dict[int, float]:
    """Runs the benchmark, prints it, returns {N: traced / formula}."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--network", default="resnet50")
    parser.add_argument("--attn", default="cbam", help="an attention module in every block ('' for none)")
    parser.add_argument("--size", type=int, default=224, help="H = W of the Nx3xHxW input")
    parser.add_argument("--batch", type=batches, default=[1, 8, 32],
                        help="batch sizes N, comma separated (a training batch norm needs N * H * W > 1 at every layer)")
    args = parser.parse_args(argv)
    spec = definition(args.network)
    if args.attn:
        spec = with_attention(spec, [AttentionPlacement(args.attn)])
    options = training_options()
    model = build_network(spec)
    name = spec.name + (f" + {args.attn}" if args.attn else "")
    print(f"{name} at Nx3x{args.size}x{args.size}, one training step (SGD, fp32); median of {args.repeats} "
          f"(traced steps above N = {SINGLE_RUN_ABOVE}: one run):")
    print(f"  {'N':>4} {'formula':>12} {'formula + walk':>15} {'traced':>12} {'ratio':>8}  numbers")
    ratios = {}
    for batch in args.batch:
        shape = (batch, 3, args.size, args.size)
        x = torch.randn(shape)

        def formula():
            return network_step(spec, shape, options).cost

        def formula_and_walk():
            g = Program()
            walk(g, forward(g, g.input(shape), spec))
            return formula()

        def traced():
            return trace_training(model, x).cost

        formula_s, step = median_time(formula, args.repeats)
        walk_s, _ = median_time(formula_and_walk, args.repeats)
        traced_s, check = median_time(traced, args.repeats if batch <= SINGLE_RUN_ABOVE else 1)
        ratios[batch] = traced_s / formula_s
        agree = same_numbers(step, check)
        print(f"  {batch:>4} {formula_s * 1000:>9.1f} ms {walk_s * 1000:>12.1f} ms {traced_s * 1000:>9.1f} ms "
              f"{ratios[batch]:>7.0f}x  {'same' if agree else 'DIFFERENT'}: saved {step.saved_elements:,} "
              f"(traced {check.saved_elements:,}), peak {step.peak_elements:,} (traced {check.peak_elements:,}) "
              "elements, backward counts")
        del x
    largest = args.batch[-1]
    print(f"ratio at N={largest}: traced / formula = {ratios[largest]:.0f}x")
    return ratios


if __name__ == "__main__":
    main()
