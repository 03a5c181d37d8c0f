"""Where attention goes in a network: the insertion policies of the papers.

- ``every_block``: inside every residual block, on the residual branch before the add
  (SE, CBAM, ECA, GE, SK-style; also GC when restricted to ``stages``).
- ``after_stage``: once after each stage but the last (BAM: at the bottlenecks between stages).
- ``after_blocks``: as a standalone block after chosen blocks of chosen stages (Non-local: e.g. 5
  blocks in res4 of ResNet-50, after every other block).
- ``replace_conv``: in place of each block's 3x3 convolution (a bottleneck's conv2), taking its input,
  output channels and stride (SKNet's SK units, ResNeSt's split attention, CondConv, DynamicConv,
  attention-augmented convolution, BoTNet's MHSA, deformable conv at stride 1); only the entries of
  :data:`REPLACES_CONV` can,
  and that table says how each strides and whether the conv's BN and ReLU stay after it.
Stages are numbered as the network's breakdown names them, 1..its last (``stage1``..): a ResNet's
1..4 (res2..res5 in the papers' naming), MobileNetV2's and MnasNet's 1..7 (the rows of their tables);
each network's spec says which it has (``stage_blocks()``: stage -> number of blocks). A placement
that inserts nothing is an error (:func:`check_placement`): a stage the network lacks, ``after_stage``
at the last stage, ``after_blocks`` at a stage without any of the blocks or a block in none of the
stages, ``blocks`` with another policy, ``replace_conv`` with a module that cannot stand in for a
convolution or with a hyperparameter the conv sets (its stride, its output channels). ``stages`` left
out means all of the network's.

A network walks its spec through ``in_block``, ``after_block``, ``after_stage`` and ``replaces_conv``
(the placements that apply at a site; the torch reference networks walk the same functions) and
attaches each with ``attend`` (``replace_conv`` for the last).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..cost import Program, Tensor
from ..errors import SpecError

#: the policies that add a module to the network (every network with stages takes them, ResNets and
#: RegNets all three) and the one that replaces a convolution (a ResNet bottleneck's 3x3)
INSERTIONS = ("every_block", "after_stage", "after_blocks")
POLICIES = (*INSERTIONS, "replace_conv")


@dataclass(frozen=True)
class ConvReplacement:
    """How a catalogue entry stands in for a block's 3x3 convolution (``replace_conv``).

    ``norm_act``: the conv's BN and ReLU stay after the entry (CondConv, DynamicConv, AA-conv and
    BoTNet's MHSA replace the conv alone); ``False``: the entry ends in its own BN and ReLU and
    replaces all three (an SK unit's branches, SplAtConv2d's bn0 and ReLU). ``stride``: ``"module"``,
    the entry's ``stride`` hyperparameter (SK's strided branches, BoTNet's 2x2 average pool after the
    attention, ...); ``"avd"``, the entry runs at stride 1 and a 3x3 average pool with the stride
    (padding 1) follows it, as ResNeSt's ``avd`` (avd_first False); ``None``: stride 1 only.
    ``out_channels``: the hyperparameter naming its output channels, set to the conv's where they
    differ from its input's (``None``: the entry keeps its input's channels)."""

    norm_act: bool
    stride: str | None
    out_channels: str | None


#: the entries that can replace a convolution, and how (the papers' code: SKNet's sknet50.prototxt,
#: ResNeSt's resnet.py Bottleneck, CondConv's and DynamicConv's ResNets, AA-ResNet, BoTNet's BoT block)
REPLACES_CONV = {
    "sk": ConvReplacement(norm_act=False, stride="module", out_channels=None),
    "split-attention": ConvReplacement(norm_act=False, stride="avd", out_channels=None),
    "condconv": ConvReplacement(norm_act=True, stride="module", out_channels="out_channels"),
    "dynamic-conv": ConvReplacement(norm_act=True, stride="module", out_channels="out_channels"),
    "aa-conv": ConvReplacement(norm_act=True, stride="module", out_channels="out_channels"),
    "botnet-mhsa": ConvReplacement(norm_act=True, stride="module", out_channels="dim_out"),
    "deform-conv": ConvReplacement(norm_act=True, stride=None, out_channels="out_channels"),
}
#: hyperparameters the replaced conv sets; a placement that gives one is an error
SET_BY_THE_CONV = ("stride", "out_channels", "dim_out")


@dataclass(frozen=True)
class AttentionPlacement:
    module: str
    where: str = "every_block"
    stages: tuple | None = None        # None: every stage of the network
    blocks: tuple = ()                 # for after_blocks: block indices (0-based) within each stage
    hp: dict = field(default_factory=dict, compare=False)
    source: str | None = field(default=None, compare=False)   # "FILE:LINE" of a spec file's placement, or "--attn"

    def at_stage(self, stage: int) -> bool:
        return self.stages is None or stage in self.stages

    def in_block(self, stage: int) -> bool:
        return self.where == "every_block" and self.at_stage(stage)

    def after_block(self, stage: int, block: int) -> bool:
        return self.where == "after_blocks" and self.at_stage(stage) and block in self.blocks

    def after_stage(self, stage: int, last_stage: int) -> bool:
        return self.where == "after_stage" and self.at_stage(stage) and stage != last_stage

    def replaces_conv(self, stage: int) -> bool:
        return self.where == "replace_conv" and self.at_stage(stage)


def in_block(placements, stage: int) -> tuple:
    """The placements that run inside every block of ``stage`` (on the residual branch, before the add)."""
    return tuple(p for p in placements if p.in_block(stage))


def after_block(placements, stage: int, block: int) -> tuple:
    """The placements that run as a standalone block after block ``block`` (0-based) of ``stage``."""
    return tuple(p for p in placements if p.after_block(stage, block))


def after_stage(placements, stage: int, last_stage: int) -> tuple:
    """The placements that run once after ``stage`` (never after the last)."""
    return tuple(p for p in placements if p.after_stage(stage, last_stage))


def replaces_conv(placements, stage: int):
    """The placement that replaces the 3x3 convolution of ``stage``'s blocks, or ``None`` (a network
    checks that at most one does)."""
    return next((p for p in placements if p.replaces_conv(stage)), None)


def replacement_hp(placement, stride: int, in_channels, out_channels) -> dict:
    """The hyperparameters ``placement``'s module runs with in place of a 3x3 conv ``in_channels`` ->
    ``out_channels`` with ``stride``: its own, plus the stride (where the module strides) and the output
    channels (where they differ from the input's). A stride or a change of channels the module cannot
    make is an error."""
    how = REPLACES_CONV[placement.module]
    hp = dict(placement.hp)
    with located(placement):
        if stride != 1:
            if how.stride is None:
                raise SpecError(f"{placement.module} has no stride, and it would replace a 3x3 conv of stride "
                                f"{stride}: keep it to blocks of stride 1 (stages, or stride_on: 1x1)")
            if how.stride == "module":
                hp["stride"] = stride
        if _differ(in_channels, out_channels):
            if how.out_channels is None:
                raise SpecError(f"{placement.module} keeps its input's {in_channels} channels, and the 3x3 conv it "
                                f"would replace turns them into {out_channels}")
            hp[how.out_channels] = out_channels
    return hp


def replace_conv(g: Program, x: Tensor, placement, stride: int, out_channels, norm_act) -> Tensor:
    """``placement``'s module in place of a 3x3 conv (padding 1) to ``out_channels`` with ``stride``, in
    scope ``attention:NAME`` (replayed when its input repeats); then ``norm_act`` (the network's BN and
    ReLU, a function of the tensor) where the conv's stay (:data:`REPLACES_CONV`), and for an ``avd``
    module the 3x3 average pool with the stride. The result must have the conv's output shape: a
    module that gives another (BoTNet's 2x2 pool of an odd size) is refused, as PyTorch would fail at
    the residual add."""
    from .. import catalogue
    from ..algebra import floor_div

    with located(placement):
        entry = catalogue.get(placement.module)
        how = REPLACES_CONV[entry.name]
        hp = entry.resolve(x.shape, replacement_hp(placement, stride, x.shape[1], out_channels))
        with g.scope(f"attention:{entry.name}"):
            y = g.replayable(("replace", entry.name, repr(sorted(hp.items())), x.shape, x.strides),
                             lambda x: entry.program(g, x, **hp), x)
        if how.norm_act:
            y = norm_act(y)
        if how.stride == "avd" and stride != 1:
            y = g.avg_pool2d(y, 3, stride, 1)
        expected = (x.shape[0], out_channels, *(floor_div(s - 1, stride) + 1 for s in x.shape[2:]))
        if len(y.shape) != 4 or any(_differ(a, b) for a, b in zip(y.shape, expected)):
            where = "/".join(g.scope_key) or "the network"
            raise SpecError(f"{where}: {entry.name} turns a {_shape(x.shape)} input into {_shape(y.shape)}, where "
                            f"the 3x3 conv it replaces gives {_shape(expected)} (PyTorch would fail on what "
                            f"follows)")
    return y


#: modules whose output differs from their input's shape, and the ones of the same paper that keep it
KEEPING_SHAPE = {"danet": "danet-pam or danet-cam"}


def attention_scope(name: str, run: int = 1) -> str:
    """The scope of a placed module: ``attention:NAME``, and ``attention:NAME#2``, ``#3``, ... for the
    second and later of the same module at one place (``--attn se,se``: two modules, each with its own
    parameters, where one scope would count one module's parameters for both)."""
    return f"attention:{name}" if run == 1 else f"attention:{name}#{run}"


def attend(g: Program, x: Tensor, placements) -> Tensor:
    """Each placement's catalogue module (one placement or a sequence) on ``x`` in turn, in scope
    :func:`attention_scope`; a module already run on an equal input (shape, strides, hyperparameters) is
    replayed, not recomputed. A module must give a tensor of its input's shape (the network goes on
    with it: a residual add, the next block's convolution); one that does not (DANet's head gives
    C // 4 channels) is refused, as PyTorch would fail on it. Errors name the placement's spec file
    and line where it has one, and the block."""
    from .. import catalogue

    runs: dict = {}
    for placement in (placements,) if isinstance(placements, AttentionPlacement) else placements:
        with located(placement):
            entry = catalogue.get(placement.module)
            hp = entry.resolve(x.shape, placement.hp)
            runs[entry.name] = runs.get(entry.name, 0) + 1
            with g.scope(attention_scope(entry.name, runs[entry.name])):
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
    """Whether two sizes (ints or sympy expressions) provably differ (ints compared as ints)."""
    from ..algebra import differ

    return differ(a, b)


def _shape(shape) -> str:
    return "x".join(str(s) for s in shape)


class located:
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
        at_source = SpecError(f"{source}: {error}")
        at_source.located = True
        raise at_source from None


#: the keys of a placement (``attention: {module: ..., where: ..., ...}``), in the order the docs give them
PLACEMENT_KEYS = ("module", "where", "stages", "blocks", "hp")


def placement_from_dict(data: dict, where_text: str = "attention", source: str | None = None) -> AttentionPlacement:
    """An ``attention: {module: cbam, where: every_block, stages: [...], blocks: [...], hp: {...}}``;
    ``source`` (``FILE:LINE``) is where errors found when the network runs point to. Hyperparameter
    names and values are checked here; what depends on the shape, where the module runs."""
    from .. import catalogue
    from ..specfile import suggest

    unknown = sorted(map(str, set(data) - set(PLACEMENT_KEYS)))
    if unknown:
        raise SpecError(f"{where_text}: unknown key(s) {', '.join(unknown)} (known: {', '.join(PLACEMENT_KEYS)})"
                        f"{suggest(unknown[0], PLACEMENT_KEYS) if len(unknown) == 1 else ''}")
    if "module" not in data:
        raise SpecError(f"{where_text}: 'module' is required")
    name = catalogue.get(str(data["module"])).name
    where = data.get("where", "every_block")
    canonical = next((p for p in POLICIES if isinstance(where, str) and where.casefold() == p), None)
    if canonical is None:
        raise SpecError(f"{where_text}: where={where!r} is not one of {', '.join(POLICIES)}")
    where = canonical
    stages = data.get("stages")
    if stages is not None:
        if not isinstance(stages, (list, tuple)) or not stages or not all(
                isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in stages):
            raise SpecError(f"{where_text}: stages must be a non-empty list of stage numbers 1, 2, ... "
                            f"(got {stages!r})")
        _no_repeats(stages, "stages", where_text)
        stages = tuple(stages)
    blocks = data.get("blocks", ())
    if not isinstance(blocks, (list, tuple)) or not all(
            isinstance(b, int) and not isinstance(b, bool) and b >= 0 for b in blocks):
        raise SpecError(f"{where_text}: blocks must be a list of block indices 0, 1, ... (got {blocks!r})")
    _no_repeats(blocks, "blocks", where_text)
    blocks = tuple(blocks)
    if where == "after_blocks" and not blocks:
        raise SpecError(f"{where_text}: where=after_blocks needs 'blocks'")
    if blocks and where != "after_blocks":
        raise SpecError(f"{where_text}: blocks apply only to where=after_blocks; where={where} places {name} "
                        f"{_PLACES[where]} of its stages")
    if not isinstance(data.get("hp") or {}, dict):
        raise SpecError(f"{where_text}: hp is a mapping such as {{r: 8}}")
    hp = dict(data.get("hp") or {})
    entry = catalogue.get(name)
    if where == "replace_conv":
        _check_replaceable(name, hp, f"{where_text}: ")
    for key, value in hp.items():
        entry.hp(key).check(value, entry.name)                 # an unknown name, a value out of range
    return AttentionPlacement(name, where, stages, blocks, hp, source)


def placement_from_node(node) -> AttentionPlacement:
    """The placement a spec file's ``attention`` mapping (a :class:`attncost.specfile.Node`) gives:
    its keys checked at their lines (an unknown one with the closest suggested), then
    :func:`placement_from_dict`, whose errors (and those found when the network runs) point to the
    mapping's line."""
    with node.at():
        if not node.is_mapping:
            raise SpecError("attention is a mapping such as {module: cbam, where: every_block}")
    node.mapping("attention", known=PLACEMENT_KEYS, required=("module",))
    with node.at():
        return placement_from_dict(node.value, source=f"{node.path}:{node.line}")


def _check_replaceable(name: str, hp: dict, prefix: str = "") -> None:
    """``name`` can replace a convolution and ``hp`` sets nothing the conv it replaces sets."""
    if name not in REPLACES_CONV:
        raise SpecError(f"{prefix}{name} cannot replace a convolution (it keeps its input's shape and adds to it); "
                        f"where=replace_conv takes {', '.join(REPLACES_CONV)}")
    given = [key for key in SET_BY_THE_CONV if key in hp]
    if given:
        raise SpecError(f"{prefix}where=replace_conv sets {name}'s {', '.join(given)} from the 3x3 conv it replaces; "
                        f"leave {'it' if len(given) == 1 else 'them'} out of hp")


#: what each policy does, for messages
_PLACES = {"every_block": "in every block", "after_stage": "after each stage",
           "replace_conv": "in place of the 3x3 conv of every block"}


def _no_repeats(values, what: str, where_text: str) -> None:
    """A number listed twice in ``stages`` or ``blocks`` is an error naming the repeated ones (at most
    :data:`_MAX_LISTED` of them); one pass over the list, so a list of any length is checked at once."""
    seen, repeated = set(), set()
    for value in values:
        (repeated if value in seen else seen).add(value)
    if repeated:
        shown = sorted(repeated)
        more = f" and {len(shown) - _MAX_LISTED} others" if len(shown) > _MAX_LISTED else ""
        raise SpecError(f"{where_text}: {what} lists {', '.join(map(str, shown[:_MAX_LISTED]))}{more} more than once")


_MAX_LISTED = 10          # numbers an error lists before "and N others"


def _numbers(values) -> str:
    """1, 2, 3 -> '1..3'; 1, 3 -> '1, 3'."""
    values = sorted(values)
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}..{values[-1]}"
    return ", ".join(map(str, values))


def check_placement(placement: AttentionPlacement, network: str, stage_blocks: dict) -> None:
    """A placement that would insert nothing into ``network`` (whose stages have ``stage_blocks``:
    stage -> number of blocks, as its breakdown numbers them) is an error, as is any stage or block it
    names that gets nothing: a stage the network lacks; ``after_stage`` at the last stage (it goes
    between stages); ``after_blocks`` at a named stage with none of the blocks, or a block that is in
    none of the stages; ``replace_conv`` with a module that cannot replace a conv. (What a replacement
    needs of the network, a bottleneck, strides the module takes, one replacement per conv, the
    network's spec checks: ``ResNetSpec``.) Errors name the placement's spec file and line where it has
    one."""
    with located(placement):
        name, where, stages = placement.module, placement.where, placement.stages
        if where == "replace_conv":
            _check_replaceable(name, placement.hp)
        have = _numbers(stage_blocks)
        missing = [s for s in stages or () if s not in stage_blocks]
        if missing:
            raise SpecError(f"{name}: {network} has stages {have}, not {_numbers(missing)} (stages are numbered "
                            f"as the breakdown's stage1..stage{max(stage_blocks)})")
        chosen = list(stages) if stages is not None else sorted(stage_blocks)
        last = max(stage_blocks)
        if where == "after_stage":
            if chosen == [last] or (stages is not None and last in stages):
                between = _numbers(s for s in stage_blocks if s != last) or "none"
                raise SpecError(f"{name} where=after_stage at stage {last} inserts nothing: after_stage goes "
                                f"between stages, and {last} is {network}'s last; give stages among {between}")
        if where == "after_blocks":
            blocks = placement.blocks
            if stages is not None:
                for s in stages:
                    if not any(b < stage_blocks[s] for b in blocks):
                        raise SpecError(f"{name} where=after_blocks at stage {s} inserts nothing: stage {s} of "
                                        f"{network} has blocks 0..{stage_blocks[s] - 1}, none of {_numbers(blocks)}")
            nowhere = [b for b in blocks if not any(b < stage_blocks[s] for s in chosen)]
            if nowhere:
                most = max(stage_blocks[s] for s in chosen)
                raise SpecError(f"{name} where=after_blocks: block {_numbers(nowhere)} is in none of the stages "
                                f"({_numbers(chosen)}) of {network}, whose blocks go up to {most - 1}")
