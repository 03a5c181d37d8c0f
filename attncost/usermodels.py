"""Users' own models: count every op of an ``nn.Module`` and build the same graph as for the
reference networks (imports torch).

By default the model runs eagerly under the CostTracer, and each aten op gets the scope of the module
running it from forward pre/post hooks registered for the analysis and removed after it (the user's
modules are never modified). ``method="fx"`` instead traces the model with torch.fx (catalogue
reference modules and torch.nn layers as leaves) and interprets the graph node by node. fx is not
the default because it is not faithful for memory: a Proxy has no ``__iadd__``, so ``out += identity``
is recorded as an out-of-place add, one more allocation per residual block than the real forward; op
counts are the same either way. Where fx cannot trace the model (data-dependent control flow) it
falls back to eager execution. Unknown aten ops are reported by name and scope, never counted as 0.

What counts as attention (the ``attention_share`` and the attention map): every op run inside

- a catalogue reference module (its kind is the entry's name),
- an ``nn.MultiheadAttention`` (kind ``nn.MultiheadAttention``), at any module path,
- a module the user marks: by class (``attention=(MyBlock,)``, subclasses included) or by module
  path pattern (``attention_modules=("blocks.*.attn",)``, fnmatch; the CLI's ``--attention-modules``),
  its kind being its class name;

and, outside those, every op of a recognised attention computation:

- a fused attention op (``mac.attention`` in :mod:`attncost.ops.attention`: SDPA's kernels and
  ``_native_multi_head_attention``; kind: the primitive's name), and the self-attention part of a
  fused ``_transformer_encoder_layer_fwd`` (what ``_native_multi_head_attention`` would count: its
  record is split in two; the feed-forward, norms and residual adds are not attention, as in the
  layer's unfused train-mode forward);
- a softmax whose output (through views and shape-keeping ops such as dropout, masks, casts and
  copies) feeds a matrix product of two activations (``mac.matmul``: bmm, mm), together with that
  product and, back from the softmax through shape-keeping ops (scale, mask, bias), the product that
  made its logits (kind ``softmax-matmul``). The projections around it are attention only inside an
  attention module as above.

The attention map (``attention_map_elements``, the largest one) takes, besides the maps catalogue
modules mark, each such softmax's output elements and, for a fused op, the logical B·H·L·S map it
computes (its softmax count) even though its kernel never materialises it.

Inputs are tensors or shapes of any rank, several of them for a model taking several arguments, in a
chosen dtype (:func:`analyze`). The model is counted in eval mode by default, or in train mode
(dropout, batch-norm statistics), and every module's mode is put back afterwards; parameters and
buffers are swapped in with ``torch.func.functional_call`` (buffers as clones: a train-mode forward
updates batch-norm statistics, never the user's), and torch's global RNG is forked, not consumed.

``fake=True`` counts on FakeTensors (``FakeTensorMode`` with the parameters converted): shapes,
strides and storages are tracked but nothing is allocated or computed, so a huge input costs what a
small one does, with the numbers a real run gives. It is the automatic choice above
:data:`FAKE_THRESHOLD` input elements; a model FakeTensors cannot run (data-dependent control flow)
then falls back to real tensors. :func:`formula` runs on FakeTensors with symbolic sizes (torch's
ShapeEnv, :mod:`attncost.trace.symbolic`): params, op counts and memory as expressions in the shape's
letters.
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib.util
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import sympy
import torch
import torch.fx
from torch.utils._pytree import tree_flatten

from .cost.program import OpRecord
from .cost.symbolic import exact_max
from .errors import AttncostError, ShapeError, elide
from .graph.walker import WalkResult
from .ops.attention import MAC_ATTENTION, native_multi_head_attention
from .ops.conv import MAC_MATMUL
from .ops.pointwise import SOFTMAX_KIND
from .reference import REFERENCES
from .shapes import DTYPE_BYTES, FLOAT_DTYPES, INPUT_DTYPES, MAX_SIZE, MODES, check_elements, format_inputs
from .trace.fake_log import quiet_fake_tensor_log
from .trace.handlers import PRIMITIVE_OF
from .trace.tracer import CostTracer, _storage_key

#: inputs with more elements than this (all inputs together) are counted on FakeTensors by default:
#: 2^20, 4 MiB of float32, e.g. above 3x591x591
FAKE_THRESHOLD = 2 ** 20
#: the most input elements (all inputs together) counted on real tensors (``fake=False``, or where
#: FakeTensors fail): 2^28, 1 GiB of float32 inputs, whose activations are allocated and computed for
#: real; above it only FakeTensors count (no allocation)
REAL_MAX_ELEMENTS = 2 ** 28

MHA_KIND = "nn.MultiheadAttention"
DETECTED_KIND = "softmax-matmul"
_SOFTMAX = {torch.ops.aten._softmax, torch.ops.aten.softmax, torch.ops.aten._safe_softmax}
_ENCODER_LAYER = torch.ops.aten._transformer_encoder_layer_fwd
_CHAIN_HOPS = 4                # shape-keeping ops followed from a softmax to the products around it


class ModelRunError(AttncostError):
    """The user's model could not be run on the inputs given (the message says why)."""


