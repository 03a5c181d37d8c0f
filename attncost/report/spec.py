"""Report specs: which modules, shapes, sweeps, networks and latency tables a design report shows.

A spec is a YAML file (loaded safely) such as ``specs/attention-review.yaml``::

    title: Attention at each ResNet stage
    convention: [macs, full]    # or one; the first leads (sweeps, sunbursts, ratios)
    modules: [se, eca, {module: cbam, alias: "CBAM r=8", hp: {r: 8}}]
    shapes: [256x56x56, 512x28x28]
    sweep: {channels: [512], range: [7, 112], metric: macs}
    input: 3x224x224           # the networks' input (default)
    networks:
      - {network: resnet50}
      - {network: resnet50-v1, attention: {module: cbam, where: every_block}, alias: CBAM-R50}
    latency: {lut: ../lut.json, measurements: ../validation.json}

Every error names the file and the line of the offending key or list item. Paths inside a spec are
relative to the spec file's folder. The same spec can be built from command-line options
(:func:`spec_from_options`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import catalogue
from ..api import DTYPE_BYTES, typed_hp
from ..cost import Convention
from ..crossover import METRICS
from ..errors import AttncostError, SpecError
from ..shapes import format_shape, parse_shape

SPEC_KEYS = ("title", "convention", "dtype", "modules", "shapes", "sweep", "networks", "input", "latency")
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
    convention: Convention = Convention.MACS            # the first of ``conventions``: sweeps, sunbursts, ratios
    dtype: str = "float32"
    modules: tuple = ()
    shapes: tuple = ()
    sweep: Sweep | None = None
    networks: tuple = ()
    latency: Latency = Latency()
    network_input: tuple = (1, 3, 224, 224)
    conventions: tuple = ()                             # every convention the tables show FLOPs under

    def __post_init__(self):
        if not self.conventions:
            object.__setattr__(self, "conventions", (self.convention,))


class _Located:
    """A YAML value with its node, so that every error can say file:line."""

    def __init__(self, path, value, node):
        self.path, self.value, self.node = path, value, node

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    def error(self, message: str) -> SpecError:
        return SpecError(f"{self.path}:{self.line}: {message}")

    def mapping(self, what: str, known: tuple) -> dict:
        """{key: _Located} of a mapping whose keys must be among ``known``."""
        if not isinstance(self.value, dict):
            raise self.error(f"{what} must be a mapping")
        out = {}
        for key_node, value_node in self.node.value:
            key = key_node.value
            if key not in known:
                raise SpecError(f"{self.path}:{key_node.start_mark.line + 1}: unknown key {key!r} in {what} "
                                f"(known: {', '.join(known)})")
            out[key] = _Located(self.path, self.value[key], value_node)
        return out

    def items(self, what: str) -> list:
        if not isinstance(self.value, list):
            raise self.error(f"{what} must be a list")
        return [_Located(self.path, value, node) for value, node in zip(self.value, self.node.value)]


def load_report_spec(path) -> ReportSpec:
    """Read and validate a report spec file; errors name the file and line."""
    from ..networks.registry import read_yaml

    path = Path(path)
    data, node = read_yaml(path)
    if node is None:
        raise SpecError(f"{path}:1: the report spec is empty")
    root = _Located(path, data, node).mapping("the report spec", SPEC_KEYS)
    if "modules" not in root and "networks" not in root:
        raise SpecError(f"{path}:1: a report spec needs 'modules' or 'networks'")
    conventions = _conventions(root["convention"]) if "convention" in root else (Convention.MACS,)
    dtype = _choice(root["dtype"], "dtype", tuple(DTYPE_BYTES)) if "dtype" in root else "float32"
    shapes = tuple(_shape(item) for item in root["shapes"].items("shapes")) if "shapes" in root else ()
    modules = tuple(_module(item, shapes) for item in root["modules"].items("modules")) if "modules" in root else ()
    if modules and not shapes:
        raise root["modules"].error("modules need 'shapes' to be compared at")
    sweep = _sweep(root["sweep"], shapes) if "sweep" in root else (Sweep(_default_channels(shapes)) if modules else None)
    networks = tuple(_network(item) for item in root["networks"].items("networks")) if "networks" in root else ()
    network_input = _shape(root["input"]) if "input" in root else (1, 3, 224, 224)
    if network_input[1] != 3:
        raise root["input"].error(f"input {format_shape(network_input)}: the reference networks take 3 channels")
    latency = _latency(root["latency"], path.parent) if "latency" in root else Latency()
    title = str(root["title"].value) if "title" in root else path.stem
    return ReportSpec(title, str(path), conventions[0], dtype, modules, shapes, sweep, networks, latency, network_input,
                      conventions)


def spec_from_options(modules: list[str], shapes: list, convention="macs", networks: list[str] = (),
                      title: str | None = None, lut: str | None = None, measurements: str | None = None) -> ReportSpec:
    """The spec ``attncost report --modules ... --shape ...`` describes, validated like a file's."""
    from ..networks import get_network

    choices = []
    for name in modules:
        entry = catalogue.get(name)
        for shape in shapes:
            entry.resolve(shape, {})
        choices.append(ModuleChoice(entry.name, entry.name))
    nets = tuple(NetworkChoice(n, get_network(n)) for n in networks)
    sweep = Sweep(_default_channels(shapes)) if choices else None
    shown = [c.label for c in choices + list(nets)] + (["latency"] if lut or measurements else [])
    return ReportSpec(title or "attncost report: " + ", ".join(shown),
                      "command line", Convention(convention), "float32", tuple(choices), tuple(shapes), sweep, nets,
                      Latency(Path(lut) if lut else None, Path(measurements) if measurements else None))


