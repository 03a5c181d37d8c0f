"""The Python API: compare modules, formulas, whole networks, users' models, crossovers.

This is the facade at the top of the formula side (docs/ARCHITECTURE.md, "Layers"): nothing below
the CLI imports it. Each of :func:`compare`, :func:`network`, :func:`analyze`, :func:`formula` and
:func:`crossover` returns a result object of :mod:`attncost.results` (numbers as attributes,
``to_dict()``, ``table()``, ``to_pandas()``; docs/API.md); ``import attncost`` re-exports them. No
torch here except for users' models (an ``nn.Module``, ``FILE.py:FN``), imported when one is given.
What the rows are made of lives in the layer that owns each idea, and is re-exported here: rows in
:mod:`attncost.query`, leading terms in :mod:`attncost.symbolic_terms`, element sizes in
:mod:`attncost.shapes`. Users' errors are :class:`attncost.errors.AttncostError`\\ s.
"""

from __future__ import annotations

import contextlib

from . import catalogue
from .cost import Convention
from .errors import AttncostError, HyperparameterError, ShapeError
from .numbers import parse_int
from .query import compare_row, formula_rows, typed_hp, with_ratios
from .results import CompareResult, CrossoverResult, FormulaResult, NetworkResult
from .shapes import DTYPE_BYTES, format_shape, parse_shape
from .symbolic_terms import drop_floors, leading_term

__all__ = ["DTYPE_BYTES", "CompareResult", "CrossoverResult", "FormulaResult", "NetworkResult", "analyze", "compare",
           "compare_row", "crossover", "drop_floors", "formula", "formula_rows", "leading_term", "network",
           "parse_hp_assignments", "require_compared", "typed_hp", "with_ratios"]

#: the reference networks' input when no shape is given
DEFAULT_SHAPE = "3x224x224"
#: what ``analyze`` takes besides the model and its inputs (:func:`attncost.usermodels.analyze`): given
#: for a reference network, each is an error
USER_MODEL_OPTIONS = ("method", "attention", "attention_modules", "fake", "mode", "exact_shape")


def parse_hp_assignments(items, scoped: bool = True, modules=None) -> dict:
    """``--hp`` values, one grammar in every command: ``NAME.KEY=VALUE``, or ``KEY=VALUE`` where only
    one module is named.

    With ``modules`` (the names a command was given, aliases and ``FILE.py:FN`` too):
    {entry name: {key: value}}; ``KEY=VALUE`` belongs to the one module (among several it is an error
    asking for ``NAME.``) and a NAME that is not among ``modules`` is an error (:func:`require_compared`).
    Without ``modules``: ``scoped`` gives {entry name: {key: value}} (NAME required), else {key: value}.
    A key given twice is an error, not the last one winning."""
    names = list(dict.fromkeys(_module_name(m) for m in modules)) if modules is not None else None
    single = names[0] if names is not None and len(names) == 1 else None
    out: dict = {}
    for item in items:
        key, equals, value = item.partition("=")
        key = key.strip()
        example = "NAME.KEY=VALUE, e.g. se.r=8" + (" (or KEY=VALUE: one module is given)" if single else "")
        if not equals or not key or key.endswith(".") or key.startswith("."):
            raise HyperparameterError(f"--hp {item!r} must look like {example if scoped or names else 'KEY=VALUE'}")
        if "." in key and (scoped or names is not None):
            name, key = key.rsplit(".", 1)
            name = _module_name(name.strip())
        elif names is None and not scoped:
            name = None
        elif single is not None:
            name = single
        elif names is not None:
            raise HyperparameterError(f"--hp {item!r}: several modules are given ({', '.join(names)}): name the "
                                      f"one it is for, NAME.{key}={value}")
        else:
            raise HyperparameterError(f"--hp {item!r} must name its module: NAME.key=value (e.g. se.r=8)")
        target = out if name is None else out.setdefault(name, {})
        key = key.strip()
        if key in target:
            shown = key if name is None else f"{name}.{key}"
            raise HyperparameterError(f"--hp {shown} is given twice ({target[key]!r} and {value!r}): give it once")
        target[key] = value
    if names is not None:
        require_compared(out, names)
    return out


def _module_name(name: str) -> str:
    """A catalogue name (or alias) as its entry's name; a user's ``FILE.py:FN`` as given."""
    return name if ".py:" in name else catalogue.get(name).name