@dataclass
class Analysis:
    """A user model's walked cost, how it was traced, and what could not be counted."""

    network: WalkResult
    method: str                                   # "eager hooks", "torch.fx", "eager hooks (fx failed: ...)"
    unsupported: dict = field(default_factory=dict)   # aten op -> (calls, first scope)
    inputs: tuple = ()                            # ((shape, dtype), ...) as counted
    fake: bool = False                            # counted on FakeTensors
    mode: str = "eval"                            # "eval", "train" or "as given"
    dtype: str = "float32"                        # what memory in bytes assumes per element
    specialised: dict = field(default_factory=dict)   # formula: symbol -> the value torch fixed it to
    guards: list = field(default_factory=list)        # formula: conditions on the sizes it holds under
    modules: dict = field(default_factory=dict)       # scope -> (module path, class name): module_names
    hints: dict = field(default_factory=dict)         # formula: symbol -> the size it was traced at

    def module_name(self, scope: str) -> str:
        """A tracer scope as the tracer names it ("layer1/0/attention:se") -> the module's path
        ("layer1.0.se"); unknown scopes are returned as they are."""
        for key, (name, _) in self.modules.items():
            if key and "/".join(key) == scope:
                return name
        return scope

    @property
    def equalities(self) -> list:
        """The guards that pin the sizes to an equation (``H*W = 40``: the forward took a branch that
        holds only there), where the formula is exact only on that equation."""
        return [g for g in self.guards if isinstance(g, sympy.Eq)]

    @property
    def bytes_per_element(self) -> int:
        return DTYPE_BYTES.get(self.dtype, 4)

    def memory_bytes(self) -> dict:
        """Activation, peak and attention-map memory in bytes (elements x the dtype's size)."""
        total, size = self.network.total, self.bytes_per_element
        return {"activation_bytes": total.activation_elements * size, "peak_bytes": total.peak_live_elements * size,
                "attention_map_bytes": total.attention_map_elements * size}


# -- what counts as attention ------------------------------------------------------------------------

def _catalogue_types() -> dict:
    return {cls: name for name, cls in REFERENCES.items()}


@dataclass(frozen=True)
class AttentionRules:
    """Which modules are attention: catalogue types (exact type -> kind), classes (isinstance) and
    module-path patterns (fnmatch), the last two named by the module's class."""

    kinds: dict
    classes: tuple = ()
    patterns: tuple = ()

    def kind(self, module, path: str):
        kind = self.kinds.get(type(module))
        if kind is None and isinstance(module, torch.nn.MultiheadAttention):
            kind = MHA_KIND
        if kind is None and self.classes and isinstance(module, self.classes):
            kind = type(module).__name__
        if kind is None and any(fnmatch.fnmatchcase(path, p) for p in self.patterns):
            kind = type(module).__name__
        return kind


def attention_rules(attention=(), attention_modules=()) -> AttentionRules:
    classes = (attention,) if isinstance(attention, type) else tuple(attention or ())
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
            raise AttncostError(f"attention={cls!r}: give nn.Module classes, e.g. attention=(MyBlock,)")
    patterns = (attention_modules,) if isinstance(attention_modules, str) else tuple(attention_modules or ())
    return AttentionRules(_catalogue_types(), classes, tuple(p for p in patterns if p))


def _scope(root, path: str, rules) -> tuple:
    """("layer1", "0", "attention:se") for module path layer1.0.se if it is a catalogue SE."""
    if isinstance(rules, dict):                       # a bare {type: kind} table
        rules = AttentionRules(rules)
    parts, module, scope = path.split(".") if path else [], root, []
    for i, part in enumerate(parts):
        module = getattr(module, part, None)
        kind = rules.kind(module, ".".join(parts[:i + 1])) if module is not None else None
        scope.append(f"attention:{kind}" if kind else part)
    return tuple(scope)


def _module_scopes(root, rules) -> dict:
    """module -> its scope, for every module under ``root`` (computed once, not per call): one pass,
    each scope its parent's plus one part (named_modules lists a parent before its children)."""
    by_path, scopes = {"": ()}, {}
    for path, module in root.named_modules():
        if path:
            parent, _, part = path.rpartition(".")
            kind = rules.kind(module, path)
            by_path[path] = by_path[parent] + (f"attention:{kind}" if kind else part,)
        scopes[module] = by_path[path]
    _check_patterns_match(rules, [path for path in by_path if path])
    return scopes


def _check_patterns_match(rules, paths: list) -> None:
    """An ``attention_modules`` pattern that names no module of the model would mark nothing as
    attention (its share 0 %): an error that lists a few module names, like ``--checkpoint``'s."""
    patterns = getattr(rules, "patterns", ())
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(path, pattern) for path in paths):
            examples = ", ".join(paths[:3]) or "none"
            raise AttncostError(f"attention modules {pattern!r} match no module of the model (its modules: "
                                f"{examples}, ...)")


class _LeafTracer(torch.fx.Tracer):
    """Keeps catalogue reference modules whole, so their ops are labelled with the module."""

    def __init__(self, leaves: tuple):
        super().__init__()
        self._leaves = leaves

    def is_leaf_module(self, m, qualname):
        return isinstance(m, self._leaves) or super().is_leaf_module(m, qualname)


