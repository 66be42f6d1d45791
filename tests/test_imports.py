"""No module-level import cycles in numbarl's packages, found by reading the source (ast).

A module's top-level imports run when it is first imported; two modules that import each other
there only load in one order, and a reader cannot take either alone. Imports inside functions
run later, when every module is loaded, so they are allowed. A package's `__init__` importing its
own submodules is the usual layout and is not a cycle: a submodule importing its package's names
(`from . import Backend`) is an edge like any other and is counted.
"""

import ast
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("numbarl", "autodiff", "envs", "algos", "rl")


def _modules():
    """dotted name -> (path, is_package) for every module of PACKAGES."""
    found = {}
    for package in PACKAGES:
        for folder, dirs, files in os.walk(os.path.join(ROOT, package)):
            dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
            parts = os.path.relpath(folder, ROOT).split(os.sep)
            for f in files:
                if f.endswith(".py"):
                    name = parts if f == "__init__.py" else parts + [f[:-3]]
                    found[".".join(name)] = (os.path.join(folder, f), f == "__init__.py")
    return found


def _top_level_imports(tree):
    """Import statements that run when the module is imported: not inside a function body, and
    not under `if TYPE_CHECKING:`."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


def import_graph():
    """module -> the set of PACKAGES' modules its top-level imports load directly."""
    modules = _modules()
    graph = {}
    for name, (path, is_package) in modules.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        package = name if is_package else name.rpartition(".")[0]
        edges = set()
        for node in _top_level_imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                base = ".".join(p for p in (base if node.level else "", node.module or "") if p)
                # `from a import b` loads a.b when b is a module, else only a.
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def find_cycles(graph):
    """Every strongly connected component of more than one module (Tarjan's algorithm), each
    as a sorted list."""
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_the_packages_have_no_module_level_import_cycles():
    graph = import_graph()
    assert {"autodiff.tensor", "envs", "algos.ppo", "rl.train"} <= set(graph)
    cycles = find_cycles(graph)
    assert not cycles, "modules that reach each other through module-level imports: " + "; ".join(
        "{" + ", ".join(c) + "}" for c in cycles)


def test_the_graph_reads_imports_as_python_runs_them(tmp_path, monkeypatch):
    """The checker itself, on a made-up package: relative imports, `from . import submodule`,
    a cycle through a package's __init__, and imports inside functions left out."""
    pkg = tmp_path / "autodiff"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from .a import A\n",
        "a.py": "from .b import B\nA = 1\n",
        "b.py": "from . import c\nB = 2\n",
        "c.py": "def f():\n    from .a import A\n",          # late: no edge to a
        "sub/__init__.py": "from .d import D\n",
        "sub/d.py": "from .. import sub\nfrom ..a import A\nD = 3\n",  # d -> sub -> d
    }
    for rel, text in files.items():
        (pkg / rel).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
    graph = import_graph()
    assert graph["autodiff"] == {"autodiff.a"}
    assert graph["autodiff.a"] == {"autodiff.b"}
    assert graph["autodiff.b"] == {"autodiff.c"}
    assert graph["autodiff.c"] == set()
    assert graph["autodiff.sub.d"] == {"autodiff.sub", "autodiff.a"}
    assert find_cycles(graph) == [["autodiff.sub", "autodiff.sub.d"]]

