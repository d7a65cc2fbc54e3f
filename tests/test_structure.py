"""The layering the README's Layout promises: what each package may import, and a CLI that starts light."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "inas"
# package -> the inas packages it may import (besides the shared top-level modules)
ALLOWED = {
    "model": set(),
    "data": set(),
    "space": {"model", "train"},  # train: only its plain recipe, checked below
    "train": {"model", "data"},
    "study": set(),
    "supernet": {"model", "data", "train", "space"},  # an evaluator a search uses, like train
    "search": {"model", "data", "train", "space", "study", "supernet"},
    "report": {"study"},
    "export": {"model", "data", "train", "study", "supernet"},  # --init: a supernet's weights
    "reproduce": {"search", "study", "train"},
}
TOP_LEVEL = {"errors", "files", "checks", "limits", "registry", "lazy", "cli_common"}


def module_of(path: Path) -> str:
    """`inas/search/runner.py` -> `inas.search.runner`; a package's `__init__.py` names the package."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level(body: list[ast.stmt]):
    """The statements run when the module is imported: the body, into `if`/`try`/`with` blocks but not
    `if TYPE_CHECKING:` (never run), functions or classes' methods (run later, if at all)."""
    for node in body:
        if isinstance(node, ast.If):
            if not _is_type_checking(node):
                yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody):
                yield from _top_level(block)
        elif isinstance(node, ast.With):
            yield from _top_level(node.body)
        elif isinstance(node, ast.ClassDef):
            yield from _top_level([n for n in node.body if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)])
        else:
            yield node


def import_time_edges(path: Path, modules: set[str]) -> set[str]:
    """The inas modules importing `path` imports at once (a `from inas.x import y` of a submodule `y`
    imports `inas.x.y` too; a package's `__init__` runs first, so importing `inas.x.y` imports `inas.x`)."""
    me = module_of(path)
    found: set[str] = set()
    for node in _top_level(ast.parse(path.read_text()).body):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path.relative_to(PACKAGE)}: a relative import (inas imports absolutely)")
    edges = set()
    for name in found:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # each enclosing package's __init__ runs first
            prefix = ".".join(parts[:i])
            if prefix in modules and prefix != me and not me.startswith(prefix + "."):
                edges.add(prefix)
    return edges


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as [a, b, ..., a], or None: a depth-first search that meets a module on
    its own path."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def inas_imports(path: Path) -> list[str]:
    """Every `inas.x.y` module a file imports, at any depth (lazy imports inside functions count too)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("inas."):
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names if a.name.startswith("inas.")]
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_below_them(package):
    for path in (PACKAGE / package).glob("*.py"):
        for name in inas_imports(path):
            parts = name.split(".")
            target = parts[1]
            if target in TOP_LEVEL or target == package:
                continue
            assert target in ALLOWED[package], f"{path.relative_to(PACKAGE)} imports {name}"
            assert not (len(parts) > 2 and parts[2] == "commands"), f"{path.name} imports {name}"


def test_the_space_layer_uses_only_the_plain_recipe():
    for path in (PACKAGE / "space").glob("*.py"):
        for name in inas_imports(path):
            if name.startswith("inas.train"):
                assert name == "inas.train.recipe", f"{path.name} imports {name}"


def test_only_cli_imports_commands_of_other_packages():
    for path in PACKAGE.rglob("*.py"):
        if path.name == "cli.py":
            continue
        own = path.parent.name
        for name in inas_imports(path):
            parts = name.split(".")
            if parts[-1] == "commands":
                assert parts[1] == own, f"{path.relative_to(PACKAGE)} imports {name}"


@pytest.mark.parametrize(
    "code",
    [
        "import inas.cli",
        "from typer.testing import CliRunner; from inas.cli import app; "
        "[CliRunner().invoke(app, a) for a in (['--help'], ['--version'], ['space', 'list'], "
        "['space', 'show', 'googlenet_depth'], ['model', 'list'], ['space', 'sample', 'googlenet_depth', '--json'])]",
    ],
)
def test_the_cli_starts_without_torch_or_ray(code):
    check = "import sys; bad = [m for m in ('torch', 'ray') if m in sys.modules]; assert not bad, bad"
    subprocess.run([sys.executable, "-c", f"{code}; {check}"], check=True, capture_output=True, timeout=120)


def test_reading_a_study_loads_neither_torch_nor_ray(tmp_path):
    import optuna

    study = optuna.create_study(study_name="s", storage=f"sqlite:///{tmp_path}/s.db", directions=["minimize"] * 2)
    study.set_metric_names(["top1_error", "params"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_int("n", 1, 9)), n_trials=3)
    code = (
        "from typer.testing import CliRunner; from inas.cli import app; "
        "r = [CliRunner().invoke(app, a) for a in (['trials', 's.db'], ['report', 's.db', '--out', 'r.html'])]; "
        "assert all(x.exit_code == 0 for x in r), [x.output for x in r]; "
        "import sys; bad = [m for m in ('torch', 'ray') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=120, cwd=tmp_path)


def test_no_import_cycle_among_inas_modules():
    """What a module imports when it is imported (its top-level statements, not functions' lazy imports,
    not `if TYPE_CHECKING:`) never leads back to it: a cycle works only by import order."""
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_of(p) for p in paths}
    graph = {module_of(p): import_time_edges(p, modules) for p in paths}
    assert graph["inas.space.sampling"] >= {"inas.model.config", "inas.space.dims"}  # the walk sees imports
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_every_module_lazy_imports_included_names_an_existing_module():
    """The walk of every import, function-level ones too, names modules that exist (a moved module's
    old name left in a lazy import fails only when that function runs)."""
    modules = {module_of(p) for p in PACKAGE.rglob("*.py")}
    for path in PACKAGE.rglob("*.py"):
        for name in inas_imports(path):
            assert name in modules, f"{path.relative_to(PACKAGE)} imports {name}, which does not exist"