class _ScopedInterpreter(torch.fx.Interpreter):
    def __init__(self, module, tracer: CostTracer, rules):
        super().__init__(module)
        self._tracer = tracer
        self._rules = rules

    def run_node(self, n):
        previous = self._tracer.scope
        if n.op == "call_module":
            self._tracer.scope = _scope(self.module, str(n.target), self._rules)
        else:
            stack = n.meta.get("nn_module_stack") or {}
            self._tracer.scope = _scope(self.module, list(stack)[-1], self._rules) if stack else ()
        try:
            return super().run_node(n)
        finally:
            self._tracer.scope = previous


class _Interpret(torch.nn.Module):
    """Runs an fx graph through the scoped interpreter, so functional_call can swap its tensors."""

    def __init__(self, graph_module, tracer, rules):
        super().__init__()
        self.gm = graph_module
        self._run = lambda *args: _ScopedInterpreter(graph_module, tracer, rules).run(*args)

    def forward(self, *args):
        return self._run(*args)


class _UserTracer(CostTracer):
    """The CostTracer, noting what attention recognition needs that records do not keep: the
    self-attention share of each fused encoder layer."""

    def __init__(self, size_to_expr=None):
        super().__init__(None, size_to_expr)
        self.encoder_attention: dict = {}             # record index -> counts of its attention part
        self.marked_maps: list = []                   # (scope, elements) of each map a module marks

    def _on_attention_map(self, t) -> None:
        super()._on_attention_map(t)
        self.marked_maps.append((self.scope, self.numel(t)))

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = super().__torch_dispatch__(func, types, args, kwargs)
        if func.overloadpacket is _ENCODER_LAYER:
            kwargs = kwargs or {}
            mask = kwargs.get("mask", args[18] if len(args) > 18 else None)
            self.encoder_attention[len(self.records) - 1] = native_multi_head_attention(
                self.shape(args[0]), int(args[2]), packed=True, mask=isinstance(mask, torch.Tensor),
                need_weights=False, average_weights=False)
        return out


def _recognise_attention(tracer: _UserTracer) -> tuple[list, list]:
    """(records with recognised attention scoped ``attention:<kind>``, (scope, elements) of each
    attention map found)."""
    records, funcs = list(tracer.records), tracer.funcs
    maps = []
    kinds: dict = {}                                   # record index -> kind
    producer, consumers = {}, {}
    for rec in records:
        for key in rec.uses:
            consumers.setdefault(key, []).append(rec.index)
        for key, _ in rec.allocations:
            producer[key] = rec.index
    for rec in records:
        if MAC_ATTENTION.name in rec.counts:
            primitive = PRIMITIVE_OF.get(funcs[rec.index].overloadpacket)
            if rec.index not in tracer.encoder_attention:
                kinds[rec.index] = primitive.name if primitive is not None else "fused-attention"
            maps.append((rec.index, rec.counts.get(SOFTMAX_KIND.name, 0)))
        elif funcs[rec.index].overloadpacket in _SOFTMAX and len(rec.allocations) == 1:
            chain = _softmax_chain(rec, records, producer, consumers)
            if chain:
                maps.append((rec.index, rec.allocations[0][1]))
                for index in chain:
                    kinds.setdefault(index, DETECTED_KIND)
    out, scope_of = [], {}
    for rec in records:
        inside = any(s.startswith("attention:") for s in rec.scope)
        if rec.index in tracer.encoder_attention:
            part = tracer.encoder_attention[rec.index]
            rest = {k: v - part.get(k, 0) for k, v in rec.counts.items() if v - part.get(k, 0) != 0}
            scope = rec.scope if inside else rec.scope + (f"attention:{MHA_KIND}",)
            out.append(OpRecord(-1, scope, part, 0, rec.uses, ()))
            out.append(rec._replace(index=-1, counts=rest))
        elif rec.index in kinds and not inside:
            out.append(rec._replace(index=-1, scope=rec.scope + (f"attention:{kinds[rec.index]}",)))
        else:
            out.append(rec._replace(index=-1))
        scope_of[rec.index] = out[-1].scope
    return [rec._replace(index=i) for i, rec in enumerate(out)], [(scope_of[i], n) for i, n in maps]


def _softmax_chain(softmax, records, producer, consumers) -> list:
    """Indices of the attention computation around ``softmax`` if its output feeds a matmul of two
    activations (through up to _CHAIN_HOPS shape-keeping ops): the softmax, the ops and product after
    it and, back from it, shape-keeping ops up to the product that made its logits. [] otherwise."""
    key, size = softmax.allocations[0]
    forward, frontier, found = [], [key], False
    for _ in range(_CHAIN_HOPS + 1):
        following = []
        for storage in frontier:
            for index in consumers.get(storage, ()):
                if index <= softmax.index:
                    continue
                rec = records[index]
                if MAC_MATMUL.name in rec.counts:
                    forward.append(index)
                    found = True
                elif len(rec.allocations) == 1 and rec.allocations[0][1] == size and rec.counts:
                    forward.append(index)
                    following.append(rec.allocations[0][0])
        if found or not following:
            break
        frontier = following
    if not found:
        return []
    kept_forward = [i for i in forward if MAC_MATMUL.name in records[i].counts or _leads_to_matmul(i, records, consumers)]
    backward, current = [], softmax
    for _ in range(_CHAIN_HOPS + 1):
        sources = [producer[k] for k in current.uses if k in producer and producer[k] < current.index]
        same = [i for i in sources if any(n == size for _, n in records[i].allocations)]
        product = [i for i in same if MAC_MATMUL.name in records[i].counts]
        if product:
            backward.extend(product[:1])
            break
        if not same or not records[same[0]].counts:
            backward = []                               # not from a product: only the softmax onwards
            break
        backward.append(same[0])
        current = records[same[0]]
    else:
        backward = []
    return [softmax.index] + kept_forward + backward


