"""Program: a symbolic forward pass, written op by op, that yields a :class:`Cost`.

A catalogue entry describes its module as the sequence of primitive ops the paper's forward runs,
on symbolic shapes. Each method computes the output shape, asks :mod:`attncost.ops` for the op's
counts, registers parameters once per name, and records allocations and uses for memory. What a
method allocates mirrors eager PyTorch (e.g. max pooling also writes its indices, layer norm its mean
and rstd); the tracer proves every such claim against real execution.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass
from typing import NamedTuple

import sympy

from ..ops import conv as products, pointwise, sampling
from ..ops.pointwise import (ADD, DIV, MUL, NORM_BATCH, NORM_GROUP, NORM_LAYER, POOL_AVG, POOL_MAX, REDUCE_MAX, RELU,
                             SIGMOID, OpKind)
from ..ops.shapes import broadcast, conv_output_size, normalize_dim, numel, pool_output_size
from .cost import Cost
from .liveness import Liveness
from .symbolic import exact_max


def _pair(value, n=2) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def contiguous_strides(shape) -> tuple:
    strides, z = [], 1
    for size in reversed(shape):
        strides.append(z)
        z = z * size
    return tuple(reversed(strides))


def _concrete(value):
    """``value`` as a Python int when it is a concrete integer (int or sympy Integer), else None:
    the fast path that keeps concrete shapes (every network walk) out of sympy's simplifier."""
    if isinstance(value, int):
        return value
    if isinstance(value, sympy.Integer):
        return int(value)
    return None


def _total(values):
    """Sum of sizes: an int sum when all are concrete (fast), else a sympy Add."""
    values = list(values)
    if all(isinstance(v, int) for v in values):
        return sympy.Integer(sum(values))
    return sympy.Add(*[sympy.sympify(v) for v in values])


def _divide(size, divisor):
    """``size / divisor``: an int when both are concrete and it divides, else a sympy quotient."""
    cs, cd = _concrete(size), _concrete(divisor)
    if cs is not None and cd is not None and cd and cs % cd == 0:
        return cs // cd
    return sympy.sympify(size) / divisor


def _is_one(size) -> bool:
    concrete = _concrete(size)
    return concrete == 1 if concrete is not None else sympy.sympify(size) == 1


def is_contiguous(shape, strides, strict: bool = False) -> bool:
    """PyTorch's rule: strides match a row-major layout, ignoring dims of size 1 (unless
    ``strict``). A symbolic size is taken to be larger than 1."""
    if any(_concrete(s) == 0 or (_concrete(s) is None and sympy.sympify(s) == 0) for s in shape):
        return True
    z = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if _is_one(size) and not strict:
            continue
        if stride is None or not _same(stride, z):
            return False
        z = z * size
    return True


def _same(a, b) -> bool:
    ca, cb = _concrete(a), _concrete(b)
    if ca is not None and cb is not None:
        return ca == cb
    return sympy.expand(sympy.sympify(a) - sympy.sympify(b)) == 0


def _smaller(small, large) -> bool:
    """``small < large`` for two products of sizes; symbolic sizes are taken to be large: both are
    evaluated exactly with every symbol set to a distinct large integer (no simplification, which
    on products of floors can take seconds)."""
    cs, cl = _concrete(small), _concrete(large)
    if cs is not None and cl is not None:
        return cs < cl
    small, large = sympy.sympify(small), sympy.sympify(large)
    symbols = sorted(small.free_symbols | large.free_symbols, key=str)
    point = {symbol: 10 ** 6 + 7 * i for i, symbol in enumerate(symbols)}
    return bool(small.xreplace(point) < large.xreplace(point))


