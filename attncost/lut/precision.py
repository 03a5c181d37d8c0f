"""What a measured table promises, and how the build knows whether it kept the promise.

Three checks, each stored in the table (docs/LUT.md, "Precision, and a busy machine"):

- **Precision per entry**: the confidence interval of the table's statistic (:mod:`attncost.lut.stats`:
  distribution-free, from order statistics, 95%) as a relative half-width. With a target (``lut
  build --precision 3%``) the worker adds rounds until every entry, and every calibration
  architecture, is within it or the time budget is spent (:mod:`attncost.lut.rounds`).
- **Entries that must be equal** (:func:`twin_groups`): layers of identical configuration (input
  shape, option, stride, channels), attention modules on identical inputs. In context they must also
  follow identical predecessors: on a quiet machine the first layer of a repeated group (layer 2 after
  the stride-2 layer 1, layer 6 after layer 5) ran 4-11% slower than layers 3 and 4, a real effect of
  what its predecessor left in the caches, while layers 3 and 4 agreed within 1.5%. Twins must agree
  within ``TWIN_TOLERANCE`` (5%) or the precision target if that is larger; twins that disagree are
  measured again, like imprecise entries, until each has ``TWIN_ROUNDS`` (10) times the samples of
  the fixed rounds: load that hit one of them for a while is outvoted by then, and a disagreement
  that survives it is not noise (once, on a quiet machine, layers 3 and 4 at k3e6 stayed 7.3% apart
  for 4,550 rounds in one worker, within 2% in other workers), so the budget is not spent on it.
- **Controls and the machine** (:func:`drift`, :func:`interference`): the stem and the head run in
  every network of every round; their estimate per fifth of the build shows drift. The worker's
  share of the CPU (CPU time over wall time), its involuntary context switches and the load average
  show other processes. These warn; one of them also decides: a single-threaded worker that had
  less than ``BUSY_SHARE`` (75%) of the wall time shared its CPU for much of the build. With a busy
  loop on every core the worker had 33-36% in five runs, and 1 to 7 of the 84 entries of the
  22-layer table (always among the stem and layers 0-2, the largest activations, whose caches
  refill after each preemption) came out 10-30% off a quiet table after one scale factor, their
  intervals within 3%: a bias no confidence interval shows, so a target counts as not reached. At
  52-70% (the same load, scheduled otherwise) the six-layer test space was within 3.6-4.0% twice
  and 12.6% off once (twins 5.1% apart gave that one away); the rule errs on the safe side.

A build with a target that ends with an imprecise entry, disagreeing twins or a busy CPU still writes
its table (the achieved precision of every entry is in it) and exits with ``EXIT_IMPRECISE`` (4).
No torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import stats
from .segments import HEAD, STEM, parse_segment

TWIN_TOLERANCE = 0.05          # entries that must be equal may differ by this much (or by the target)
TWIN_ROUNDS = 10               # twins apart are re-measured up to this many times the fixed rounds' samples
CONTROLS = (STEM, HEAD)        # run in every network: drift shows in their estimates over the build
CONTROL_WINDOWS = 5            # the build's samples of a control, in time order, cut in this many windows
EXIT_IMPRECISE = 4             # lut build: the precision asked for was not reached (the table is written)
DEFAULT_BUDGET_S = 60.0        # seconds of timing after which a build with a target adds no round
MAX_ROUNDS = 20_000            # a bound on rounds whatever the budget (a clock that stands still)
CPU_SHARE_LIMIT = 0.9          # a single-threaded worker that ran less of the wall time than this shared a CPU
BUSY_SHARE = 0.75              # ... and under this, a target is not reached whatever the intervals say
PREEMPTED_LIMIT = 0.1          # share of timed runs with an involuntary context switch above which we warn


def architecture_key(i: int) -> str:
    """The sample key of calibration architecture ``i``'s end-to-end times (its segments: ``archI/KEY``)."""
    return f"arch{i}"


@dataclass(frozen=True)
class Rule:
    """How precise the build must be: ``target`` (a fraction; ``None``: no target, fixed rounds),
    the time ``budget_s``, the statistic and confidence, the entries checked, the calibration
    architectures (their segment keys) and the groups of entries that must be equal."""

    statistic: str = "median"
    target: float | None = None
    budget_s: float | None = None
    confidence: float = stats.CONFIDENCE
    entries: tuple = ()
    archs: tuple = ()                       # per architecture: its segment keys
    twins: tuple = ()                       # groups (tuples) of entry keys
    tolerance: float = field(default=TWIN_TOLERANCE)
    twin_samples: int | None = None         # twins apart are re-measured until each has this many samples

    @property
    def twin_tolerance(self) -> float:
        return max(self.tolerance, self.target or 0.0)

    def to_dict(self) -> dict:
        return {"statistic": self.statistic, "target": self.target, "budget_s": self.budget_s,
                "confidence": self.confidence, "entries": list(self.entries), "archs": [list(a) for a in self.archs],
                "twins": [list(g) for g in self.twins], "tolerance": self.tolerance,
                "twin_samples": self.twin_samples}

    @classmethod
    def from_dict(cls, data: dict) -> Rule:
        return cls(statistic=data["statistic"], target=data.get("target"), budget_s=data.get("budget_s"),
                   confidence=data.get("confidence", stats.CONFIDENCE), entries=tuple(data.get("entries", ())),
                   archs=tuple(tuple(a) for a in data.get("archs", ())),
                   twins=tuple(tuple(g) for g in data.get("twins", ())),
                   tolerance=data.get("tolerance", TWIN_TOLERANCE), twin_samples=data.get("twin_samples"))