def _leads_to_matmul(index, records, consumers, hops=_CHAIN_HOPS) -> bool:
    for key, _ in records[index].allocations:
        for following in consumers.get(key, ()):
            if following <= index:
                continue
            if MAC_MATMUL.name in records[following].counts:
                return True
            if hops and _leads_to_matmul(following, records, consumers, hops - 1):
                return True
    return False


# -- inputs --------------------------------------------------------------------------------------------

def _torch_dtype(name):
    if isinstance(name, torch.dtype):
        return name
    if name not in INPUT_DTYPES:
        raise AttncostError(f"dtype {name!r} must be one of {', '.join(INPUT_DTYPES)}")
    return getattr(torch, name)


def _dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def _is_shape(value) -> bool:
    return isinstance(value, (tuple, list, torch.Size)) and len(value) > 0 and all(
        isinstance(v, (int, sympy.Basic)) and not isinstance(v, bool) for v in value)


class InputShape(NamedTuple):
    """An input given by its shape: sizes (ints or sympy symbols), dtype name or None (the default),
    and whether a batch of 1 was put in front of a 3-dim CxHxW shape."""

    shape: tuple
    dtype: str | None = None
    added_batch: bool = False


def _shape_spec(shape, dtype, exact_shape) -> InputShape:
    shape = tuple(int(v) if isinstance(v, int) else v for v in shape)
    if any(isinstance(v, int) and v <= 0 for v in shape):
        raise ShapeError(f"input shape {shape}: sizes must be positive")
    if any(isinstance(v, int) and v > MAX_SIZE for v in shape):
        raise ShapeError(f"input shape {shape}: sizes must be at most {MAX_SIZE} (2^31)")
    check_elements(shape, "x".join(map(str, shape)))
    if len(shape) == 3 and not exact_shape:
        return InputShape((1,) + shape, dtype, True)
    return InputShape(shape, dtype)


def input_specs(inputs, exact_shape: bool = False) -> list:
    """``inputs`` as a list of tensors and :class:`InputShape`\\ s, one per positional argument.

    One input: a tensor, a shape (a tuple of sizes) or a (shape, dtype) pair; a 3-dim shape is CxHxW
    with a batch of 1 (as every attncost shape), unless ``exact_shape``. Several inputs: a list (or
    tuple) of those, one per argument, each shape taken as written. A string is read as the CLI's
    ``--shape`` (``3x224x224``; ``1x3x224x224,1x77:int64``: commas separate inputs, as written)."""
    from .shapes import parse_inputs

    if inputs is None:
        raise ShapeError("give the model's inputs: a tensor, a shape such as (1, 3, 224, 224), or a list of them")
    if isinstance(inputs, str):
        parsed = parse_inputs(inputs, True, exact=True)
        exact = exact_shape or len(parsed) > 1
        return [_shape_spec(shape, dtype, exact) for shape, dtype in parsed]
    if isinstance(inputs, (torch.Tensor, InputShape)) or _is_shape(inputs) or _is_shape_dtype(inputs):
        inputs, exact = [inputs], exact_shape
    else:
        exact = True
    specs = []
    for item in inputs:
        if isinstance(item, (torch.Tensor, InputShape)):
            specs.append(item)
        elif _is_shape(item):
            specs.append(_shape_spec(item, None, exact))
        elif _is_shape_dtype(item):
            specs.append(_shape_spec(item[0], _dtype_name(_torch_dtype(item[1])), exact))
        elif item is inputs[0] and isinstance(inputs, (tuple, list)) and all(
                isinstance(v, (int, float)) or hasattr(v, "__index__") for v in inputs):
            raise ShapeError(f"input shape {tuple(inputs)!r}: sizes must be ints (not floats, bools or numpy "
                             "scalars), e.g. (3, 224, 224)")
        else:
            raise ShapeError(f"input {item!r} is neither a tensor nor a shape")
    if not specs:
        raise ShapeError("give the model's inputs: an empty list has none")
    return specs


def _is_shape_dtype(item) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and _is_shape(item[0]) and isinstance(item[1], (str, torch.dtype))


def _require_real(specs, why: str = "") -> None:
    """Real tensors for inputs of at most :data:`REAL_MAX_ELEMENTS` elements, else a ShapeError."""
    elements = sum(_spec_elements(s) for s in specs)
    if elements > REAL_MAX_ELEMENTS:
        raise ShapeError(f"inputs {format_inputs(_described(specs))} have {elements:,} elements: {why}real tensors "
                         f"are allocated only up to {REAL_MAX_ELEMENTS:,} (2^28); count them on FakeTensors "
                         "(fake=True, --fake)")


