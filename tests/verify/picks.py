"""The sampler the catalogue's ``sample_config`` draws from, backed by hypothesis, shared by the tests
that verify entries on random configurations (forward and training)."""

from hypothesis import strategies as st


class HypothesisPick:
    """``integer(lo, hi)`` and ``choice(seq)`` drawn through a hypothesis ``draw``, so failures shrink."""

    def __init__(self, draw):
        self._draw = draw

    def integer(self, lo, hi):
        return self._draw(st.integers(lo, hi))

    def choice(self, seq):
        return self._draw(st.sampled_from(list(seq)))