def require_compared(hp_by_module: dict, modules) -> None:
    """Every module an ``--hp NAME.key=value`` names is one of ``modules``: a hyperparameter of a module
    that is not compared would be ignored silently."""
    for name, values in hp_by_module.items():
        if name not in modules:
            keys = ", ".join(f"{name}.{key}" for key in values)
            raise HyperparameterError(f"--hp {keys}: {name} is not among the modules given "
                                      f"({', '.join(dict.fromkeys(modules))})")


# -- arguments as users give them ----------------------------------------------------------------------

def _convention(value) -> str:
    try:
        return Convention(value).value
    except ValueError:
        raise AttncostError(f"convention {value!r} must be one of {', '.join(c.value for c in Convention)}") from None


def _dtype(value, allowed=DTYPE_BYTES) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise AttncostError(f"dtype {value!r} must be one of {', '.join(allowed)}")
    return value


def _shape(shape, allow_symbols: bool = False) -> tuple:
    """``"256x14x14"``, ``(256, 14, 14)`` or ``(1, 256, 14, 14)`` (with ``allow_symbols``: letters,
    ``"512xHxW"``, ``(512, "H", "W")``) -> (N, C, H, W), as the CLI's ``--shape`` reads."""
    if isinstance(shape, (tuple, list)) and shape and not any(isinstance(d, (tuple, list)) for d in shape):
        text = "x".join(str(d) for d in shape)
    elif isinstance(shape, str):
        text = shape
    else:
        raise ShapeError(f"shape {shape!r} must be CxHxW or NxCxHxW, as text ('256x14x14') or a tuple ((256, 14, 14))")
    return parse_shape(text, allow_symbols)


def _names(names, what: str = "names") -> list[str]:
    """``"se"``, ``"se,eca"`` or ``["se", "eca"]`` -> ``["se", "eca"]``."""
    if names is None:
        return []
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise AttncostError(f"{what}={names!r} must be catalogue names, e.g. ['se', 'eca'] or 'se,eca'")
    return list(names)


def _hp_by_module(hp, modules, what: str = "hp") -> dict:
    """``{"se": {"r": 8}}`` with names as the catalogue spells them, each one of ``modules`` (a
    hyperparameter of a module not given would be ignored silently)."""
    if hp is None:
        return {}
    if not isinstance(hp, dict) or not all(isinstance(v, dict) for v in hp.values()):
        raise HyperparameterError(f"{what}= maps each module to its hyperparameters, e.g. {what}={{'se': {{'r': 8}}}}")
    out = {}
    for name, values in hp.items():
        key = catalogue.get(name).name if ".py:" not in str(name) else name
        if key not in modules:
            raise HyperparameterError(f"{what}={{{name!r}: ...}}: {key} is not among the modules given "
                                      f"({', '.join(dict.fromkeys(modules)) or 'none'})")
        out[key] = dict(values)
    return out


def _ints(values, what: str) -> tuple:
    """``(1, 2)``, ``[3]`` or ``"1,2"`` -> a tuple of ints (what ``--stages``/``--blocks`` read)."""
    if isinstance(values, str):
        values = [v for v in values.split(",") if v.strip()]
    elif isinstance(values, int) and not isinstance(values, bool):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise AttncostError(f"{what}={values!r} must be a tuple of numbers, e.g. (3, 4)")
    return tuple(parse_int(v, f"{what}={tuple(values)!r}: {v!r}", error=AttncostError) for v in values)


# -- compare, network, analyze, formula, crossover ------------------------------------------------------

def compare(names, shape, hp: dict | None = None, convention=Convention.FULL, dtype: str = "float32") -> CompareResult:
    """Catalogue modules at one input ``shape`` (``"256x14x14"``, ``(256, 14, 14)``, NxCxHxW): one row
    per module (params, MACs, FLOPs under ``convention``, memory in bytes of ``dtype``, FLOPs over the
    first module's). ``hp``: hyperparameters by module, ``{"se": {"r": 8}}``."""
    names = _names(names)
    if not names:
        raise AttncostError("compare needs at least one module name, e.g. compare(['se', 'eca'], '256x14x14')")
    entries = [catalogue.get(name) for name in names]
    shape = _shape(shape)
    convention, dtype = _convention(convention), _dtype(dtype)
    hp = _hp_by_module(hp, [e.name for e in entries])
    rows, costs = [], {}
    for entry in entries:
        typed = typed_hp(entry, hp.get(entry.name, {}))
        rows.append(compare_row(entry, shape, typed, convention, dtype))
        costs[entry.name] = entry.cost(shape, typed)
    return CompareResult(with_ratios(rows), costs, shape, convention, dtype, hp)


