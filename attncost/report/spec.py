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

Every error names the file and the line of the offending key or list item. Paths inside a spec are
relative to the spec file's folder. The same spec can be built from command-line options
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
from ..shapes import DTYPE_BYTES, format_shape
from ..symbols import H, W

MAX_SWEEP = 8192        # the largest H = W of a sweep: every size from lo to hi is evaluated
SPEC_KEYS = ("title", "convention", "dtype", "modules", "shapes", "sweep", "networks", "input", "latency", "training")
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
    """Read and validate a report spec file; errors name the file and line."""
    path = Path(path)
    root = specfile.read(path)
    if root.node is None:
        raise root.error("the report spec is empty")
    fields = root.mapping("the report spec", known=SPEC_KEYS)
    if "modules" not in fields and "networks" not in fields:
        raise root.error("a report spec needs 'modules' or 'networks'")
    conventions = _conventions(fields["convention"]) if "convention" in fields else (Convention.FULL,)
    dtype = fields["dtype"].choice("dtype", tuple(DTYPE_BYTES)) if "dtype" in fields else "float32"
    shapes = tuple(item.shape() for item in fields["shapes"].items("shapes")) if "shapes" in fields else ()
    modules = tuple(_module(item, shapes) for item in fields["modules"].items("modules")) if "modules" in fields else ()
    if modules and not shapes:
        raise fields["modules"].error("modules need 'shapes' to be compared at")
    sweep = (_sweep(fields["sweep"], shapes, modules) if "sweep" in fields
             else (Sweep(_default_channels(shapes)) if modules else None))
    network_input = fields["input"].shape("input") if "input" in fields else (1, 3, 224, 224)
    if network_input[1] != 3:
        raise fields["input"].error(f"input {format_shape(network_input)}: the reference networks take 3 channels")
    network_items = fields["networks"].items("networks") if "networks" in fields else []
    networks = tuple(_network(item) for item in network_items)
    for item, choice in zip(network_items, networks):
        _run_network(item, choice, network_input)
    latency = _latency(fields["latency"], path.parent) if "latency" in fields else Latency()
    title = fields["title"].text("title") if "title" in fields else path.stem
    training = _training(fields["training"]) if "training" in fields else None
    inputs = tuple(p for p in (latency.lut, latency.measurements) if p is not None) + tuple(
        path.parent / str(item.value) for item in network_items
        if item.is_scalar and str(item.value).endswith((".yaml", ".yml")))
    return ReportSpec(title, str(path), conventions[0], dtype, modules, shapes, sweep, networks, latency, network_input,
                      conventions, inputs, training)


def spec_from_options(modules: list[str], shapes: list, convention="full", networks: list[str] = (),
                      title: str | None = None, lut: str | None = None, measurements: str | None = None,
                      training: TrainingOptions | None = None) -> ReportSpec:
    """The spec ``attncost report --modules ... --shape ...`` describes, validated like a file's;
    ``training`` (``--mode train`` and its options) adds the training section."""
    choices = []
    for name in modules:
        entry = catalogue.get(name)
        for shape in shapes:
            entry.resolve(shape, {})
        choices.append(ModuleChoice(entry.name, entry.name))
    nets = tuple(NetworkChoice(n, definition(n)) for n in networks)
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


def _default_channels(shapes) -> tuple:
    return tuple(sorted({int(s[1]) for s in shapes}))[:1] if shapes else ()


def _conventions(node) -> tuple:
    """``convention: macs`` or ``convention: [macs, full]`` (the first one leads)."""
    allowed = tuple(c.value for c in Convention)
    items = node.items("convention") if node.is_list else [node]
    if not items:
        raise node.error("convention needs at least one of: " + ", ".join(allowed))
    return tuple(dict.fromkeys(Convention(item.choice("convention", allowed)) for item in items))


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
    return ModuleChoice(entry.name, alias.text("alias") if alias is not None else entry.name, hp)


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
    return NetworkChoice(alias.text("alias"), spec)


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
