"""Program: a symbolic forward pass, written op by op, that yields a :class:`Cost`.

A catalogue entry describes its module as the sequence of ops the paper's forward runs, on symbolic
shapes. A Program is a :class:`~attncost.cost.recorder.Recorder` (records, liveness, scopes,
parameters, totals) plus this op vocabulary: each method is one torch op (or one fixed sequence
of them, as a reference module writes it), computes the output shape and strides, asks
:mod:`attncost.ops` for the counts and records what aten allocates and reads. What a method
allocates mirrors eager PyTorch (e.g. max pooling also writes its indices, layer norm its mean and
rstd; ``matmul`` expands, reshapes, runs bmm and views back); the tracer proves every such claim
against real execution. Layout rules (strides, contiguity, views) are in ``cost/layout.py``, the
replay cache of ``replayable`` in ``cost/replay.py``.
"""

from __future__ import annotations

import contextlib
import fnmatch
import sys
from dataclasses import replace as _replace

from ..algebra import as_int, differ as _provably_different, equal as _equal, exact_div as _divide, floor_div, \
    sympy as _sympy
from ..errors import ShapeError
from ..ops import conv as products, pointwise, sampling
from ..ops.pointwise import (ADD, DIV, MUL, POW, SQRT, SUB, NORM_BATCH, NORM_BATCH_STATS, NORM_GROUP, NORM_LAYER, POOL_AVG,
                             POOL_MAX, RANDOM, REDUCE_MAX, REDUCE_MEAN, REDUCE_SUM, RELU, SIGMOID, WHERE, OpKind)
from ..ops.shapes import broadcast, conv_output_size, normalize_dim, numel, pool_output_size
from .layout import (alias_strides, channels_last_strides, contiguous_strides, expand_strides, folds,
                     is_channels_last_2d, is_contiguous, is_dense, is_one, same, view_strides)
from . import derivatives as _d
from .autograd import Leaf, Region, Tape, TrainingError, needs_grad
from .iterator_layout import iterator_strides
from .recorder import OpRecord, Recorder, Tensor
from .replay import Replays

__all__ = ["OpRecord", "Program", "Tensor"]     # OpRecord: also the tracer's record type


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _pair(value, n=2) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n




#: Op methods that build their backward in a training Program (``Program(training=True)``); any other
#: that writes from a tensor needing a gradient raises :class:`TrainingError` naming itself.
DIFFERENTIABLE = frozenset({
    "conv", "linear", "batch_norm", "layer_norm", "group_norm", "unary", "relu", "sigmoid", "binary", "add", "mul",
    "div", "softmax", "reduce", "max_dim", "global_avg_pool", "spatial_mean", "max_pool2d", "avg_pool2d", "cat", "contiguous",
    "reshape", "view", "expand", "squeeze", "permute", "transpose", "slice", "select", "slice_step", "bmm", "mm",
    "matmul", "split_heads", "merge_heads", "attention", "new_zeros", "fill", "adaptive_avg_pool2d", "interpolate",
    "repeat", "split", "unbind", "pad", "roll", "index", "dropout", "conv_with_weight", "maximum",
    "affine_grid", "grid_sample", "index_select", "unfold"})
_PLUMBING = frozenset({"_view", "_batched", "allocate", "alias", "_check_differentiable", "_linear_node",
                       "_batch_norm_training"})

# activation short name -> which tensor its derivative reads (derivatives.yaml): "result" or "self"
_ACTIVATION_SAVES = {"relu": "result", "sigmoid": "result", "tanh": "result", "hardtanh": "self", "leaky_relu": "self",
                     "gelu": "self", "silu": "self", "hardsigmoid": "self", "hardswish": "self", "softplus": "self",
                     "mish": "self"}
# in-place activations -> what their derivative reads: the result (relu_, sigmoid_, tanh_, leaky_relu_), or the
# input before it was overwritten, which autograd clones first (hardtanh_ (ReLU6 in place), silu_, hardswish_...)
_INPLACE_ACTIVATIONS = {"relu": "result", "sigmoid": "result", "tanh": "result", "leaky_relu": "result",
                        "hardtanh": "self", "silu": "self", "hardswish": "self", "hardsigmoid": "self", "gelu": "self",
                        "mish": "self", "softplus": "self"}


def _maybe_overlapping(t) -> bool:
    """``_maybe_overlapping_memory`` (FunctionsManual.cpp) of a tensor's geometry without its size-1
    dims: walking the strides upwards, one no larger than the span of those below may overlap."""
    dims = sorted(((st, s) for s, st in zip(t.shape, t.strides) if not is_one(s)), key=lambda d: d[0])
    span = 0
    for stride, size in dims:
        if stride <= span:
            return True
        span = span + stride * (size - 1)
    return False


def _expands(shape, target) -> bool:
    """Whether ``target`` is ``shape`` expanded (new leading dims; dims of size 1 stretched)."""
    lead = len(target) - len(shape)
    return lead >= 0 and all(_equal(s, t) or is_one(s) for s, t in zip(shape, target[lead:]))




