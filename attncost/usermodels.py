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
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.fx

from .cost.program import OpRecord
from .errors import AttncostError
from .graph.walker import NetworkCost
from .reference.registry import REFERENCES, _load
from .trace.tracer import CostTracer


@dataclass
class Analysis:
    """A user model's walked cost, how it was traced, and what could not be counted."""

    network: NetworkCost
    method: str                                   # "torch.fx" or "eager hooks (fx failed: ...)"
    unsupported: dict = field(default_factory=dict)   # aten op -> (calls, first scope)


def _catalogue_types() -> dict:
    _load()
    return {cls: name for name, cls in REFERENCES.items()}


class _LeafTracer(torch.fx.Tracer):
    """Keeps catalogue reference modules whole, so their ops are labelled with the module."""

    def __init__(self, leaves: tuple):
        super().__init__()
        self._leaves = leaves

    def is_leaf_module(self, m, qualname):
        return isinstance(m, self._leaves) or super().is_leaf_module(m, qualname)


class _ScopedInterpreter(torch.fx.Interpreter):
    def __init__(self, module, tracer: CostTracer, kinds: dict):
        super().__init__(module)
        self._tracer = tracer
        self._kinds = kinds

    def run_node(self, n):
        previous = self._tracer.scope
        if n.op == "call_module":
            self._tracer.scope = _scope(self.module, str(n.target), self._kinds)
        else:
            stack = n.meta.get("nn_module_stack") or {}
            self._tracer.scope = _scope(self.module, list(stack)[-1], self._kinds) if stack else ()
        try:
            return super().run_node(n)
        finally:
            self._tracer.scope = previous


def _scope(root, path: str, kinds: dict) -> tuple:
    """("layer1", "0", "attention:se") for module path layer1.0.se if it is a catalogue SE."""
    parts, module, scope = path.split(".") if path else [], root, []
    for part in parts:
        module = getattr(module, part, None)
        kind = kinds.get(type(module))
        scope.append(f"attention:{kind}" if kind else part)
    return tuple(scope)


def analyze(model: torch.nn.Module, input_shape, method: str = "eager") -> Analysis:
    """Count ``model`` on an input of ``input_shape`` (N, C, H, W) and build its op graph."""
    kinds = _catalogue_types()
    model = model.eval()
    x = torch.randn(*input_shape)
    tracer = CostTracer(model)
    tracer.add_input(x)
    graph_module = None
    if method == "fx":
        try:
            graph_module = torch.fx.GraphModule(model, _LeafTracer(tuple(kinds)).trace(model))
            method = "torch.fx"
        except Exception as error:  # fx cannot trace arbitrary Python: fall back to eager execution
            method = f"eager hooks (torch.fx failed: {type(error).__name__})"
    else:
        method = "eager hooks"
    with torch.no_grad(), tracer:
        if graph_module is not None:
            out = _ScopedInterpreter(graph_module, tracer, kinds).run(x)
        else:
            out = _run_with_hooks(model, x, tracer, kinds)
    total = tracer.result(out, allow_unsupported=True)
    records = _parameter_records(model, kinds) + list(tracer.records)
    unsupported = {op: (n, tracer.unsupported_scopes.get(op, "")) for op, n in tracer.unsupported.items()}
    return Analysis(NetworkCost(total, records), method, unsupported)


def _parameter_records(model, kinds) -> list:
    """One record per module holding its own parameters, so breakdowns can sum parameters by scope."""
    records = []
    for path, module in model.named_modules():
        own = sum(p.numel() for p in module.parameters(recurse=False))
        if own:
            records.append(OpRecord(-1 - len(records), _scope(model, path, kinds), {}, own, (), ()))
    return records


def _run_with_hooks(model, x, tracer: CostTracer, kinds: dict):
    paths = {module: path for path, module in model.named_modules()}
    stack = []

    def pre(module, args):
        if module in paths:
            stack.append(tracer.scope)
            tracer.scope = _scope(model, paths[module], kinds)

    def post(module, args, output):
        if module in paths and stack:
            tracer.scope = stack.pop()

    handles = [torch.nn.modules.module.register_module_forward_pre_hook(pre),
               torch.nn.modules.module.register_module_forward_hook(post)]
    try:
        return model(x)
    finally:
        for handle in handles:
            handle.remove()


def load_model(reference: str) -> torch.nn.Module:
    """``path/to/model.py:build_fn`` -> the module that ``build_fn()`` returns."""
    path, _, function = reference.rpartition(":")
    if not path or not function:
        raise AttncostError(f"{reference!r} must be FILE.py:FUNCTION, e.g. models/mine.py:build")
    file = Path(path)
    if not file.is_file():
        raise AttncostError(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location(f"attncost_user_{file.stem}", file)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise AttncostError(f"{path}: importing it failed: {type(error).__name__}: {error}") from None
    build = getattr(module, function, None)
    if not callable(build):
        raise AttncostError(f"{path} has no function {function!r}")
    model = build()
    if not isinstance(model, torch.nn.Module):
        raise AttncostError(f"{path}:{function}() returned {type(model).__name__}, not an nn.Module")
    return model
