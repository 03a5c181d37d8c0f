"""The Python API: compare modules, formulas, whole networks, users' models, crossovers, budgets.

This is the facade at the top of the formula side (docs/ARCHITECTURE.md, "Layers"): nothing below
the CLI imports it. Each of :func:`compare`, :func:`network`, :func:`analyze`, :func:`formula` and
:func:`crossover` returns a result object of :mod:`attncost.results` (numbers as attributes,
``to_dict()``, ``table()``, ``to_pandas()``; docs/API.md); ``import attncost`` re-exports them. No
torch here except for users' models (an ``nn.Module``, ``FILE.py:FN``), imported when one is given.
``mode="train"`` on :func:`compare`, :func:`network`, :func:`crossover` and :func:`fit` gives the
training step's costs beside the inference ones (docs/TRAINING.md), with ``optimizer``,
``precision``, ``checkpoint`` and ``train_only``; the same options as the CLI's ``--mode train``.
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
from .results import CompareResult, CrossoverResult, FitResult, FormulaResult, NetworkResult
from .shapes import DTYPE_BYTES, format_shape, parse_shape
from .symbolic_terms import drop_floors, leading_term

__all__ = ["DTYPE_BYTES", "MODES", "CompareResult", "CrossoverResult", "FitResult", "FormulaResult", "NetworkResult",
           "analyze", "compare", "compare_row", "crossover", "drop_floors", "fit", "formula", "formula_rows",
           "leading_term", "network", "network_step", "parse_hp_assignments", "require_compared", "training_options",
           "typed_hp", "with_ratios"]

#: the reference networks' input when no shape is given
DEFAULT_SHAPE = "3x224x224"
#: what ``analyze`` takes besides the model and its inputs (:func:`attncost.usermodels.analyze`): given
#: for a reference network, each is an error
USER_MODEL_OPTIONS = ("method", "attention", "attention_modules", "fake", "mode", "exact_shape")
#: what ``mode=`` (``--mode``) counts: ``eval`` the inference forward; ``train`` one training step
#: (forward, backward, optimizer state; docs/TRAINING.md) beside it; ``train-forward`` a user's model's
#: train-mode forward alone (dropout, batch statistics: what ``--mode train`` counted before training
#: costs existed)
MODES = ("eval", "train", "train-forward")
#: the training step's options, given only with ``mode="train"`` (each would do nothing otherwise)
TRAINING_OPTIONS = ("optimizer", "precision", "checkpoint", "train_only")


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


def _mode(mode, allowed=MODES) -> str:
    if mode not in allowed:
        raise AttncostError(f"mode={mode!r} must be one of {', '.join(allowed)}")
    return mode


def training_options(mode: str, optimizer=None, precision=None, checkpoint=None, train_only=None):
    """The step's :class:`attncost.crossings.TrainingOptions` for ``mode="train"``, None otherwise;
    an option given without ``mode="train"`` is an error (it would do nothing)."""
    given = [name for name, value in zip(TRAINING_OPTIONS, (optimizer, precision, checkpoint, train_only))
             if value not in (None, (), [], "")]
    if mode != "train":
        if given:
            raise AttncostError(f"{given[0]}= applies to the training step, mode='train' (mode={mode!r} counts "
                                "a forward): give mode='train', or leave it out")
        return None
    from .crossings import training_options as options

    return options(optimizer, precision, checkpoint, train_only)


# -- compare, network, analyze, formula, crossover ------------------------------------------------------

def compare(names, shape, hp: dict | None = None, convention=Convention.FULL, dtype: str = "float32", *,
            mode: str = "eval", optimizer=None, precision=None, checkpoint=None, train_only=None) -> CompareResult:
    """Catalogue modules at one input ``shape`` (``"256x14x14"``, ``(256, 14, 14)``, NxCxHxW): one row
    per module (params, MACs, FLOPs under ``convention``, memory in bytes of ``dtype``, FLOPs over the
    first module's). ``hp``: hyperparameters by module, ``{"se": {"r": 8}}``. ``mode="train"``: each
    row also has the training step's columns (docs/TRAINING.md: forward, backward and step MACs and
    FLOPs, bytes saved for backward, gradients, optimizer state, the step's peak) for ``optimizer``
    (sgd, momentum, adam, adamw), ``precision`` (fp32, bf16, fp16), ``checkpoint`` and ``train_only``
    (scope patterns); each module trains as inside a network (its input requires grad)."""
    options = training_options(_mode(mode, MODES[:2]), optimizer, precision, checkpoint, train_only)
    names = _names(names)
    if not names:
        raise AttncostError("compare needs at least one module name, e.g. compare(['se', 'eca'], '256x14x14')")
    entries = [catalogue.get(name) for name in names]
    shape = _shape(shape)
    convention, dtype = _convention(convention), _dtype(dtype)
    hp = _hp_by_module(hp, [e.name for e in entries])
    rows, costs, steps = [], {}, {}
    for entry in entries:
        typed = typed_hp(entry, hp.get(entry.name, {}))
        rows.append(compare_row(entry, shape, typed, convention, dtype))
        costs[entry.name] = entry.cost(shape, typed)
    rows = with_ratios(rows)
    if options is not None:
        from .crossings import check_checkpoints, entry_training_cost, training_fields

        check_checkpoints([e.name for e in entries], options)
        for entry, row in zip(entries, rows):
            steps[entry.name] = entry_training_cost(entry, shape, typed_hp(entry, hp.get(entry.name, {})), options)
            row.update(training_fields(steps[entry.name], options, convention))
    return CompareResult(rows, costs, shape, convention, dtype, hp, training=options, training_costs=steps)


def network(model, attn=None, where: str | None = None, stages=None, blocks=None, shape=None,
            convention=Convention.FULL, dtype: str | None = None, hp: dict | None = None, *, mode: str | None = "eval",
            optimizer=None, precision=None, checkpoint=None, train_only=None, **options) -> NetworkResult:
    """A whole network's cost: a reference network (``"resnet50-v1"``; :func:`reference_networks` lists them)
    or a spec file (``specs/cbam-resnet50.yaml``), with attention ``attn`` (``"cbam"``, ``"se,eca"``)
    placed by ``where`` (``every_block``, ``after_stage``, ``after_blocks``) in ``stages`` (default
    1-4) and ``blocks``, its hyperparameters ``hp`` (``{"cbam": {"r": 8}}``); ``shape`` CxHxW or
    NxCxHxW (default 3x224x224). ``model`` may also be your own ``nn.Module`` or ``"FILE.py:FN"``:
    then this is :func:`analyze` with ``shape`` as its inputs and ``options`` its options.

    ``mode="train"`` adds one training step (``result.training``: forward, backward, memory; docs/TRAINING.md)
    with ``optimizer``, ``precision``, ``checkpoint`` (scopes, or for your model submodule names) and
    ``train_only`` (patterns: only the parameters under matching scopes train); for your model the step
    is traced (:func:`attncost.trace.training.trace_training`). ``mode="train-forward"`` (your model
    only) counts its train-mode forward alone, as ``analyze(mode="train")``."""
    convention = _convention(convention)
    user = not isinstance(model, str) or ".py:" in model
    mode = _mode(mode, MODES + (None,) if user else MODES[:2])
    training = training_options(mode, optimizer, precision, checkpoint, train_only)
    attn_names = _names(attn, "attn")
    if user:
        for given, option in ((attn_names, "attn"), (hp, "hp"), (where, "where"), (stages, "stages"),
                              (blocks, "blocks")):
            if given:
                raise AttncostError(f"{option}= applies to reference networks; put attention in your own model")
        forward_mode = "train" if mode == "train-forward" else ("eval" if mode == "train" else mode)
        if isinstance(model, str):
            result = _user_network(model, shape, convention, dtype, {**options, "mode": forward_mode})
        else:
            result = analyze(model, shape, convention=convention, dtype=dtype, mode=forward_mode, **options)
        if training is not None:
            from .usermodels import load_model

            module = load_model(model) if isinstance(model, str) else model
            result.training = _traced_step(module, result, training, model if isinstance(model, str) else None)
        return result
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
                         extra={**paper_note(spec, shape, result), "reported": reported_document(spec, shape)},
                         training=None if training is None else network_step(spec, shape, training))


def network_step(spec, shape, training):
    """The training step of a reference network (a :class:`NetworkSpec`) on ``shape``, from the
    formula side: its forward written into a training Program and run backwards
    (:func:`attncost.cost.training.training_cost`), the records of each pass kept for breakdowns."""
    from . import networks
    from .crossings import program_training_cost
    from .results import TrainingStep

    passes = {}

    def forward(g, x):
        out = networks.forward(g, x, spec)
        passes["program"], passes["start"] = g, len(g.records)
        return out

    cost = program_training_cost(forward, tuple(shape), training, False)
    g, start = passes["program"], passes["start"]
    return TrainingStep(cost, training, g.records[:start], g.records[start + 1:], source="formula")


def _traced_step(module, result, training, reference):
    """The training step of a user's model, traced once (:func:`attncost.trace.training.trace_training`)
    on inputs of the shapes and dtypes ``result`` was counted on: random floats and zero integers
    (valid indices), FakeTensors where the forward was counted on them."""
    import torch

    from .results import TrainingStep
    from .trace.training import trace_training
    from .usermodels import naming

    dtypes = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
              "float64": torch.float64, "int64": torch.int64, "int32": torch.int32, "int16": torch.int16,
              "int8": torch.int8, "uint8": torch.uint8, "bool": torch.bool}
    fake = None
    if result.analysis is not None and result.analysis.fake:
        from torch._subclasses.fake_tensor import FakeTensorMode

        fake = FakeTensorMode(allow_non_fake_inputs=True)

    def make(shape, dtype):
        kind = dtypes.get(dtype or "float32", torch.float32)
        with fake if fake is not None else contextlib.nullcontext():
            return torch.randn(shape, dtype=kind) if kind.is_floating_point else torch.zeros(shape, dtype=kind)

    inputs = tuple(make(tuple(int(s) for s in shape), dtype) for shape, dtype in result.analysis.inputs)
    with naming(reference) if reference else contextlib.nullcontext(), _trained_only(module, training.train_only):
        traced = trace_training(module, inputs, allow_unsupported=True, checkpoint=training.checkpoint,
                                precision=training.precision.name)
    records = traced.records
    return TrainingStep(traced.cost, training, records[:traced.backward_start], records[traced.backward_start + 1:],
                        source="traced", unsupported=traced.unsupported)


@contextlib.contextmanager
def _trained_only(module, patterns):
    """With ``patterns``: only the parameters whose name (``layer4.0.conv1.weight``) or one of whose
    modules' names (``layer4``, ``layer4.0``) matches one (fnmatch) require grad while the step is
    traced; each parameter's ``requires_grad`` is put back after. A pattern matching nothing is an error."""
    import fnmatch

    if not patterns:
        yield
        return
    params = list(module.named_parameters())
    matched, before = set(), [(p, p.requires_grad) for _, p in params]
    try:
        for name, p in params:
            parts = name.split(".")
            candidates = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
            hits = {pat for pat in patterns if any(fnmatch.fnmatchcase(c, pat) for c in candidates)}
            matched |= hits
            p.requires_grad_(p.requires_grad and bool(hits))
        unmatched = [pat for pat in patterns if pat not in matched]
        if unmatched:
            example = ", ".join(name for name, _ in params[:3]) or "none"
            raise AttncostError(f"--train-only {unmatched[0]!r} matches no parameter (parameters are named like "
                                f"{example}): it would freeze everything")
        yield
    finally:
        for p, requires in before:
            p.requires_grad_(requires)


def reference_networks(pattern: str | None = None, shape=(1, 3, 224, 224)) -> list[dict]:
    """The reference networks (``attncost list --networks``), optionally matching a wildcard
    ``pattern``: name, family, params and MACs at ``shape`` (walked), the reported ImageNet top-1 of
    the plain network where a source gives one (``top1_percent``, the primary source's), and the source its definition file names (the
    first sentence of its comment header, :func:`attncost.networks.registry.definition_source`). No torch, no sympy."""
    import fnmatch

    from . import networks
    from .cost import Program
    from .networks.accuracy import reported_document
    from .networks.registry import DEFINITIONS_DIR, definition_source

    rows = []
    for name, spec in sorted(networks.DEFINITIONS.items()):
        if pattern and not fnmatch.fnmatch(name, pattern.lower()):
            continue
        g = Program()
        cost = g.finish(networks.forward(g, g.input(shape), spec))
        reported = reported_document(spec, shape)
        path = DEFINITIONS_DIR / f"{name}.yaml"
        first = definition_source(path) if path.is_file() else ""
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
              hp: dict | None = None, lo: int = 1, hi: int = 1024, *, mode: str = "eval", optimizer=None,
              precision=None, checkpoint=None, train_only=None) -> CrossoverResult:
    """Where ``metric`` (macs, flops, params, peak, attention-map, activation) of two modules crosses
    as ``vary`` (H=W, H, W, C, N) runs over ``lo..hi``: ``shape`` fixes the other sizes, the varied
    ones as letters (``"512xHxW"``). Either module may be ``"FILE.py:FN"`` (traced, imports torch);
    ``hp`` by module, ``{"nonlocal": {"reduction": 2}}``. ``mode="train"``: the training step's
    metric (``peak``: the step's peak bytes; ``activation``: bytes saved for backward; docs/TRAINING.md)."""
    from .crossings import crossover as solve

    convention = _convention(convention)
    training = training_options(_mode(mode, MODES[:2]), optimizer, precision, checkpoint, train_only)
    shape = _shape(shape, allow_symbols=True)
    names = [n if ".py:" in n else catalogue.get(n).name for n in _names([module_a, module_b], "modules")]
    hp = {name: typed_hp(catalogue.get(name), values) for name, values in _hp_by_module(hp, names).items()}
    return CrossoverResult(solve(module_a, module_b, shape, vary, metric, convention, hp, lo, hi, training), module_a,
                           module_b, shape, vary, metric, convention, training=training)