class Program(Recorder):
    """A recorder with the op vocabulary. ``g = Program(); x = g.input(shape); ...; g.finish(out)``.

    ``Program(training=True)`` runs the forward in training mode (batch norm with batch statistics)
    and builds its autograd graph (``cost/autograd.py``): ``trainable(full parameter name) -> bool``
    says which parameters get a gradient (all by default), ``input_requires_grad`` whether the inputs
    do. ``cost/training.py`` then runs it backwards (``training_cost``)."""

    def __init__(self, training: bool = False, *, trainable=None, input_requires_grad: bool = False,
                 checkpoint=()):
        super().__init__()
        self.replays = Replays(self)
        self.tape = Tape(trainable) if training else None
        self.input_requires_grad = input_requires_grad
        self.checkpoint_scopes = tuple(checkpoint)
        self.checkpoint_matched: set = set()        # the patterns that named a scope
        self.bases: dict = {}       # training: storage -> the tensor autograd sees as its views' base

    @property
    def training(self) -> bool:
        return self.tape is not None

    # -- training: the autograd graph -----------------------------------------------------------------
    def input(self, shape) -> Tensor:
        t = super().input(shape)
        if self.tape is not None and self.input_requires_grad:
            t = _replace(t, grad_fn=(Leaf(("<input>", t.storage), t.shape), 0))
        return t

    def parameter_tensor(self, t: Tensor, full_name: tuple) -> Tensor:
        leaf = self.tape.leaf(full_name, "param", t.shape) if self.tape is not None else None
        return t if leaf is None else _replace(t, grad_fn=(leaf, 0))

    def _leaves(self, full_name, *parts) -> list:
        """The gradient leaves of a layer's parameter parts, ``(part, shape)`` each."""
        return [self.tape.leaf(full_name, part, shape) for part, shape in parts]

    def _node(self, name: str, inputs, outputs, backward, saved=(), differentiable: int = 1) -> list:
        """Training: the autograd node of the op that wrote ``outputs`` from ``inputs`` (Tensors or
        parameter leaves), saving ``saved``; the first ``differentiable`` outputs get it as grad_fn."""
        node = self.tape.node(name, inputs, len(outputs), backward, self.scope_key)
        if node is None:
            return list(outputs)
        self.tape.save(*saved)
        region = self.tape.region
        if saved and region is not None:
            # torch saves an op's inputs before it runs and its outputs after: the recompute's early stop
            # ends after this op's record if it saved one of its outputs, before it otherwise
            written = {o.storage for o in outputs}
            ran = len(self.records) - region.first_record
            region.stop = max(region.stop, ran if any(t.storage in written for t in saved) else ran - 1)
        node.saves = bool(saved)
        outputs = [_replace(o, grad_fn=(node, i)) if i < differentiable else o for i, o in enumerate(outputs)]
        for o in outputs[:differentiable]:
            if not o.view:                  # the op wrote the storage: later views of it have this base
                self.bases[o.storage] = o
        return outputs

    # -- activation checkpointing ------------------------------------------------------------------------
    def checkpoint(self, fn, *inputs: Tensor):
        """``torch.utils.checkpoint.checkpoint(fn, *inputs, use_reentrant=False)``: ``fn(*inputs)`` runs
        as usual but its nodes keep no saved tensor, only ``inputs`` are saved; in backward the region's
        ops are run again (``recompute``) and counted there. Outside training, just ``fn(*inputs)``."""
        if self.tape is None:
            return fn(*inputs)
        region = self._begin_region()
        try:
            out = fn(*inputs)
        finally:
            self._end_region(region, inputs)
        return out

    @contextlib.contextmanager
    def scope(self, *names: str):
        """The recorder's scope; in a training program whose ``checkpoint`` patterns match the scope's
        path (``stage3/block1/attention:nonlocal``, fnmatch) or its innermost name, the ops inside run
        as one checkpointed region (its inputs: the activations it reads from outside)."""
        with super().scope(*names):
            if self.tape is None or not self.checkpoint_scopes or self.tape.region is not None \
                    or not self._checkpointed_scope():
                yield
                return
            region = self._begin_region()
            try:
                yield
            finally:
                self._end_region(region, None)

    def _checkpointed_scope(self) -> bool:
        path, inner = "/".join(self.scope_key), self.scope_key[-1] if self.scope_key else ""
        matched = [p for p in self.checkpoint_scopes if fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(inner, p)]
        self.checkpoint_matched.update(matched)
        return bool(matched)

    def _begin_region(self) -> Region:
        if self.tape.region is not None:
            raise TrainingError("Program.checkpoint inside a checkpointed region is not modelled")
        region = Region(self.scope_key, len(self.records))
        self.tape.region = region
        return region

    def _end_region(self, region: Region, inputs) -> None:
        """Close a region: it saves its inputs (given, or the tracked storages its ops read that it did
        not write, in the order first read)."""
        self.tape.region = None
        records = self.records[region.first_record:]
        region.records = len(records)
        if inputs is None:
            written = {s for r in records for s, _ in r.allocations}
            inputs = [Tensor((), u) for u in dict.fromkeys(u for r in records for u in r.uses)
                      if u not in written and self.tracks(u)]
        self.tape.save(*inputs)

    def recompute(self, region: Region) -> None:
        """A checkpointed region's forward again, during backward (torch's ``_recomputation_hook``): its
        records up to the early stop, each writing fresh storages; from then on every op reads the
        recomputed storages in place of the forward's."""
        region.recomputed = True
        fresh: dict = {}
        for r in self.records[region.first_record:region.first_record + region.stop]:
            uses = [fresh.get(u, u) for u in r.uses]
            allocations = []
            for storage, elements in r.allocations:
                fresh[storage] = self.new_storage()
                allocations.append((fresh[storage], elements))
            self.count(r.counts)
            with self.scope(*r.scope):          # the engine runs it at the top level, as its nodes
                self.record(uses, allocations)
        self.substitute.update(fresh)

    def _check_differentiable(self) -> None:
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_name in _PLUMBING:
            frame = frame.f_back
        name = frame.f_code.co_name if frame is not None else "?"
        if name not in DIFFERENTIABLE:
            raise TrainingError(f"Program.{name} has no backward yet: a training program cannot differentiate it "
                                f"(in {'/'.join(self.scope_key) or 'the top level'})")

    def allocate(self, uses, *shapes) -> list[Tensor]:
        if self.tape is not None and any(needs_grad(u) for u in uses):
            self._check_differentiable()
        return super().allocate(uses, *shapes)

    def alias(self, x: Tensor, shape, strides) -> Tensor:
        if self.tape is not None and needs_grad(x):
            self._check_differentiable()
        return super().alias(x, shape, strides)

    def _broadcast(self, what: str, a_shape, b_shape) -> tuple:
        """The broadcast of two shapes, refused as PyTorch refuses it: aligned from the last dim, each
        pair of sizes must be equal or one of them 1. The error names the op and the scope."""
        ndim = max(len(a_shape), len(b_shape))
        padded = [(1,) * (ndim - len(s)) + tuple(s) for s in (a_shape, b_shape)]
        for i, (p, q) in enumerate(zip(*padded)):
            if not is_one(p) and not is_one(q) and _provably_different(p, q):
                where = "/".join(self.scope_key) or "the top level"
                raise ShapeError(f"{where}: {what} of shapes {_shape_text(a_shape)} and {_shape_text(b_shape)} "
                                 f"does not broadcast (dim {i - ndim}: {p} vs {q}; PyTorch needs each pair of sizes "
                                 f"equal or 1)")
        return broadcast(a_shape, b_shape)

    def replayable(self, key, fn, *inputs: Tensor):
        """``fn(*inputs)``, writing its ops into this program; a later call with the same ``key`` (which
        must determine everything ``fn`` does: the inputs' shapes and strides included) replays the
        recorded ops instead, under the current scope, with fresh storages (``cost/replay.py``)."""
        return self.replays.run(key, fn, inputs)

    def _view(self, x: Tensor, shape, strides=None, backward=None, unsafe=False) -> Tensor:
        """A view of ``x``: given strides, else those of a zero-copy reshape or expand (``alias_strides``).
        Training: its backward is ``backward``, by default a reshape back (same elements) or, for an
        expand, a sum back to ``x``'s shape. ``unsafe``: aten's ``_unsafe_view`` (the reshape after a copy,
        matmul's result), which shares the storage but is no view to autograd: a base of its own, so an
        in-place op on it needs no CopySlices."""
        shape = tuple(shape)
        out = self.alias(x, shape, alias_strides(x.shape, x.strides, shape) if strides is None else strides)
        if unsafe:
            out = Tensor(out.shape, out.storage, out.strides)
        if self.tape is None or not needs_grad(x):
            return out
        if backward is None:
            if _equal(numel(shape), numel(x.shape)):
                backward = _d.reshape_backward(x.shape)
            elif _expands(x.shape, shape):
                backward = _d.expand_backward(x.shape)
            else:
                raise TrainingError(f"a view of {_shape_text(x.shape)} as {_shape_text(shape)} (fewer elements: a slice "
                                    f"written as a view) has no backward: write it as slice, select or split")
        return self._node("ViewBackward", [x], [out], backward)[0]

    # -- layers with parameters --------------------------------------------------------------------
    def conv(self, x: Tensor, out_channels, kernel, stride=1, padding=0, dilation=1, groups=1,
             bias=True, name=None) -> Tensor:
        """nn.Conv1d/2d (aten.convolution) on (N, Cin, *spatial)."""
        spatial = x.ndim - 2
        kernel, stride, padding, dilation = [_pair(v, spatial) for v in (kernel, stride, padding, dilation)]
        out_spatial = tuple([conv_output_size(s, k, st, p, d)
                             for s, k, st, p, d in zip(x.shape[2:], kernel, stride, padding, dilation)])
        w_shape = (out_channels, _divide(x.shape[1], groups), *kernel)
        out_shape = (x.shape[0], out_channels, *out_spatial)
        full_name = self.param(name, numel(w_shape) + (out_channels if bias else 0))
        self.count(products.conv(x.shape, w_shape, out_shape, bias))
        out = self.in_suggested_format(x, self.allocate([x], out_shape)[0])
        if self.tape is None:
            return out
        leaves = self._leaves(full_name, ("weight", w_shape), *([("bias", (out_channels,))] if bias else []))
        return self._node("ConvolutionBackward0", [x, *leaves], [out], _d.conv_backward(x, w_shape, out_shape, bias),
                          saved=[x])[0]

    def linear(self, x: Tensor, out_features, bias=True, name=None) -> Tensor:
        """nn.Linear (F.linear) as aten runs it. On a 2-D input: addmm / mm. On more dims, a contiguous
        input is viewed to 2-D, run through addmm / mm and viewed back; a non-contiguous one goes
        through matmul (reshape to 2-D, a copy where no view exists; mm; view back) and, with a bias,
        an add of the bias parameter ``<name>.bias``. Where a size of 1 alone makes the input
        contiguous, the program is marked degenerate (as in ``contiguous``)."""
        in_features = x.shape[-1]
        out_shape = (*x.shape[:-1], out_features)
        if x.ndim > 2 and not is_contiguous(x.shape, x.strides):
            rows = self.reshape(x, (numel(x.shape[:-1]), in_features))
            y = self.reshape(self.linear(rows, out_features, bias=False, name=name), out_shape)
            if bias:
                y = self.add(y, self.parameter(None if name is None else f"{name}.bias", (out_features,)))
            return y
        if x.ndim > 2 and not is_contiguous(x.shape, x.strides, strict=True):
            self.mark_degenerate(f"a dim of size 1 makes the {x.shape} input of linear {name!r} contiguous")
        rows = numel(x.shape[:-1])
        flat = self._view(x, (rows, in_features)) if x.ndim > 2 else x
        full_name = self.param(name, in_features * out_features + (out_features if bias else 0))
        self.count(products.linear(x.shape, out_shape, bias))
        if self.tape is not None:
            return self._linear_node(flat, full_name, in_features, out_features, bias, out_shape)
        out = self.allocate([flat], out_shape)[0]
        if x.ndim > 2:
            out = self._view(out, out_shape)
        return out

    def _linear_node(self, flat: Tensor, full_name, in_features, out_features, bias, out_shape) -> Tensor:
        """Training linear as aten.linear runs it: ``t()`` of the weight (TBackward0), addmm / mm on the
        2-D input (AddmmBackward0 / MmBackward0), the view back to ``out_shape``."""
        w_shape = (out_features, in_features)
        weight, *bias_leaf = self._leaves(full_name, ("weight", w_shape), *([("bias", (out_features,))] if bias else []))
        transposed = Tensor((in_features, out_features), ("param", full_name), (1, in_features))
        if weight is not None:
            transposed = self._node("TBackward0", [weight], [transposed], _d.transpose_param())[0]
        out = self.allocate([flat], (flat.shape[0], out_features))[0]
        saved = [flat] if needs_grad(transposed) else []
        out = self._node("AddmmBackward0" if bias else "MmBackward0", [*bias_leaf, flat, transposed], [out],
                         _d.addmm_backward(flat, w_shape), saved=saved)[0]
        return self._view(out, out_shape) if len(out_shape) > 2 else out

    def batch_norm(self, x: Tensor, affine=True, name=None) -> Tensor:
        """nn.BatchNorm1d/2d in eval mode: aten.native_batch_norm writes its output (its saved
        statistics are empty in eval mode)."""
        channels = x.shape[1]
        full_name = self.param(name, 2 * channels) if affine else None
        if self.tape is None:
            self.count(pointwise.norm(NORM_BATCH, x.shape, affine))
            return self._batch_norm_format(x, self.allocate([x], x.shape)[0])
        return self._batch_norm_training(x, affine, full_name)

    def _batch_norm_format(self, x: Tensor, out: Tensor) -> Tensor:
        """Batch norm's output layout on the CPU: contiguous where the input is contiguous (sizes of 1
        ignored: an (N, C, 1, 1) map that also reads as channels last), else the input's suggested
        format. Its backward's input gradient takes the suggested format in both cases (measured on
        torch 2.13; ``tests/cost/test_training_layout.py``)."""
        return out if is_contiguous(x.shape, x.strides) else self.in_suggested_format(x, out)

    def _batch_norm_training(self, x: Tensor, affine, full_name) -> Tensor:
        """nn.BatchNorm in train mode: ``num_batches_tracked.add_(1)`` (one add, on a buffer), then
        native_batch_norm with batch statistics, writing the output and the saved mean and inverse
        std, (C,) each (NativeBatchNormBackward0 saves those and the input)."""
        channels = x.shape[1]
        if as_int(_divide(numel(x.shape), channels)) == 1:
            raise ShapeError(f"{'/'.join(self.scope_key) or 'the top level'}: batch norm in training needs more than "
                             f"one value per channel (input {_shape_text(x.shape)}), as PyTorch does")
        self.count(pointwise.elementwise(ADD, ()))
        self.record([], [])
        self.count(pointwise.norm(NORM_BATCH_STATS, x.shape, affine))
        out, mean, invstd = self.allocate([x], x.shape, (channels,), (channels,))
        out = self._batch_norm_format(x, out)
        leaves = self._leaves(full_name, ("weight", (channels,)), ("bias", (channels,))) if affine else []
        return self._node("NativeBatchNormBackward0", [x, *leaves], [out, mean, invstd],
                          _d.norm_backward("batch", x, mean, invstd, affine, (channels,)), saved=[x, mean, invstd])[0]

    def layer_norm(self, x: Tensor, normalized_ndim: int, affine=True, name=None) -> Tensor:
        """nn.LayerNorm over the last ``normalized_ndim`` dims; aten.native_layer_norm also writes
        mean and rstd, one element per normalised row each."""
        normalized = x.shape[x.ndim - normalized_ndim:]
        full_name = self.param(name, 2 * numel(normalized)) if affine else None
        self.count(pointwise.norm(NORM_LAYER, x.shape, affine))
        stats = (*x.shape[: x.ndim - normalized_ndim], *(1,) * normalized_ndim)
        out, mean, rstd = self.allocate([x], x.shape, stats, stats)
        if self.tape is None:
            return out
        leaves = self._leaves(full_name, ("weight", normalized), ("bias", normalized)) if affine else []
        return self._node("NativeLayerNormBackward0", [x, *leaves], [out, mean, rstd],
                          _d.norm_backward("layer", x, mean, rstd, affine, normalized), saved=[x, mean, rstd])[0]

    def group_norm(self, x: Tensor, groups, affine=True, name=None) -> Tensor:
        """nn.GroupNorm(groups, C); aten.native_group_norm also writes mean and rstd, (N, groups) each."""
        full_name = self.param(name, 2 * x.shape[1]) if affine else None
        self.count(pointwise.norm(NORM_GROUP, x.shape, affine))
        stats = (x.shape[0], groups)
        out, mean, rstd = self.allocate([x], x.shape, stats, stats)
        out = self.in_suggested_format(x, out)
        if self.tape is None:
            return out
        channels = (x.shape[1],)
        leaves = self._leaves(full_name, ("weight", channels), ("bias", channels)) if affine else []
        return self._node("NativeGroupNormBackward0", [x, *leaves], [out, mean, rstd],
                          _d.norm_backward("group", x, mean, rstd, affine, channels), saved=[x, mean, rstd])[0]

    def conv_with_weight(self, x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                         dilation=1, groups=1) -> Tensor:
        """F.conv2d with a computed weight (and bias) tensor, e.g. CondConv's per-sample kernels
        run as one grouped conv over the batch: no parameters of its own; reads x, weight, bias.
        Training: ConvolutionBackward0 saves the input and the weight (both activations here)."""
        spatial = x.ndim - 2
        kernel = weight.shape[2:]
        stride, padding, dilation = (_pair(v, spatial) for v in (stride, padding, dilation))
        out_spatial = tuple(conv_output_size(s, k, st, p, d)
                            for s, k, st, p, d in zip(x.shape[2:], kernel, stride, padding, dilation))
        out_shape = (x.shape[0], weight.shape[0], *out_spatial)
        self.count(products.conv(x.shape, weight.shape, out_shape, bias is not None))
        inputs = [x, weight] + ([bias] if bias is not None else [])
        out = self.in_suggested_format(x if is_channels_last_2d(x.shape, x.strides) else weight,
                                       self.allocate(inputs, out_shape)[0])
        if self.tape is None:
            return out
        return self._node("ConvolutionBackward0", inputs, [out],
                          _d.conv_backward(x, weight.shape, out_shape, bias is not None, weight=weight),
                          saved=[x, weight])[0]

    # -- matrix products ---------------------------------------------------------------------------
    def bmm(self, a: Tensor, b: Tensor) -> Tensor:
        """torch.bmm of (B, n, m) and (B, m, p)."""
        out_shape = (a.shape[0], a.shape[1], b.shape[2])
        self.count(products.matmul(a.shape, b.shape, out_shape))
        out = self.allocate([a, b], out_shape)[0]
        return out if self.tape is None else self._product_node("BmmBackward0", a, b, out, _d.bmm_backward(a, b))

    def _product_node(self, name: str, a: Tensor, b: Tensor, out: Tensor, backward) -> Tensor:
        """mm / bmm save each operand only where the other needs its gradient."""
        saved = ([a] if needs_grad(b) else []) + ([b] if needs_grad(a) else [])
        return self._node(name, [a, b], [out], backward, saved=saved)[0]

    def mm(self, a: Tensor, b: Tensor) -> Tensor:
        """torch.mm of two activations, (n, m) and (m, p) (a parameter operand is ``linear``)."""
        out_shape = (a.shape[0], b.shape[1])
        self.count(products.matmul(a.shape, b.shape, out_shape))
        out = self.allocate([a, b], out_shape)[0]
        return out if self.tape is None else self._product_node("MmBackward0", a, b, out, _d.mm_backward(a, b))

    def matmul(self, a: Tensor, b: Tensor) -> Tensor:
        """torch.matmul of two activations of 2+ dims each, with its broadcasting, as at::matmul runs
        it under the tracer (a dispatch mode, under which ATen takes its tensor-subclass paths):

        - both 2-D: mm;
        - where ``b`` has more dims than ``a``, aten first looks at ``b.mT`` (a view it records) to
          decide whether to fold, and declines;
        - 3+ dims against a matrix: when the dims of ``a`` before the last two collapse onto the
          next (``layout.folds``), ``a`` is reshaped to 2-D, mm, the result viewed back;
        - two 3-D operands whose batch sizes differ, one of them 1: that one is squeezed to a
          matrix and the product starts again;
        - otherwise the batch dims broadcast; each operand is expanded to (*batch, rows, cols) (a
          view), reshaped to (B, rows, cols) (a copy where no view exists), bmm, the result viewed
          to (*batch, n, p).

        Eager PyTorch without a dispatch mode skips the squeeze (its expand of a size-1 batch is a
        view): the same counts and memory, other view ops.
        """
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError(f"matmul of a {a.ndim}-D and a {b.ndim}-D operand is not modelled (2+ dims each)")
        if any(isinstance(t.storage, tuple) and t.storage[0] == "param" for t in (a, b)):
            raise ValueError("matmul with a parameter operand is a linear layer: use Program.linear")
        n, m, p = a.shape[-2], a.shape[-1], b.shape[-1]
        if a.ndim == 2 and b.ndim == 2:
            return self.mm(a, b)
        if a.ndim < b.ndim:
            self.transpose(b, -2, -1)
        elif b.ndim == 2:
            fold = folds(a.shape, a.strides)
            if fold != folds(a.shape, a.strides, strict=False):
                self.mark_degenerate(f"a dim of size 1 decides whether matmul folds its {a.shape} operand")
            if fold:
                rows = self.reshape(a, (numel(a.shape[:-1]), m))
                return self._view(self.mm(rows, b), (*a.shape[:-1], p), unsafe=True)
        if a.ndim == 3 and b.ndim == 3 and not same(a.shape[0], b.shape[0]):
            if is_one(a.shape[0]):
                return self.matmul(self.squeeze(a, 0), b)
            if is_one(b.shape[0]):
                return self.matmul(a, self.squeeze(b, 0))
        if _provably_different(m, b.shape[-2]):
            raise ShapeError(f"{'/'.join(self.scope_key) or 'the top level'}: matmul of shapes {_shape_text(a.shape)} "
                             f"and {_shape_text(b.shape)}: {m} columns against {b.shape[-2]} rows")
        batch = self._broadcast("matmul", a.shape[:-2], b.shape[:-2])
        a3 = self._batched(self.expand(a, (*batch, n, m)), numel(batch))
        b3 = self._batched(self.expand(b, (*batch, m, p)), numel(batch))
        return self._view(self.bmm(a3, b3), (*batch, n, p), unsafe=True)

    def _batched(self, x: Tensor, rows) -> Tensor:
        """``x.reshape(rows, *x.shape[-2:])``; of a 3-D ``x`` a view with its own strides."""
        if x.ndim == 3:
            return self._view(x, x.shape)
        return self.reshape(x, (rows, *x.shape[-2:]))

    # -- attention, as the reference modules write it out ----------------------------------------
    def split_heads(self, x: Tensor, parts: int, heads, head_dim) -> list:
        """(N, L, parts*heads*d) -> ``parts`` tensors of (N, heads, L, d), as timm's Attention splits its
        fused qkv: ``x.reshape(N, L, parts, heads, d).permute(2, 0, 3, 1, 4)``, made contiguous once
        (one copy), ``unbind(0)``."""
        n, length, _ = x.shape
        x = self.permute(self.reshape(x, (n, length, parts, heads, head_dim)), (2, 0, 3, 1, 4))
        return self.unbind(self.contiguous(x), 0)

    def merge_heads(self, x: Tensor) -> Tensor:
        """(N, heads, L, d) -> (N, L, heads*d): ``x.transpose(1, 2).reshape(N, L, heads*d)``, a copy
        except where one head or d = 1 allows a view."""
        n, heads, length, d = x.shape
        return self.reshape(self.transpose(x, 1, 2), (n, length, heads * d))

    def attention(self, q: Tensor, k: Tensor, v: Tensor, scale, *, op: OpKind = MUL, on: str = "logits",
                  mask: Tensor | None = None) -> Tensor:
        """Scaled dot-product attention written out as the explicit ops a reference module runs (not
        F.scaled_dot_product_attention, whose CPU kernels hide them): ``softmax(q k^T <op> scale) v``
        over the last two dims, the softmax marked as the attention map.

        ``op`` (MUL or DIV) applies ``scale`` to the query before the product (``on="query"``, timm's
        ``q = q * scale``) or to the logits after it (``on="logits"``); ``mask`` (a bool buffer) is
        then applied in place, ``logits.masked_fill_(mask, -inf)``."""
        if on not in ("query", "logits"):
            raise ValueError(f"attention scale on {on!r}: 'query' or 'logits'")
        if on == "query":
            q = self.binary(op, q, scale)
        logits = self.matmul(q, self.transpose(k, -2, -1))
        if on == "logits":
            logits = self.binary(op, logits, scale)
        if mask is not None:
            logits = self.binary(WHERE, logits, mask, inplace=True)
        return self.matmul(self.mark_attention_map(self.softmax(logits, -1)), v)

    # -- elementwise -------------------------------------------------------------------------------
    def unary(self, op: OpKind, x: Tensor, inplace=False) -> Tensor:
        """An elementwise op of kind ``op`` (``ops.pointwise.GELU``, ...), optionally in place."""
        short = op.name.split(".", 1)[1]
        training = self.tape is not None and needs_grad(x)
        if training and op is SQRT and not inplace:         # SqrtBackward0: not one fused kernel
            self.count(pointwise.elementwise(op, x.shape))
            out = self.laid_out(self.allocate([x], x.shape)[0], [x])
            return self._node("SqrtBackward0", [x], [out], _d.sqrt_backward(out), saved=[out])[0]
        if training and (short not in _ACTIVATION_SAVES or (inplace and short not in _INPLACE_ACTIVATIONS)):
            raise TrainingError(f"Program.unary({op.name}{', inplace' if inplace else ''}) has no backward yet")
        original = None
        if training and inplace and _INPLACE_ACTIVATIONS[short] == "self":
            self.count(pointwise.copy(x.shape))         # autograd keeps the input an in-place op overwrites
            original = self.allocate([x], x.shape)[0]
        self.count(pointwise.elementwise(op, x.shape))
        if inplace:
            self.record([x.storage], [])
            out = x
        else:
            out = self.laid_out(self.allocate([x], x.shape)[0], [x])
        if not training:
            return out
        if inplace:
            saved = original if original is not None else out
        else:
            saved = out if _ACTIVATION_SAVES[short] == "result" else x
        backward = _d.activation_backward(op, saved)
        if inplace and x.view:                          # relu_ on a view: autograd's CopySlices around it
            return self._copy_slices(f"{short}_backward", x, [x], backward, [saved],
                                     f"Program.unary({op.name}, inplace")
        out = Tensor(out.shape, out.storage, out.strides, view=x.view if inplace else False)
        return self._node(f"{short}_backward", [x], [out], backward, saved=[saved])[0]

    def relu(self, x, inplace=False):
        return self.unary(RELU, x, inplace)

    def sigmoid(self, x, inplace=False):
        return self.unary(SIGMOID, x, inplace)

    def binary(self, op: OpKind, a: Tensor, b, inplace=False) -> Tensor:
        """a <op> b with broadcasting (``op`` an elementwise kind); ``b`` may be a Python scalar."""
        b_shape = b.shape if isinstance(b, Tensor) else ()
        out_shape = self._broadcast(f"{op.name.split('.')[-1]}", a.shape, b_shape)
        if inplace and (len(out_shape) > len(a.shape)
                        or any(_provably_different(s, o) for s, o in zip(a.shape, out_shape))):
            raise ShapeError(f"{'/'.join(self.scope_key) or 'the top level'}: in-place {op.name.split('.')[-1]} "
                             f"of shapes {_shape_text(a.shape)} and {_shape_text(b_shape)}: the result "
                             f"{_shape_text(out_shape)} does not fit the first operand")
        self.count(pointwise.elementwise(op, out_shape))
        uses = [a] + ([b] if isinstance(b, Tensor) else [])
        if inplace:
            self.record([u.storage for u in uses], [])
            out = a
        else:
            out = self.laid_out(self.allocate(uses, out_shape)[0], uses)
        if self.tape is None or not any(needs_grad(u) for u in uses):
            return out
        return self._binary_node(op, a, b, out, inplace)

    def laid_out(self, out: Tensor, operands) -> Tensor:
        """An elementwise output with TensorIterator's strides (``cost/iterator_layout.py``)."""
        strides = iterator_strides(out.shape, [(t.shape, t.strides) for t in operands])
        return out if tuple(strides) == tuple(out.strides) else Tensor(out.shape, out.storage, strides)

    def in_suggested_format(self, like: Tensor, out: Tensor) -> Tensor:
        """``out`` (a fresh 4-D tensor) laid out in ``like``'s suggested memory format, as ATen's
        convolution (its backend memory format), batch and group norm, pooling and upsampling kernels
        allocate on the CPU (``empty_like(..., input.suggest_memory_format())``): channels last where
        ``like`` reads as channels last (``layout.is_channels_last_2d``), as it does after a
        self-attention module's (N, HW, C) result is viewed back to (N, C, H, W). Concrete strides
        only (on symbolic ones: ``out`` unchanged, contiguous)."""
        if len(out.shape) != 4 or not is_channels_last_2d(like.shape, like.strides):
            return out
        return Tensor(out.shape, out.storage, channels_last_strides(out.shape))

    def _binary_node(self, op: OpKind, a: Tensor, b, out: Tensor, inplace: bool) -> Tensor:
        """AddBackward0/1 (the gradient to both), MulBackward0 (saves each operand where the other needs
        a gradient; in place, only by an operand that needs none: autograd would keep the overwritten
        input otherwise), DivBackward0 (saves the divisor, and the dividend where the divisor needs a
        gradient), MaskedFillBackward0 (``WHERE`` by a mask: saves it), MulBackward1 / DivBackward1 (by a
        number), PowBackward0 (``x.pow(number)``: saves x). In place on a view, the op's node
        is wrapped in autograd's CopySlices (``_copy_slices``)."""
        what = f"Program.binary({op.name}{', inplace' if inplace else ''}"
        if isinstance(b, Tensor):
            inputs = [a, b]
            if op is ADD:
                backward, saved = _d.identity(), []
            elif op is SUB:
                backward, saved = _d.sub_backward(), []
            elif op is MUL and not (inplace and needs_grad(b)):
                backward = _d.mul_backward(a, b)
                saved = ([a] if needs_grad(b) else []) + ([b] if needs_grad(a) else [])
            elif op is DIV and not inplace:
                backward, saved = _d.div_backward(a, b), [b] + ([a] if needs_grad(b) else [])
            elif op is WHERE and not needs_grad(b):                 # masked_fill(_) by a mask
                backward, saved = _d.masked_fill_backward(b), [b]
            else:
                raise TrainingError(f"{what}) of two tensors has no backward yet")
        else:
            inputs, saved = [a], []
            if op in (ADD, SUB):
                backward = _d.identity()
            elif op in (MUL, DIV):
                backward = _d.scalar_backward(op, b)
            elif op is POW and not inplace:
                backward, saved = _d.pow_backward(a, b), [a]
            else:
                raise TrainingError(f"{what}) by a number has no backward yet")
        name = f"{op.name.split('.', 1)[1]}_backward"
        if inplace and a.view:
            return self._copy_slices(name, a, inputs, backward, saved, what)
        out = Tensor(out.shape, out.storage, out.strides, view=a.view if inplace else False)
        return self._node(name, inputs, [out], backward, saved=saved)[0]

    def _copy_slices(self, name: str, view: Tensor, inputs, backward, saved, what: str) -> Tensor:
        """An in-place op on ``view`` (its first input) as autograd records it (``rebase_history``,
        torch/csrc/autograd/VariableTypeUtils.h): the op's node ``backward`` wrapped in a CopySlices
        that becomes the base's grad_fn (its first edge the base's previous one, the others the op's),
        and the view's grad_fn an AsStridedBackward0 of the new base. Modelled where the base is a
        dense tensor an op wrote (``bases``) and the view does not overlap itself."""
        base = self.bases.get(view.storage)
        if base is None or not is_dense(base.shape, base.strides) or _maybe_overlapping(view):
            raise TrainingError(f"{what}) on a view whose base is not a dense tensor needing a gradient, or that "
                                f"overlaps itself, has no backward yet (autograd's CopySlices)")
        rebased = Tensor(base.shape, base.storage, tuple(base.strides))
        rebased = self._node(f"CopySlices({name})", [base, *inputs[1:]], [rebased],
                             _d.copy_slices_backward(base, view, backward), saved=saved)[0]
        out = Tensor(view.shape, view.storage, view.strides, view=True)
        return self._node("AsStridedBackward0", [rebased], [out], _d.as_strided_backward(base, view))[0]

    def maximum(self, a: Tensor, b: Tensor) -> Tensor:
        """``torch.max(a, b)`` / torch.maximum of two tensors, broadcast (aten.maximum, counted as a
        select: ``WHERE``). Training: MaximumBackward0 saves both operands."""
        out_shape = self._broadcast("maximum", a.shape, b.shape)
        self.count(pointwise.elementwise(WHERE, out_shape))
        out = self.laid_out(self.allocate([a, b], out_shape)[0], [a, b])
        if self.tape is None or not (needs_grad(a) or needs_grad(b)):
            return out
        return self._node("MaximumBackward0", [a, b], [out], _d.maximum_backward(a, b), saved=[a, b])[0]

    def where(self, condition: Tensor, a: Tensor, b: Tensor) -> Tensor:
        """``torch.where(condition, a, b)`` (aten.where.self): one select per element of the broadcast
        of the three, laid out as TensorIterator does in a training program. No backward yet (autograd's
        own backward formulas run it)."""
        out_shape = self._broadcast("where", self._broadcast("where", condition.shape, a.shape), b.shape)
        self.count(pointwise.elementwise(WHERE, out_shape))
        return self.laid_out(self.allocate([condition, a, b], out_shape)[0], [condition, a, b])

    def add(self, a, b, inplace=False):
        return self.binary(ADD, a, b, inplace)

    def mul(self, a, b, inplace=False):
        return self.binary(MUL, a, b, inplace)

    def div(self, a, b, inplace=False):
        return self.binary(DIV, a, b, inplace)

    def dropout(self, x: Tensor, p, inplace=False) -> Tensor:
        """F.dropout(x, p, training, inplace). Inference: the identity, no op. Training (p in (0, 1)),
        as aten runs it on the CPU (``_dropout_impl``, aten/src/ATen/native/Dropout.cpp: the fused
        native_dropout is for CUDA): ``noise = empty_like(x)``, ``noise.bernoulli_(1 - p)``,
        ``noise.div_(1 - p)``, then ``x * noise`` (``x.mul_(noise)`` in place); its backward is the
        multiply's (``grad * noise``, the noise saved). p = 0 returns ``x`` in training too."""
        if self.tape is None or p == 0:
            return x
        if not 0 < p < 1:
            raise ValueError(f"dropout with p={p} is not modelled (0 <= p < 1)")
        noise = self.allocate([x], x.shape)[0]          # empty_like keeps a dense input's strides
        if is_dense(x.shape, x.strides):
            noise = Tensor(noise.shape, noise.storage, tuple(x.strides))
        for op in (RANDOM, DIV):                        # bernoulli_, div_ on the noise
            self.count(pointwise.elementwise(op, x.shape))
            self.record([noise.storage], [])
        return self.binary(MUL, x, noise, inplace=inplace)

    def softmax(self, x: Tensor, dim: int) -> Tensor:
        self.count(pointwise.softmax(x.shape))
        out = self.allocate([x], x.shape)[0]
        if self.tape is None or not needs_grad(x):
            return out
        return self._node("SoftmaxBackward0", [x], [out], _d.softmax_backward(out), saved=[out])[0]

    # -- reductions and pooling --------------------------------------------------------------------
    def reduce(self, op: OpKind, x: Tensor, dims, keepdim=False) -> Tensor:
        """mean / sum / amax (``ops.pointwise.REDUCE_MEAN``, ...) over ``dims``."""
        dims = {normalize_dim(d, x.ndim) for d in _pair(dims, 1)}
        out_shape = tuple(1 if i in dims else s for i, s in enumerate(x.shape) if keepdim or i not in dims)
        self.count(pointwise.reduce(op, x.shape))
        out = self.allocate([x], out_shape)[0]
        if self.tape is None or not needs_grad(x):
            return out
        if op is REDUCE_MEAN:
            backward = _d.mean_backward(x.shape, sorted(dims), keepdim)
        elif op is REDUCE_SUM:
            backward = _d.sum_backward(x.shape, sorted(dims), keepdim)
        else:
            raise TrainingError(f"Program.reduce({op.name}) has no backward yet")
        return self._node(f"{op.name.split('.', 1)[1]}_backward", [x], [out], backward)[0]

    def max_dim(self, x: Tensor, dim: int, keepdim=False) -> Tensor:
        """torch.max(x, dim): writes values and int64 indices."""
        dim = normalize_dim(dim, x.ndim)
        out_shape = tuple(1 if i == dim else s for i, s in enumerate(x.shape) if keepdim or i != dim)
        self.count(pointwise.reduce(REDUCE_MAX, x.shape))
        values, indices = self.allocate([x], out_shape, out_shape)
        if self.tape is None or not needs_grad(x):
            return values
        return self._node("MaxBackward0", [x], [values, indices], _d.max_dim_backward(x.shape, dim, keepdim, indices),
                          saved=[indices])[0]

    def global_avg_pool(self, x: Tensor) -> Tensor:
        """F.adaptive_avg_pool2d(x, 1): aten runs it as a mean over H and W with keepdim, and, on a
        channels-last input, restrides the mean in place, ``out.as_strided_((N, C, 1, 1), (C, 1, C, C))``
        (aten/src/ATen/native/AdaptiveAveragePooling.cpp), which a training program's autograd
        makes an AsStridedBackward0 (a ``new_zeros`` and a ``copy_`` of N * C elements in backward).
        A plain ``x.mean((2, 3), keepdim=True)`` is :meth:`spatial_mean`."""
        mean = self.spatial_mean(x)
        if not is_channels_last_2d(x.shape, x.strides):
            return mean
        self.record([mean.storage], [])
        c = x.shape[1]
        strided = Tensor(mean.shape, mean.storage, (c, 1, c, c))
        if not needs_grad(mean):
            return strided
        return self._node("AsStridedBackward0", [mean], [strided], _d.as_strided_backward(mean, strided))[0]

    def spatial_mean(self, x: Tensor) -> Tensor:
        """``x.mean((2, 3), keepdim=True)``: every element read once, one output per (N, C); counted
        as global average pooling, which is what it is (``ops.pointwise.global_avg_pool``)."""
        self.count(pointwise.global_avg_pool(x.shape))
        out = self.allocate([x], (*x.shape[:2], 1, 1))[0]
        if self.tape is None or not needs_grad(x):
            return out
        return self._node("MeanBackward1", [x], [out], _d.mean_backward(x.shape, [2, 3], True))[0]

    def _pool_shape(self, x, kernel, stride, padding, dilation=1, ceil_mode=False):
        kernel, stride, padding, dilation = (_pair(v) for v in (kernel, stride if stride else kernel, padding, dilation))
        out_spatial = tuple(pool_output_size(s, k, st, p, d, ceil_mode)
                            for s, k, st, p, d in zip(x.shape[2:], kernel, stride, padding, dilation))
        return kernel, (*x.shape[:2], *out_spatial)

    def max_pool2d(self, x: Tensor, kernel, stride=None, padding=0, dilation=1, ceil_mode=False) -> Tensor:
        """F.max_pool2d: aten.max_pool2d_with_indices writes the output and its int64 indices."""
        kernel, out_shape = self._pool_shape(x, kernel, stride, padding, dilation, ceil_mode)
        self.count(pointwise.pool(POOL_MAX, out_shape, kernel))
        out, indices = (self.in_suggested_format(x, t) for t in self.allocate([x], out_shape, out_shape))
        if self.tape is None or not needs_grad(x):
            return out
        return self._node("MaxPool2DWithIndicesBackward0", [x], [out, indices],
                          _d.pool_backward("max", x, out_shape, kernel, indices), saved=[x, indices])[0]

    def avg_pool2d(self, x: Tensor, kernel, stride=None, padding=0, ceil_mode=False) -> Tensor:
        kernel, out_shape = self._pool_shape(x, kernel, stride, padding, 1, ceil_mode)
        self.count(pointwise.pool(POOL_AVG, out_shape, kernel))
        out = self.in_suggested_format(x, self.allocate([x], out_shape)[0])
        if self.tape is None or not needs_grad(x):
            return out
        return self._node("AvgPool2DBackward0", [x], [out], _d.pool_backward("avg", x, out_shape, kernel),
                          saved=[x])[0]

    def adaptive_avg_pool2d(self, x: Tensor, size) -> Tensor:
        """F.adaptive_avg_pool2d(x, size), ``None`` keeping a dim (nn.AdaptiveAvgPool2d((None, 1)),
        Coordinate Attention's pool_h). ATen runs a 1x1 output as a mean over H and W
        (``global_avg_pool``) and any other through _adaptive_avg_pool2d; where a kept dim of size 1
        alone makes the output 1x1 (pool_h of an H = 1 map), the program is marked degenerate."""
        requested = _pair(size)
        out = tuple(s if o is None else o for s, o in zip(x.shape[2:], requested))
        if all(is_one(o) for o in out):
            if any(o is None for o in requested):
                self.mark_degenerate(f"a dim of size 1 makes adaptive_avg_pool2d{requested} of {x.shape} a mean")
            return self.global_avg_pool(x)
        out_shape = (*x.shape[:2], *out)
        self.count(pointwise.adaptive_avg_pool(x.shape, out_shape))
        result = self.in_suggested_format(x, self.allocate([x], out_shape)[0])
        if self.tape is None or not needs_grad(x):
            return result
        return self._node("AdaptiveAvgPool2DBackward0", [x], [result], _d.adaptive_avg_pool_backward(x, out_shape),
                          saved=[x])[0]

    def interpolate(self, x: Tensor, size, mode="nearest") -> Tensor:
        out_shape = (*x.shape[:2], *_pair(size))
        self.count(pointwise.interpolate(mode, out_shape))
        out = self.in_suggested_format(x, self.allocate([x], out_shape)[0])
        if self.tape is None or not needs_grad(x):
            return out
        return self._node(f"Upsample_{mode}_Backward0", [x], [out], _d.interpolate_backward(mode, x.shape, out_shape))[0]

    def affine_grid(self, theta: Tensor, size) -> Tensor:
        """F.affine_grid(theta (N, 2, 3), size (N, C, H, W)) -> sampling grid (N, H, W, 2)."""
        out_shape = (size[0], size[2], size[3], 2)
        self.count(sampling.affine_grid(theta.shape, out_shape))
        out = self.allocate([theta], out_shape)[0]
        if self.tape is None or not needs_grad(theta):
            return out
        if any(as_int(s) is None or as_int(s) < 2 for s in size[2:]):
            raise TrainingError("Program.affine_grid has no backward yet for a symbolic size or one of 1 "
                                "(linspace_from_neg_one's single point)")
        return self._node("AffineGridGeneratorBackward0", [theta], [out], _d.affine_grid_backward(out_shape))[0]

    def grid_sample(self, x: Tensor, grid: Tensor, mode="bilinear") -> Tensor:
        """F.grid_sample(x (N, C, H, W), grid (N, Ho, Wo, 2)) -> (N, C, Ho, Wo)."""
        out_shape = (*x.shape[:2], *grid.shape[1:3])
        self.count(sampling.grid_sample(mode, out_shape))
        out = self.allocate([x, grid], out_shape)[0]
        if self.tape is None or not (needs_grad(x) or needs_grad(grid)):
            return out
        if not needs_grad(grid):
            raise TrainingError("Program.grid_sample has no backward yet for a grid that needs no gradient")
        return self._node("GridSampler2DBackward0", [x, grid], [out], _d.grid_sample_backward(mode, x, grid, out_shape),
                          saved=[x, grid])[0]

    # -- data movement -----------------------------------------------------------------------------
    def cat(self, tensors, dim: int) -> Tensor:
        dim = normalize_dim(dim, tensors[0].ndim)
        out_shape = list(tensors[0].shape)
        out_shape[dim] = sum((t.shape[dim] for t in tensors), 0)
        self.count(pointwise.copy(out_shape))
        out = self.allocate(tensors, tuple(out_shape))[0]
        if self.tape is None:
            return out
        return self._node("CatBackward0", tensors, [out], _d.cat_backward([t.shape for t in tensors], dim))[0]

    def repeat(self, x: Tensor, reps) -> Tensor:
        """``x.repeat(*reps)``: a copy tiling ``x``; reps beyond ``x``'s dims add leading dims."""
        lead = len(reps) - x.ndim
        if lead < 0:
            raise ShapeError(f"{'/'.join(self.scope_key) or 'the top level'}: repeat of a {x.ndim}-D tensor needs "
                             f"at least {x.ndim} repeats, got {len(reps)}")
        out_shape = (*reps[:lead], *(s * r for s, r in zip(x.shape, reps[lead:])))
        self.count(pointwise.copy(out_shape))
        out = self.allocate([x], out_shape)[0]
        if self.tape is None or not needs_grad(x):
            return out
        return self._node("RepeatBackward0", [x], [out], _d.repeat_backward(x.shape, reps))[0]

    def fill(self, shape) -> Tensor:
        """A new tensor filled with a constant (full / new_full / zeros)."""
        self.count(pointwise.copy(shape))
        return self.allocate([], tuple(shape))[0]

    def diag(self, x: Tensor) -> Tensor:
        """torch.diag of a vector: a square matrix, zeros off the diagonal."""
        out_shape = (x.shape[0], x.shape[0])
        self.count(pointwise.copy(out_shape))
        return self.allocate([x], out_shape)[0]

    def contiguous(self, x: Tensor) -> Tensor:
        """``x.contiguous()``: a copy into a fresh storage unless ``x`` is already contiguous.

        PyTorch ignores dims of size 1 when deciding; where that alone spares the copy the program
        is marked ``degenerate`` (its symbolic formula, which takes sizes > 1, then counts a copy
        that this concrete case does not make)."""
        if is_contiguous(x.shape, x.strides):
            if not is_contiguous(x.shape, x.strides, strict=True):
                self.mark_degenerate(f"a dim of size 1 spares the copy of a {x.shape} contiguous()")
            return x
        self.count(pointwise.copy(x.shape))
        out = self.allocate([x], x.shape)[0]
        return out if self.tape is None else self._node("CloneBackward0", [x], [out], _d.identity())[0]

    def slice(self, x: Tensor, dim: int, start, stop) -> Tensor:
        """``x[..., start:stop, ...]`` along ``dim``: a view with the same strides."""
        dim = normalize_dim(dim, x.ndim)
        shape = tuple(stop - start if i == dim else s for i, s in enumerate(x.shape))
        if self.tape is not None and as_int(start) == 0 and _equal(stop, x.shape[dim]):
            # Python indexing skips a slice over the whole dim (TensorIndexing.h applySlice): no autograd node
            return _replace(self._view(x, shape, x.strides, backward=_d.identity()), grad_fn=x.grad_fn)
        return self._view(x, shape, x.strides, backward=_d.slice_backward(x.shape))

    def split(self, x: Tensor, sizes, dim: int) -> list:
        """``torch.split(x, sizes, dim)`` with a list of sizes (aten.split_with_sizes): one op returning
        a view per piece. Its backward (SplitWithSizesBackward0) is one ``cat`` of the pieces' gradients."""
        dim = normalize_dim(dim, x.ndim)
        self.record([x.storage], [])
        pieces, start = [], 0
        for size in sizes:
            shape = tuple(size if i == dim else s for i, s in enumerate(x.shape))
            pieces.append(Tensor(shape, x.storage, x.strides, view=True))
            start = start + size
        if self.tape is None or not needs_grad(x):
            return pieces
        return self._node("SplitWithSizesBackward0", [x], pieces, _d.split_backward(x.shape, dim),
                          differentiable=len(pieces))

    def view(self, x: Tensor, shape) -> Tensor:
        """Any zero-copy reshape: view, permute, transpose, unsqueeze, squeeze, expand, slice. A reshape
        to as many elements that no strides can give as a view (a channels-last map viewed as
        (1, N * C, H, W), as CondConv's code does) is refused as torch refuses ``x.view`` ("view size is not compatible with input
        tensor's size and stride"): the code it models would fail there (``reshape`` copies)."""
        shape = tuple(shape)
        if (shape != tuple(x.shape) and _equal(numel(shape), numel(x.shape))
                and all(as_int(v) is not None for v in (*x.shape, *shape, *x.strides))):
            strides = view_strides(x.shape, x.strides, shape)
            if strides is None:
                layout = " (channels last)" if is_channels_last_2d(x.shape, x.strides) else ""
                raise ShapeError(f"{'/'.join(self.scope_key) or 'the top level'}: cannot view "
                                 f"{_shape_text(x.shape)}{layout} as {_shape_text(shape)}, as PyTorch cannot "
                                 f"('view size is not compatible')")
            return self._view(x, shape, strides)          # the strides alias_strides would find again
        return self._view(x, shape)

    def expand(self, x: Tensor, shape) -> Tensor:
        """``x.expand(shape)``: new leading dims and stretched dims of size 1 get stride 0; a view."""
        shape = tuple(shape)
        return self._view(x, shape, expand_strides(x.shape, x.strides, shape), backward=_d.expand_backward(x.shape))

    def squeeze(self, x: Tensor, dim: int) -> Tensor:
        """``x.squeeze(dim)``: drops ``dim`` where it has size 1 (a view)."""
        dim = normalize_dim(dim, x.ndim)
        if not is_one(x.shape[dim]):
            return self._view(x, x.shape, x.strides)
        return self._view(x, (*x.shape[:dim], *x.shape[dim + 1:]), (*x.strides[:dim], *x.strides[dim + 1:]))

    def unbind(self, x: Tensor, dim: int = 0) -> list:
        """``x.unbind(dim)``: one op returning a view per index along ``dim``."""
        dim = normalize_dim(dim, x.ndim)
        shape, strides = (*x.shape[:dim], *x.shape[dim + 1:]), (*x.strides[:dim], *x.strides[dim + 1:])
        self.record([x.storage], [])
        pieces = [Tensor(shape, x.storage, strides, view=True) for _ in range(x.shape[dim])]
        if self.tape is None or not needs_grad(x):
            return pieces
        return self._node("UnbindBackward0", [x], pieces, _d.unbind_backward(x.shape, dim), differentiable=len(pieces))

    def permute(self, x: Tensor, dims) -> Tensor:
        dims = [normalize_dim(d, x.ndim) for d in dims]
        return self._view(x, tuple(x.shape[d] for d in dims), tuple(x.strides[d] for d in dims),
                          backward=_d.permute_backward(dims))

    def transpose(self, x: Tensor, d0: int, d1: int) -> Tensor:
        dims = list(range(x.ndim))
        dims[d0], dims[d1] = dims[d1], dims[d0]
        return self.permute(x, dims)

    def reshape(self, x: Tensor, shape) -> Tensor:
        """``x.reshape(shape)``: a view where PyTorch's stride rule allows one (see ``view_strides``),
        else a contiguous copy viewed to ``shape`` (aten.clone + aten._unsafe_view). Where only dims
        of size 1 allow the view, the program is marked ``degenerate`` (as in ``contiguous``)."""
        shape = tuple(shape)
        strides = view_strides(x.shape, x.strides, shape)
        if strides is not None:
            if view_strides(x.shape, x.strides, shape, strict=True) is None:
                self.mark_degenerate(f"a dim of size 1 makes the reshape {x.shape} -> {shape} a view")
            return self._view(x, shape, strides)
        self.count(pointwise.copy(x.shape))
        copy = self.allocate([x], x.shape)[0]
        if self.tape is not None:
            copy = self._node("CloneBackward0", [x], [copy], _d.identity())[0]
        return self._view(copy, shape, contiguous_strides(shape), unsafe=True)

    def unfold(self, x: Tensor, dim: int, size, step) -> Tensor:
        """``x.unfold(dim, size, step)``: windows of ``size`` every ``step`` along ``dim`` (a new last
        dim); a view. Its backward (UnfoldBackward0) adds the windows' gradients back into zeros."""
        dim = normalize_dim(dim, x.ndim)
        span = x.shape[dim] - size
        if as_int(span) is not None and as_int(step) is not None:
            count = floor_div(as_int(span), as_int(step)) + 1
        else:
            sympy = _sympy()
            count = sympy.floor(sympy.cancel(sympy.sympify(span) / step)) + 1
        shape = (*x.shape[:dim], count, *x.shape[dim + 1:], size)
        strides = (*x.strides[:dim], None if x.strides[dim] is None else x.strides[dim] * step,
                   *x.strides[dim + 1:], x.strides[dim])
        return self._view(x, shape, strides, backward=_d.unfold_backward(x.shape))

    def pad(self, x: Tensor, pads) -> Tensor:
        """F.pad with a constant (aten.constant_pad_nd): ``pads`` are (before, after) pairs starting
        from the last dim; every output element is written. Where every pad is 0, ATen returns
        ``x.clone()``, which keeps the layout of a dense ``x`` (a permuted view stays permuted);
        otherwise the output is contiguous, or channels last where ``x``'s strides read as channels last
        (``layout.is_channels_last_2d``)."""
        shape = list(x.shape)
        for i in range(len(pads) // 2):
            shape[x.ndim - 1 - i] = shape[x.ndim - 1 - i] + pads[2 * i] + pads[2 * i + 1]
        self.count(pointwise.copy(shape))
        out = self.allocate([x], tuple(shape))[0]
        if all(as_int(p) == 0 for p in pads) and is_dense(x.shape, x.strides):
            out = Tensor(out.shape, out.storage, tuple(x.strides))
        elif is_channels_last_2d(x.shape, x.strides):            # at::empty(suggest_memory_format(self))
            out = Tensor(out.shape, out.storage, channels_last_strides(out.shape))
        if self.tape is None or not needs_grad(x):
            return out
        return self._node("ConstantPadNdBackward0", [x], [out], _d.pad_backward(x.shape, pads))[0]

    def roll(self, x: Tensor, shifts, dims) -> Tensor:
        """torch.roll (aten.roll, one op for any number of dims): a contiguous copy with the same shape
        (Swin's cyclic shift); the shifts do not change what is counted. Its backward (RollBackward0)
        rolls the gradient back: the same op."""
        self.count(pointwise.copy(x.shape))
        out = self.allocate([x], x.shape)[0]
        if self.tape is None or not needs_grad(x):
            return out
        return self._node("RollBackward0", [x], [out], _d.roll_backward(shifts, dims))[0]

    def index(self, x: Tensor, index: Tensor) -> Tensor:
        """``x[index]`` with one integer index tensor on dim 0 (aten.index): a gather of
        ``(*index.shape, *x.shape[1:])`` elements, written contiguous (Swin's relative position bias
        ``table[index.view(-1)]``)."""
        out_shape = (*index.shape, *x.shape[1:])
        self.count(pointwise.copy(out_shape))
        out = self.allocate([x, index], out_shape)[0]
        if self.tape is None or not needs_grad(x):
            return out
        return self._node("IndexBackward0", [x], [out], _d.index_backward(x.shape, index), saved=[index])[0]

    def index_select(self, x: Tensor, dim: int, index: Tensor) -> Tensor:
        """torch.index_select(x, dim, index) with a 1-D index (aten.index_select): a contiguous gather
        (Axial-DeepLab's relative embeddings)."""
        dim = normalize_dim(dim, x.ndim)
        out_shape = tuple(index.shape[0] if i == dim else s for i, s in enumerate(x.shape))
        self.count(pointwise.copy(out_shape))
        out = self.allocate([x, index], out_shape)[0]
        if self.tape is None or not needs_grad(x):
            return out
        return self._node("IndexSelectBackward0", [x], [out], _d.index_select_backward(x.shape, index),
                          saved=[index])[0]

    # -- indexing as Swin's torchvision forward runs it (networks/swin.py) -------------------------
    def select(self, x: Tensor, dim: int, index) -> Tensor:
        """``x[index]`` along ``dim`` (aten.select, e.g. torchvision Swin's ``q, k, v = qkv[0], qkv[1],
        qkv[2]``): a view without that dim."""
        dim = normalize_dim(dim, x.ndim)
        return self._view(x, (*x.shape[:dim], *x.shape[dim + 1:]), (*x.strides[:dim], *x.strides[dim + 1:]),
                          backward=_d.select_backward(x.shape))

    def slice_step(self, x: Tensor, dim: int, start, step) -> Tensor:
        """``x[..., start::step, ...]`` along ``dim`` (aten.slice with a step; 0 <= start): a view of
        ceil((size - start) / step) elements, its stride ``step`` times the dim's (Swin's patch merging
        ``x[..., 0::2, 1::2, :]``)."""
        from ..algebra import ceil_div

        dim = normalize_dim(dim, x.ndim)
        size = ceil_div(x.shape[dim] - start, step)
        shape = tuple(size if i == dim else s for i, s in enumerate(x.shape))
        stride = None if x.strides[dim] is None else x.strides[dim] * step
        return self._view(x, shape, (*x.strides[:dim], stride, *x.strides[dim + 1:]),
                          backward=_d.slice_backward(x.shape))

    def setitem_scalar(self, x: Tensor, index) -> Tensor:
        """``x[index] = number`` (Tensor.__setitem__ with a Python number), ``index`` one Python slice
        (step 1, any bounds) per leading dim, as PyTorch runs it: the number becomes a 0-dim tensor
        (aten.lift_fresh: a fresh one-element storage), each slice a view (aten.slice) unless it starts
        at 0 and stops at or past the end (PyTorch skips those), then aten.fill_ writes the view's
        elements in place. Concrete sizes only; returns ``x``."""
        if self.tape is not None and needs_grad(x):
            raise TrainingError("Program.setitem_scalar has no backward yet (an in-place fill of a tensor that "
                                "needs a gradient)")
        value = self.allocate([], ())[0]
        view = x
        for dim, piece in enumerate(index):
            size = as_int(x.shape[dim])
            if size is None:
                raise ValueError("setitem_scalar needs concrete sizes")
            if (piece.start or 0) == 0 and (piece.stop is None or piece.stop >= size):
                continue
            start, stop, _ = piece.indices(size)
            view = self.slice(view, dim, start, max(start, stop))
        self.count(pointwise.copy(view.shape))
        self.record([view.storage, value.storage], [])
        return x

    def new_zeros(self, x: Tensor, shape) -> Tensor:
        """``x.new_zeros(shape)`` (aten.new_zeros): a fresh tensor of zeros; the op reads ``x`` (its
        dtype and device), which keeps ``x`` live until then (Swin's mask ``x.new_zeros((Hp, Wp))``)."""
        self.count(pointwise.copy(shape))
        return self.allocate([x], tuple(shape))[0]
