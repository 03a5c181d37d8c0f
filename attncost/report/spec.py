"""Report specs: which modules, shapes, sweeps, networks and latency tables a design report shows.

A spec is a YAML file (loaded safely) such as ``specs/attention-review.yaml``::

    title: Attention at each ResNet stage
    convention: [macs, full]    # or one; the first leads (sweeps, sunbursts, ratios); default full
    modules: [se, eca, {module: cbam, alias: "CBAM r=8", hp: {r: 8}}]
    shapes: [256x56x56, 512x28x28]
    sweep: {channels: [512], range: [7, 112], metric: macs}
    input: 3x224x224           # the networks' input (default)
    networks:
      - {network: resnet50}
      - {network: resnet50-v1, attention: {module: cbam, where: every_block}, alias: CBAM-R50}
    latency: {lut: ../lut.json, measurements: ../validation.json}
    training: {optimizer: adam, precision: bf16}   # a training section (docs/TRAINING.md); {} for the defaults

Every error names the file and the line of the offending key or list item; a key that would have no
effect (``shapes`` or ``sweep`` without modules, ``input`` without networks, an empty list) is one,
as the command line's options are, and so is a repeat. Shapes are read as ``--shape`` is, with its
channels-last guard (``channels_last_ok: true`` is the spec's ``--channels-last-ok``). Paths inside a
spec are relative to the spec file's folder. The same spec can be built from command-line options
(:func:`spec_from_options`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import catalogue, specfile
from ..cost import Convention
from ..crossings import METRICS, TrainingOptions, training_options
from ..errors import AttncostError
from ..networks import definition, load_spec, spec_from_node
from ..query import typed_hp
from ..shapes import DTYPE_BYTES, check_channels_first, format_shape
from ..symbols import H, W

MAX_SWEEP = 8192        # the largest H = W of a sweep: every size from lo to hi is evaluated
SPEC_KEYS = ("title", "convention", "dtype", "modules", "shapes", "channels_last_ok", "sweep", "networks", "input",
             "latency", "training")
TRAINING_KEYS = ("optimizer", "precision", "checkpoint", "train_only")
MODULE_KEYS = ("module", "alias", "hp")
SWEEP_KEYS = ("channels", "range", "metric")
LATENCY_KEYS = ("lut", "measurements")
NETWORK_EXTRA_KEYS = ("alias",)


@dataclass(frozen=True)
class ModuleChoice:
    """A catalogue entry with its hyperparameters, under the label the report shows."""

    name: str
    label: str
    hp: dict = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class NetworkChoice:
    label: str
    spec: object


@dataclass(frozen=True)
class Sweep:
    """Cost versus resolution H = W in [lo, hi] at each channel count, on log-log axes."""

    channels: tuple
    lo: int = 7
    hi: int = 112
    metric: str = "macs"


@dataclass(frozen=True)
class Latency:
    lut: Path | None = None
    measurements: Path | None = None


@dataclass(frozen=True)
class ReportSpec:
    title: str
    source: str
    convention: Convention = Convention.FULL            # the first of ``conventions``: sweeps, sunbursts, ratios
    dtype: str = "float32"
    modules: tuple = ()
    shapes: tuple = ()
    sweep: Sweep | None = None
    networks: tuple = ()
    latency: Latency = Latency()
    network_input: tuple = (1, 3, 224, 224)
    conventions: tuple = ()                             # every convention the tables show FLOPs under
    inputs: tuple = ()                                  # the files the spec names (an output must not be one)
    training: TrainingOptions | None = None             # a training section with these options, or none

    def __post_init__(self):
        if not self.conventions:
            object.__setattr__(self, "conventions", (self.convention,))


def load_report_spec(path) -> ReportSpec:
    """Read and validate a report spec file; errors name the file and line. Besides a malformed
    value, a key that would have no effect is an error, as the command line's options are: an empty
    ``modules`` or ``networks``, ``shapes`` or ``sweep`` without modules, ``input`` without networks,
    ``channels_last_ok`` where no shape needs it; so is a repeat (a shape, a convention, two modules
    or networks under one label) and an empty alias or title."""
    path = Path(path)
    root = specfile.read(path)
    if root.node is None:
        raise root.error("the report spec is empty")
    fields = root.mapping("the report spec", known=SPEC_KEYS)
    if "modules" not in fields and "networks" not in fields:
        raise root.error("a report spec needs 'modules' or 'networks'")
    module_items = fields["modules"].items("modules", non_empty=True) if "modules" in fields else []
    network_items = fields["networks"].items("networks", non_empty=True) if "networks" in fields else []
    _refuse_without(fields, "shapes", module_items, "shapes are the shapes modules are compared at, and no "
                    "modules are given (networks run at 'input', default 3x224x224): add modules, or leave shapes out")
    _refuse_without(fields, "sweep", module_items, "sweep plots the modules' costs against the resolution, and no "
                    "modules are given: add modules, or leave sweep out")
    _refuse_without(fields, "input", network_items, "input is the networks' input, and no networks are given "
                    "(modules run at 'shapes'): add networks, or leave input out")
    conventions = _conventions(fields["convention"]) if "convention" in fields else (Convention.FULL,)
    dtype = fields["dtype"].choice("dtype", tuple(DTYPE_BYTES)) if "dtype" in fields else "float32"
    shapes = _shapes(fields["shapes"], fields.get("channels_last_ok")) if "shapes" in fields else ()
    if "channels_last_ok" in fields and "shapes" not in fields:
        raise fields["channels_last_ok"].error("channels_last_ok takes the spec's shapes as written, and it gives no "
                                               "shapes: leave it out")
    modules = tuple(_module(item, shapes) for item in module_items)
    if modules and not shapes:
        raise fields["modules"].error("modules need 'shapes' to be compared at")
    _no_repeated_labels(module_items, modules, "modules")
    sweep = (_sweep(fields["sweep"], shapes, modules) if "sweep" in fields
             else (Sweep(_default_channels(shapes)) if modules else None))
    network_input = _network_input(fields["input"]) if "input" in fields else (1, 3, 224, 224)
    networks = tuple(_network(item) for item in network_items)
    _no_repeated_labels(network_items, networks, "networks")
    for item, choice in zip(network_items, networks):
        _run_network(item, choice, network_input)
    latency = _latency(fields["latency"], path.parent) if "latency" in fields else Latency()
    title = _label(fields["title"], "title") if "title" in fields else path.stem
    training = _training(fields["training"]) if "training" in fields else None
    inputs = tuple(p for p in (latency.lut, latency.measurements) if p is not None) + tuple(
        path.parent / str(item.value) for item in network_items
        if item.is_scalar and str(item.value).endswith((".yaml", ".yml")))
    return ReportSpec(title, str(path), conventions[0], dtype, modules, shapes, sweep, networks, latency, network_input,
                      conventions, inputs, training)


def spec_from_options(modules: list[str], shapes: list, convention="full", networks: list[str] = (),
                      title: str | None = None, lut: str | None = None, measurements: str | None = None,
                      training: TrainingOptions | None = None) -> ReportSpec:
    """The spec ``attncost report --modules ... --shape ...`` describes, validated like a file's
    (a module, network or shape given twice is an error); ``training`` (``--mode train`` and its
    options) adds the training section."""
    choices = []
    for name in modules:
        entry = catalogue.get(name)
        for shape in shapes:
            entry.resolve(shape, {})
        if any(c.name == entry.name for c in choices):
            raise AttncostError(f"--modules lists {entry.name} twice: a report compares each module once")
        choices.append(ModuleChoice(entry.name, entry.name))
    for i, shape in enumerate(shapes):
        if tuple(shape) in map(tuple, shapes[:i]):
            raise AttncostError(f"--shape {_shown_shape(shape)} is given twice: a report compares at each shape once")
    nets = tuple(NetworkChoice(n, definition(n)) for n in networks)
    for i, net in enumerate(nets):
        if any(other.spec.name == net.spec.name for other in nets[:i]):
            raise AttncostError(f"--networks lists {net.spec.name} twice: a report shows each network once")
    sweep = Sweep(_default_channels(shapes)) if choices else None
    shown = [c.label for c in choices + list(nets)] + (["latency"] if lut or measurements else [])
    latency = Latency(Path(lut) if lut else None, Path(measurements) if measurements else None)
    _check_latency_files(latency)
    return ReportSpec(title or "attncost report: " + ", ".join(shown),
                      "command line", Convention(convention), "float32", tuple(choices), tuple(shapes), sweep, nets,
                      latency, training=training)


def _training(node) -> TrainingOptions:
    """``training: {optimizer: adam, precision: bf16, checkpoint: [...], train_only: [...]}`` (every key
    optional; ``{}``: SGD in fp32, everything trained)."""
    fields = node.mapping("training", known=TRAINING_KEYS) if node.node is not None else {}
    values = {}
    for key in ("optimizer", "precision"):
        if key in fields:
            values[key] = fields[key].text(f"training {key}")
    for key in ("checkpoint", "train_only"):
        if key in fields:
            given = fields[key]
            items = given.items(f"training {key}") if given.is_list else [given]
            values[key] = [item.text(f"training {key}") for item in items]
    with node.at():
        return training_options(**values)


def _refuse_without(fields: dict, key: str, needed, message: str) -> None:
    """``key`` given where what it applies to is not (its value would have no effect): an error at it."""
    if key in fields and not needed:
        raise fields[key].error(message)


def _shapes(node, channels_last_ok=None) -> tuple:
    """``shapes: [256x14x14, ...]``: each parsed as ``--shape`` is (:func:`attncost.shapes.parse_shape`)
    and refused, as there, when it looks channels-last (``14x14x256``: did you mean 256x14x14?) unless
    ``channels_last_ok: true``, which is an error where no shape needs it; a shape given twice is an
    error."""
    take_as_written = channels_last_ok is not None and channels_last_ok.boolean("channels_last_ok")
    if channels_last_ok is not None and not take_as_written:
        raise channels_last_ok.error("channels_last_ok: false is the default; leave it out")
    shapes, lines, channels_last = [], {}, False
    for item in node.items("shapes", non_empty=True):
        shape = item.shape()
        with item.at():
            try:
                check_channels_first(item.text("a shape"), "shape", "channels_last_ok: true")
            except AttncostError:
                if not take_as_written:
                    raise
                channels_last = True
        if shape in lines:
            raise item.error(f"shapes lists {_shown_shape(shape)} twice (first at line {lines[shape]})")
        lines[shape] = item.line
        shapes.append(shape)
    if take_as_written and not channels_last:
        raise channels_last_ok.error("channels_last_ok has no effect: no shape looks channels-last; leave it out")
    return tuple(shapes)


def _shown_shape(shape) -> str:
    """A shape as one would type it: CxHxW for one sample, else NxCxHxW."""
    return format_shape(shape[1:] if shape[0] == 1 else shape)


def _network_input(node) -> tuple:
    """``input``: the networks' input, CxHxW or NxCxHxW with 3 channels (a channels-last one, such as
    224x224x3, is refused with the shape it likely meant, as ``network --shape`` refuses it)."""
    shape = node.shape("input")
    with node.at():
        check_channels_first(node.text("input"), "input")
    if shape[1] != 3:
        raise node.error(f"input {format_shape(shape)}: the reference networks take 3 channels")
    return shape


def _label(node, what: str) -> str:
    """A non-empty label (a title, an alias)."""
    text = node.text(what) if node.value is not None else ""
    if not text.strip():
        raise node.error(f"{what} must be a non-empty text (got {node.value!r}); leave it out for the default")
    return text


def _no_repeated_labels(items, choices, what: str) -> None:
    """Two modules (or networks) under one label would be two rows no reader can tell apart."""
    lines: dict = {}
    for item, choice in zip(items, choices):
        if choice.label in lines:
            raise item.error(f"{what} gives the label {choice.label!r} twice (first at line {lines[choice.label]}): "
                             f"give one an alias (or leave the repeat out)")
        lines[choice.label] = item.line


def _default_channels(shapes) -> tuple:
    return tuple(sorted({int(s[1]) for s in shapes}))[:1] if shapes else ()


def _conventions(node) -> tuple:
    """``convention: macs`` or ``convention: [macs, full]`` (the first one leads)."""
    allowed = tuple(c.value for c in Convention)
    items = node.items("convention") if node.is_list else [node]
    if not items:
        raise node.error("convention needs at least one of: " + ", ".join(allowed))
    lines: dict = {}
    for item in items:
        convention = Convention(item.choice("convention", allowed))
        if convention in lines:
            raise item.error(f"convention lists {convention.value} twice (first at line {lines[convention]})")
        lines[convention] = item.line
    return tuple(lines)


def _module(item, shapes) -> ModuleChoice:
    """``se`` or ``{module: cbam, alias: "CBAM r=8", hp: {r: 8}}``, resolvable at every shape."""
    if item.is_mapping:
        fields = item.mapping("a module", known=MODULE_KEYS, required=("module",))
        name, alias, hp_node = fields["module"], fields.get("alias"), fields.get("hp")
    else:
        name, alias, hp_node = item, None, None
    entry = name.module()
    hp = {}
    if hp_node is not None:
        for key, value in hp_node.mapping("hp").items():
            with value.at():
                entry.hp(key)                           # an unknown name fails at its own line
                hp.update(typed_hp(entry, {key: value.value}))
    for shape in shapes:
        with (hp_node or item).at():
            try:
                entry.resolve(shape, hp)
            except AttncostError as error:
                raise type(error)(f"{entry.name} at {format_shape(shape)}: {error}") from None
    return ModuleChoice(entry.name, _label(alias, "alias") if alias is not None else entry.name, hp)


def _sweep(node, shapes, modules=()) -> Sweep:
    fields = node.mapping("sweep", known=SWEEP_KEYS)
    channels = _default_channels(shapes)
    if "channels" in fields:
        given = fields["channels"]
        items = given.items("sweep channels", non_empty=True) if given.is_list else [given]
        channels = tuple(item.positive_int("sweep channels") for item in items)
    lo, hi = 7, 112
    if "range" in fields:
        value = fields["range"].value
        if not (isinstance(value, list) and len(value) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                and 1 <= value[0] < value[1]):
            raise fields["range"].error("sweep range must be [lo, hi] with 1 <= lo < hi")
        lo, hi = value
        if hi > MAX_SWEEP:
            raise fields["range"].error(f"sweep range [{lo}, {hi}]: H = W goes up to {MAX_SWEEP:,} at most "
                                        f"(every size is evaluated and plotted)")
    metric = fields["metric"].choice("sweep metric", METRICS) if "metric" in fields else "macs"
    if not channels:
        raise node.error("sweep needs 'channels' (or 'shapes' to take them from)")
    batch = shapes[0][0] if shapes else 1
    for c, item in zip(channels, items if "channels" in fields else [node] * len(channels)):
        for module in modules:                   # a channel count a module cannot take fails at its line
            with item.at():
                try:
                    catalogue.get(module.name).resolve((batch, c, H, W), module.hp)
                except AttncostError as error:
                    raise type(error)(f"sweep channels {c}: {error}") from None
    return Sweep(channels, lo, hi, metric)


def _network(item) -> NetworkChoice:
    """A reference network's name, a network spec file (relative to the report spec) or a mapping
    ``{network: NAME, attention: ..., alias: LABEL}``."""
    if item.is_scalar and str(item.value).endswith((".yaml", ".yml")):
        path = item.path.parent / str(item.value)
        if not path.exists():
            raise item.error(f"network spec {item.value!r} not found (looked at {path})")
        return NetworkChoice(Path(str(item.value)).stem, load_spec(path))
    if item.is_scalar:
        with item.at():
            return NetworkChoice(item.text("a network"), definition(item.text("a network")))
    if not item.is_mapping:
        raise item.error("a network is a name, a spec file or a mapping with 'network'")
    spec = spec_from_node(item, NETWORK_EXTRA_KEYS)
    alias = item.mapping("a network spec").get("alias")
    if alias is None:
        attention = "+".join(p.module for p in spec.attention)
        return NetworkChoice(spec.name + (f" + {attention}" if attention else ""), spec)
    return NetworkChoice(_label(alias, "alias"), spec)


def _run_network(item, choice: NetworkChoice, shape) -> None:
    """Write the network's forward once now (a few milliseconds), so that what only running it shows
    (an attention module a block cannot take, a hyperparameter too large for a stage's channels)
    fails at the spec's line (or at the line of the network file it names) before the report is built."""
    from ..cost import Program
    from ..networks import forward

    with item.at():
        g = Program()
        forward(g, g.input(shape), choice.spec)


def _latency(node, folder: Path) -> Latency:
    fields = node.mapping("latency", known=LATENCY_KEYS)
    if not fields:
        raise node.error(f"latency needs 'lut' or 'measurements' (or both); leave it out for none")
    paths = {}
    for key, value in fields.items():
        path = folder / value.text(f"latency {key}")
        if not path.is_file():
            raise value.error(f"latency {key} file {value.text(key)!r} not found (looked at {path})")
        paths[key] = path
    latency = Latency(paths.get("lut"), paths.get("measurements"))
    _check_latency_files(latency)
    return latency


def _check_latency_files(latency: Latency) -> None:
    """Read and check the latency files now (:mod:`attncost.lut.schema`: one line naming the file and
    the JSON path of a bad value), so that a bad file fails before the report is built."""
    from .latency import lut_matrix, measurements

    if latency.lut is not None:
        lut_matrix(latency.lut)
    if latency.measurements is not None:
        measurements(latency.measurements)