def _spec_elements(spec):
    shape = spec.shape
    n = 1
    for s in shape:
        n = n * s
    return n


def _materialise(spec, dtype, fake_mode, symbolic=None, default=torch.float32):
    """One input as a tensor: a real one (random floats, zero integers: valid indices), a FakeTensor,
    or a FakeTensor with symbolic sizes (``symbolic``: its shape with ints for the hints). A shape
    without a dtype of its own is made in ``dtype``, else in ``default`` (the model's)."""
    if isinstance(spec, torch.Tensor):
        t = spec.detach()
        if t.is_inference():                          # made under inference mode: a normal copy
            t = t.clone()
        if dtype is not None and t.is_floating_point() and t.dtype != dtype:
            t = t.to(dtype)
        if fake_mode is not None:
            t = fake_mode.from_tensor(t, static_shapes=True)
        return t
    shape, own = spec.shape, spec.dtype
    kind = _torch_dtype(own) if own else (dtype or default)
    if symbolic is not None:
        return symbolic(shape, kind)
    if fake_mode is not None:
        with fake_mode:
            return torch.empty(shape, dtype=kind)
    if kind.is_floating_point:
        return torch.randn(shape, dtype=kind)
    return torch.zeros(shape, dtype=kind)


# -- running the model ---------------------------------------------------------------------------------

def _unwrap(model):
    """The module to count: a ``torch.compile``d module's original (``_orig_mod``)."""
    while hasattr(model, "_orig_mod") and isinstance(model._orig_mod, torch.nn.Module):
        model = model._orig_mod
    if not isinstance(model, torch.nn.Module):
        raise AttncostError(f"analyze counts an nn.Module, not {type(model).__name__}")
    return model


def model_name(model) -> str | None:
    """What errors call ``model`` by (the Python API's ``Linear: the forward on ... failed``): the
    class of the module counted (a ``torch.compile``d module's original); None for a non-module,
    whose error says what it is."""
    while hasattr(model, "_orig_mod") and isinstance(model._orig_mod, torch.nn.Module):
        model = model._orig_mod
    return type(model).__name__ if isinstance(model, torch.nn.Module) else None


def _swapped_tensors(root, fake_mode, dtype, replacements: dict):
    """{name: tensor} for every parameter and buffer of ``root`` (every name of a tied tensor), with
    parameters converted (to ``dtype``, to FakeTensors) where asked and buffers always copied, and
    the (parameters, buffers) lists of the tensors used. ``replacements`` (id -> tensor) is shared so
    that a graph module and its root get the same copies."""
    named, params, buffers = {}, [], []
    for group, out in ((root.named_parameters(remove_duplicate=False), params),
                       (root.named_buffers(remove_duplicate=False), buffers)):
        for name, t in group:
            new = replacements.get(id(t))
            if new is None:
                new = t.detach()
                if dtype is not None and new.is_floating_point() and new.dtype != dtype:
                    new = new.to(dtype)
                if fake_mode is not None:
                    new = fake_mode.from_tensor(new, static_shapes=True)
                elif out is buffers:
                    new = new.clone()                 # the forward may update it (batch-norm statistics)
                replacements[id(t)] = new
                out.append(new)
            named[name] = new
    return named, params, buffers


@contextlib.contextmanager
def _in_mode(model, mode):
    """Every module in ``mode`` ("eval", "train"; None: as given) for the analysis, then as before."""
    if mode not in (*MODES, None):
        raise AttncostError(f"mode {mode!r} must be 'eval', 'train' or None (as given)")
    before = [(m, m.training) for m in model.modules()]
    wanted = mode == "train"
    try:
        if mode is not None and any(training != wanted for _, training in before):
            model.train(wanted)            # the model's own train() (it may keep some layers frozen)
        yield
    finally:
        for module, training in before:
            module.training = training


def _outside_inference_mode():
    """Inference mode skips autograd's decompositions, so the tracer would see conv2d, linear and
    matmul instead of the aten ops it counts: the analysis runs outside it (under no_grad)."""
    return torch.inference_mode(False)


def _run_with_hooks(model, args, tracer: CostTracer, scopes: dict, tensors: dict):
    stack = []

    def pre(module, _args):
        scope = scopes.get(module)
        if scope is not None:
            stack.append(tracer.scope)
            tracer.scope = scope

    def post(module, _args, _output):
        if module in scopes and stack:
            tracer.scope = stack.pop()

    handles = [torch.nn.modules.module.register_module_forward_pre_hook(pre),
               torch.nn.modules.module.register_module_forward_hook(post)]
    try:
        return torch.func.functional_call(model, tensors, tuple(args), strict=False)
    finally:
        for handle in handles:
            handle.remove()


def _parameter_records(model, scopes: dict) -> list:
    """One record per module holding its own parameters, so breakdowns can sum parameters by scope."""
    records, seen = [], set()
    for _path, module in model.named_modules():
        own = 0
        for p in module.parameters(recurse=False):
            if id(p) not in seen:                    # a tied parameter counts once, where first met
                seen.add(id(p))
                own += p.numel()
        if own:
            records.append(OpRecord(-1 - len(records), scopes[module], {}, own, (), ()))
    return records


