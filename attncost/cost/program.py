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

from ..algebra import as_int, differ as _provably_different, exact_div as _divide, floor_div, sympy as _sympy
from ..errors import ShapeError
from ..ops import conv as products, pointwise, sampling
from ..ops.pointwise import (ADD, DIV, MUL, NORM_BATCH, NORM_GROUP, NORM_LAYER, POOL_AVG, POOL_MAX, REDUCE_MAX, RELU,
                             SIGMOID, WHERE, OpKind)
from ..ops.shapes import broadcast, conv_output_size, normalize_dim, numel, pool_output_size
from .layout import (alias_strides, contiguous_strides, expand_strides, folds, is_contiguous, is_one, same,
                     view_strides)
from .recorder import OpRecord, Recorder, Tensor
from .replay import Replays

__all__ = ["OpRecord", "Program", "Tensor"]     # OpRecord: also the tracer's record type


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _pair(value, n=2) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def _dense(shape, strides) -> bool:
    """Whether concrete ``strides`` lay ``shape`` out without gaps or overlaps in some dim order (a
    permutation of a contiguous tensor): what ``clone()`` preserves. Symbolic layouts: False."""
    sizes, steps = [as_int(s) for s in shape], [as_int(s) if s is not None else None for s in strides]
    if any(v is None for v in sizes + steps):
        return False
    expected = 1
    for size, step in sorted((p for p in zip(sizes, steps) if p[0] != 1), key=lambda p: p[1]):
        if step != expected:
            return False
        expected *= size
    return True


