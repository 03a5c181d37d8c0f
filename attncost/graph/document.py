"""Result documents of ``network`` and ``compare``: plain data (ints, floats, strings, lists, dicts)
in the one schema docs/JSON.md describes. How they read is :mod:`attncost.format`'s business
(no torch).
"""

from __future__ import annotations

from ..cost import Convention, flops

SCHEMA_VERSION = 1
#: the totals that are 0 only when a forward ran no op that costs anything
COSTS = ("macs", "flops", "activation_bytes", "attention_map_bytes")
#: a network document's ``note`` when they are (a model whose forward returns its input, or views of it)
NOTHING_RAN = "the forward ran no aten op that costs anything: 0 MACs, 0 FLOPs, no activations"


def _int(value):
    try:
        return int(value)
    except TypeError:               # symbolic: kept as it is (JSON then needs default=str)
        return value


def totals(total, convention=Convention.FULL, bytes_per_element: int = 4) -> dict:
    """A Cost's totals as numbers: params, MACs, FLOPs under ``convention``, memory in bytes."""
    return {"params": _int(total.params), "macs": _int(total.macs), "flops": _int(flops(total, convention)),
            "activation_bytes": _int(total.activation_elements) * bytes_per_element,
            "peak_bytes": _int(total.peak_live_elements) * bytes_per_element,
            "attention_map_bytes": _int(total.attention_map_elements) * bytes_per_element}


def unsupported_ops(unsupported: dict, where=lambda scope: scope) -> list[dict]:
    """``{op: (calls, first scope)}`` -> ``[{op, calls, scope}]`` sorted by op; ``where`` turns a
    tracer scope ("layer1/0/attention:se") into the module's name ("layer1.0.se")."""
    return [{"op": op, "calls": int(calls), "scope": where(scope) if scope else "<top>"}
            for op, (calls, scope) in sorted(unsupported.items())]


def document(command: str, *, shape, convention, dtype, rows, group_by, network=None, total=None,
             attention_share=None, modules=None, unsupported=(), reported=None, **extra) -> dict:
    """The result document: the fields of docs/JSON.md in their order, ``extra`` (``note``,
    ``traced_with``) last. ``unsupported`` is the list of :func:`unsupported_ops`; ``reported`` (a
    ``network`` document's) the top-1 its sources report for the build
    (:func:`attncost.networks.accuracy.reported_document`), None when none does. A network whose
    forward cost nothing (every one of :data:`COSTS` 0) gets the ``note`` :data:`NOTHING_RAN`."""
    doc = {"schema_version": SCHEMA_VERSION, "command": command, "network": network,
           "shape": [_int(s) for s in shape], "convention": str(Convention(convention).value), "dtype": dtype,
           "group_by": group_by, "totals": total, "attention_share": attention_share, "rows": rows}
    if modules is not None:
        doc["modules"] = modules
    doc["incomplete"] = bool(unsupported)
    doc["unsupported_ops"] = list(unsupported)
    if command == "network":
        doc["reported"] = reported
        if total and not any(total.get(key) for key in COSTS) and extra.get("note") is None:
            extra = {"note": NOTHING_RAN, **extra}
    doc.update({k: v for k, v in extra.items() if v is not None})
    return doc


def share(network, convention=Convention.FULL) -> dict:
    """The attention share of a walked network as numbers: params, MACs, FLOPs inside attention
    modules and each one's fraction of the total (floats in 0..1)."""
    raw = network.attention_share(convention)
    return {key: (float(value) if key.endswith("_share") else _int(value)) for key, value in raw.items()}