def module_names(model, rules=None, scopes: dict | None = None) -> dict:
    """scope -> (module path, class name) for every module of ``model`` (the root: ``()`` -> ("",
    its class)), for the per-module table (:func:`attncost.graph.modules.module_table`). Catalogue
    modules of one kind side by side under one parent share a scope (``attention:se``): their row
    names both paths, joined by "+". ``scopes``: :func:`_module_scopes`, if already made."""
    rules = rules if rules is not None else attention_rules()
    scopes = scopes if scopes is not None else _module_scopes(model, rules)
    names: dict = {}
    for path, module in model.named_modules():
        scope = scopes[module]
        if scope in names:
            name, kind = names[scope]
            names[scope] = (f"{name}+{path}", kind if kind == type(module).__name__ else f"{kind}+{type(module).__name__}")
        else:
            names[scope] = (path, type(module).__name__)
    return names


class _Counted(NamedTuple):
    network: WalkResult
    method: str
    unsupported: dict
    modules: dict                                  # scope -> (module path, class name)


def _count(model, specs, *, method, rules, mode, dtype, fake_mode=None, size_to_expr=None, symbolic=None):
    """One traced forward of ``model`` on ``specs``."""
    with _in_mode(model, mode):
        graph_module = None
        if method == "fx":
            try:
                graph_module = torch.fx.GraphModule(model, _LeafTracer(tuple(rules.kinds)).trace(model))
                method = "torch.fx"
            except Exception as error:  # fx cannot trace arbitrary Python: fall back to eager execution
                method = f"eager hooks (torch.fx failed: {type(error).__name__})"
        elif method == "eager":
            method = "eager hooks"
        else:
            raise AttncostError(f"method {method!r} must be 'eager' or 'fx'")
        scopes = _module_scopes(model, rules)
        tracer = _UserTracer(size_to_expr)
        replacements: dict = {}
        named, params, buffers = _swapped_tensors(model, fake_mode, dtype, replacements)
        tracer.add_parameters(params, buffers)
        default = _model_dtype(model)
        args = [_materialise(spec, dtype, fake_mode, symbolic, default) for spec in specs]
        inputs = {}
        for x in args:
            tracer.add_input(x)
            inputs[_storage_key(x)] = tracer.numel(x)
        if graph_module is not None:
            runner = _Interpret(graph_module, tracer, rules)
            gm_named = {f"gm.{k}": v for k, v in _swapped_tensors(graph_module, fake_mode, dtype, replacements)[0].items()}
        fake = fake_mode if fake_mode is not None else contextlib.nullcontext()
        with torch.no_grad(), fake, tracer:
            if graph_module is not None:
                out = torch.func.functional_call(runner, gm_named, tuple(args), strict=False)
            else:
                out = _run_with_hooks(model, args, tracer, scopes, named)
    total = tracer.result(out, allow_unsupported=True)
    records, maps = _recognise_attention(tracer)
    if maps:
        total = replace(total, attention_map_elements=exact_max([total.attention_map_elements] + [n for _, n in maps]))
    unsupported = {op: (n, tracer.unsupported_scopes.get(op, "")) for op, n in tracer.unsupported.items()}
    outputs = tuple(_storage_key(t) for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor))
    network = WalkResult(total, _parameter_records(model, scopes) + records, inputs, outputs,
                          list(tracer.marked_maps) + maps)
    return _Counted(network, method, unsupported, _recognised_names(module_names(model, rules, scopes), records))


def _recognised_names(names: dict, records) -> dict:
    """``names`` (:func:`module_names`) plus the scopes attention recognition added: the enclosing
    module's path with the kind in brackets ("blocks.0.attn[softmax-matmul]")."""
    names = dict(names)
    for rec in records:
        scope = tuple(rec.scope)
        if scope and scope not in names and scope[-1].startswith("attention:"):
            kind = scope[-1].split(":", 1)[1]
            parent = names.get(scope[:-1], ("", ""))[0]
            names[scope] = (f"{parent}[{kind}]", kind)
    return names


def _prepare(model, inputs, exact_shape, dtype):
    model = _unwrap(model)
    specs = input_specs(inputs, exact_shape)
    if dtype is not None:
        dtype = _torch_dtype(dtype)
        if _dtype_name(dtype) not in FLOAT_DTYPES:
            raise AttncostError(f"dtype {_dtype_name(dtype)!r}: the model's dtype must be one of {', '.join(FLOAT_DTYPES)}")
    return model, specs, dtype


def _model_dtype(model):
    """The dtype of the model's first floating parameter (float32 if it has none)."""
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def _bytes_dtype(specs, dtype, model) -> str:
    """The dtype memory in bytes is given in: ``dtype``, else the first floating input's, else the
    model's parameters', else float32."""
    if dtype is not None:
        return _dtype_name(dtype)
    for spec in specs:
        own = _dtype_name(spec.dtype) if isinstance(spec, torch.Tensor) else spec.dtype
        if own in FLOAT_DTYPES:
            return own
    for p in model.parameters():
        if p.is_floating_point():
            return _dtype_name(p.dtype)
    return "float32"


def _described(specs) -> tuple:
    return tuple((tuple(s.shape), _dtype_name(s.dtype)) if isinstance(s, torch.Tensor) else (s.shape, s.dtype)
                 for s in specs)


