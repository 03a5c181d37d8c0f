"""The result objects of the Python API (:mod:`attncost.api`; no torch, no sympy at import).

Each answers the same way, after fvcore's statistics object: numbers as attributes (``params``,
``macs``, ``flops`` under the result's convention, memory in bytes, exact ints; ``total`` the
:class:`~attncost.cost.Cost` where there is one), ``to_dict()`` (data: for ``network`` and ``compare``
the document of docs/JSON.md, built by :func:`attncost.graph.document.document` as the CLI's
``--format json`` is), ``render(fmt)`` and ``table()`` (the text the CLI prints, through
:mod:`attncost.format`), ``to_pandas()`` (pandas is optional), a one-line ``repr`` and an HTML table
for Jupyter (``_repr_html_``). Results stay data: units and rounding happen in :mod:`attncost.format`.

- :class:`CompareResult` (``compare``): the list of the compare rows, one per module, with their
  columns by module (``r.params == {"se": 8464, ...}``) and each module's ``Cost`` (``r.costs``);
- :class:`NetworkResult` (``network``, ``analyze``): a walked network's totals, breakdowns, per-module
  table, attention share and uncounted ops; for a user's model it also answers what
  :class:`attncost.usermodels.Analysis` does (``.network``, ``.method``, ``.memory_bytes()``, ...);
- :class:`FormulaResult` (``formula``): a cost as expressions (sympy), its rows, ``at(C=256, ...)``;
- :class:`CrossoverResult` (``crossover``): where two costs cross, the cheaper side of each segment;
- :class:`FitResult` (``fit``): the largest size whose peak memory fits a budget.

With ``mode="train"`` a compare row carries the training step's columns, a network result has a
:class:`TrainingStep` (``result.training``) and its document a ``training`` object (docs/JSON.md,
docs/TRAINING.md).
"""

from __future__ import annotations

import html

from .errors import AttncostError, elide

#: the longest one-line repr
REPR_LIMIT = 199


# -- shared presentation helpers -----------------------------------------------------------------------

def style(fmt="table", units=None):
    """``fmt`` (table, json, csv, markdown, or an :class:`attncost.format.OutputStyle`) and ``units``
    (``human``, ``exact``; None: human for tables) as one style; a bad name is an error, and so are
    units for JSON or CSV, which always carry exact numbers (as the CLI's ``--units``)."""
    from .format import DATA_FORMATS, FORMATS, UNITS, OutputStyle

    if isinstance(fmt, OutputStyle):
        return fmt if units is None else OutputStyle(fmt.format, _units(units, UNITS))
    if fmt not in FORMATS:
        raise AttncostError(f"fmt={fmt!r} must be one of {', '.join(FORMATS)}")
    if units is not None:
        units = _units(units, UNITS)
        if fmt in [f.value for f in DATA_FORMATS]:
            raise AttncostError(f"units={units!r} has no effect with fmt={fmt!r} (JSON and CSV always carry exact "
                                "numbers): leave units out")
    return OutputStyle.of(fmt, units)


def _units(units, allowed) -> str:
    if units not in allowed:
        raise AttncostError(f"units={units!r} must be one of {', '.join(allowed)}")
    return str(getattr(units, "value", units))


def _render_rows(rows, fmt, meta=None, units=None) -> str:
    from .format import render

    return render(rows, style(fmt, units), meta)


def _render_document(doc, fmt, units=None) -> str:
    from .format import render_result

    return render_result(doc, style(fmt, units))


def _human(value) -> str:
    from .format.units import human_count

    return human_count(value)


def _human_bytes(value) -> str:
    from .format.units import human_bytes

    return human_bytes(value)


