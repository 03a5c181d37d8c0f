"""The training section of a report (a spec's ``training:``, ``attncost report --mode train``): each
module at each shape and each network, its inference figures beside one training step's forward and
backward FLOPs and memory (docs/TRAINING.md). From the formula side, no torch."""

from __future__ import annotations

from .. import catalogue
from ..cost import flops
from ..crossings import entry_training_cost, program_training_cost, training_fields
from ..networks import forward
from ..shapes import DTYPE_BYTES, format_shape
from .page import esc, table

#: the columns of a training table, and what each heading says
COLUMNS = ("label", "flops", "forward_flops", "backward_flops", "step_flops", "backward_vs_forward", "peak_bytes",
           "saved_activation_bytes", "activation_peak_bytes", "gradient_bytes", "optimizer_state_bytes",
           "train_peak_bytes")
HEADERS = {"label": "", "flops": "inference FLOPs", "forward_flops": "forward FLOPs",
           "backward_flops": "backward FLOPs", "step_flops": "step FLOPs", "backward_vs_forward": "backward ÷ forward", "peak_bytes": "inference peak",
           "saved_activation_bytes": "saved for backward", "activation_peak_bytes": "activations + gradients peak",
           "gradient_bytes": "gradients", "optimizer_state_bytes": "optimizer state",
           "train_peak_bytes": "train peak (step)"}
UNITS = {"flops": "count", "forward_flops": "count", "backward_flops": "count", "step_flops": "count",
         "backward_vs_forward": "ratio", **{c: "bytes" for c in COLUMNS if c.endswith("_bytes")}}


def _row(label: str, inference, step, options, convention, nbytes: int) -> dict:
    fields = training_fields(step, options, convention)
    forward_flops = fields["forward_flops"]
    return {"label": label, "flops": int(flops(inference, convention)),
            "peak_bytes": int(inference.peak_live_elements) * nbytes, **fields,
            "backward_vs_forward": fields["backward_flops"] / forward_flops if forward_flops else float("inf")}


def module_rows(spec, shape) -> list[dict]:
    """One row per module of the spec at ``shape``: inference FLOPs and peak (in the spec's dtype)
    beside its training step (each module trained as inside a network: its input requires grad)."""
    nbytes = DTYPE_BYTES[spec.dtype]
    rows = []
    for module in spec.modules:
        entry = catalogue.get(module.name)
        step = entry_training_cost(entry, shape, module.hp, spec.training)
        rows.append(_row(module.label, entry.cost(shape, module.hp), step, spec.training, spec.convention, nbytes))
    return rows


def network_rows(spec, walked) -> list[dict]:
    """One row per network (``walked``: (choice, its inference walk) pairs), its step from the formula."""
    nbytes = DTYPE_BYTES[spec.dtype]
    shape = tuple(spec.network_input)
    rows = []
    for choice, result in walked:
        step = program_training_cost(lambda g, x, s=choice.spec: forward(g, x, s), shape, spec.training, False)
        rows.append(_row(choice.label, result.total, step, spec.training, spec.convention, nbytes))
    return rows


def _note(spec) -> str:
    options = spec.training
    extra = "".join([f"; checkpointed: {esc(', '.join(options.checkpoint))}" if options.checkpoint else "",
                     f"; only {esc(', '.join(options.train_only))} trained" if options.train_only else ""])
    return (f'<p class="note">One training step with <b>{esc(options.optimizer.value)}</b> in '
            f"<b>{esc(options.precision.name)}</b>{extra}, FLOPs under {esc(spec.convention.value)}. Forward: the "
            "train-mode forward (batch statistics); backward: what autograd runs for it, from a gradient of the "
            "output's shape (the loss is yours). Saved for backward: what autograd keeps between the passes; "
            "train peak: activations and gradients at their peak plus parameters, master weights and optimizer "
            "state (docs/TRAINING.md). Inference columns as in the summary.</p>")


def _table(rows) -> str:
    return table(rows, list(COLUMNS), units=UNITS, headers=HEADERS)


def modules_section(spec, shape) -> str:
    return f"<h3>Modules at {esc(format_shape(shape))}</h3>" + _table(module_rows(spec, shape)) + _note(spec)


def networks_section(spec, walked) -> str:
    return (f"<h3>Networks at {esc(format_shape(spec.network_input))}</h3>" + _table(network_rows(spec, walked))
            + _note(spec))
