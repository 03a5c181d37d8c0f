"""aten ops that cost nothing by decision (fvcore's *ignored* set, kept apart from unsupported ops).

Views and metadata change no element; allocations without writes (``empty``) do no arithmetic. Their
memory effects are still tracked by storage in the tracer. Anything neither here nor handled by a
primitive is *unsupported*: named, counted by call, and the result refuses to be produced.
"""

from __future__ import annotations

from .primitive import ZeroCost

ZERO_COST = (
    ZeroCost(("view", "_unsafe_view", "reshape", "permute", "transpose", "t", "expand", "unsqueeze", "squeeze",
              "slice", "select", "alias", "detach", "as_strided", "diagonal", "split", "split_with_sizes", "unbind",
              "lift_fresh", "flatten", "_reshape_alias", "unfold", "view_as", "expand_as", "contiguous",
              "as_strided_", "unsqueeze_",
              "squeeze_", "transpose_", "t_"),
             "views and reshapes: no element is computed (a copy, where one happens, runs as its own op)"),
    ZeroCost(("empty", "empty_strided", "new_empty", "new_empty_strided", "empty_like"),
             "allocations without writes: memory, no arithmetic"),
    ZeroCost((), "size, stride and device queries: not arithmetic on elements",
             names=("prim.device", "aten.sym_size", "aten.sym_stride", "aten.sym_numel", "aten.sym_storage_offset",
                    "aten.is_contiguous", "aten._local_scalar_dense", "aten.dim", "aten.size", "aten.stride")),
)