def html_table(rows: list[dict], caption_lines=(), units="human") -> str:
    """Rows (dicts with the same keys) as an HTML table, the cells and headers as the CLI's table
    prints them (:mod:`attncost.format.columns`), the caption lines under it; everything escaped."""
    from .format.columns import cell, header
    from .format.render import JSON_ONLY

    headers = [h for h in (rows[0] if rows else {}) if h not in JSON_ONLY]
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{html.escape(header(h))}</th>" for h in headers) + "</tr></thead>",
           "<tbody>"]
    for row in rows:
        cells = []
        for h in headers:
            value = row.get(h)
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            align = ' style="text-align: right"' if numeric else ""
            cells.append(f"<td{align}>{html.escape(cell(h, value, units))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    if caption_lines:
        out.append("<p>" + "<br>".join(html.escape(str(line)) for line in caption_lines) + "</p>")
    return "\n".join(out)


def _pandas():
    try:
        import pandas
    except ImportError as error:
        raise ImportError("to_pandas() needs pandas, which attncost does not install: pip install pandas") from error
    return pandas


def _shape_text(shape) -> str:
    return "x".join(str(s) for s in shape)


def _short(text: str) -> str:
    return elide(text, REPR_LIMIT)


class Result:
    """What every result answers; subclasses give ``render``, ``to_dict``, ``rows`` and the lines
    under their table."""

    def render(self, fmt="table", units=None) -> str:  # pragma: no cover - every result defines it
        raise NotImplementedError

    def table(self, units="human") -> str:
        """The text the CLI prints (``--format table``), in ``units`` (``human``, ``exact``)."""
        return self.render("table", units=units)

    def to_dict(self) -> dict:  # pragma: no cover - every result defines it
        raise NotImplementedError

    def rows(self) -> list[dict]:  # pragma: no cover - every result defines it
        raise NotImplementedError

    def _index(self, **options):
        return None

    def _caption_lines(self) -> list[str]:
        return []

    def to_pandas(self, **options):
        """The rows as a ``pandas.DataFrame`` (numbers exact, as in :meth:`to_dict`), indexed by the
        rows' key (``module``, the breakdown's group, ``quantity``) where they have one."""
        pandas = _pandas()
        frame = pandas.DataFrame(self.rows(**options))
        index = self._index(**options)
        if index is not None and index in frame.columns:
            frame = frame.set_index(index)
        return frame

    def _repr_html_(self) -> str:
        """Jupyter's view: the table as HTML (escaped), the lines under it, the one-line repr."""
        return html_table(self.rows(), [*self._caption_lines(), repr(self)])


def _document_lines(doc: dict, units="human") -> list[str]:
    """The lines under a compare or network table, as the CLI prints them."""
    from .format.columns import cell
    from .format.render import summary, units_line

    rows = doc.get("modules") if doc.get("modules") is not None else doc.get("rows") or []
    lines = [f"{key}: {value}" if key else str(value) for key, value in summary(doc, units)]
    printed = [cell(key, value, units) for row in rows for key, value in row.items()]
    legend = units_line(list(rows[0]) if rows else ["params"], units, [*printed, *lines])
    return lines + ([legend] if legend else [])


# -- compare -----------------------------------------------------------------------------------------

class CompareResult(list, Result):
    """``attncost.compare``: the compare rows of docs/JSON.md (dicts: ``module``, ``params``, ``macs``,
    ``flops``, ``activation_bytes``, ``peak_bytes``, ``attention_map_bytes``, ``flops_vs_first``), one
    per module in the order given. ``r["se"]`` is a module's row, ``r.params`` (and every other
    column) ``{module: value}``, ``r.costs`` ``{module: Cost}``. The rows are alternatives, not parts:
    there are no totals."""

    def __init__(self, rows, costs: dict, shape, convention: str, dtype: str, hp: dict | None = None, *,
                 training=None, training_costs: dict | None = None):
        super().__init__(rows)
        self.costs = dict(costs)
        self.shape = tuple(shape)
        self.convention = convention
        self.dtype = dtype
        self.hp = dict(hp or {})
        self.training = training                          # TrainingOptions with mode="train", else None
        self.training_costs = dict(training_costs or {})  # {module: TrainingCost}

    @property
    def names(self) -> list[str]:
        return [row["module"] for row in self]

    def __getitem__(self, key):
        if isinstance(key, str):
            for row in self:
                if row["module"] == key:
                    return row
            from . import catalogue

            name = catalogue.get(key).name                 # an alias, or a one-line unknown-name error
            for row in self:
                if row["module"] == name:
                    return row
            raise KeyError(f"{key!r} is not among the modules compared ({', '.join(self.names)})")
        return list.__getitem__(self, key)

    def __contains__(self, item) -> bool:
        if isinstance(item, str):
            try:
                self[item]
            except (KeyError, AttncostError):
                return False
            return True
        return list.__contains__(self, item)

    def column(self, key: str) -> dict:
        """``{module: row[key]}``."""
        return {row["module"]: row[key] for row in self}

    params = property(lambda self: self.column("params"), doc="{module: learnable parameters}")
    macs = property(lambda self: self.column("macs"), doc="{module: MACs}")
    flops = property(lambda self: self.column("flops"), doc="{module: FLOPs under the convention}")
    activation_bytes = property(lambda self: self.column("activation_bytes"), doc="{module: activation bytes}")
    peak_bytes = property(lambda self: self.column("peak_bytes"), doc="{module: peak live bytes}")
    attention_map_bytes = property(lambda self: self.column("attention_map_bytes"),
                                   doc="{module: bytes of the largest attention map}")
    flops_vs_first = property(lambda self: self.column("flops_vs_first"), doc="{module: FLOPs / the first's}")

    def rows(self) -> list[dict]:
        return [dict(row) for row in self]

    @property
    def mode(self) -> str:
        return "eval" if self.training is None else "train"

    def _index(self, **options):
        return "module"

    def to_dict(self) -> dict:
        """The document of docs/JSON.md (``command: "compare"``), as ``attncost compare --format json``."""
        from .graph.document import document

        extra = {} if self.training is None else {"mode": "train", "training": self.training.to_dict()}
        return document("compare", shape=self.shape, convention=self.convention, dtype=self.dtype, rows=self.rows(),
                        group_by="module", **extra)

    def render(self, fmt="table", units=None) -> str:
        """The CLI's output in ``fmt`` (table, json, csv, markdown; ``units`` for table and markdown)."""
        return _render_document(self.to_dict(), fmt, units)

    def _caption_lines(self) -> list[str]:
        return _document_lines(self.to_dict())

    def __repr__(self) -> str:
        mode = ", train" if self.training is not None else ""
        head = f"<CompareResult {_shape_text(self.shape)} ({self.convention}{mode}): "
        parts = [f"{row['module']} {_human(row['params'])} params {_human(row['macs'])} MACs"
                 + (f" {_human(row['step_macs'])} step MACs" if "step_macs" in row else "") for row in self]
        text = head + "; ".join(parts) + ">"
        for keep in range(len(parts) - 1, 0, -1):
            if len(text) <= REPR_LIMIT:
                break
            text = head + "; ".join(parts[:keep]) + f"; +{len(parts) - keep} more>"
        return _short(text)


class TracedResult(Result):
    """A result that may come from tracing a user's model: the fields of its ``analysis``
    (:class:`attncost.usermodels.Analysis`: ``network``, ``memory_bytes()``, ``specialised``, ...)
    are answered by the result too, so code written against ``analyze``'s old return value works."""

    analysis = None

    def __getattr__(self, name):
        analysis = self.__dict__.get("analysis")
        if analysis is None or name.startswith("__"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(analysis, name)


# -- network, analyze ----------------------------------------------------------------------------------

class NetworkResult(TracedResult):
    """``attncost.network`` and ``attncost.analyze``: a whole network's cost.

    ``network`` is the :class:`~attncost.graph.WalkResult` (records, op graph, ``breakdown``,
    ``attention_share``, ``critical_path``); ``total`` its Cost; ``params``, ``macs``, ``flops``
    (under ``convention``), ``activation_bytes``, ``peak_bytes``, ``attention_map_bytes`` ints (bytes
    in ``dtype``). ``analysis`` is the :class:`attncost.usermodels.Analysis` of a user's model (None
    for a reference network), whose fields (``method``, ``inputs``, ``fake``, ``mode``, ``modules``,
    ``module_name``) the result answers too."""

    def __init__(self, walk, name: str, shape, convention: str, dtype: str, *, label: str | None = None,
                 extra: dict | None = None, analysis=None, unsupported: dict | None = None, training=None):
        self.training = training          # the TrainingStep with mode="train", else None
        self.network = walk
        self.name = name
        self.label = label or name
        self.shape = tuple(shape)
        self.convention = convention
        self.dtype = dtype
        self.extra = dict(extra or {})
        self.analysis = analysis
        self.unsupported = dict(unsupported or (analysis.unsupported if analysis is not None else {}))

    # -- numbers ----------------------------------------------------------------------------------------
    @property
    def total(self):
        """The network's :class:`~attncost.cost.Cost` (op counts by kind, params, memory in elements)."""
        return self.network.total

    @property
    def bytes_per_element(self) -> int:
        from .shapes import DTYPE_BYTES

        return DTYPE_BYTES.get(self.dtype, 4)

    @property
    def totals(self) -> dict:
        """``{params, macs, flops, activation_bytes, peak_bytes, attention_map_bytes}`` (docs/JSON.md's ``totals``)."""
        from .graph.document import totals

        return totals(self.total, self.convention, self.bytes_per_element)

    params = property(lambda self: self.totals["params"], doc="learnable parameter elements")
    macs = property(lambda self: self.totals["macs"], doc="conv + linear + matmul multiply-accumulates")
    flops = property(lambda self: self.totals["flops"], doc="FLOPs under the result's convention")
    activation_bytes = property(lambda self: self.totals["activation_bytes"], doc="bytes of every tensor allocated")
    peak_bytes = property(lambda self: self.totals["peak_bytes"], doc="the largest sum of live tensors, in bytes")
    attention_map_bytes = property(lambda self: self.totals["attention_map_bytes"],
                                   doc="bytes of the largest attention map")

    def memory_bytes(self) -> dict:
        """Activation, peak and attention-map memory in bytes (elements x the dtype's size)."""
        t = self.totals
        return {key: t[key] for key in ("activation_bytes", "peak_bytes", "attention_map_bytes")}

    @property
    def attention_share(self) -> dict:
        """Params, MACs, FLOPs inside attention modules (ints) and their fractions of the totals."""
        from .graph.document import share

        return share(self.network, self.convention)

    @property
    def incomplete(self) -> bool:
        """True when aten ops without a formula ran: the totals undercount."""
        return bool(self.unsupported)

    @property
    def unsupported_ops(self) -> list[dict]:
        """``[{op, calls, scope}]`` of the ops not counted (docs/JSON.md)."""
        from .graph.document import unsupported_ops

        return unsupported_ops(self.unsupported, self._where)

    @property
    def note(self) -> str | None:
        return self.extra.get("note")

    def _where(self, scope):
        if self.analysis is not None:
            return self.analysis.module_name(scope)
        return scope

    # -- rows ---------------------------------------------------------------------------------------------
    def breakdown(self, group_by: str = "stage") -> list[dict]:
        """Rows ``{group_by: key, params, macs, flops}`` by ``stage``, ``block``, ``kind`` or ``op``; with a
        training step also its ``forward_flops``, ``backward_flops`` and ``step_flops`` per group (groups
        only the step has, such as the backward's own, come last with no inference figures)."""
        from .graph import GROUP_BY

        if group_by not in GROUP_BY:
            raise AttncostError(f"group_by={group_by!r} must be one of {', '.join(GROUP_BY)}")
        rows = [{k: (v if k == group_by else _number(v)) for k, v in row.items()}
                for row in self.network.breakdown(group_by, self.convention)]
        if self.training is None:
            return rows
        split = self.training.breakdown(group_by, self.convention)
        empty = {"forward_flops": 0, "backward_flops": 0, "step_flops": 0}
        for row in rows:
            row.update(split.pop(row[group_by], empty))
        rows += [{group_by: key, "params": None, "macs": None, "flops": None, **values}
                 for key, values in split.items()]
        return rows

    @property
    def mode(self) -> str:
        """``train`` with a training step; else the forward's mode (a user's model's, or ``eval``)."""
        if self.training is not None:
            return "train"
        return self.analysis.mode if self.analysis is not None else "eval"

    def module_table(self, depth: int | None = None) -> list[dict]:
        """One row per module down to ``depth`` (docs/JSON.md's ``modules`` rows; None: every level)."""
        from .graph.modules import module_table
        from .numbers import parse_int

        if depth is not None:
            depth = parse_int(depth, "depth", minimum=1, error=AttncostError)
        names = self.analysis.modules if self.analysis is not None else None
        root = "model" if self.analysis is not None else "network"
        return [row.as_dict(self.convention, self.bytes_per_element)
                for row in module_table(self.network, depth, names, root)]

    def rows(self, depth: int | None = None, group_by: str = "stage") -> list[dict]:
        """The rows the table shows: the per-module rows with ``depth``, else the breakdown."""
        return self.module_table(depth) if depth is not None else self.breakdown(group_by)

    def _index(self, depth=None, group_by="stage"):
        return "module" if depth is not None else group_by

    def to_dict(self, group_by: str = "stage", depth: int | None = None) -> dict:
        """The document of docs/JSON.md (``command: "network"``), as ``attncost network --format json``
        with ``--group-by`` and ``--depth``."""
        from .graph.document import document

        extra = dict(self.extra)
        unsupported = self.unsupported_ops
        if self.training is not None:
            extra.update({"mode": "train", "training": self.training.to_dict(self.convention)})
            known = {op["op"] for op in unsupported}
            unsupported += [op for op in self.training.unsupported_ops(self._where) if op["op"] not in known]
        return document("network", network=self.name, shape=self.shape, convention=self.convention, dtype=self.dtype,
                        group_by=group_by, rows=self.breakdown(group_by), total=self.totals,
                        attention_share=self.attention_share,
                        modules=self.module_table(depth) if depth is not None else None,
                        unsupported=unsupported, **extra)

    def render(self, fmt="table", depth: int | None = None, units=None, group_by: str = "stage") -> str:
        """The CLI's output in ``fmt`` (table, json, csv, markdown; ``units`` for table and markdown):
        the per-module table down to ``depth``, else the breakdown by ``group_by``."""
        return _render_document(self.to_dict(group_by, depth), fmt, units)

    def table(self, depth: int | None = None, units="human", group_by: str = "stage") -> str:
        """The text ``attncost network ... --depth K --units U --group-by G`` prints."""
        return self.render("table", depth, units, group_by)

    def _caption_lines(self) -> list[str]:
        from .format.render import incomplete_line

        doc = self.to_dict()
        return _document_lines(doc) + [line for line in [incomplete_line(doc)] if line]

    def __repr__(self) -> str:
        t = self.totals
        label = elide(self.label, 80)
        numbers = (f"{_human(t['params'])} params, {_human(t['macs'])} MACs, {_human(t['flops'])} FLOPs "
                   f"({self.convention})")
        flag = ", INCOMPLETE" if self.incomplete else ""
        if self.training is not None:
            step = self.training.fields(self.convention)
            numbers += (f"; train ({self.training.options.optimizer.value}, {self.training.options.precision.name}): "
                        f"{_human(step['step_flops'])} step FLOPs, {_human_bytes(step['train_peak_bytes'])} peak")
        return _short(f"<{type(self).__name__} {label} {_shape_text(self.shape)}: {numbers}{flag}>")


def _number(value):
    try:
        return int(value)
    except TypeError:
        return value


# -- a training step -----------------------------------------------------------------------------------

class TrainingStep:
    """One training step of a network (``network(..., mode="train")``): ``cost`` the
    :class:`~attncost.cost.training_cost.TrainingCost`, ``options`` the
    :class:`~attncost.crossings.TrainingOptions`, the op records of the forward and of the backward
    (for breakdowns), ``source`` ``"formula"`` (a reference network's Program run backwards) or
    ``"traced"`` (a user's model, one step traced) and the traced ops without a formula."""

    def __init__(self, cost, options, forward_records=(), backward_records=(), *, source: str = "formula",
                 unsupported: dict | None = None):
        self.cost = cost
        self.options = options
        self.forward_records = list(forward_records)
        self.backward_records = list(backward_records)
        self.source = source
        self.unsupported = dict(unsupported or {})

    def fields(self, convention="full") -> dict:
        """Forward, backward and step MACs and FLOPs, trainable parameters and the step's bytes (ints)."""
        from .crossings import training_fields

        return training_fields(self.cost, self.options, convention)

    def to_dict(self, convention="full") -> dict:
        """docs/JSON.md's ``training`` object: the options, how it was counted, then :meth:`fields`."""
        return {**self.options.to_dict(), "counted_by": self.source, **self.fields(convention)}

    def breakdown(self, group_by: str, convention="full") -> dict:
        """``{group: {forward_flops, backward_flops, step_flops}}`` grouped as the network's breakdown."""
        from .cost import Cost
        from .graph.walker import WalkResult

        out: dict = {}
        for phase, records in (("forward", self.forward_records), ("backward", self.backward_records)):
            for row in WalkResult(Cost(), records).breakdown(group_by, convention):
                values = out.setdefault(row[group_by], {"forward_flops": 0, "backward_flops": 0, "step_flops": 0})
                values[f"{phase}_flops"] += _number(row["flops"])
                values["step_flops"] += _number(row["flops"])
        return out

    def unsupported_ops(self, where=lambda scope: scope) -> list[dict]:
        from .graph.document import unsupported_ops

        return unsupported_ops(self.unsupported, where)

    def __repr__(self) -> str:
        step = self.fields()
        return _short(f"<TrainingStep {self.options.optimizer.value}, {self.options.precision.name}: "
                      f"{_human(step['step_flops'])} step FLOPs (full), {_human_bytes(step['train_peak_bytes'])} peak>")


# -- formula -------------------------------------------------------------------------------------------

class FormulaResult(TracedResult):
    """``attncost.formula``: a cost as expressions (sympy) in N, C, H, W (or the letters of a user's
    model's shape) and the symbolic hyperparameters. ``total`` is the symbolic Cost; ``params``,
    ``macs``, ``flops`` (under ``convention``) expressions; ``at(C=256, H=14, W=14, ...)`` evaluates them
    to ints. For a user's model, ``analysis`` (:class:`attncost.usermodels.Analysis`) and its fields
    (``specialised``, ``guards``, ``hints``, ``network``) are answered too."""

    def __init__(self, cost, name: str, convention: str, *, entry=None, hp: dict | None = None, analysis=None,
                 grow=None):
        self.total = cost
        self.name = name
        self.convention = convention
        self.entry = entry
        self.hp = dict(hp or {})
        self.analysis = analysis
        self._grow = grow

    @property
    def params(self):
        return self.total.params

    @property
    def macs(self):
        return self.total.macs

    @property
    def flops(self):
        from .cost import flops

        return flops(self.total, self.convention)

    @property
    def symbols(self) -> list[str]:
        """The names of the free symbols, sorted."""
        return sorted(str(s) for s in self.total.free_symbols)

    def _variables(self):
        if self._grow:
            return self._grow
        from .symbols import H, W

        return (H, W)

    def rows(self, leading: bool = False) -> list[dict]:
        """``[{quantity, expression}]``: params, MACs, FLOPs, each op count and the memory in elements;
        ``leading``: only the dominant term as the sizes grow (floors dropped)."""
        from .query import formula_rows

        return formula_rows(self.total, self.convention, leading, self._variables())

    def _index(self, **options):
        return "quantity"

    def to_pandas(self, leading: bool = False):
        frame = super().to_pandas(leading=leading)
        frame["expression"] = frame["expression"].map(str)
        return frame

    def at(self, **sizes) -> dict:
        """The quantities of :meth:`rows` at ``sizes`` (``C=256, H=14, W=14``; N is 1 unless given)
        as ints: ``{"params": ..., "macs": ..., "flops": ..., ...}``."""
        import sympy

        free = {str(s): s for s in self.total.free_symbols}
        unknown = sorted(set(sizes) - set(free))
        if unknown:
            raise AttncostError(f"{', '.join(unknown)}: not a symbol of {self.name}'s formula "
                                f"({', '.join(sorted(free)) or 'none'})")
        values = {free[k]: v for k, v in sizes.items()}
        if "N" in free and "N" not in sizes:
            values[free["N"]] = 1
        missing = sorted(k for k in free if free[k] not in values)
        if missing:
            raise AttncostError(f"{self.name}: give a value for {', '.join(missing)}")
        out = {}
        for row in self.rows():
            value = sympy.sympify(row["expression"]).subs(values)
            out[row["quantity"].split(" ")[0]] = int(value)
        return out

    def to_dict(self, leading: bool = False, latex: bool = False) -> dict:
        """``{command: "formula", module, convention, symbols, hp, rows: [{quantity, expression}], ...}``
        with each expression as text (docs/API.md)."""
        import sympy

        doc = {"command": "formula", "module": self.name, "convention": self.convention, "symbols": self.symbols,
               "hp": {k: (v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
                      for k, v in self.hp.items()},
               "leading": leading,
               "rows": self._printed(leading, latex)}
        if self.entry is not None:
            doc["paper"] = f"{self.entry.paper.title}, {self.entry.paper.equation}"
        if self.analysis is not None:
            a = self.analysis
            from .shapes import format_inputs

            doc.update({"inputs": format_inputs(a.inputs), "mode": a.mode, "traced_with": a.method,
                        "traced_at": {str(k): int(v) for k, v in a.hints.items()},
                        "specialised": {str(k): int(v) for k, v in a.specialised.items()},
                        "holds_where": [f"{sympy.sstr(g.lhs)} = {sympy.sstr(g.rhs)}" for g in a.equalities],
                        "unsupported_ops": sorted(a.unsupported)})
        return doc

    def _meta(self, leading: bool) -> dict:
        """The caption of the CLI's ``attncost formula`` (the same text)."""
        import sympy

        if self.analysis is None:
            meta = {"module": self.name, "symbols": ", ".join(self.symbols),
                    "paper": f"{self.entry.paper.title}, {self.entry.paper.equation}"}
            if leading:
                meta["leading"] = "highest total degree in H, W (floors dropped)"
            return meta
        from .shapes import format_inputs

        a = self.analysis
        meta = {"model": self.name, "inputs": format_inputs(a.inputs), "symbols": ", ".join(self.symbols) or "none",
                "mode": a.mode, "traced with": a.method,
                "traced at": ", ".join(f"{k}={v}" for k, v in sorted(a.hints.items(), key=str)) or "-"}
        if a.specialised:
            meta["fixed by the model"] = ", ".join(f"{k}={v}" for k, v in sorted(a.specialised.items(), key=str))
        if a.equalities:
            meta["holds where"] = ", ".join(f"{sympy.sstr(g.lhs)} = {sympy.sstr(g.rhs)}" for g in a.equalities)
        if a.unsupported:
            meta["unsupported ops (not counted)"] = ", ".join(sorted(a.unsupported))
        if leading:
            grow = ", ".join(map(str, self._grow or ())) or "the sizes"
            meta["leading"] = f"highest total degree in {grow} (floors dropped)"
        return meta

    def _printed(self, leading: bool, latex: bool) -> list[dict]:
        import sympy

        printer = sympy.latex if latex else sympy.sstr
        return [{"quantity": r["quantity"], "expression": printer(r["expression"])} for r in self.rows(leading)]

    def render(self, fmt="table", leading: bool = False, latex: bool = False) -> str:
        """The CLI's ``attncost formula`` output in ``fmt`` (``--leading``, ``--latex``)."""
        return _render_rows(self._printed(leading, latex), fmt, self._meta(leading))

    def table(self, leading: bool = False, latex: bool = False) -> str:
        """The text ``attncost formula NAME [--leading] [--latex]`` prints."""
        return self.render("table", leading, latex)

    def _repr_html_(self) -> str:
        lines = [f"{k}: {v}" for k, v in self._meta(False).items()]
        return html_table(self._printed(False, False), [*lines, repr(self)])

    def __repr__(self) -> str:
        import sympy

        head = f"<FormulaResult {elide(self.name, 60)} in {', '.join(self.symbols) or 'no symbols'}: "
        body = f"params = {sympy.sstr(self.params)}, macs = {sympy.sstr(self.macs)}"
        return _short(elide(head + body, REPR_LIMIT - 1, head=0.8) + ">")


# -- crossover -----------------------------------------------------------------------------------------

#: ``schema_version`` of ``crossover``'s document (``to_dict()``, ``--format json``; docs/JSON.md)
CROSSOVER_SCHEMA_VERSION = 1


class CrossoverResult(Result):
    """``attncost.crossover``: where ``metric`` of module A and module B cross as ``vary`` runs over
    ``lo..hi``. ``points`` (the sizes where the cheaper module changes), ``segments`` (``(from, to,
    cheaper)``), ``symbolic_roots`` (real roots of the floor-free equality), ``difference`` (the
    floor-free A - B in ``t``, a sympy expression, or None), ``cheaper_at_lo``, ``cheaper_at_hi``."""

    def __init__(self, crossing, module_a: str, module_b: str, shape, vary: str, metric: str, convention: str, *,
                 training=None):
        self.training = training          # TrainingOptions with mode="train", else None
        self.crossing = crossing
        self.module_a = module_a
        self.module_b = module_b
        self.shape = tuple(shape)
        self.vary = vary
        self.metric = metric
        self.convention = convention

    points = property(lambda self: list(self.crossing.points))
    segments = property(lambda self: list(self.crossing.segments))
    symbolic_roots = property(lambda self: list(self.crossing.symbolic_roots))
    difference = property(lambda self: self.crossing.difference)
    cheaper_at_lo = property(lambda self: self.crossing.cheaper_at_lo)
    cheaper_at_hi = property(lambda self: self.crossing.cheaper_at_hi)
    cheaper_below = property(lambda self: list(self.crossing.cheaper_below))
    lo = property(lambda self: self.crossing.lo)
    hi = property(lambda self: self.crossing.hi)

    def rows(self) -> list[dict]:
        """``[{from, to, cheaper}]``, one per segment of the valid range."""
        return [{"from": int(lo), "to": int(hi), "cheaper": who} for lo, hi, who in self.segments]

    def to_dict(self) -> dict:
        """``{schema_version, command: "crossover", modules, shape, vary, metric, convention, range, points,
        cheaper_below, segments, symbolic_roots, difference, cheaper_at_lo, cheaper_at_hi}`` (docs/API.md,
        docs/JSON.md): what ``attncost crossover --format json`` prints."""
        import sympy

        return {"schema_version": CROSSOVER_SCHEMA_VERSION, "command": "crossover",
                "modules": [self.module_a, self.module_b],
                "shape": [s if isinstance(s, int) else str(s) for s in (_number(s) for s in self.shape)],
                "vary": self.vary, "metric": self.metric, "convention": self.convention,
                "range": [int(self.lo), int(self.hi)], "points": [int(p) for p in self.points],
                "cheaper_below": self.cheaper_below, "segments": self.rows(),
                "symbolic_roots": [float(r) for r in self.symbolic_roots],
                "difference": None if self.difference is None else sympy.sstr(self.difference),
                "cheaper_at_lo": self.cheaper_at_lo, "cheaper_at_hi": self.cheaper_at_hi,
                **({} if self.training is None else {"mode": "train", "training": self.training.to_dict()})}

    def _meta(self) -> dict:
        """The caption of the CLI's ``attncost crossover`` (the same text)."""
        import sympy

        a, b, vary = self.module_a, self.module_b, self.vary
        meta = {"metric": self._metric_text(), "vary": vary,
                "crossing": ", ".join(f"{vary.split('=')[0]} = {p}" for p in self.points) or "none in range",
                "real roots (floors dropped)": ", ".join(f"{r:.4g}" for r in self.symbolic_roots) or "none"}
        if self.training is not None:
            meta["mode"] = "train"
        if self.difference is not None:
            meta[f"{a} - {b} (t = {vary})"] = sympy.sstr(self.difference)
            meta["inequality"] = f"{a} costs more than {b} when {sympy.sstr(self.difference)} > 0"
        return meta

    def _metric_text(self) -> str:
        text = self.metric if self.metric != "flops" else f"flops ({self.convention})"
        if self.training is None:
            return text
        what = {"peak": "the training step's peak bytes", "activation": "bytes saved for backward",
                "params": "trainable parameters", "macs": "forward + backward MACs"}.get(self.metric, f"forward + "
                                                                                                   f"backward {text}")
        return (f"{text}: {what} ({self.training.optimizer.value}, {self.training.precision.name}; "
                "docs/TRAINING.md)")

    def render(self, fmt="table", units=None) -> str:
        """The CLI's ``attncost crossover`` output in ``fmt`` (``units`` for table and markdown): JSON is
        :meth:`to_dict` and ``rows`` (its segments, as ``fit``'s JSON is its ``to_dict()`` and rows); CSV
        the rows after the other fields as ``# key: value`` lines (numbers as numbers, fixed keys); table
        and markdown the rows and the human caption."""
        chosen = style(fmt, units)
        if chosen == "json":
            return _render_rows(self.rows(), chosen, self.to_dict())
        if chosen == "csv":
            return _render_rows(self.rows(), chosen, {k: v for k, v in self.to_dict().items() if k != "segments"})
        return _render_rows(self.rows(), chosen, self._meta())

    def _caption_lines(self) -> list[str]:
        return [f"{k}: {v}" for k, v in self._meta().items()]

    def __repr__(self) -> str:
        where = ", ".join(f"{self.vary.split('=')[0]} = {p}" for p in self.points[:4])
        if len(self.points) > 4:
            where += f", +{len(self.points) - 4} more"
        lowest = self.cheaper_at_lo
        cheaper = f"crosses at {where}" if where else \
            ("equal throughout" if lowest == "equal" else f"{lowest} cheaper throughout")
        return _short(f"<CrossoverResult {elide(self.module_a, 40)} vs {elide(self.module_b, 40)}, {self.metric}, "
                      f"{self.vary} in {self.lo}..{self.hi}: {cheaper}>")


# -- fit -----------------------------------------------------------------------------------------------

#: ``schema_version`` of ``fit``'s document (``to_dict()``, ``--format json``; docs/JSON.md)
FIT_SCHEMA_VERSION = 1


class FitResult(Result):
    """``attncost.fit``: the largest size whose peak memory fits a budget. ``largest`` (None: not even
    the range's first size fits), ``peak_bytes`` there, ``next_size`` and ``next_peak_bytes`` (the
    first size that does not fit; None when the whole range fits), ``budget_bytes``; all exact ints."""

    def __init__(self, fitted):
        self.fitted = fitted

    largest = property(lambda self: self.fitted.largest)
    peak_bytes = property(lambda self: self.fitted.peak)
    next_size = property(lambda self: self.fitted.next_size)
    next_peak_bytes = property(lambda self: self.fitted.next_peak)
    budget_bytes = property(lambda self: self.fitted.budget)
    module = property(lambda self: self.fitted.module)
    training = property(lambda self: self.fitted.training)

    @property
    def mode(self) -> str:
        return "eval" if self.training is None else "train"

    def rows(self) -> list[dict]:
        """``[{size, peak_bytes, budget_bytes, fits}]``: the largest size that fits and the one after it
        (``size``: of the dimensions ``vary`` names, ``H=W``)."""
        rows = []
        if self.largest is not None:
            rows.append({"size": self.largest, "peak_bytes": self.peak_bytes, "budget_bytes": self.budget_bytes,
                         "fits": True})
        if self.next_size is not None:
            rows.append({"size": self.next_size, "peak_bytes": self.next_peak_bytes,
                         "budget_bytes": self.budget_bytes, "fits": False})
        return rows

    def _table_rows(self) -> list[dict]:
        """:meth:`rows` as the table shows them: the size headed by what it is (``H=W``, ``C``)."""
        return [{(self.fitted.variable if key == "size" else key): value for key, value in row.items()}
                for row in self.rows()]

    def to_dict(self) -> dict:
        """``{schema_version, command: "fit", module, shape, vary, range, budget_bytes, mode, peak,
        largest, peak_bytes, next_size, next_peak_bytes, training?, dtype?}`` (docs/API.md, docs/JSON.md)."""
        f = self.fitted
        doc = {"schema_version": FIT_SCHEMA_VERSION, "command": "fit", "module": f.module,
               "shape": [s if isinstance(s, int) else str(s) for s in f.shape],
               "vary": f.variable, "range": [int(f.lo), int(f.hi)], "budget_bytes": f.budget, "mode": self.mode,
               "peak": self._peak_text(), "largest": self.largest, "peak_bytes": self.peak_bytes,
               "next_size": self.next_size, "next_peak_bytes": self.next_peak_bytes}
        if f.training is not None:
            doc["training"] = f.training.to_dict()
        else:
            doc["dtype"] = f.dtype
        return doc

    def _peak_text(self) -> str:
        if self.training is None:
            return f"inference peak of live activations in {self.fitted.dtype} (parameters not counted)"
        return (f"training step peak ({self.training.optimizer.value}, {self.training.precision.name}): activations "
                "and gradients at their peak + parameters + master weights + optimizer state")

    def _meta(self) -> dict:
        from .format.units import human_bytes

        f = self.fitted
        size = f.variable.split("=")[0]
        if self.largest is None:
            first = self.next_size if self.next_size is not None else f.lo      # the first size the module takes
            answer = f"none: at {f.variable} = {first} the peak is already {human_bytes(self.next_peak_bytes)}"
        else:
            answer = f"{f.variable} = {self.largest} (peak {self.peak_bytes:,} bytes = {human_bytes(self.peak_bytes)})"
            answer += (f"; {size} = {self.next_size} needs {self.next_peak_bytes:,} bytes" if self.next_size is not None
                       else f"; every size up to {f.hi} fits: widen --range")
        return {"module": f.module, "shape": "x".join(str(s) for s in f.shape), "budget": f"{f.budget:,} bytes "
                f"({human_bytes(f.budget)})", "peak": self._peak_text(), "largest that fits": answer}

    def render(self, fmt="table", units=None) -> str:
        """The CLI's ``attncost fit`` output in ``fmt`` (``units`` for table and markdown): JSON is
        :meth:`to_dict` and ``rows``; CSV the rows after :meth:`to_dict`'s fields as ``# key: value``
        lines, as ``network``'s (exact numbers, ``shape`` as ``8x512xHxW``, other values as JSON,
        ``training.optimizer``); table and markdown the rows and the human caption."""
        chosen = style(fmt, units)
        if chosen == "table" or chosen == "markdown":
            return _render_rows(self._table_rows(), chosen, self._meta())
        return _render_document({**self.to_dict(), "rows": self.rows()}, chosen)

    def _caption_lines(self) -> list[str]:
        return [f"{k}: {v}" for k, v in self._meta().items()]

    def _repr_html_(self) -> str:
        return html_table(self._table_rows(), [*self._caption_lines(), repr(self)])

    def __repr__(self) -> str:
        from .format.units import human_bytes

        f = self.fitted
        where = "nothing fits" if self.largest is None else \
            f"{f.variable} = {self.largest} fits ({human_bytes(self.peak_bytes)})"
        return _short(f"<FitResult {elide(f.module, 40)} in {human_bytes(f.budget)}, {self.mode}: {where}>")