def view_strides(shape, strides, new_shape, strict: bool = False):
    """Strides of ``x.view(new_shape)`` for ``x`` of ``shape`` and ``strides``, or None where PyTorch
    cannot make a view (and ``reshape`` copies). ATen's ``computeStride`` rule: each run of dims that
    is contiguous in memory may be split or merged freely. Dims of size 1 never break a run, unless
    ``strict``. A symbolic size is taken to be larger than 1."""
    if any(s is None for s in strides):
        return None
    if not shape:
        return contiguous_strides(new_shape)
    new_strides = [None] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base = strides[-1]
    tensor_numel, view_numel = 1, 1
    for d in range(len(shape) - 1, -1, -1):
        tensor_numel = tensor_numel * shape[d]
        if d == 0 or ((strict or not _is_one(shape[d - 1]))
                      and not _same(strides[d - 1], tensor_numel * chunk_base)):
            while view_d >= 0 and (_smaller(view_numel, tensor_numel) or _is_one(new_shape[view_d])):
                new_strides[view_d] = view_numel * chunk_base
                view_numel = view_numel * new_shape[view_d]
                view_d -= 1
            if not _same(view_numel, tensor_numel):
                return None
            if d > 0:
                chunk_base = strides[d - 1]
                tensor_numel, view_numel = 1, 1
    return tuple(new_strides) if view_d == -1 else None


class OpRecord(NamedTuple):
    """One op as the program ran it: where (scope), what it counted, the parameters it introduced,
    the storages it read and the (storage, elements) it allocated. (A NamedTuple: a network walk
    makes hundreds, and a frozen dataclass costs several times more to build.)"""

    index: int
    scope: tuple
    counts: dict
    params: object
    uses: tuple
    allocations: tuple


@dataclass(slots=True)
class Tensor:
    """A symbolic tensor: its shape, strides and the storage it lives in. Treated as immutable."""

    shape: tuple
    storage: object
    strides: tuple = None

    def __post_init__(self):
        if self.strides is None:
            self.strides = contiguous_strides(self.shape)

    @property
    def numel(self):
        return numel(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)


