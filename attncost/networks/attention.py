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


def attend(g: Program, x: Tensor, placements) -> Tensor:
    """Each placement's catalogue module (one placement or a sequence) on ``x`` in turn, in scope
    ``attention:NAME``; a module already run on an equal input (shape, strides, hyperparameters) is
    replayed, not recomputed."""
    from .. import catalogue

    for placement in (placements,) if isinstance(placements, AttentionPlacement) else placements:
        entry = catalogue.get(placement.module)
        hp = entry.resolve(x.shape, placement.hp)
        with g.scope(f"attention:{entry.name}"):
            x = g.replayable(("attention", entry.name, repr(sorted(hp.items())), x.shape, x.strides),
                             lambda x: entry.program(g, x, **hp), x)
    return x


def placement_from_dict(data: dict, where_text: str = "attention") -> AttentionPlacement:
    """An ``attention: {module: cbam, where: every_block, stages: [...], blocks: [...], hp: {...}}``."""
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
    stages = tuple(data.get("stages", (1, 2, 3, 4)))
    if not all(isinstance(s, int) and 1 <= s <= 4 for s in stages):
        raise SpecError(f"{where_text}: stages must be numbers 1..4")
    blocks = tuple(data.get("blocks", ()))
    if where == "after_blocks" and not blocks:
        raise SpecError(f"{where_text}: where=after_blocks needs 'blocks'")
    hp = dict(data.get("hp") or {})
    return AttentionPlacement(name, where, stages, blocks, hp)
