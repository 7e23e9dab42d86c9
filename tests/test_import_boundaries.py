"""Who may import whom, pinned: the rules that keep the product, its tests and the benchmarks apart.

* Product code (assets, resources, sensors, gradio_app, definitions.py) never imports ``bench`` or
  ``tests``: the installed package and the Docker image hold neither.
* ``tests/support`` never imports ``bench``; benchmarks import test support, not the other way
  round. Test files import ``bench`` only under tests/bench, which tests the benchmarks themselves.
* ``assets/core`` (the plain compute) imports no ``dagster``, no asset module (anything under
  ``assets`` outside ``assets.core``) and no ``resources.*.base`` resource (those are Dagster
  resources); imports under ``if TYPE_CHECKING:`` are for annotations only and do not count.
  At run time, importing every module of ``assets.core`` leaves ``dagster`` unloaded, checked in a
  fresh interpreter.

The static checks read each module's imports with ``ast`` (every ``import`` anywhere in the file,
function bodies included; relative imports resolved against the module's package), so they see
imports that a test run never executes.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT_PACKAGES = ("assets", "resources", "sensors", "gradio_app")
PRODUCT_MODULES = ("definitions.py",)


@dataclass(frozen=True)
class Import:
    """One imported module name, where it is imported, and whether only for type checkers."""

    module: str
    line: int
    type_checking_only: bool


def module_name(path: Path) -> str:
    """``assets/core/ingest/pool.py`` -> ``assets.core.ingest.pool`` (a package's ``__init__`` -> the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path) -> list[Import]:
    """Every module ``path`` imports (``from a import b`` counts as ``a`` and ``a.b``: b may be a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, type_checking_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_checking_only)
            return
        if isinstance(node, ast.Import):
            found.extend(Import(alias.name, node.lineno, type_checking_only) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append(Import(target, node.lineno, type_checking_only))
            found.extend(Import(f"{target}.{alias.name}", node.lineno, type_checking_only) for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child, type_checking_only)

    visit(ast.parse(path.read_text(), filename=str(path)), False)
    return found


def python_files(*roots: str) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        path = ROOT / root
        files.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return [f for f in files if "__pycache__" not in f.parts]


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(files: list[Path], forbidden, *, count_type_checking: bool = True) -> list[str]:
    """``path:line imports module`` for each import that ``forbidden(module)`` refuses."""
    return [
        f"{path.relative_to(ROOT)}:{found.line} imports {found.module}"
        for path in files
        for found in imports_of(path)
        if (count_type_checking or not found.type_checking_only) and forbidden(found.module)
    ]


def test_the_checks_see_the_files_they_are_about():
    assert len(python_files(*PRODUCT_PACKAGES)) > 40
    assert len(python_files("assets/core")) > 5 and len(python_files("tests/support")) > 5


def test_the_parser_sees_function_level_relative_and_type_checking_imports(tmp_path, monkeypatch):
    package = tmp_path / "pkg" / "sub"
    package.mkdir(parents=True)
    (package / "mod.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import dagster\n"
        "def f():\n    from ..other import thing\n    import bench.accuracy\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = {(i.module, i.type_checking_only) for i in imports_of(package / "mod.py")}
    assert {("dagster", True), ("pkg.other", False), ("pkg.other.thing", False), ("bench.accuracy", False)} <= found


@pytest.mark.parametrize("package", ["bench", "tests"])
def test_product_code_never_imports_benchmarks_or_tests(package):
    files = python_files(*PRODUCT_PACKAGES, *PRODUCT_MODULES)
    assert violations(files, lambda module: within(module, package)) == []


def test_test_support_never_imports_benchmarks():
    assert violations(python_files("tests/support"), lambda module: within(module, "bench")) == []


def test_only_the_benchmarks_own_tests_import_bench():
    files = [f for f in python_files("tests") if not f.is_relative_to(ROOT / "tests" / "bench")]
    assert violations(files, lambda module: within(module, "bench")) == []


def _outside_core(module: str) -> bool:
    """Dagster, an asset module, or a Dagster resource's base module."""
    parts = module.split(".")
    asset_module = within(module, "assets") and module != "assets" and not within(module, "assets.core")
    base_resource = parts[0] == "resources" and len(parts) >= 3 and parts[2] == "base"
    return within(module, "dagster") or asset_module or base_resource


def test_core_imports_no_dagster_no_asset_modules_and_no_base_resources():
    assert violations(python_files("assets/core"), _outside_core, count_type_checking=False) == []


def test_importing_all_of_core_leaves_dagster_unloaded():
    """Statically clean is not enough: a product module core imports could pull Dagster in."""
    modules = [module_name(path) for path in python_files("assets/core")]
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'dagster' or m.startswith('dagster.'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


# The labeling app: a view per tab (tabs/) and the page around them (app, page, components, the
# theme, and context: the stores and the face tiles every tab draws with) are Gradio; the
# launcher (launch/, __main__) starts it; every other module is the app's logic,
# shared logic or an adapter, and holds no Gradio.
APP_VIEWS = (
    "gradio_app/tabs",
    "gradio_app/app.py",
    "gradio_app/page.py",
    "gradio_app/components.py",
    "gradio_app/context.py",
    "gradio_app/theme.py",
)
APP_LAUNCHER = ("gradio_app/launch", "gradio_app/__main__.py")


def app_logic_files() -> list[Path]:
    outside = [ROOT / path for path in (*APP_VIEWS, *APP_LAUNCHER)]
    return [
        path
        for path in python_files("gradio_app")
        if not any(path == place or path.is_relative_to(place) for place in outside)
    ]


def _asset_module(module: str) -> bool:
    return within(module, "assets") and module != "assets" and not within(module, "assets.core")


def test_the_app_never_imports_an_asset_module():
    """Find similar scores with assets.core's plain scoring, never by importing the relabel asset."""
    assert violations(python_files("gradio_app"), _asset_module) == []


def test_the_apps_logic_holds_no_gradio():
    files = app_logic_files()
    assert {"review.py", "people.py", "snapshot.py", "undo.py"} <= {f.name for f in files}
    assert violations(files, lambda module: within(module, "gradio")) == []


def test_importing_the_apps_logic_loads_no_asset_and_no_gradio():
    modules = [module_name(path) for path in app_logic_files()]
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'gradio' or m.startswith('gradio.')"
        " or (m.startswith('assets.') and not (m == 'assets.core' or m.startswith('assets.core.'))))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