class Program:
    def __init__(self):
        self._ids = itertools.count()
        self._liveness = Liveness()
        self._counts: dict = {}
        self._params: dict = {}
        self._attention: list = []
        self.attention_scopes: list = []     # the scope of each attention map, parallel to _attention
        self._anonymous = itertools.count()
        self.degenerate = False
        self._scope: list[str] = []
        self._scope_key: tuple = ()
        self._pending_counts: dict = {}
        self._pending_params = 0
        self.records: list[OpRecord] = []
        self._templates: dict = {}

    @contextlib.contextmanager
    def scope(self, *names: str):
        """Label the ops run inside, e.g. ``with g.scope("stage2", "block1"):`` (for breakdowns);
        parameter names are local to their scope."""
        self._scope.extend(names)
        self._scope_key = tuple(self._scope)
        try:
            yield
        finally:
            del self._scope[len(self._scope) - len(names):]
            self._scope_key = tuple(self._scope)

    def _record(self, uses, allocations) -> None:
        """One executed op: liveness, plus a record carrying the counts and parameters since the last."""
        self._liveness.record(uses, allocations)
        self.records.append(OpRecord(len(self.records), self._scope_key, self._pending_counts,
                                     self._pending_params, tuple(uses), tuple(allocations)))
        self._pending_counts = {}
        self._pending_params = 0

    def replayable(self, key, fn, *inputs: Tensor):
        """``fn(*inputs)``, writing its ops into this program; a later call with the same ``key`` (which
        must determine everything ``fn`` does: the inputs' shapes and strides included) replays the
        recorded ops instead, under the current scope, with fresh storages. A network's repeated
        blocks (ResNet-50 has 12 blocks identical to the one before) then cost a copy of their
        records instead of a second pass through every formula. Counts, parameters, liveness and
        records come out exactly as running ``fn`` again would make them (tests/cost/test_replayable.py)."""
        template = self._templates.get(key)
        if template is not None:
            replayed = self._replay(template, inputs)
            if replayed is not None:
                return replayed
            return fn(*inputs)
        clean = not self._pending_counts and self._pending_params == 0
        start, prefix = len(self.records), self._scope_key
        params_before, attention_before, degenerate_before = len(self._params), len(self._attention), self.degenerate
        out = fn(*inputs)
        if clean and not self._pending_counts and self._pending_params == 0:
            self._templates[key] = self._template(start, prefix, params_before, attention_before,
                                                  degenerate_before, inputs, out)
        return out

    def _template(self, start, prefix, params_before, attention_before, degenerate_before, inputs, out):
        """What ``replayable`` needs to replay ops ``start:``; None when they cannot be replayed safely
        (ops outside the caller's scope, or reading a live tensor that is not one of ``inputs``)."""
        records = self.records[start:]
        n = len(prefix)
        if any(rec.scope[:n] != prefix for rec in records):
            return None
        inside = {storage for rec in records for storage, _ in rec.allocations}
        given = [t.storage for t in inputs]
        outside = {u for rec in records for u in rec.uses} - inside - set(given)
        if any(u in self._liveness.size for u in outside):
            return None
        outputs = out if isinstance(out, tuple) else (out,)
        if not all(isinstance(t, Tensor) and (t.storage in inside or t.storage in given) for t in outputs):
            return None
        added = list(itertools.islice(self._params, params_before, None))     # dicts keep insertion order
        if any(name[:n] != prefix for name in added):
            return None
        params = [(name[n:], self._params[name]) for name in added]
        counts: dict = {}
        for rec in records:
            for kind, value in rec.counts.items():
                counts[kind] = counts.get(kind, 0) + value
        return {"records": [(rec.scope[n:], rec.counts, rec.params, rec.uses, rec.allocations) for rec in records],
                "counts": counts,
                "inputs": [(t.storage, t.shape, t.strides) for t in inputs], "params": params,
                "attention": self._attention[attention_before:],
                "attention_scopes": [scope[n:] for scope in self.attention_scopes[attention_before:]],
                "degenerate": self.degenerate and not degenerate_before,
                "outputs": [(t.shape, t.storage, t.strides) for t in outputs], "tuple": isinstance(out, tuple)}

    def _replay(self, template, inputs):
        if (self._pending_counts or self._pending_params != 0
                or [(t.shape, t.strides) for t in inputs] != [(shape, strides) for _, shape, strides in template["inputs"]]):
            return None
        prefix = self._scope_key
        params = {prefix + name: elements for name, elements in template["params"]}
        if not params.keys().isdisjoint(self._params):
            return None
        self._params.update(params)
        storage = {old: t.storage for (old, _, _), t in zip(template["inputs"], inputs)}
        for kind, value in template["counts"].items():
            self._counts[kind] = self._counts.get(kind, 0) + value
        get, ids, records, live, scopes = storage.get, self._ids, self.records, self._liveness.record, {}
        for suffix, counts, params, uses, allocations in template["records"]:
            if allocations:
                for old, _ in allocations:
                    storage[old] = next(ids)
                allocations = tuple([(storage[old], elements) for old, elements in allocations])
            uses = tuple([get(u, u) for u in uses])
            live(uses, allocations)
            scope = scopes.get(suffix) or scopes.setdefault(suffix, prefix + suffix)
            records.append(OpRecord(len(records), scope, counts, params, uses, allocations))
        self._attention.extend(template["attention"])
        self.attention_scopes.extend(prefix + suffix for suffix in template["attention_scopes"])
        self.degenerate = self.degenerate or template["degenerate"]
        outputs = [Tensor(shape, storage[old], strides) for shape, old, strides in template["outputs"]]
        return tuple(outputs) if template["tuple"] else outputs[0]

    # -- bookkeeping -------------------------------------------------------------------------------
    def input(self, shape) -> Tensor:
        """The module's input; concrete sizes become Python ints, so that a concrete walk stays in
        integer arithmetic (sympy only where a size is a symbol)."""
        shape = tuple(_concrete(s) if _concrete(s) is not None else s for s in shape)
        t = Tensor(shape, next(self._ids))
        self._liveness.add_input(t.storage, t.numel)
        return t

    def _count(self, counts: dict) -> None:
        for name, value in counts.items():
            self._counts[name] = self._counts.get(name, 0) + value
            self._pending_counts[name] = self._pending_counts.get(name, 0) + value

    def _alloc(self, uses, *shapes) -> list[Tensor]:
        outs = [Tensor(tuple(s), next(self._ids)) for s in shapes]
        self._record([u.storage for u in uses], [(o.storage, o.numel) for o in outs])
        return outs

    def _view(self, x: Tensor, shape, strides=None) -> Tensor:
        self._record([x.storage], [])
        shape = tuple(shape)
        if strides is None:
            strides = self._reshape_strides(x, shape)
        return Tensor(shape, x.storage, tuple(strides))

    @staticmethod
    def _reshape_strides(x: Tensor, shape) -> tuple:
        """Strides of a zero-copy view of ``x`` with ``shape``: a reshape (ATen's rule, ``view_strides``)
        or an expand of size-1 dims (stride 0). Anything else gets an unknown layout, which later
        counts as non-contiguous (verification against the tracer catches a wrong guess)."""
        if tuple(shape) == x.shape:
            return x.strides
        if _same(numel(shape), numel(x.shape)):
            strides = view_strides(x.shape, x.strides, shape)
            if strides is not None:
                return strides
        elif len(shape) == x.ndim and all(a == b or _is_one(a) for a, b in zip(x.shape, shape)):
            return tuple(0 if _is_one(a) and not _is_one(b) else st for a, b, st in zip(x.shape, shape, x.strides))
        return (None,) * len(shape)

    def param(self, name: str | None, elements) -> None:
        """Register a learnable parameter; the same name is counted once (weight sharing)."""
        name = (*self._scope, name if name is not None else f"_param{next(self._anonymous)}")
        if name in self._params:
            if sympy.expand(self._params[name] - elements) != 0:
                raise ValueError(f"parameter {name!r} reused with another size")
            return
        self._params[name] = elements
        self._pending_params += elements

    def parameter(self, name: str, shape) -> Tensor:
        """A parameter used directly as an operand (e.g. CCNet's gamma); never counts as memory."""
        self.param(name, numel(shape))
        return Tensor(tuple(shape), ("param", name))

    def mark_attention_map(self, t: Tensor) -> Tensor:
        """Declare ``t`` an attention map (mirrors ``attncost.reference.marks.attention_map``)."""
        self._attention.append(t.numel)
        self.attention_scopes.append(self._scope_key)
        return t

    def finish(self, *outputs: Tensor) -> Cost:
        return Cost(
            counts=self._counts,
            params=_total(self._params.values()),
            activation_elements=self._liveness.activation_elements(),
            peak_live_elements=self._liveness.peak([o.storage for o in outputs]),
            attention_map_elements=exact_max(self._attention),
        )

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
        self.param(name, numel(w_shape) + (out_channels if bias else 0))
        self._count(products.conv(x.shape, w_shape, out_shape, bias))
        return self._alloc([x], out_shape)[0]

    def linear(self, x: Tensor, out_features, bias=True, name=None) -> Tensor:
        """nn.Linear. On a 2-D input aten runs addmm/mm; on more dims view -> addmm -> view."""
        in_features = x.shape[-1]
        out_shape = (*x.shape[:-1], out_features)
        self.param(name, in_features * out_features + (out_features if bias else 0))
        self._count(products.linear(x.shape, out_shape, bias))
        if x.ndim > 2:
            self._view(x, (numel(x.shape[:-1]), in_features))
        out = self._alloc([x], out_shape)[0]
        if x.ndim > 2:
            out = self._view(out, out_shape)
        return out

    def batch_norm(self, x: Tensor, affine=True, name=None) -> Tensor:
        """nn.BatchNorm1d/2d in eval mode: aten.native_batch_norm writes its output (its saved
        statistics are empty in eval mode)."""
        channels = x.shape[1]
        if affine:
            self.param(name, 2 * channels)
        self._count(pointwise.norm(NORM_BATCH, x.shape, affine))
        return self._alloc([x], x.shape)[0]

    def layer_norm(self, x: Tensor, normalized_ndim: int, affine=True, name=None) -> Tensor:
        """nn.LayerNorm over the last ``normalized_ndim`` dims; aten.native_layer_norm also writes
        mean and rstd, one element per normalised row each."""
        normalized = x.shape[x.ndim - normalized_ndim:]
        if affine:
            self.param(name, 2 * numel(normalized))
        self._count(pointwise.norm(NORM_LAYER, x.shape, affine))
        stats = (*x.shape[: x.ndim - normalized_ndim], *(1,) * normalized_ndim)
        return self._alloc([x], x.shape, stats, stats)[0]

    def group_norm(self, x: Tensor, groups, affine=True, name=None) -> Tensor:
        """nn.GroupNorm(groups, C); aten.native_group_norm also writes mean and rstd, (N, groups) each."""
        if affine:
            self.param(name, 2 * x.shape[1])
        self._count(pointwise.norm(NORM_GROUP, x.shape, affine))
        stats = (x.shape[0], groups)
        return self._alloc([x], x.shape, stats, stats)[0]

    def conv_with_weight(self, x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                         dilation=1, groups=1) -> Tensor:
        """F.conv2d with a computed weight (and bias) tensor, e.g. CondConv's per-sample kernels
        run as one grouped conv over the batch: no parameters of its own; reads x, weight, bias."""
        spatial = x.ndim - 2
        kernel = weight.shape[2:]
        stride, padding, dilation = (_pair(v, spatial) for v in (stride, padding, dilation))
        out_spatial = tuple(conv_output_size(s, k, st, p, d)
                            for s, k, st, p, d in zip(x.shape[2:], kernel, stride, padding, dilation))
        out_shape = (x.shape[0], weight.shape[0], *out_spatial)
        self._count(products.conv(x.shape, weight.shape, out_shape, bias is not None))
        return self._alloc([x, weight] + ([bias] if bias is not None else []), out_shape)[0]

    # -- matrix products ---------------------------------------------------------------------------
    def bmm(self, a: Tensor, b: Tensor) -> Tensor:
        out_shape = (a.shape[0], a.shape[1], b.shape[2])
        self._count(products.matmul(a.shape, b.shape, out_shape))
        return self._alloc([a, b], out_shape)[0]

    def matmul(self, a: Tensor, b: Tensor) -> Tensor:
        """torch.matmul of two 3-D tensors: aten expands, views, runs bmm and views the result."""
        self._view(a, a.shape)
        self._view(a, a.shape)
        self._view(b, b.shape)
        self._view(b, b.shape)
        out = self.bmm(a, b)
        return self._view(out, out.shape)

    # -- elementwise -------------------------------------------------------------------------------
    def unary(self, op: OpKind, x: Tensor, inplace=False) -> Tensor:
        """An elementwise op of kind ``op`` (``ops.pointwise.GELU``, ...), optionally in place."""
        self._count(pointwise.elementwise(op, x.shape))
        if inplace:
            self._record([x.storage], [])
            return x
        return self._alloc([x], x.shape)[0]

    def relu(self, x, inplace=False):
        return self.unary(RELU, x, inplace)

    def sigmoid(self, x, inplace=False):
        return self.unary(SIGMOID, x, inplace)

    def binary(self, op: OpKind, a: Tensor, b, inplace=False) -> Tensor:
        """a <op> b with broadcasting (``op`` an elementwise kind); ``b`` may be a Python scalar."""
        b_shape = b.shape if isinstance(b, Tensor) else ()
        out_shape = broadcast(a.shape, b_shape)
        self._count(pointwise.elementwise(op, out_shape))
        uses = [a] + ([b] if isinstance(b, Tensor) else [])
        if inplace:
            self._record([u.storage for u in uses], [])
            return a
        return self._alloc(uses, out_shape)[0]

    def add(self, a, b, inplace=False):
        return self.binary(ADD, a, b, inplace)

    def mul(self, a, b, inplace=False):
        return self.binary(MUL, a, b, inplace)

    def div(self, a, b, inplace=False):
        return self.binary(DIV, a, b, inplace)

    def softmax(self, x: Tensor, dim: int) -> Tensor:
        self._count(pointwise.softmax(x.shape))
        return self._alloc([x], x.shape)[0]

    # -- reductions and pooling --------------------------------------------------------------------
    def reduce(self, op: OpKind, x: Tensor, dims, keepdim=False) -> Tensor:
        """mean / sum / amax (``ops.pointwise.REDUCE_MEAN``, ...) over ``dims``."""
        dims = {normalize_dim(d, x.ndim) for d in _pair(dims, 1)}
        out_shape = tuple(1 if i in dims else s for i, s in enumerate(x.shape) if keepdim or i not in dims)
        self._count(pointwise.reduce(op, x.shape))
        return self._alloc([x], out_shape)[0]

    def max_dim(self, x: Tensor, dim: int, keepdim=False) -> Tensor:
        """torch.max(x, dim): writes values and int64 indices."""
        dim = normalize_dim(dim, x.ndim)
        out_shape = tuple(1 if i == dim else s for i, s in enumerate(x.shape) if keepdim or i != dim)
        self._count(pointwise.reduce(REDUCE_MAX, x.shape))
        return self._alloc([x], out_shape, out_shape)[0]

    def global_avg_pool(self, x: Tensor) -> Tensor:
        """adaptive_avg_pool2d(x, 1): aten runs it as a mean over H and W with keepdim."""
        self._count(pointwise.global_avg_pool(x.shape))
        return self._alloc([x], (*x.shape[:2], 1, 1))[0]

    def _pool_shape(self, x, kernel, stride, padding, dilation=1, ceil_mode=False):
        kernel, stride, padding, dilation = (_pair(v) for v in (kernel, stride if stride else kernel, padding, dilation))
        out_spatial = tuple(pool_output_size(s, k, st, p, d, ceil_mode)
                            for s, k, st, p, d in zip(x.shape[2:], kernel, stride, padding, dilation))
        return kernel, (*x.shape[:2], *out_spatial)

    def max_pool2d(self, x: Tensor, kernel, stride=None, padding=0, dilation=1, ceil_mode=False) -> Tensor:
        """F.max_pool2d: aten.max_pool2d_with_indices writes the output and its int64 indices."""
        kernel, out_shape = self._pool_shape(x, kernel, stride, padding, dilation, ceil_mode)
        self._count(pointwise.pool(POOL_MAX, out_shape, kernel))
        return self._alloc([x], out_shape, out_shape)[0]

    def avg_pool2d(self, x: Tensor, kernel, stride=None, padding=0, ceil_mode=False) -> Tensor:
        kernel, out_shape = self._pool_shape(x, kernel, stride, padding, 1, ceil_mode)
        self._count(pointwise.pool(POOL_AVG, out_shape, kernel))
        return self._alloc([x], out_shape)[0]

    def interpolate(self, x: Tensor, size, mode="nearest") -> Tensor:
        out_shape = (*x.shape[:2], *_pair(size))
        self._count(pointwise.interpolate(mode, out_shape))
        return self._alloc([x], out_shape)[0]

    def affine_grid(self, theta: Tensor, size) -> Tensor:
        """F.affine_grid(theta (N, 2, 3), size (N, C, H, W)) -> sampling grid (N, H, W, 2)."""
        out_shape = (size[0], size[2], size[3], 2)
        self._count(sampling.affine_grid(theta.shape, out_shape))
        return self._alloc([theta], out_shape)[0]

    def grid_sample(self, x: Tensor, grid: Tensor, mode="bilinear") -> Tensor:
        """F.grid_sample(x (N, C, H, W), grid (N, Ho, Wo, 2)) -> (N, C, Ho, Wo)."""
        out_shape = (*x.shape[:2], *grid.shape[1:3])
        self._count(sampling.grid_sample(mode, out_shape))
        return self._alloc([x, grid], out_shape)[0]

    # -- data movement -----------------------------------------------------------------------------
    def cat(self, tensors, dim: int) -> Tensor:
        dim = normalize_dim(dim, tensors[0].ndim)
        out_shape = list(tensors[0].shape)
        out_shape[dim] = sum((t.shape[dim] for t in tensors), 0)
        self._count(pointwise.copy(out_shape))
        return self._alloc(tensors, tuple(out_shape))[0]

    def repeat(self, x: Tensor, reps) -> Tensor:
        out_shape = tuple(s * r for s, r in zip(x.shape, reps))
        self._count(pointwise.copy(out_shape))
        return self._alloc([x], out_shape)[0]

    def fill(self, shape) -> Tensor:
        """A new tensor filled with a constant (full / new_full / zeros)."""
        self._count(pointwise.copy(shape))
        return self._alloc([], tuple(shape))[0]

    def diag(self, x: Tensor) -> Tensor:
        """torch.diag of a vector: a square matrix, zeros off the diagonal."""
        out_shape = (x.shape[0], x.shape[0])
        self._count(pointwise.copy(out_shape))
        return self._alloc([x], out_shape)[0]

    def contiguous(self, x: Tensor) -> Tensor:
        """``x.contiguous()``: a copy into a fresh storage unless ``x`` is already contiguous.

        PyTorch ignores dims of size 1 when deciding; where that alone spares the copy the program
        is marked ``degenerate`` (its symbolic formula, which takes sizes > 1, then counts a copy
        that this concrete case does not make)."""
        if is_contiguous(x.shape, x.strides):
            if not is_contiguous(x.shape, x.strides, strict=True):
                self.degenerate = True
            return x
        self._count(pointwise.copy(x.shape))
        return self._alloc([x], x.shape)[0]

    def slice(self, x: Tensor, dim: int, start, stop) -> Tensor:
        """``x[..., start:stop, ...]`` along ``dim``: a view with the same strides."""
        dim = normalize_dim(dim, x.ndim)
        shape = tuple(stop - start if i == dim else s for i, s in enumerate(x.shape))
        return self._view(x, shape, x.strides)

    def view(self, x: Tensor, shape) -> Tensor:
        """Any zero-copy reshape: view, permute, transpose, unsqueeze, squeeze, expand, slice."""
        return self._view(x, shape)

    def permute(self, x: Tensor, dims) -> Tensor:
        return self._view(x, tuple(x.shape[d] for d in dims), tuple(x.strides[d] for d in dims))

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
                self.degenerate = True
            return self._view(x, shape, strides)
        self._count(pointwise.copy(x.shape))
        copy = self._alloc([x], x.shape)[0]
        return self._view(copy, shape, contiguous_strides(shape))

    def unfold(self, x: Tensor, dim: int, size, step) -> Tensor:
        """``x.unfold(dim, size, step)``: windows of ``size`` every ``step`` along ``dim`` (a new last
        dim); a view."""
        dim = normalize_dim(dim, x.ndim)
        count = sympy.floor(sympy.cancel(sympy.sympify(x.shape[dim] - size) / step)) + 1
        shape = (*x.shape[:dim], count, *x.shape[dim + 1:], size)
        strides = (*x.strides[:dim], None if x.strides[dim] is None else x.strides[dim] * step,
                   *x.strides[dim + 1:], x.strides[dim])
        return self._view(x, shape, strides)

    def pad(self, x: Tensor, pads) -> Tensor:
        """F.pad with a constant (aten.constant_pad_nd): ``pads`` are (before, after) pairs starting
        from the last dim; every output element is written."""
        shape = list(x.shape)
        for i in range(len(pads) // 2):
            shape[x.ndim - 1 - i] = shape[x.ndim - 1 - i] + pads[2 * i] + pads[2 * i + 1]
        self._count(pointwise.copy(shape))
        return self._alloc([x], tuple(shape))[0]

    def buffer(self, name: str, shape) -> Tensor:
        """A registered buffer used as an operand (e.g. an attention mask): a constant of the module,
        neither a parameter nor activation memory."""
        return Tensor(tuple(shape), ("buffer", name))