class Program(Recorder):
    """A recorder with the op vocabulary. ``g = Program(); x = g.input(shape); ...; g.finish(out)``."""

    def __init__(self):
        super().__init__()
        self.replays = Replays(self)

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

    def _view(self, x: Tensor, shape, strides=None) -> Tensor:
        """A view of ``x``: given strides, else those of a zero-copy reshape or expand (``alias_strides``)."""
        shape = tuple(shape)
        return self.alias(x, shape, alias_strides(x.shape, x.strides, shape) if strides is None else strides)

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
        self.count(products.conv(x.shape, w_shape, out_shape, bias))
        return self.allocate([x], out_shape)[0]

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
        if x.ndim > 2:
            self._view(x, (numel(x.shape[:-1]), in_features))
        self.param(name, in_features * out_features + (out_features if bias else 0))
        self.count(products.linear(x.shape, out_shape, bias))
        out = self.allocate([x], out_shape)[0]
        if x.ndim > 2:
            out = self._view(out, out_shape)
        return out

    def batch_norm(self, x: Tensor, affine=True, name=None) -> Tensor:
        """nn.BatchNorm1d/2d in eval mode: aten.native_batch_norm writes its output (its saved
        statistics are empty in eval mode)."""
        channels = x.shape[1]
        if affine:
            self.param(name, 2 * channels)
        self.count(pointwise.norm(NORM_BATCH, x.shape, affine))
        return self.allocate([x], x.shape)[0]

    def layer_norm(self, x: Tensor, normalized_ndim: int, affine=True, name=None) -> Tensor:
        """nn.LayerNorm over the last ``normalized_ndim`` dims; aten.native_layer_norm also writes
        mean and rstd, one element per normalised row each."""
        normalized = x.shape[x.ndim - normalized_ndim:]
        if affine:
            self.param(name, 2 * numel(normalized))
        self.count(pointwise.norm(NORM_LAYER, x.shape, affine))
        stats = (*x.shape[: x.ndim - normalized_ndim], *(1,) * normalized_ndim)
        return self.allocate([x], x.shape, stats, stats)[0]

    def group_norm(self, x: Tensor, groups, affine=True, name=None) -> Tensor:
        """nn.GroupNorm(groups, C); aten.native_group_norm also writes mean and rstd, (N, groups) each."""
        if affine:
            self.param(name, 2 * x.shape[1])
        self.count(pointwise.norm(NORM_GROUP, x.shape, affine))
        stats = (x.shape[0], groups)
        return self.allocate([x], x.shape, stats, stats)[0]

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
        self.count(products.conv(x.shape, weight.shape, out_shape, bias is not None))
        return self.allocate([x, weight] + ([bias] if bias is not None else []), out_shape)[0]

    # -- matrix products ---------------------------------------------------------------------------
    def bmm(self, a: Tensor, b: Tensor) -> Tensor:
        """torch.bmm of (B, n, m) and (B, m, p)."""
        out_shape = (a.shape[0], a.shape[1], b.shape[2])
        self.count(products.matmul(a.shape, b.shape, out_shape))
        return self.allocate([a, b], out_shape)[0]

    def mm(self, a: Tensor, b: Tensor) -> Tensor:
        """torch.mm of two activations, (n, m) and (m, p) (a parameter operand is ``linear``)."""
        out_shape = (a.shape[0], b.shape[1])
        self.count(products.matmul(a.shape, b.shape, out_shape))
        return self.allocate([a, b], out_shape)[0]

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
                return self._view(self.mm(rows, b), (*a.shape[:-1], p))
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
        return self._view(self.bmm(a3, b3), (*batch, n, p))

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
        self.count(pointwise.elementwise(op, x.shape))
        if inplace:
            self.record([x.storage], [])
            return x
        return self.allocate([x], x.shape)[0]

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
            return a
        return self.allocate(uses, out_shape)[0]

    def add(self, a, b, inplace=False):
        return self.binary(ADD, a, b, inplace)

    def mul(self, a, b, inplace=False):
        return self.binary(MUL, a, b, inplace)

    def div(self, a, b, inplace=False):
        return self.binary(DIV, a, b, inplace)

    def softmax(self, x: Tensor, dim: int) -> Tensor:
        self.count(pointwise.softmax(x.shape))
        return self.allocate([x], x.shape)[0]

    # -- reductions and pooling --------------------------------------------------------------------
    def reduce(self, op: OpKind, x: Tensor, dims, keepdim=False) -> Tensor:
        """mean / sum / amax (``ops.pointwise.REDUCE_MEAN``, ...) over ``dims``."""
        dims = {normalize_dim(d, x.ndim) for d in _pair(dims, 1)}
        out_shape = tuple(1 if i in dims else s for i, s in enumerate(x.shape) if keepdim or i not in dims)
        self.count(pointwise.reduce(op, x.shape))
        return self.allocate([x], out_shape)[0]

    def max_dim(self, x: Tensor, dim: int, keepdim=False) -> Tensor:
        """torch.max(x, dim): writes values and int64 indices."""
        dim = normalize_dim(dim, x.ndim)
        out_shape = tuple(1 if i == dim else s for i, s in enumerate(x.shape) if keepdim or i != dim)
        self.count(pointwise.reduce(REDUCE_MAX, x.shape))
        return self.allocate([x], out_shape, out_shape)[0]

    def global_avg_pool(self, x: Tensor) -> Tensor:
        """adaptive_avg_pool2d(x, 1): aten runs it as a mean over H and W with keepdim."""
        self.count(pointwise.global_avg_pool(x.shape))
        return self.allocate([x], (*x.shape[:2], 1, 1))[0]

    def _pool_shape(self, x, kernel, stride, padding, dilation=1, ceil_mode=False):
        kernel, stride, padding, dilation = (_pair(v) for v in (kernel, stride if stride else kernel, padding, dilation))
        out_spatial = tuple(pool_output_size(s, k, st, p, d, ceil_mode)
                            for s, k, st, p, d in zip(x.shape[2:], kernel, stride, padding, dilation))
        return kernel, (*x.shape[:2], *out_spatial)

    def max_pool2d(self, x: Tensor, kernel, stride=None, padding=0, dilation=1, ceil_mode=False) -> Tensor:
        """F.max_pool2d: aten.max_pool2d_with_indices writes the output and its int64 indices."""
        kernel, out_shape = self._pool_shape(x, kernel, stride, padding, dilation, ceil_mode)
        self.count(pointwise.pool(POOL_MAX, out_shape, kernel))
        return self.allocate([x], out_shape, out_shape)[0]

    def avg_pool2d(self, x: Tensor, kernel, stride=None, padding=0, ceil_mode=False) -> Tensor:
        kernel, out_shape = self._pool_shape(x, kernel, stride, padding, 1, ceil_mode)
        self.count(pointwise.pool(POOL_AVG, out_shape, kernel))
        return self.allocate([x], out_shape)[0]

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
        return self.allocate([x], out_shape)[0]

    def interpolate(self, x: Tensor, size, mode="nearest") -> Tensor:
        out_shape = (*x.shape[:2], *_pair(size))
        self.count(pointwise.interpolate(mode, out_shape))
        return self.allocate([x], out_shape)[0]

    def affine_grid(self, theta: Tensor, size) -> Tensor:
        """F.affine_grid(theta (N, 2, 3), size (N, C, H, W)) -> sampling grid (N, H, W, 2)."""
        out_shape = (size[0], size[2], size[3], 2)
        self.count(sampling.affine_grid(theta.shape, out_shape))
        return self.allocate([theta], out_shape)[0]

    def grid_sample(self, x: Tensor, grid: Tensor, mode="bilinear") -> Tensor:
        """F.grid_sample(x (N, C, H, W), grid (N, Ho, Wo, 2)) -> (N, C, Ho, Wo)."""
        out_shape = (*x.shape[:2], *grid.shape[1:3])
        self.count(sampling.grid_sample(mode, out_shape))
        return self.allocate([x, grid], out_shape)[0]

    # -- data movement -----------------------------------------------------------------------------
    def cat(self, tensors, dim: int) -> Tensor:
        dim = normalize_dim(dim, tensors[0].ndim)
        out_shape = list(tensors[0].shape)
        out_shape[dim] = sum((t.shape[dim] for t in tensors), 0)
        self.count(pointwise.copy(out_shape))
        return self.allocate(tensors, tuple(out_shape))[0]

    def repeat(self, x: Tensor, reps) -> Tensor:
        out_shape = tuple(s * r for s, r in zip(x.shape, reps))
        self.count(pointwise.copy(out_shape))
        return self.allocate([x], out_shape)[0]

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
        return self.allocate([x], x.shape)[0]

    def slice(self, x: Tensor, dim: int, start, stop) -> Tensor:
        """``x[..., start:stop, ...]`` along ``dim``: a view with the same strides."""
        dim = normalize_dim(dim, x.ndim)
        shape = tuple(stop - start if i == dim else s for i, s in enumerate(x.shape))
        return self._view(x, shape, x.strides)

    def view(self, x: Tensor, shape) -> Tensor:
        """Any zero-copy reshape: view, permute, transpose, unsqueeze, squeeze, expand, slice."""
        return self._view(x, shape)

    def expand(self, x: Tensor, shape) -> Tensor:
        """``x.expand(shape)``: new leading dims and stretched dims of size 1 get stride 0; a view."""
        shape = tuple(shape)
        return self._view(x, shape, expand_strides(x.shape, x.strides, shape))

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
        return [Tensor(shape, x.storage, strides) for _ in range(x.shape[dim])]

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
                self.mark_degenerate(f"a dim of size 1 makes the reshape {x.shape} -> {shape} a view")
            return self._view(x, shape, strides)
        self.count(pointwise.copy(x.shape))
        copy = self.allocate([x], x.shape)[0]
        return self._view(copy, shape, contiguous_strides(shape))

    def unfold(self, x: Tensor, dim: int, size, step) -> Tensor:
        """``x.unfold(dim, size, step)``: windows of ``size`` every ``step`` along ``dim`` (a new last
        dim); a view."""
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
        return self._view(x, shape, strides)

    def pad(self, x: Tensor, pads) -> Tensor:
        """F.pad with a constant (aten.constant_pad_nd): ``pads`` are (before, after) pairs starting
        from the last dim; every output element is written. Where every pad is 0, ATen returns
        ``x.clone()``, which keeps the layout of a dense ``x`` (a permuted view stays permuted);
        otherwise the output is contiguous."""
        shape = list(x.shape)
        for i in range(len(pads) // 2):
            shape[x.ndim - 1 - i] = shape[x.ndim - 1 - i] + pads[2 * i] + pads[2 * i + 1]
        self.count(pointwise.copy(shape))
        out = self.allocate([x], tuple(shape))[0]
        if all(as_int(p) == 0 for p in pads) and _dense(x.shape, x.strides):
            out = Tensor(out.shape, out.storage, tuple(x.strides))
        return out

    def roll(self, x: Tensor, shifts, dims) -> Tensor:
        """torch.roll (aten.roll, one op for any number of dims): a contiguous copy with the same shape
        (Swin's cyclic shift); the shifts do not change what is counted."""
        self.count(pointwise.copy(x.shape))
        return self.allocate([x], x.shape)[0]

    def index(self, x: Tensor, index: Tensor) -> Tensor:
        """``x[index]`` with one integer index tensor on dim 0 (aten.index): a gather of
        ``(*index.shape, *x.shape[1:])`` elements, written contiguous (Swin's relative position bias
        ``table[index.view(-1)]``)."""
        out_shape = (*index.shape, *x.shape[1:])
        self.count(pointwise.copy(out_shape))
        return self.allocate([x, index], out_shape)[0]

    def index_select(self, x: Tensor, dim: int, index: Tensor) -> Tensor:
        """torch.index_select(x, dim, index) with a 1-D index (aten.index_select): a contiguous gather
        (Axial-DeepLab's relative embeddings)."""
        dim = normalize_dim(dim, x.ndim)
        out_shape = tuple(index.shape[0] if i == dim else s for i, s in enumerate(x.shape))
        self.count(pointwise.copy(out_shape))
        return self.allocate([x, index], out_shape)[0]

    # -- indexing as Swin's torchvision forward runs it (networks/swin.py) -------------------------
    def select(self, x: Tensor, dim: int, index) -> Tensor:
        """``x[index]`` along ``dim`` (aten.select, e.g. torchvision Swin's ``q, k, v = qkv[0], qkv[1],
        qkv[2]``): a view without that dim."""
        dim = normalize_dim(dim, x.ndim)
        return self._view(x, (*x.shape[:dim], *x.shape[dim + 1:]), (*x.strides[:dim], *x.strides[dim + 1:]))

    def slice_step(self, x: Tensor, dim: int, start, step) -> Tensor:
        """``x[..., start::step, ...]`` along ``dim`` (aten.slice with a step; 0 <= start): a view of
        ceil((size - start) / step) elements, its stride ``step`` times the dim's (Swin's patch merging
        ``x[..., 0::2, 1::2, :]``)."""
        from ..algebra import ceil_div

        dim = normalize_dim(dim, x.ndim)
        size = ceil_div(x.shape[dim] - start, step)
        shape = tuple(size if i == dim else s for i, s in enumerate(x.shape))
        stride = None if x.strides[dim] is None else x.strides[dim] * step
        return self._view(x, shape, (*x.strides[:dim], stride, *x.strides[dim + 1:]))

    def setitem_scalar(self, x: Tensor, index) -> Tensor:
        """``x[index] = number`` (Tensor.__setitem__ with a Python number), ``index`` one Python slice
        (step 1, any bounds) per leading dim, as PyTorch runs it: the number becomes a 0-dim tensor
        (aten.lift_fresh: a fresh one-element storage), each slice a view (aten.slice) unless it starts
        at 0 and stops at or past the end (PyTorch skips those), then aten.fill_ writes the view's
        elements in place. Concrete sizes only; returns ``x``."""
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