# -- entries that must be equal ---------------------------------------------------------------------

def configuration(space, key: str):
    """What a segment computes, as a comparable value: ``None`` for the stem and the head (one each)."""
    what, layer, choice = parse_segment(space, key)
    if what in (STEM, HEAD):
        return (what,)
    if what == "attention":
        return ("attention", choice, layer.out_channels, layer.out_resolution)
    return ("layer", layer.in_channels, layer.out_channels, layer.stride, layer.resolution, choice)


def twin_groups(space, keys, networks=None) -> list:
    """Groups (of two or more) of ``keys`` that must measure alike: equal configuration and, when
    ``networks`` (the in-context chains, lists of keys) are given, equal predecessors in every
    network that times them."""
    signatures: dict = {}
    for key in keys:
        own = configuration(space, key)
        if own[0] in (STEM, HEAD):
            continue
        if networks is not None:
            before = frozenset(configuration(space, chain[i - 1]) for chain in networks
                               for i, k in enumerate(chain) if k == key and i > 0)
            own = (own, before)
        signatures.setdefault(own, []).append(key)
    return [group for group in signatures.values() if len(group) > 1]


# -- assessing samples ------------------------------------------------------------------------------

def _figures(samples, statistic: str, confidence: float) -> tuple:
    """(estimate, relative half-width or None, half-width in ms or None) of one key's samples."""
    ordered = sorted(samples)
    value = stats.estimate(ordered, statistic)
    interval = stats.quantile_ci(ordered, statistic, confidence)
    achieved = stats.precision(value, interval)
    return value, achieved, (achieved * value if achieved is not None else None)


def architecture_estimate(samples: dict, i: int, segments, statistic: str, confidence: float = stats.CONFIDENCE):
    """(ms, precision) of calibration architecture ``i``. Median and min: the statistic of its
    end-to-end times. p10: the sum of its segments' 10th percentiles in its own runs (the timestamps
    between segments add up to the end-to-end time, so this is that time with each segment's preempted
    runs left out: under a busy loop on every core the 10th percentile of whole 15 ms runs came out
    3.0-3.5x the quiet one, its segments' within 6%); its precision, the sum of their half-widths
    over the sum."""
    if statistic != "p10":
        value, achieved, _ = _figures(samples[architecture_key(i)], statistic, confidence)
        return value, achieved
    total, width = 0.0, 0.0
    for key in segments:
        value, _, half = _figures(samples[f"{architecture_key(i)}/{key}"], statistic, confidence)
        total += value
        width = None if width is None or half is None else width + half
    return total, (width / total if width is not None and total > 0 else None)


@dataclass
class Assessment:
    """One look at the samples: each checked key's precision, the twins, what needs more rounds."""

    precision: dict                # key -> fraction or None (entries, then architectures by architecture_key)
    estimates: dict                # key -> ms
    twins: list                    # [{"entries", "spread_pct", "agree"}]
    imprecise: list                # keys over the target (or without an interval), noisiest first
    pending: set                   # keys whose visits need more rounds

    @property
    def done(self) -> bool:
        return not self.pending


def assess(samples: dict, rule: Rule) -> Assessment:
    """Which keys miss ``rule``'s target (all of them are fine without one), which twins disagree."""
    estimates, achieved = {}, {}
    for key in rule.entries:
        if samples.get(key):
            estimates[key], achieved[key], _ = _figures(samples[key], rule.statistic, rule.confidence)
    for i, segments in enumerate(rule.archs):
        if samples.get(architecture_key(i)):
            estimates[architecture_key(i)], achieved[architecture_key(i)] = architecture_estimate(
                samples, i, segments, rule.statistic, rule.confidence)
    imprecise = []
    if rule.target is not None:
        imprecise = [key for key, value in achieved.items() if value is None or value > rule.target]
        imprecise.sort(key=lambda key: -(achieved[key] if achieved[key] is not None else float("inf")))
    twins = []
    pending = set(imprecise)
    for group in rule.twins:
        values = [estimates[key] for key in group if key in estimates]
        if len(values) < 2 or min(values) <= 0:
            continue
        spread = max(values) / min(values) - 1
        agree = spread <= rule.twin_tolerance
        twins.append({"entries": list(group), "spread_pct": 100 * spread, "agree": agree})
        if not agree and rule.target is not None and (
                rule.twin_samples is None or min(len(samples[key]) for key in group) < rule.twin_samples):
            pending.update(group)
    return Assessment(achieved, estimates, twins, imprecise, pending)


