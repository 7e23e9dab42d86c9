"""The ports (resources/state_store/ports.py) against the store that implements them.

A ``Protocol`` cannot be a base class of the pydantic ``StateStore``, so nothing but these tests
keeps a port and the store in step: every public method of the store is in exactly one port,
with the same signature on the interface and on both backends, and a store of either backend is
an instance of every port, combined ports included. The last test keeps the consumers honest:
only what Dagster injects is typed ``StateStore`` (and, in the labeling app, ``AppContext``, which
holds the store the deployment built, and the tabs that hand it on); everything it is handed on
to names the port it needs.
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from resources.state_store import ports
from resources.state_store.base import StateStore
from resources.state_store.cosmos import CosmosStateStore
from resources.state_store.sqlite.store import SqliteStateStore

ROOT = Path(__file__).resolve().parents[2]
COMPOSITES = (
    ports.PhotoIntake,
    ports.RetrainWatch,
    ports.AppSnapshot,
    ports.FaceLabeling,
    ports.PeopleEditing,
    ports.ClassifierStatus,
    ports.SimilarSearch,
    ports.UndoSteps,
    ports.UploadOutcomes,
)
# Dagster needs the resource class where it injects it: these decorated functions keep StateStore.
INJECTED = {"asset", "asset_check", "op", "sensor", "multi_asset", "graph_multi_asset"}


def methods(port: type) -> list[str]:
    return [name for name, value in vars(port).items() if not name.startswith("_") and inspect.isfunction(value)]


def test_every_public_method_of_the_store_is_in_exactly_one_port():
    public = sorted(n for n, v in vars(StateStore).items() if not n.startswith("_") and inspect.isfunction(v))
    in_ports = [name for port in ports.PORTS for name in methods(port)]
    assert sorted(in_ports) == public  # none left out, none in two ports
    assert all(4 <= len(methods(port)) <= 9 for port in ports.PORTS)


@pytest.mark.parametrize("port", ports.PORTS, ids=lambda port: port.__name__)
@pytest.mark.parametrize("backend", [StateStore, SqliteStateStore, CosmosStateStore], ids=lambda c: c.__name__)
def test_the_store_has_each_method_of_a_port_with_its_signature(port: type, backend: type):
    for name in methods(port):
        wanted = inspect.signature(getattr(port, name), eval_str=True)
        assert inspect.signature(getattr(backend, name), eval_str=True) == wanted, f"{backend.__name__}.{name}"


def test_a_store_of_either_backend_is_every_port(store):
    for port in (*ports.PORTS, *COMPOSITES):
        assert isinstance(store, port), port.__name__


def test_composites_are_made_of_ports_only():
    for composite in COMPOSITES:
        assert methods(composite) == []
        assert all(base in ports.PORTS for base in composite.__bases__ if base.__name__ != "Protocol")


def test_the_ports_load_without_dagster():
    code = "import sys, resources.state_store.ports; assert 'dagster' not in sys.modules, 'dagster loaded'"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def store_annotated(function: ast.FunctionDef) -> list[str]:
    args = [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
    return [a.arg for a in args if a.annotation is not None and "StateStore" in ast.unparse(a.annotation)]


def decorator_names(function: ast.FunctionDef) -> set[str]:
    names = set()
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        names.add(target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", ""))
    return names


# The labeling app's logic modules: everything in gradio_app/ but what builds the page and holds
# the deployment's StateStore (AppContext) and hands it on (the tabs, the launchers).
APP_SHELL = {"context.py", "app.py", "page.py", "tabs", "launch"}


def app_logic_modules() -> list[Path]:
    folder = ROOT / "gradio_app"
    return [p for p in sorted(folder.rglob("*.py")) if p.relative_to(folder).parts[0] not in APP_SHELL]


@pytest.mark.parametrize("folder", ["assets", "sensors", "gradio_app"])
def test_only_what_dagster_injects_is_typed_state_store(folder: str):
    typed_whole = []
    paths = app_logic_modules() if folder == "gradio_app" else sorted((ROOT / folder).rglob("*.py"))
    assert paths
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and store_annotated(node) and not decorator_names(node) & INJECTED:
                typed_whole.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert typed_whole == [], "type these with the ports they need (resources/state_store/ports.py)"