#: what running a user's code may raise that is the user's code failing, not attncost: every
#: exception, ``sys.exit()`` (which must not end attncost with the model's exit code) and any other
#: BaseException, except Ctrl-C (``KeyboardInterrupt``, caught before it: the user stopping attncost)
USER_CODE_ERRORS = BaseException


def describe(error: BaseException) -> str:
    """``TypeError: build() missing 1 required positional argument: 'n'`` (the first line of the
    message), or ``SystemExit: sys.exit(3) was called``."""
    if isinstance(error, SystemExit):
        return f"SystemExit: sys.exit({'' if error.code is None else repr(error.code)}) was called"
    try:
        text = str(error).strip()
    except Exception:                              # a message that cannot be made: the type says enough
        text = ""
    first = elide(text.splitlines()[0], 100) if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


#: what torch says when an input has one dimension more than a layer takes, or a batch of 1 is too
#: small: a conv1d, LSTM or MultiheadAttention given an unbatched layout with a batch in front
#: ("Expected 2D (unbatched) or 3D (batched) input to conv1d", "LSTM: Expected input to be 2D or 3D,
#: got 4D instead", "query should be unbatched 2D or batched 3D tensor but received 4-D query
#: tensor", "expected 2D or 3D input (got 4D input)", "got 4-dimensional tensor", "the number of
#: dimensions in the tensor (4)", "too many indices for tensor of dimension 4", "self must be a
#: matrix"), a forward unpacking ``c, h, w = x.shape`` ("too many values to unpack (expected 3)"),
#: or batch norm training on one value per channel ("Expected more than 1 value per channel")
RANK_MISMATCH = re.compile(r"\b\d+-?d\b|\b\d+-dim|\bnumber of dimensions|\bof dimension \d|dimension out of range"
                           r"|\b\d+ to \d+ dimensions|\bdim\(\)|\bndim\b|must be a (?:matrix|vector)\b"
                           r"|too many values to unpack|too many indices|more than 1 value per channel", re.IGNORECASE)


def batch_hint(error: BaseException, specs) -> str:
    """`` (CxHxW got a batch of 1; ...)`` where a batch of 1 was put in front of a CxHxW shape and the
    forward failed the way a layer given one dimension too many fails (:data:`RANK_MISMATCH`); else
    ``""``: a hint about the batch under a model's own error ("my bug") would send users astray."""
    if isinstance(error, SystemExit) or not any(isinstance(s, InputShape) and s.added_batch for s in specs):
        return ""
    try:
        text = str(error)
    except Exception:                              # a message that cannot be made
        return ""
    if not RANK_MISMATCH.search(text):
        return ""
    return " (CxHxW got a batch of 1; --exact-shape / exact_shape=True adds none)"


def _failure(error, specs, fake) -> ModelRunError:
    hint = batch_hint(error, specs)
    where = " on FakeTensors" if fake else ""
    return ModelRunError(f"the forward{where} on {format_inputs(_described(specs))} failed: {describe(error)}{hint}")


@contextlib.contextmanager
def naming(reference: str):
    """Errors analysing the model of ``reference`` (``FILE.py:FN``) start with it."""
    try:
        yield
    except AttncostError as error:
        if str(error).startswith(f"{reference}:"):
            raise
        raise type(error)(f"{reference}: {error}") from error


def analyze(model: torch.nn.Module, inputs=None, method: str = "eager", *, attention=(), attention_modules=(),
            fake: bool | None = None, dtype=None, mode: str | None = "eval", exact_shape: bool = False) -> Analysis:
    """Count ``model`` on ``inputs`` and build its op graph.

    ``inputs``: a tensor, a shape (``(1, 3, 224, 224)``; a 3-dim shape is CxHxW with a batch of 1
    unless ``exact_shape``), or a list of tensors and shapes, one per positional argument of
    ``forward``. ``dtype`` (float32, float16, bfloat16, float64): inputs made from shapes are of it,
    the parameters are used converted to it (the model itself is not changed) and memory in bytes
    assumes it. ``mode``: "eval" (default), "train" or None (each module as given); the model is left
    as it was. ``attention``: classes of the user's attention modules; ``attention_modules``: module
    path patterns (fnmatch, e.g. ``"blocks.*.attn"``). ``fake``: count on FakeTensors (None: when the
    inputs have more than :data:`FAKE_THRESHOLD` elements). A ``torch.compile``d model is counted as
    its original module."""
    model, specs, dtype = _prepare(model, inputs, exact_shape, dtype)
    if any(isinstance(s, InputShape) and any(isinstance(d, sympy.Basic) for d in s.shape) for s in specs):
        raise ShapeError("a symbolic size needs attncost.usermodels.formula, not analyze")
    rules = attention_rules(attention, attention_modules)
    auto = fake is None
    if auto:
        fake = sum(_spec_elements(s) for s in specs) > FAKE_THRESHOLD
    kwargs = dict(method=method, rules=rules, mode=mode, dtype=dtype)
    note = ""
    with torch.random.fork_rng(devices=[]), _outside_inference_mode(), quiet_fake_tensor_log():
        try:
            if fake:
                try:
                    from torch._subclasses.fake_tensor import FakeTensorMode

                    result = _count(model, specs, fake_mode=FakeTensorMode(allow_non_fake_inputs=True), **kwargs)
                except (AttncostError, KeyboardInterrupt):
                    raise
                except USER_CODE_ERRORS as error:
                    if not auto:
                        raise _failure(error, specs, True) from error
                    _require_real(specs, f"FakeTensors failed ({describe(error)}) and ")
                    note = f" on real tensors (FakeTensors failed: {type(error).__name__})"
                    fake = False
            if not fake:
                _require_real(specs)
                result = _count(model, specs, **kwargs)
        except (AttncostError, KeyboardInterrupt):
            raise
        except USER_CODE_ERRORS as error:
            raise _failure(error, specs, False) from error
    method = result.method + (" on FakeTensors" if fake else note)
    return Analysis(result.network, method, result.unsupported, _described(specs), fake, mode or "as given",
                    _bytes_dtype(specs, dtype, model), modules=result.modules)


