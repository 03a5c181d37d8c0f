"""A hand derivation's terms, shared by the by-hand FLOP tests of tests/catalogue: (op kind, count in
the kind's unit, full FLOPs per unit), and where a test derives them too the parameters and the
largest attention map. Only bookkeeping: every number in it is written in the tests."""

from collections import defaultdict


class Derivation:
    def __init__(self, params=None, attention_map=None):
        self.terms = []
        self.params = params
        self.attention_map = attention_map

    def add(self, kind, count, weight):
        self.terms.append((kind, count, weight))

    @property
    def total(self):
        return sum(count * weight for _, count, weight in self.terms)

    @property
    def counts(self):
        by_kind = defaultdict(int)
        for kind, count, _ in self.terms:
            by_kind[kind] += count
        return dict(by_kind)


def arithmetic(counts):
    """A cost's counts as a derivation writes them: every op kind except copies, which weigh 0 under
    ``full``, and tallies (``tally.*``: work of another kind counted again for derived conventions,
    weight 0 under ``full``)."""
    return {kind: int(count) for kind, count in counts.items() if kind != "copy" and not kind.startswith("tally.")}