def network(model, attn=None, where: str | None = None, stages=None, blocks=None, shape=None,
            convention=Convention.FULL, dtype: str | None = None, hp: dict | None = None, **options) -> NetworkResult:
    """A whole network's cost: a reference network (``"resnet50-v1"``; :func:`reference_networks` lists them)
    or a spec file (``specs/cbam-resnet50.yaml``), with attention ``attn`` (``"cbam"``, ``"se,eca"``)
    placed by ``where`` (``every_block``, ``after_stage``, ``after_blocks``) in ``stages`` (default
    1-4) and ``blocks``, its hyperparameters ``hp`` (``{"cbam": {"r": 8}}``); ``shape`` CxHxW or
    NxCxHxW (default 3x224x224). ``model`` may also be your own ``nn.Module`` or ``"FILE.py:FN"``:
    then this is :func:`analyze` with ``shape`` as its inputs and ``options`` its options."""
    convention = _convention(convention)
    attn_names = _names(attn, "attn")
    if not isinstance(model, str) or ".py:" in model:
        for given, option in ((attn_names, "attn"), (hp, "hp"), (where, "where"), (stages, "stages"),
                              (blocks, "blocks")):
            if given:
                raise AttncostError(f"{option}= applies to reference networks; put attention in your own model")
        if isinstance(model, str):
            return _user_network(model, shape, convention, dtype, options)
        return analyze(model, shape, convention=convention, dtype=dtype, **options)
    for option in options:
        if option in USER_MODEL_OPTIONS:
            raise AttncostError(f"{option}= applies to your own model (an nn.Module or FILE.py:FN), not to {model}")
        raise TypeError(f"network() got an unexpected keyword argument {option!r}")
    from . import networks
    from .cost import Program
    from .graph import walk

    shape = _shape(shape if shape is not None else DEFAULT_SHAPE)
    dtype = _dtype(dtype if dtype is not None else "float32")
    spec = networks.load_spec(model) if model.endswith((".yaml", ".yml")) else networks.definition(model)
    hp = _hp_by_module(hp, [catalogue.get(name).name for name in attn_names])
    if attn_names:
        stage_list = _ints((1, 2, 3, 4) if stages is None else stages, "stages")
        block_list = _ints(() if blocks is None else blocks, "blocks")
        if not stage_list:
            raise AttncostError(f"stages={stages!r} names no stage: give stages such as (3, 4)")
        placements = []
        for name in attn_names:
            entry = catalogue.get(name)
            data = {"module": entry.name, "where": "every_block" if where is None else where,
                    "stages": list(stage_list)}
            if block_list:
                data["blocks"] = list(block_list)
            if entry.name in hp:
                data["hp"] = typed_hp(entry, hp[entry.name])
            placements.append(networks.placement_from_dict(data, "attn"))
        spec = networks.with_attention(spec, list(spec.attention) + placements)
    else:
        for given, option in ((where, "where"), (stages, "stages"), (blocks, "blocks")):
            if given is not None:
                raise AttncostError(f"{option}= places attention: give attn= too (e.g. attn='se')")
    if shape[1] != 3:
        raise AttncostError(f"shape {format_shape(shape)}: the reference networks take 3 input channels")
    g = Program()
    result = walk(g, networks.forward(g, g.input(shape), spec))
    label = spec.name + "".join(f"+{catalogue.get(name).name}" for name in attn_names)
    from .networks.accuracy import reported_document

    return NetworkResult(result, spec.name, shape, convention, dtype, label=label,
                         extra={**paper_note(spec, shape, result), "reported": reported_document(spec, shape)})


