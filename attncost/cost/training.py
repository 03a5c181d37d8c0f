"""Training costs on the formula side: a training Program's forward, replayed backwards op by op, as a
:class:`~attncost.cost.training_cost.TrainingCost` (issue 16). No torch.

``g = Program(training=True)`` runs the forward in training mode and builds its autograd graph
(``cost/autograd.py``, the derivatives in ``cost/derivatives.py``); :func:`training_cost` then runs
that graph backwards into the same recorder, so the backward's ops are counted by the same primitives
and kept live by the same :class:`~attncost.cost.liveness.Liveness` as the forward's. The result
follows the training tracer's rules (:mod:`attncost.trace.training`), which
``tests/verify/test_training_formula_vs_tracer.py`` proves to the last integer:

- ``forward``: the forward's own Cost (its outputs live to its end), before anything of backward;
- one step hands the output gradients to autograd (made outside the count: the loss is the user's):
  it reads the outputs and allocates one gradient of each output's shape;
- ``backward_counts``: the counts of every step after it;
- ``saved_elements``: the storages the forward's nodes save, each once, parameters and buffers left
  out (an int64 index counts as one element, like a float);
- ``peak_elements``: the peak over forward and backward, every ``.grad`` live from the step that
  writes it to the end;
- ``trainable_params``: elements of the parameters ``trainable`` accepts.

Options of the training Program: ``trainable`` (frozen parameters get no gradient and no grad-weight
product: :func:`only_scopes`), ``input_requires_grad``, ``checkpoint`` (activation checkpointing of
scopes, or ``Program.checkpoint(fn, x)``: the region saves only its inputs and its records run again,
up to torch's early stop, when backward first needs them). A training program replays no block
(``Program.replayable`` runs it: its nodes hold the block's own tensors); ResNet-50 still takes tens
of milliseconds. Its elementwise ops lay their outputs out as TensorIterator does
(``cost/iterator_layout.py``): gradients inherit those layouts, which decide the backward's copies.
"""

from __future__ import annotations

from .autograd import TrainingError, run_backward, saved_elements
from .layout import is_dense
from .program import Program
from .recorder import Tensor
from .symbolic import total
from .training_cost import TrainingCost

OUTPUT_GRADIENT_SCOPE = "<output gradient>"


def training_cost(program, *outputs: Tensor) -> TrainingCost:
    """Run ``program``'s autograd graph backwards from ``outputs`` (each given a gradient of its shape)
    and return the step's :class:`TrainingCost`. Runs once: the backward's ops join the program."""
    tape = program.tape
    if tape is None:
        raise TrainingError("training_cost needs a training program: Program(training=True)")
    forward = program.finish(*outputs)
    roots = [o for o in outputs if o.grad_fn is not None]
    if not roots:
        raise TrainingError("no output requires grad (every parameter frozen, no input requiring grad): "
                            "there is no backward to count")
    # torch.ones_like(out) keeps a dense output's layout (preserve_format), else it is contiguous
    gradients = [Tensor(o.shape, program.new_storage(), tuple(o.strides) if is_dense(o.shape, o.strides) else None)
                 for o in roots]
    with program.scope(OUTPUT_GRADIENT_SCOPE):
        program.record([o.storage for o in roots], [(g.storage, g.numel) for g in gradients])
    start = len(program.records)
    program.tape = None                 # the backward's ops build no graph of their own
    try:
        kept = run_backward(program, list(zip(roots, gradients)))
    finally:
        program.tape = tape
    backward_counts: dict = {}
    for record in program.records[start:]:
        for kind, value in record.counts.items():
            backward_counts[kind] = backward_counts.get(kind, 0) + value
    trainable = total([elements for name, elements in program.params_by_name().items() if tape.trainable(name)])
    return TrainingCost(forward=forward, backward_counts=backward_counts,
                        saved_elements=total(saved_elements(program, tape)),
                        peak_elements=program.peak_elements(kept), trainable_params=trainable)


def forward_training_cost(forward, shape, *, trainable=None, input_requires_grad: bool = False,
                          checkpoint=()) -> TrainingCost:
    """The training cost of ``forward(g, x)`` (a catalogue entry's program with its hyperparameters
    bound, ``lambda g, x: entry.program(g, x, **hp)``, or a network's ``networks.forward``) on an input
    of ``shape``. ``trainable``: which parameters (by full name) get a gradient, e.g.
    :func:`only_scopes`; ``input_requires_grad``: whether the input does (an attention module inside a
    network: it does); ``checkpoint``: ``True`` runs the whole forward under activation checkpointing
    (``Program.checkpoint``: only the input saved, the forward recomputed during backward), patterns of
    scopes (``"attention:*"``, ``"stage3/block1"``) run those scopes so (``Program.scope``)."""
    whole = checkpoint is True
    scopes = () if whole or not checkpoint else tuple(checkpoint)
    g = Program(training=True, trainable=trainable, input_requires_grad=input_requires_grad, checkpoint=scopes)
    x = g.input(shape)
    out = g.checkpoint(lambda t: forward(g, t), x) if whole else forward(g, x)
    unmatched = [p for p in scopes if p not in g.checkpoint_matched]
    if unmatched:
        pattern = unmatched[0]
        inside = next(("/".join(map(str, rec.scope[:2])) for rec in g.records
                       if len(rec.scope) > 1 and str(rec.scope[0]) == pattern), None)
        if inside is not None:
            raise TrainingError(f"checkpoint {pattern!r} is no one scope of the forward but a part of its blocks' "
                                f"names ({inside}, ...): checkpoint its blocks one by one with '{pattern}/*'")
        raise TrainingError(f"checkpoint {pattern!r} matches no scope of the forward (scopes are named like "
                            f"stage3/block1/attention:nonlocal): it would checkpoint nothing")
    outputs = out if isinstance(out, (tuple, list)) else (out,)
    return training_cost(g, *outputs)


def only_scopes(*prefixes: str):
    """A ``trainable`` predicate: only parameters inside a scope starting with one of ``prefixes``
    (``only_scopes("attention:")`` freezes a backbone and trains its attention modules)."""
    def trainable(name: tuple) -> bool:
        return any(part.startswith(prefixes) for part in name[:-1])
    return trainable
