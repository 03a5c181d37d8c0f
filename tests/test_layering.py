"""The layering contract of docs/ARCHITECTURE.md ("Layers"), checked on the source: imports point down.

The checker reads every module of the package with :mod:`ast` (nothing is imported), resolves each
import (module level and inside functions, relative or absolute, ``from pkg import submodule``,
``importlib.import_module("...")``) to the package's own modules and checks three rules:

1. **down only**: a module imports only modules of a lower layer, or of its own component
   (``attncost.cost.program`` may import ``attncost.cost.liveness``); siblings in one layer do not
   import each other;
2. **no torch on the formula side**: a formula-side module imports neither torch nor a torch-side
   module at module level (inside a function it may, pointing down: ``crossings`` tracing a user's
   ``FILE.py:FN``, the CLI's ``verify``);
3. **no cycles**, counting imports inside functions too.

Every module must belong to a layer, so a new module is placed on purpose. The checker is tested on
synthetic trees: it must fail when a module adds an upward import, a cycle or a torch import.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "attncost"

#: bottom to top; a layer's components may import the components of the layers below it. A component
#: is a subpackage or module of ``attncost`` ("" is the package itself, ``attncost/__init__.py``).
LAYERS = (
    ("errors", "symbols", "version", "numbers", "algebra"),  # errors; N, C, H, W; __version__; numbers; int/sympy arithmetic
    ("shapes", "io", "symbolic_terms"),      # parsing shapes; reading and writing files; leading terms
    ("ops",),                                # one definition per primitive
    ("cost",),                               # Cost, conventions, the Program
    ("catalogue",),                          # the entries, one file per family
    ("query", "specfile"),                   # an entry's rows; spec files read with file:line
    ("networks",),                           # reference networks, placements, spec files
    ("graph",),                              # the op graph, breakdowns, module tables
    ("trace",),                              # torch: the tracer and its marker protocol
    ("reference",),                          # torch: one nn.Module per entry, reference networks
    ("verify", "usermodels"),                # torch: formula == trace; users' own models
    ("crossings",),                          # where two costs cross (traces a FILE.py:FN lazily)
    ("lut",),                                # latency tables (measuring in a worker process)
    ("format",),                             # table/json/csv/markdown, human units (below report: its tables use them)
    ("report",),                             # the HTML report
    ("results",),                            # the Python API's result objects (table, to_dict, to_pandas)
    ("api",),                                # the Python API the CLI calls
    ("cli", ""),                             # the command line; attncost.analyze/formula/register_op
)
#: the torch side (components, or single modules of a formula-side component)
TORCH_SIDE = ("trace", "reference", "verify", "usermodels", "lut.network")


@dataclass(frozen=True)
class Import:
    source: str          # the importing module, dotted
    target: str          # the imported module of the package, dotted
    line: int
    in_function: bool


def modules(root: Path) -> dict[str, Path]:
    """{dotted name: file} of every module of the package at ``root``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(root: Path, external: str | None = None) -> list[Import]:
    """Every import of the package's own modules (and of the top-level package ``external``, e.g.
    torch, reported with its name as the target)."""
    known = modules(root)
    out = []
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(), str(path))
        for node, in_function in _walk(tree, False):
            for target in _targets(node, package):
                if target in known or (external and target.split(".")[0] == external):
                    out.append(Import(name, target if target in known or not external else external,
                                      node.lineno, in_function))
                    continue
                # ``from pkg import name``: the module pkg.name if there is one, else pkg
                if target.rpartition(".")[0] in known:
                    out.append(Import(name, target.rpartition(".")[0], node.lineno, in_function))
    return out


def _walk(node, in_function: bool):
    for child in ast.iter_child_nodes(node):
        inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        yield child, inner
        yield from _walk(child, inner)


