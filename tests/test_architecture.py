"""ARCHITECTURE.md is kept true: its tree lists every module, and the layering it states
holds in the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARCHITECTURE = REPO / "ARCHITECTURE.md"
PACKAGES = ("bot", "embeddings")


def tree_paths() -> set[str]:
    """The paths ARCHITECTURE.md's tree names, folders with a trailing slash."""
    block = re.search(r"## The tree\n+```\n(.*?)```", ARCHITECTURE.read_text(), re.S)
    assert block, "ARCHITECTURE.md has no tree"
    paths, folders = set(), []
    for line in block.group(1).splitlines():
        name = line.split()[0]
        depth = (len(line) - len(line.lstrip())) // 2
        folders[depth:] = []
        path = "".join(folders) + name
        paths.add(path)
        if name.endswith("/"):
            folders.append(name)
    return paths


def modules(*, with_inits: bool = True) -> set[str]:
    return {str(p.relative_to(REPO)) for package in PACKAGES
            for p in (REPO / package).rglob("*.py") if with_inits or p.name != "__init__.py"}


def test_the_tree_lists_every_module_and_no_module_that_is_gone():
    listed = tree_paths()
    listed_modules = {p for p in listed if p.endswith(".py")}
    # A package's __init__.py is listed where it holds more than its docstring.
    missing = modules(with_inits=False) - listed_modules
    assert missing == set(), "modules missing from ARCHITECTURE.md"
    assert listed_modules - modules() == set(), "ARCHITECTURE.md lists modules that are gone"
    for folder in (p for p in listed if p.endswith("/")):
        assert (REPO / folder).is_dir(), folder


def test_the_readme_links_the_architecture():
    assert "(ARCHITECTURE.md)" in (REPO / "README.md").read_text()


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_embeddings_imports_nothing_of_bot():
    for path in (REPO / "embeddings").rglob("*.py"):
        assert not any(m == "bot" or m.startswith("bot.") for m in imported_modules(path)), path


def test_no_stage_imports_a_surface_and_only_surfaces_import_paperbot():
    for path in (REPO / "bot").rglob("*.py"):
        if "surfaces" in path.relative_to(REPO / "bot").parts or path.name == "__main__.py":
            continue  # a surface, at any depth (bot/surfaces/web/ is one too)
        imported = imported_modules(path)
        assert not any(m.startswith("bot.surfaces") for m in imported
                       if not (path.name == "__init__.py" and path.parent.name == "bot")), path
        if path.name not in ("__init__.py", "paperbot.py"):
            assert "bot.paperbot" not in imported, path


def test_no_test_module_imports_another():
    tests = REPO / "tests"
    names = {p.stem for p in tests.glob("test_*.py")}
    for path in tests.rglob("*.py"):
        imported = imported_modules(path)
        assert not imported & names, path
        assert not any(m.startswith("tests.test_") for m in imported), path
