"""Sampling architectures of a search space, for validating and calibrating a latency table.

Architectures (seeded): the extremes (smallest: every skippable layer skipped and the rest at their
cheapest option; largest: every layer at its most expensive option with the heaviest attention), then
*wide-range* samples whose per-layer choices lean towards cheap or expensive ones by a bias swept
from one end to the other (so the set spans the space's latency range, where a NAS needs the ranking
to hold), then uniform samples (each choice of each layer equally likely). "Cheap" is ranked by the
segments' exact MACs, not by the table under test. No torch.
"""

from __future__ import annotations

import math
import random

from .segments import attention_key, layer_key, segment_work
from .space import NO_ATTENTION, SKIP, Space


def _choice_work(space: Space, layer, choice: str, attention: str) -> int:
    if choice == SKIP:
        return 0
    work = segment_work(space, layer_key(layer.index, choice)).macs
    return work + (segment_work(space, attention_key(layer.index, attention)).macs if attention != NO_ATTENTION else 0)


def _ranked_choices(space: Space, layer) -> list:
    """Every (choice, attention) of a layer, cheapest first by MACs."""
    pairs = [(choice, attention) for choice in layer.choices
             for attention in ((NO_ATTENTION,) if choice == SKIP else layer.attention)]
    return sorted(pairs, key=lambda pair: (_choice_work(space, layer, *pair), pair))


def extreme_architectures(space: Space) -> list:
    smallest = [_ranked_choices(space, layer)[0] for layer in space.layers]
    largest = [_ranked_choices(space, layer)[-1] for layer in space.layers]
    no_skip = [next(p for p in _ranked_choices(space, layer) if p[0] != SKIP) for layer in space.layers]
    return [smallest, largest, no_skip]


def _biased(space: Space, rng: random.Random, bias: float) -> list:
    """Each layer picks from its ranked choices with weights exp(beta * rank / (n - 1)), beta = 8 (2 bias - 1)."""
    arch = []
    for layer in space.layers:
        ranked = _ranked_choices(space, layer)
        n = len(ranked)
        weights = [math.exp(8 * (2 * bias - 1) * (i / (n - 1) if n > 1 else 0)) for i in range(n)]
        arch.append(rng.choices(ranked, weights)[0])
    return arch


def _uniform(space: Space, rng: random.Random) -> list:
    arch = []
    for layer in space.layers:
        choice = rng.choice(layer.choices)
        arch.append((choice, NO_ATTENTION if choice == SKIP else rng.choice(layer.attention)))
    return arch


def sample_architectures(space: Space, count: int, seed: int = 0, extremes: bool = True) -> list:
    """``count`` architectures: the extremes (if asked), then half wide-range, then uniform samples."""
    rng = random.Random(seed)
    archs = extreme_architectures(space)[:count] if extremes else []
    wide = (count - len(archs)) // 2
    archs += [_biased(space, rng, (i + 0.5) / wide) for i in range(wide)]
    while len(archs) < count:
        archs.append(_uniform(space, rng))
    return [[list(pair) for pair in arch] for arch in archs]


def mean_over_passes(passes) -> list:
    return [sum(run[i] for run in passes) / len(passes) for i in range(len(passes[0]))]