def reference_networks(pattern: str | None = None, shape=(1, 3, 224, 224)) -> list[dict]:
    """The reference networks (``attncost list --networks``), optionally matching a wildcard
    ``pattern``: name, family, params and MACs at ``shape`` (walked), the reported ImageNet top-1 of
    the plain network where a source gives one (``top1_percent``, the primary source's), and the source its definition file names (its first
    comment line). No torch, no sympy."""
    import fnmatch

    from . import networks
    from .cost import Program
    from .networks.accuracy import reported_document
    from .networks.registry import DEFINITIONS_DIR

    rows = []
    for name, spec in sorted(networks.DEFINITIONS.items()):
        if pattern and not fnmatch.fnmatch(name, pattern.lower()):
            continue
        g = Program()
        cost = g.finish(networks.forward(g, g.input(shape), spec))
        reported = reported_document(spec, shape)
        path = DEFINITIONS_DIR / f"{name}.yaml"
        first = next((line.lstrip("# ").rstrip() for line in path.read_text(encoding="utf-8").splitlines()
                      if line.startswith("#")), "") if path.is_file() else ""
        rows.append({"network": name, "family": type(spec).__name__.removesuffix("Spec"), "params": int(cost.params),
                     "macs": int(cost.macs), "top1_percent": reported["top1"] if reported else None,
                     "source": first})
    if not rows:
        raise AttncostError(f"no reference network matches {pattern!r} (known: {', '.join(sorted(networks.DEFINITIONS))})")
    return rows


def paper_note(spec, shape, result) -> dict:
    """Why a ResNet's number may differ from a paper's: the stride placement (v1 or torchvision's
    v1.5) and the convention; the other variant's MACs are walked so the note can say by how much.
    ``{"note": ...}``, or ``{}`` for a network that has no such variant."""
    from . import networks
    from .cost import Program

    if getattr(spec, "stride_on", None) not in ("1x1", "3x3") or getattr(spec, "block", None) != "bottleneck":
        return {}                     # a basic block has no 1x1 to move the stride to
    if getattr(spec, "replace_conv", None) or getattr(spec, "deep_stem", False) or getattr(spec, "avg_down", False) \
            or any(p.where == "replace_conv" for p in spec.attention):
        return {}                     # SKNet, ResNeSt, BoT, AA: not the plain v1 / v1.5 ResNet the note is about
    other = type(spec)(**{**spec.__dict__, "stride_on": "1x1" if spec.stride_on == "3x3" else "3x3"})
    g = Program()
    other_macs = int(g.finish(networks.forward(g, g.input(shape), other)).macs)
    here = "the first 1x1 (the original ResNet, as the SE/CBAM/BAM/GC papers used)" if spec.stride_on == "1x1" \
        else "the 3x3 (torchvision's v1.5)"
    return {"note": f"stride on {here}; with it on the {'3x3' if spec.stride_on == '1x1' else 'first 1x1'} "
                    f"MACs would be {other_macs:,} ({(other_macs - int(result.total.macs)) / 1e9:+.3f} G). Papers of "
                    f"that era print conv+FC MACs as 'GFLOPs': compare with --convention macs"}


def _user_network(reference: str, shape, convention: str, dtype, options: dict) -> NetworkResult:
    """``network("FILE.py:FN")``: the model the function returns, on ``shape`` or its example inputs."""
    from .usermodels import analyze as count, load_model, naming

    model, example = load_model(reference, with_inputs=True)
    inputs = shape if shape is not None else (example if example is not None else DEFAULT_SHAPE)
    with naming(reference):
        analysis = count(model, inputs, dtype=dtype, **options)
    return _analysis_result(analysis, reference, convention)


def _analysis_result(analysis, name: str, convention: str) -> NetworkResult:
    extra = {"traced_with": analysis.method, "inputs": _format_inputs(analysis.inputs), "mode": analysis.mode,
             "fake_tensors": analysis.fake}
    return NetworkResult(analysis.network, name, analysis.inputs[0][0], convention, analysis.dtype, extra=extra,
                         analysis=analysis)


def _format_inputs(inputs) -> str:
    from .shapes import format_inputs

    return format_inputs(inputs)


