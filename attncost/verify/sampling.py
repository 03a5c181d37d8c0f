"""Random configurations (shape + hyperparameters) for verification, driven by any source of choices.

``sample_config`` takes a ``pick`` with ``integer(lo, hi)`` and ``choice(seq)``, so the same rules
serve ``attncost verify`` (a seeded ``random.Random``) and the test suite (hypothesis draws).
Invalid combinations are rejected by the entry's own validation and re-drawn.
"""

from __future__ import annotations

import random

from ..catalogue.registry import Entry, Hyperparameter
from ..errors import HyperparameterError

MAX_TRIES = 200


class RandomPick:
    def __init__(self, seed: int):
        self._rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self._rng.randint(lo, hi)

    def choice(self, seq):
        return self._rng.choice(list(seq))


def _sample_hp(h: Hyperparameter, pick):
    if h.choices is not None:
        return pick.choice(h.choices)
    if h.type is bool:
        return pick.choice((False, True))
    if h.optional and pick.integer(0, 1) == 0:
        return None
    if h.type is float:
        base = float(h.default) if h.default is not None else 1.0
        return round(base * pick.integer(1, 8) / 4, 3)
    lo = int(h.minimum) if h.minimum is not None else 1
    default = h.default if isinstance(h.default, int) else 4
    hi = max(lo + 4, 2 * default)
    value = pick.integer(lo, hi)
    if h.odd and value % 2 == 0:
        value += 1
    return value


def sample_config(entry: Entry, pick, max_batch=3, channels=(4, 64), spatial=(2, 16)) -> tuple[tuple, dict]:
    """A valid (shape, hyperparameters) pair for ``entry``, drawn with ``pick``."""
    for _ in range(MAX_TRIES):
        shape = (pick.integer(1, max_batch), pick.integer(*channels), pick.integer(*spatial), pick.integer(*spatial))
        hp = {h.name: _sample_hp(h, pick) for h in entry.hyperparameters}
        try:
            entry.resolve(shape, hp)
        except HyperparameterError:
            continue
        return shape, hp
    raise RuntimeError(f"could not draw a valid configuration for {entry.name}")
