"""Reported ImageNet top-1 accuracy of reference networks, as data (``accuracy.yaml`` beside this file).

An entry names a build the way a spec file does (``network:`` a definition, ``attention:`` placements in
the spec files' vocabulary) and lists what its sources report for it, the primary first::

    - network: resnet50-v1
      attention: {module: se, where: every_block}
      reported:
        - {top1: 76.71, resolution: 224, source: "Hu et al. ..., Table 2: ...", setting: "..."}

:func:`reported_for` gives the figures of a spec: those of the entry whose build is exactly the spec's
(the same definition and overrides, the same modules with the same hyperparameters, defaults filled in,
at the same places; placements compared stage by stage, so ``stages: [1, 2, 3, 4]`` is every stage) and
measured at the input's resolution (H = W). A network whose definition does not exist (yet) keeps its
figures (:func:`pending` names them) and is matched once it does. Errors in the file are one line with
file and line (:mod:`attncost.specfile`): an unknown key, a top-1 outside (0, 100), an empty source or
setting, a build given twice. No torch, no sympy.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from pathlib import Path

from .. import catalogue, specfile
from .attention import placement_from_node
from .registry import DEFINITIONS, spec_from_node

ACCURACY_FILE = Path(__file__).parent / "accuracy.yaml"
ENTRY_KEYS = ("network", "attention", "reported")
REPORTED_KEYS = ("top1", "resolution", "source", "setting")


@dataclass(frozen=True)
class Reported:
    """One source's figure: top-1 in %, measured at ``resolution`` x ``resolution``; ``where`` is its
    file and line."""

    top1: float
    resolution: int
    source: str
    setting: str
    where: str = dataclasses.field(default="", compare=False)

    def as_dict(self) -> dict:
        return {"top1": self.top1, "resolution": self.resolution, "source": self.source, "setting": self.setting}


@dataclass(frozen=True)
class AccuracyEntry:
    """A build (``network`` plus ``placements``) and its figures, primary first. ``spec`` is the build's
    spec, None while its definition does not exist."""

    network: str
    placements: tuple
    reported: tuple
    where: str
    spec: object = dataclasses.field(default=None, compare=False)


def load_accuracy(path=ACCURACY_FILE) -> tuple:
    """The entries of an accuracy file, validated; errors are ``FILE:LINE: ...``."""
    root = specfile.read(path)
    fields = root.mapping("the accuracy file", known=("networks",), required=("networks",))
    entries, first = [], {}
    for item in fields["networks"].items("networks", non_empty=True):
        entry = _entry(item)
        key = _key(entry)
        if key in first:
            raise item.error(f"{entry.network}{_attention_text(entry.placements)} is given twice (first at "
                             f"{first[key]}): list its sources under one entry's 'reported', the primary first")
        first[key] = entry.where
        entries.append(entry)
    return tuple(entries)


def _key(entry: AccuracyEntry) -> tuple:
    """What makes two entries the same build: the network and where its modules go."""
    if entry.spec is not None:
        return entry.spec.name, _atoms(entry.spec)
    return entry.network.lower().replace("_", "-"), _atoms_of(entry.placements)


def _entry(item) -> AccuracyEntry:
    fields = item.mapping("an accuracy entry", known=ENTRY_KEYS, required=("network", "reported"))
    network = fields["network"].text("network").strip()
    if not network:
        raise fields["network"].error("network must be a definition's name")
    spec, placements = None, ()
    if network.lower().replace("_", "-") in DEFINITIONS:
        spec = spec_from_node(item, extra_keys=("reported",))
        placements = tuple(spec.attention)
    elif "attention" in fields and fields["attention"].value:
        attention = fields["attention"]
        items = attention.items("attention") if attention.is_list else [attention]
        placements = tuple(placement_from_node(node) for node in items)
    reported = tuple(_reported(node) for node in fields["reported"].items("reported", non_empty=True))
    for i, figure in enumerate(reported):
        if figure in reported[:i]:
            raise fields["reported"].error(f"reported lists the same figure twice ({figure.top1}, {figure.source})")
    return AccuracyEntry(network, placements, reported, f"{item.path}:{item.line}", spec)


def _reported(node) -> Reported:
    fields = node.mapping("a reported figure", known=REPORTED_KEYS, required=REPORTED_KEYS)
    top1 = fields["top1"].value
    if isinstance(top1, bool) or not isinstance(top1, (int, float)) or not math.isfinite(top1) or not 0 < top1 < 100:
        raise fields["top1"].error(f"top1 must be a number in (0, 100), the top-1 accuracy in % (got {top1!r})")
    resolution = fields["resolution"].positive_int("resolution")
    texts = {}
    for key, what in (("source", "paper and table, or model zoo"), ("setting", "evaluation crop and training")):
        text = fields[key].text(key).strip() if fields[key].value is not None else ""
        if not text:
            raise fields[key].error(f"{key} must be a non-empty text ({what})")
        texts[key] = " ".join(text.split())
    return Reported(float(top1), resolution, texts["source"], texts["setting"], f"{node.path}:{node.line}")


# -- matching ---------------------------------------------------------------------------------------------

def _hp(module: str, hp: dict) -> tuple:
    """A placement's hyperparameters with the entry's defaults filled in, as sorted items."""
    entry = catalogue.get(module)
    return tuple(sorted((h.name, h.check(hp.get(h.name, h.default), entry.name)) for h in entry.hyperparameters))


def _atoms(spec) -> frozenset:
    """Where each placement of ``spec`` inserts its module: (module, where, stage, block, hp) for every
    stage (and, for after_blocks, block) it reaches, so that equal insertions compare equal however
    the placements are split."""
    placements = tuple(spec.attention)
    if not placements:
        return frozenset()
    stage_blocks = spec.stage_blocks()
    last = max(stage_blocks)
    atoms = set()
    for p in placements:
        hp = _hp(p.module, p.hp)
        for stage in (p.stages if p.stages is not None else sorted(stage_blocks)):
            if p.where == "after_blocks":
                atoms.update((p.module, p.where, stage, b, hp) for b in p.blocks if b < stage_blocks[stage])
            elif p.where != "after_stage" or stage != last:     # every_block, replace_conv, any policy to come
                atoms.add((p.module, p.where, stage, None, hp))
    return frozenset(atoms)


def _atoms_of(placements) -> frozenset:
    """Placements compared without a network (for builds whose definition is pending): as given."""
    return frozenset((p.module, p.where, p.stages, p.blocks, _hp(p.module, p.hp)) for p in placements)


def _backbone(spec):
    return dataclasses.replace(spec, attention=())


def _same_build(a, b) -> bool:
    return type(a) is type(b) and _backbone(a) == _backbone(b) and _atoms(a) == _atoms(b)


def _attention_text(placements) -> str:
    return "".join(f" + {p.module}" for p in placements)


@functools.cache
def entries() -> tuple:
    """The shipped accuracy file's entries (read once)."""
    return load_accuracy(ACCURACY_FILE)


def pending(found=None) -> tuple:
    """The networks of ``found`` (default: the shipped entries) whose definition does not exist."""
    return tuple(dict.fromkeys(e.network for e in (entries() if found is None else found) if e.spec is None))


def reported_for(spec, shape=None, found=None) -> tuple:
    """The figures reported for exactly ``spec``'s build, primary first; with ``shape`` (N, C, H, W) only
    those measured at its resolution (H = W). Empty when there are none."""
    for entry in entries() if found is None else found:
        if entry.spec is None or not _same_build(entry.spec, spec):
            continue
        figures = entry.reported
        if shape is not None:
            h, w = shape[-2], shape[-1]
            figures = tuple(f for f in figures if isinstance(h, int) and h == w == f.resolution)
        return figures
    return ()


def reported_document(spec, shape=None, found=None) -> dict | None:
    """docs/JSON.md's ``reported``: the primary figure's ``{top1, resolution, source, setting}`` and the
    other sources' under ``also``; None when no source reports this build at this resolution."""
    figures = reported_for(spec, shape, found)
    if not figures:
        return None
    return {**figures[0].as_dict(), "also": [f.as_dict() for f in figures[1:]]}