def _targets(node, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = package.split(".")[:len(package.split(".")) - node.level + 1]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module
        return [f"{module}.{alias.name}" for alias in node.names]
    if (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")):
        return [node.args[0].value]
    return []


def layer_of(module: str, root: str, layers=LAYERS) -> tuple[int, str]:
    """(layer index, component) of a dotted module name; KeyError if no layer has it."""
    relative = module[len(root) + 1:] if module != root else ""
    best = None
    for index, components in enumerate(layers):
        for component in components:
            if relative == component or (component and relative.startswith(component + ".")):
                if best is None or len(component) > len(best[1]):
                    best = (index, component)
    if best is None:
        raise KeyError(module)
    return best


def _torch_side(module: str, root: str, torch_side=TORCH_SIDE) -> bool:
    relative = module[len(root) + 1:]
    return any(relative == t or relative.startswith(t + ".") for t in torch_side)


def violations(root: Path, layers=LAYERS, torch_side=TORCH_SIDE) -> list[str]:
    """Every breach of the contract, one line each (empty: the package keeps it)."""
    name = root.name
    problems = []
    for module in modules(root):
        try:
            layer_of(module, name, layers)
        except KeyError:
            problems.append(f"{module}: in no layer of the contract")
    edges = imports(root, external="torch")
    for imp in edges:
        where = f"{imp.source}:{imp.line}" + (" (inside a function)" if imp.in_function else "")
        if imp.target == "torch":
            if not imp.in_function and not _torch_side(imp.source, name, torch_side):
                problems.append(f"{where}: the formula side imports torch")
            continue
        try:
            (low, low_component), (high, high_component) = (layer_of(imp.target, name, layers),
                                                            layer_of(imp.source, name, layers))
        except KeyError:
            continue
        if low_component == high_component:
            pass
        elif low >= high:
            problems.append(f"{where}: imports {imp.target} from "
                            f"{'the same layer' if low == high else 'a layer above'}")
        if (not imp.in_function and _torch_side(imp.target, name, torch_side)
                and not _torch_side(imp.source, name, torch_side)):
            problems.append(f"{where}: the formula side imports the torch side ({imp.target}) at module level")
    problems += [f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(edges)]
    return problems


def cycles(edges) -> list[list[str]]:
    """One cycle through each strongly connected component of more than one module (or a self-import)."""
    graph: dict = {}
    for imp in edges:
        if imp.target != "torch":
            graph.setdefault(imp.source, set()).add(imp.target)
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def connect(v):                      # Tarjan's algorithm, iterative over the neighbours
        work = [(v, iter(sorted(graph.get(v, ()))))]
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        while work:
            node, neighbours = work[-1]
            for w in neighbours:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == node:
                            break
                    if len(component) > 1 or node in graph.get(node, ()):
                        components.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_cycle_in(sorted(component), graph) for component in components]


def _cycle_in(component, graph) -> list[str]:
    """A cycle through the component's first module, by breadth-first search."""
    start, members = component[0], set(component)
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for w in sorted(graph.get(path[-1], ())):
            if w == start:
                return path + [start]
            if w in members and w not in seen:
                seen.add(w)
                paths.append(path + [w])
    return component


# -- the package keeps the contract -----------------------------------------------------------------

def test_attncost_keeps_the_layering_contract():
    assert violations(PACKAGE) == []


def test_every_layer_names_existing_modules():
    names = modules(PACKAGE)
    for components in LAYERS:
        for component in components:
            dotted = "attncost" + (f".{component}" if component else "")
            assert dotted in names, f"layer component {component!r} is not a module of attncost"


def test_the_contract_is_written_down():
    """docs/ARCHITECTURE.md lists the same layers, bottom to top."""
    text = (PACKAGE.parent / "docs" / "ARCHITECTURE.md").read_text()
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| ") and line[2:3].isdigit()]
    assert len(table) == len(LAYERS)
    for line, components in zip(table, LAYERS):
        cell, side = line.split("|")[2:4]
        written = tuple(c.strip(" `/") for c in cell.split(","))
        assert written == tuple(c or "attncost" for c in components), line
        assert side.strip().startswith("torch") == all(c in TORCH_SIDE for c in components), line
    for module in TORCH_SIDE:
        assert f"`{module}" in section, f"the torch side's {module} is not in the Layers section"


# -- the checker notices ------------------------------------------------------------------------------

SYNTHETIC_LAYERS = (("base",), ("low",), ("mid", "side"), ("top", ""))
SYNTHETIC_TORCH = ("side",)


def _tree(tmp_path, files: dict) -> Path:
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", "base.py": "", "low/__init__.py": "", "low/a.py": "from .. import base\n",
                       "low/b.py": "from .a import *\n", "mid.py": "from .low import a\n",
                       "side.py": "import torch\nfrom . import low\n",
                       "top.py": "from . import mid\n\ndef f():\n    from . import side\n", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def _check(root):
    return violations(root, SYNTHETIC_LAYERS, SYNTHETIC_TORCH)


def test_a_tree_that_keeps_the_contract_passes(tmp_path):
    assert _check(_tree(tmp_path, {})) == []


@pytest.mark.parametrize("name, text, expected", [
    # an upward import at module level, and one hidden inside a function
    ("low/a.py", "from .. import base\nfrom ..mid import x\n", "pkg.low.a:2: imports pkg.mid from a layer above"),
    ("low/a.py", "def f():\n    import pkg.top\n",
     "pkg.low.a:2 (inside a function): imports pkg.top from a layer above"),
    ("low/a.py", "import importlib\nimportlib.import_module('pkg.top')\n", "pkg.low.a:2: imports pkg.top"),
    # siblings of one layer, and the package itself from below
    ("mid.py", "from . import side\n", "pkg.mid:1: imports pkg.side from the same layer"),
    ("base.py", "from . import __version__\n", "pkg.base:1: imports pkg from a layer above"),
    # torch on the formula side
    ("mid.py", "import torch.nn\n", "pkg.mid:1: the formula side imports torch"),
    ("top.py", "from . import side\n", "pkg.top:1: the formula side imports the torch side (pkg.side) at module level"),
    # a cycle inside one component, even through a function
    ("low/a.py", "def f():\n    from . import b\n", "import cycle: pkg.low.a -> pkg.low.b -> pkg.low.a"),
    # a module no layer names
    ("stray.py", "", "pkg.stray: in no layer of the contract"),
])
def test_the_checker_fails_on_a_breach(tmp_path, name, text, expected):
    problems = _check(_tree(tmp_path, {name: text}))
    assert any(p.startswith(expected) for p in problems), problems


def test_the_checker_fails_when_attncost_adds_an_upward_import(tmp_path):
    """The real package, copied, with one upward import added to the cost layer."""
    import shutil

    root = tmp_path / "attncost"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__"))
    path = root / "cost" / "conventions.py"
    path.write_text(path.read_text() + "\n\ndef _report():\n    from ..report import build_report\n")
    problems = violations(root)
    assert [p for p in problems if p.startswith("attncost.cost.conventions:")] and all(
        "attncost.report" in p or "import cycle" in p for p in problems), problems