def analyze(model, inputs=None, method: str = "eager", *, convention=Convention.FULL, **options) -> NetworkResult:
    """Count your own ``nn.Module`` on ``inputs`` (a tensor, a shape such as ``(1, 3, 224, 224)`` or
    ``(3, 224, 224)`` for batch 1, ``"3x224x224"``, or a list of them, one per argument of
    ``forward``): its totals, op graph and breakdowns, FLOPs under ``convention``. ``options``:
    ``attention=(MyBlock,)``, ``attention_modules=("blocks.*.attn",)``, ``fake=True`` (FakeTensors),
    ``dtype="float16"``, ``mode="train"``, ``exact_shape=True`` (:func:`attncost.usermodels.analyze`;
    imports torch). A model that cannot run on the inputs is a
    :class:`attncost.usermodels.ModelRunError` naming the model's class and the inputs."""
    from .usermodels import analyze as count, model_name, naming

    convention = _convention(convention)
    name = model_name(model)
    with naming(name) if name else contextlib.nullcontext():
        analysis = count(model, inputs, method, **options)
    return _analysis_result(analysis, name, convention)


def formula(target, inputs=None, hints: dict | None = None, *, hp: dict | None = None, convention=Convention.FULL,
            **options) -> FormulaResult:
    """A cost as expressions. ``target`` a catalogue name (``"nonlocal"``): its formula in N, C, H, W
    and its symbolic hyperparameters, ``hp`` fixing some (``{"r": 16}``). ``target`` your own
    ``nn.Module`` (or ``"FILE.py:FN"``) with ``inputs`` in letters (``"3xHxW"``): traced once on
    FakeTensors with symbolic sizes at ``hints`` (:func:`attncost.usermodels.formula`; imports torch)."""
    convention = _convention(convention)
    if isinstance(target, str) and ".py:" not in target:
        given = [option for option, value in (("inputs", inputs), ("hints", hints)) if value is not None]
        for option in given + list(options):
            raise AttncostError(f"{option}= applies to your own model (an nn.Module or FILE.py:FN); "
                                f"{target} is a catalogue entry")
        entry = catalogue.get(target)
        if hp is not None and not isinstance(hp, dict):
            raise HyperparameterError(f"hp= maps names to values, e.g. hp={{'r': 16}} (got {hp!r})")
        typed = typed_hp(entry, dict(hp or {}))
        for key, value in typed.items():
            if value is None and entry.hp(key).symbolic:   # derived from C (ECA's k), which a formula keeps symbolic
                raise HyperparameterError(f"{entry.name}.{key}=none: {key} derived from C needs a number for C; in a "
                                          f"formula give {key} a number, or leave it out to keep it the symbol {key}")
        return FormulaResult(entry.formula(typed), entry.name, convention, entry=entry, hp=typed)
    from .usermodels import formula as symbolic, load_model, model_name, naming

    if hp:
        raise AttncostError("hp= applies to catalogue entries; your own model fixes its own hyperparameters")
    name = target if isinstance(target, str) else model_name(target)
    if inputs is None:
        raise AttncostError(f"{name}: give inputs with letters for the symbolic sizes, e.g. '3xHxW'")
    model = load_model(target) if isinstance(target, str) else target
    with naming(name) if name else contextlib.nullcontext():
        analysis = symbolic(model, inputs, hints, **options)
    grow = tuple(sorted((s for s in analysis.hints if str(s) != "N"), key=str)) or tuple(analysis.hints)
    return FormulaResult(analysis.network.total, name, convention, analysis=analysis, grow=grow)


def crossover(module_a, module_b, shape, vary: str = "H=W", metric: str = "macs", convention=Convention.FULL,
              hp: dict | None = None, lo: int = 1, hi: int = 1024) -> CrossoverResult:
    """Where ``metric`` (macs, flops, params, peak, attention-map, activation) of two modules crosses
    as ``vary`` (H=W, H, W, C, N) runs over ``lo..hi``: ``shape`` fixes the other sizes, the varied
    ones as letters (``"512xHxW"``). Either module may be ``"FILE.py:FN"`` (traced, imports torch);
    ``hp`` by module, ``{"nonlocal": {"reduction": 2}}``."""
    from .crossings import crossover as solve

    convention = _convention(convention)
    shape = _shape(shape, allow_symbols=True)
    names = [n if ".py:" in n else catalogue.get(n).name for n in _names([module_a, module_b], "modules")]
    hp = {name: typed_hp(catalogue.get(name), values) for name, values in _hp_by_module(hp, names).items()}
    return CrossoverResult(solve(module_a, module_b, shape, vary, metric, convention, hp, lo, hi), module_a, module_b,
                           shape, vary, metric, convention)