def drift(samples, statistic: str, windows: int = CONTROL_WINDOWS) -> dict:
    """A control's estimate per window of its samples (in time order) and the spread of those, in %
    of their median (``None`` with fewer than two samples per window)."""
    size = len(samples) // windows
    if size < 2:
        return {"windows_ms": [], "drift_pct": None}
    values = [stats.estimate(samples[w * size:(w + 1) * size], statistic) for w in range(windows)]
    middle = stats.quantile(sorted(values), 0.5)
    return {"windows_ms": values, "drift_pct": 100 * (max(values) - min(values)) / middle if middle > 0 else None}


def interference(machine: dict, threads: int, cpus: int) -> list:
    """Signs that other processes competed with the measurement, each ``{"sign", "value", "limit"}``:
    a load average above the logical CPUs, a single-threaded worker that ran less than 90% of the
    wall time, more than 10% of the timed runs preempted (an involuntary context switch)."""
    signs = []
    loads = [load[0] for load in (machine.get("load_before"), machine.get("load_after")) if load]
    if loads and max(loads) > cpus:
        signs.append({"sign": "load average", "value": max(loads), "limit": cpus})
    share = machine.get("cpu_share")
    if threads == 1 and share is not None and share < CPU_SHARE_LIMIT:
        signs.append({"sign": "cpu share", "value": share, "limit": CPU_SHARE_LIMIT})
    preempted = machine.get("preempted_share")
    if preempted is not None and preempted > PREEMPTED_LIMIT:
        signs.append({"sign": "preempted runs", "value": preempted, "limit": PREEMPTED_LIMIT})
    return signs


def busy(machine: dict, threads: int) -> bool:
    """Whether a single-threaded worker had less than ``BUSY_SHARE`` of the wall time it was timing."""
    share = machine.get("cpu_share")
    return threads == 1 and share is not None and share < BUSY_SHARE


def report(samples: dict, rule: Rule, rounds: dict, machine: dict, threads: int, cpus: int) -> dict:
    """The table's fields on its own quality: ``precision``, ``twins``, ``controls``, ``interference``.
    ``precision.reached`` (with a target): every interval within it, twins agreeing, the CPU not busy;
    ``precision.missed``: which of those failed (``imprecise``, ``twins``, ``busy``)."""
    found = assess(samples, rule)
    entries = [found.precision.get(key) for key in rule.entries if key in found.precision]
    known = [value for value in entries if value is not None]
    missed = []
    if rule.target is not None:
        missed = ([reason for reason, failed in (("imprecise", bool(found.imprecise)),
                                                  ("twins", any(not twin["agree"] for twin in found.twins)),
                                                  ("busy", busy(machine, threads))) if failed])
    return {
        "precision": {
            "statistic": rule.statistic, "confidence": rule.confidence,
            "interval": "distribution-free, from order statistics" if rule.statistic in stats.QUANTILES else None,
            "target_pct": 100 * rule.target if rule.target is not None else None,
            "budget_s": rule.budget_s, "twin_tolerance_pct": 100 * rule.twin_tolerance,
            "reached": not missed if rule.target is not None else None, "missed": missed,
            "stopped": rounds.get("stopped"), "rounds": rounds.get("timed"), "extra_rounds": rounds.get("extra"),
            "seconds": rounds.get("seconds"),
            "worst_pct": 100 * max(known) if known else None,
            "without_interval": len(entries) - len(known),
            "imprecise": [{"entry": key, "precision_pct": 100 * found.precision[key]
                           if found.precision[key] is not None else None} for key in found.imprecise],
            "architectures_pct": [100 * found.precision[architecture_key(i)]
                                  if found.precision.get(architecture_key(i)) is not None else None
                                  for i in range(len(rule.archs)) if architecture_key(i) in found.precision],
        },
        "twins": found.twins,
        "controls": {key: drift(samples[key], rule.statistic) for key in CONTROLS if samples.get(key)},
        "interference": interference(machine, threads, cpus),
    }


def reached(data: dict) -> bool | None:
    """Whether a table met its precision target (``None``: none was set)."""
    return (data.get("precision") or {}).get("reached")


def noisiest(data: dict, count: int = 5) -> list:
    """The ``count`` entries of a table with the widest intervals (those without one first):
    ``[(key, precision_pct or None)]``."""
    entries = data.get("entries", {})
    ranked = sorted(entries, key=lambda key: -(entries[key].get("precision_pct")
                                                if entries[key].get("precision_pct") is not None else float("inf")))
    return [(key, entries[key].get("precision_pct")) for key in ranked[:count]]
