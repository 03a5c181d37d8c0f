"""Where attention goes in a network: the insertion policies of the papers.

- ``every_block``: inside every residual block, on the residual branch before the add
  (SE, CBAM, ECA, GE, SK-style; also GC when restricted to ``stages``).
- ``after_stage``: once after each stage but the last (BAM: at the bottlenecks between stages).
- ``after_blocks``: as a standalone block after chosen blocks of chosen stages (Non-local: e.g. 5
  blocks in res4 of ResNet-50, after every other block).
Stages are numbered 1..4 (res2..res5 in the papers' naming).

A network walks its spec through ``in_block``, ``after_block`` and ``after_stage`` (the placements that
apply at a site; the torch reference networks walk the same functions) and attaches each with
``attend``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..cost import Program, Tensor
from ..errors import SpecError

POLICIES = ("every_block", "after_stage", "after_blocks")


@dataclass(frozen=True)
class AttentionPlacement:
    module: str
    where: str = "every_block"
    stages: tuple = (1, 2, 3, 4)
    blocks: tuple = ()                 # for after_blocks: block indices (0-based) within each stage
    hp: dict = field(default_factory=dict, compare=False)
    source: str | None = field(default=None, compare=False)   # "FILE:LINE" of a spec file's placement, or "--attn"

    def in_block(self, stage: int) -> bool:
        return self.where == "every_block" and stage in self.stages

    def after_block(self, stage: int, block: int) -> bool:
        return self.where == "after_blocks" and stage in self.stages and block in self.blocks

    def after_stage(self, stage: int, last_stage: int) -> bool:
        return self.where == "after_stage" and stage in self.stages and stage != last_stage


def in_block(placements, stage: int) -> tuple:
    """The placements that run inside every block of ``stage`` (on the residual branch, before the add)."""
    return tuple(p for p in placements if p.in_block(stage))


def after_block(placements, stage: int, block: int) -> tuple:
    """The placements that run as a standalone block after block ``block`` (0-based) of ``stage``."""
    return tuple(p for p in placements if p.after_block(stage, block))


def after_stage(placements, stage: int, last_stage: int) -> tuple:
    """The placements that run once after ``stage`` (never after the last)."""
    return tuple(p for p in placements if p.after_stage(stage, last_stage))


#: modules whose output differs from their input's shape, and the ones of the same paper that keep it
KEEPING_SHAPE = {"danet": "danet-pam or danet-cam"}


def attend(g: Program, x: Tensor, placements) -> Tensor:
    """Each placement's catalogue module (one placement or a sequence) on ``x`` in turn, in scope
    ``attention:NAME``; a module already run on an equal input (shape, strides, hyperparameters) is
    replayed, not recomputed. A module must give a tensor of its input's shape (the network goes on
    with it: a residual add, the next block's convolution); one that does not (DANet's head gives
    C // 4 channels) is refused, as PyTorch would fail on it. Errors name the placement's spec file
    and line where it has one, and the block."""
    from .. import catalogue

    for placement in (placements,) if isinstance(placements, AttentionPlacement) else placements:
        with _located(placement):
            entry = catalogue.get(placement.module)
            hp = entry.resolve(x.shape, placement.hp)
            with g.scope(f"attention:{entry.name}"):
                out = g.replayable(("attention", entry.name, repr(sorted(hp.items())), x.shape, x.strides),
                                   lambda x: entry.program(g, x, **hp), x)
            _check_keeps_shape(g, entry.name, placement, x.shape, out.shape)
        x = out
    return x


def _check_keeps_shape(g: Program, name: str, placement, before, after) -> None:
    where = "/".join(g.scope_key) or "the network"
    if len(before) == len(after) and all(not _differ(a, b) for a, b in zip(before, after)):
        return
    alternative = (f" ({KEEPING_SHAPE[name]} do)" if name in KEEPING_SHAPE
                   else " (PyTorch would fail on what follows)")
    if len(before) == len(after) and _differ(before[1], after[1]) and not any(
            _differ(a, b) for i, (a, b) in enumerate(zip(before, after)) if i != 1):
        change = f"turns {before[1]} channels into {after[1]}"
    else:
        change = f"turns a {_shape(before)} input into {_shape(after)}"
    raise SpecError(f"{where}: {name} {change}; a module inserted into a network must keep its input's "
                    f"shape{alternative}")


def _differ(a, b) -> bool:
    """Whether two sizes (ints or sympy expressions) provably differ."""
    import sympy

    if a == b:
        return False
    difference = sympy.sympify(a) - sympy.sympify(b)
    return bool(difference.is_number and difference != 0)


def _shape(shape) -> str:
    return "x".join(str(s) for s in shape)


class _located:
    """Errors raised for a placement name its spec file and line (``FILE:LINE: ...``) where it has
    one; errors that already do pass unchanged."""

    def __init__(self, placement):
        self.placement = placement

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        from ..errors import AttncostError

        source = self.placement.source
        if error is None or not source or not isinstance(error, AttncostError) or getattr(error, "located", False):
            return False
        located = SpecError(f"{source}: {error}")
        located.located = True
        raise located from None


def placement_from_dict(data: dict, where_text: str = "attention", source: str | None = None) -> AttentionPlacement:
    """An ``attention: {module: cbam, where: every_block, stages: [...], blocks: [...], hp: {...}}``;
    ``source`` (``FILE:LINE``) is where errors found when the network runs point to. Hyperparameter
    names and values are checked here; what depends on the shape, where the module runs."""
    from .. import catalogue

    unknown = set(data) - {"module", "where", "stages", "blocks", "hp"}
    if unknown:
        raise SpecError(f"{where_text}: unknown key(s) {', '.join(sorted(unknown))}")
    if "module" not in data:
        raise SpecError(f"{where_text}: 'module' is required")
    name = catalogue.get(str(data["module"])).name
    where = data.get("where", "every_block")
    if where not in POLICIES:
        raise SpecError(f"{where_text}: where={where!r} is not one of {', '.join(POLICIES)}")
    stages = data.get("stages", (1, 2, 3, 4))
    if not isinstance(stages, (list, tuple)) or not all(
            isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 4 for s in stages):
        raise SpecError(f"{where_text}: stages must be a list of numbers 1..4 (got {stages!r})")
    stages = tuple(stages)
    blocks = data.get("blocks", ())
    if not isinstance(blocks, (list, tuple)) or not all(
            isinstance(b, int) and not isinstance(b, bool) and b >= 0 for b in blocks):
        raise SpecError(f"{where_text}: blocks must be a list of block indices 0, 1, ... (got {blocks!r})")
    blocks = tuple(blocks)
    if where == "after_blocks" and not blocks:
        raise SpecError(f"{where_text}: where=after_blocks needs 'blocks'")
    if not isinstance(data.get("hp") or {}, dict):
        raise SpecError(f"{where_text}: hp is a mapping such as {{r: 8}}")
    hp = dict(data.get("hp") or {})
    entry = catalogue.get(name)
    for key, value in hp.items():
        entry.hp(key).check(value, entry.name)                 # an unknown name, a value out of range
    return AttentionPlacement(name, where, stages, blocks, hp, source)