def formula(model: torch.nn.Module, inputs, hints: dict | None = None, *, attention=(), attention_modules=(),
            dtype=None, mode: str | None = "eval", exact_shape: bool = False) -> Analysis:
    """``model``'s cost with symbolic sizes: ``inputs`` as for :func:`analyze` with letters or sympy
    symbols for sizes (``"3xHxW"``, ``(1, 3, H, W)``). Traced on FakeTensors with torch's ShapeEnv at
    ``hints`` (symbol or letter -> value; default 2 for N, 224 for any other), the totals, records and
    breakdowns are expressions in those symbols. ``specialised`` names symbols torch had to fix to
    their hint (code that uses the size as a plain int), ``guards`` the conditions on the sizes the
    formula holds under (the branches the traced forward took)."""
    from .trace.symbolic import SymbolicInputs

    model, specs, dtype = _prepare(model, inputs, exact_shape, dtype)
    rules = attention_rules(attention, attention_modules)
    sym = SymbolicInputs(hints)
    try:
        with torch.random.fork_rng(devices=[]), _outside_inference_mode(), quiet_fake_tensor_log():
            result = _count(model, specs, method="eager", rules=rules, mode=mode, dtype=dtype,
                            fake_mode=sym.fake_mode, size_to_expr=sym.size_to_expr, symbolic=sym.tensor)
    except (AttncostError, KeyboardInterrupt):
        raise
    except USER_CODE_ERRORS as error:
        raise _failure(error, specs, True) from error
    specialised = sym.specialised()
    network = result.network
    if specialised:
        fix = lambda e: sympy.sympify(e).subs(specialised)  # noqa: E731
        network = WalkResult(network.total.map(fix),
                              [rec._replace(counts={k: fix(v) for k, v in rec.counts.items()},
                                            allocations=tuple((key, fix(n)) for key, n in rec.allocations))
                               for rec in network.records],
                              {k: fix(v) for k, v in network.inputs.items()}, network.outputs,
                              [(scope, fix(n)) for scope, n in network.attention_maps])
    return Analysis(network, f"{result.method} on FakeTensors with symbolic sizes", result.unsupported,
                    _described(specs), True, mode or "as given", _bytes_dtype(specs, dtype, model),
                    specialised, sym.guards(), modules=result.modules, hints=dict(sym.symbols))


# -- loading a user's model ----------------------------------------------------------------------------

def load_model(reference: str, with_inputs: bool = False):
    """``path/to/model.py:build_fn`` -> the module that ``build_fn()`` returns; ``build_fn`` may also
    return ``(model, example_inputs)``. With ``with_inputs``: (model, example inputs or None).

    Whatever the file or ``build_fn`` raises (``sys.exit()`` included) is an :class:`AttncostError`
    naming ``FILE.py:FN``, the exception's type and the first line of its message; the original is its
    ``__cause__`` (``attncost --debug`` prints its traceback)."""
    path, _, function = reference.rpartition(":")
    if not path or not function:
        raise AttncostError(f"{reference!r} must be FILE.py:FUNCTION, e.g. models/mine.py:build")
    file = Path(path)
    if not file.is_file():
        raise AttncostError(f"{path}: no such file")
    if not function.isidentifier():
        raise AttncostError(f"{reference}: {function!r} is not a Python function name")
    spec = importlib.util.spec_from_file_location(f"attncost_user_{file.stem}", file)
    if spec is None or spec.loader is None:
        raise AttncostError(f"{path}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True   # no __pycache__ next to it
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except USER_CODE_ERRORS as error:
        raise ModelRunError(f"{reference}: importing {path} failed: {describe(error)}") from error
    finally:
        sys.dont_write_bytecode = writes_bytecode
    build = getattr(module, function, None)
    if not callable(build):
        raise AttncostError(f"{path} has no function {function!r}")
    try:
        built = build()
    except KeyboardInterrupt:
        raise
    except USER_CODE_ERRORS as error:
        raise ModelRunError(f"{reference}: {function}() failed: {describe(error)}") from error
    example = None
    if isinstance(built, (tuple, list)) and len(built) == 2 and isinstance(built[0], torch.nn.Module):
        built, example = built
    model = built
    if not isinstance(model, torch.nn.Module):
        raise AttncostError(f"{reference}: {function}() returned {type(model).__name__}, not an nn.Module "
                            "(or (model, example_inputs))")
    return (model, example) if with_inputs else model