def _default_channels(shapes) -> tuple:
    return tuple(sorted({int(s[1]) for s in shapes}))[:1] if shapes else ()


def _conventions(item: _Located) -> tuple:
    """``convention: macs`` or ``convention: [macs, full]`` (the first one leads)."""
    allowed = tuple(c.value for c in Convention)
    items = item.items("convention") if isinstance(item.value, list) else [item]
    if not items:
        raise item.error("convention needs at least one of: " + ", ".join(allowed))
    return tuple(dict.fromkeys(Convention(_choice(i, "convention", allowed)) for i in items))


def _choice(item: _Located, what: str, allowed: tuple) -> str:
    if item.value not in allowed:
        raise item.error(f"{what} {item.value!r} is not one of: {', '.join(allowed)}")
    return item.value


def _shape(item: _Located) -> tuple:
    try:
        return parse_shape(str(item.value))
    except AttncostError as error:
        raise item.error(str(error)) from None


def _module(item: _Located, shapes) -> ModuleChoice:
    if isinstance(item.value, dict):
        fields = item.mapping("a module", MODULE_KEYS)
        if "module" not in fields:
            raise item.error("a module mapping needs 'module'")
        name_item = fields["module"]
        alias = str(fields["alias"].value) if "alias" in fields else None
        hp_item = fields.get("hp")
    else:
        name_item, alias, hp_item = item, None, None
    try:
        entry = catalogue.get(str(name_item.value))
    except AttncostError as error:
        raise name_item.error(str(error)) from None
    raw_hp = {}
    if hp_item is not None:
        if not isinstance(hp_item.value, dict):
            raise hp_item.error("hp must be a mapping of hyperparameter to value")
        raw_hp = dict(hp_item.value)
    try:
        hp = typed_hp(entry, {key: value for key, value in raw_hp.items()})
    except AttncostError as error:
        raise (hp_item or item).error(str(error)) from None
    for shape in shapes:
        try:
            entry.resolve(shape, hp)
        except AttncostError as error:
            raise (hp_item or item).error(f"{entry.name} at {format_shape(shape)}: {error}") from None
    return ModuleChoice(entry.name, alias or entry.name, hp)


def _sweep(item: _Located, shapes) -> Sweep:
    fields = item.mapping("sweep", SWEEP_KEYS)
    channels = _default_channels(shapes)
    if "channels" in fields:
        values = fields["channels"].value
        values = values if isinstance(values, list) else [values]
        if not values or not all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in values):
            raise fields["channels"].error("sweep channels must be positive integers")
        channels = tuple(values)
    lo, hi = 7, 112
    if "range" in fields:
        value = fields["range"].value
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)
                and 1 <= value[0] < value[1]):
            raise fields["range"].error("sweep range must be [lo, hi] with 1 <= lo < hi")
        lo, hi = value
    metric = _choice(fields["metric"], "sweep metric", METRICS) if "metric" in fields else "macs"
    if not channels:
        raise item.error("sweep needs 'channels' (or 'shapes' to take them from)")
    return Sweep(channels, lo, hi, metric)


def _network(item: _Located) -> NetworkChoice:
    from ..networks import get_network, spec_from_mapping

    if isinstance(item.value, str) and item.value.endswith((".yaml", ".yml")):
        from ..networks import load_spec

        path = Path(item.path).parent / item.value
        if not path.exists():
            raise item.error(f"network spec {item.value!r} not found (looked at {path})")
        return NetworkChoice(Path(item.value).stem, load_spec(path))
    if isinstance(item.value, str):
        try:
            return NetworkChoice(item.value, get_network(item.value))
        except AttncostError as error:
            raise item.error(str(error)) from None
    if not isinstance(item.value, dict):
        raise item.error("a network is a name, a spec file or a mapping with 'network'")
    spec = spec_from_mapping(item.value, item.node, item.path, NETWORK_EXTRA_KEYS)
    alias = item.value.get("alias")
    if alias is None:
        attention = "+".join(p.module for p in spec.attention)
        alias = spec.name + (f" + {attention}" if attention else "")
    return NetworkChoice(str(alias), spec)


def _latency(item: _Located, folder: Path) -> Latency:
    fields = item.mapping("latency", LATENCY_KEYS)
    paths = {}
    for key, value in fields.items():
        path = folder / str(value.value)
        if not path.is_file():
            raise value.error(f"latency {key} file {str(value.value)!r} not found (looked at {path})")
        paths[key] = path
    return Latency(paths.get("lut"), paths.get("measurements"))