def fit(module, shape, budget, vary: str = "H=W", hp: dict | None = None, lo: int = 1, hi: int = 4096, *,
        mode: str = "eval", dtype: str = "float32", optimizer=None, precision=None, checkpoint=None,
        train_only=None) -> FitResult:
    """The largest size ``vary`` (H=W, H, W, C, N) in ``lo..hi`` at which ``module``'s peak memory fits
    ``budget`` (bytes, or text: ``"16GiB"``, ``"1.5 GB"``): ``shape`` fixes the other sizes
    (``"32x512xHxW"``). ``mode="train"``: the training step's peak (activations and gradients at their
    peak, parameters, master weights, optimizer state) with ``optimizer``, ``precision``...; else the
    inference peak of activations in ``dtype``. Exact: evaluated from the formula over the whole range,
    the answer checked in integers."""
    from .crossings import fit as solve
    from .format.units import parse_bytes

    training = training_options(_mode(mode, MODES[:2]), optimizer, precision, checkpoint, train_only)
    if training is not None and dtype != "float32":
        raise AttncostError(f"dtype={dtype!r} has no effect with mode='train': the step's bytes follow precision= "
                            "(fp32, bf16, fp16)")
    dtype = _dtype(dtype)
    nbytes = parse_bytes(budget, "budget")
    shape = _shape(shape, allow_symbols=True)
    entry = catalogue.get(module) if not (isinstance(module, str) and ".py:" in module) else None
    typed = typed_hp(entry, dict(hp or {})) if entry is not None and hp else {}
    return FitResult(solve(entry.name if entry else module, shape, nbytes, vary, typed, lo, hi, training, dtype))
