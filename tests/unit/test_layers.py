"""The layers keep their order: faces translate, services decide, only services touch storage.

Read from the modules' own imports (and, for the faces, from what they do with the runtime), so
a later change cannot cross a line without this test saying which module and which line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "reply_assist"

# Faces: what a person or a program talks to. They call services; they never touch storage.
FACES = ("api", "web", "jobs", "auth.py", "cli.py", "http")
# What the runtime holds that is storage: a face reaching for one of these skips the services.
STORAGE_ATTRIBUTES = frozenset(
    {
        "store",
        "companies",
        "reviews",
        "drafts",
        "replies",
        "stats",
        "voice",
        "style",
        "draft_rules",
        "jobs",
        "webhooks",
        "usage",
    }
)


def modules(*parts: str) -> list[Path]:
    found: list[Path] = []
    for part in parts:
        path = PACKAGE / part
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return found


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def crossings(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in paths:
        for line, name in imports(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                out.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    return out


def test_faces_never_import_storage() -> None:
    assert not crossings(modules(*FACES), ("reply_assist.store",))


def test_storage_imports_nothing_above_it() -> None:
    above = (
        "reply_assist.services",
        "reply_assist.api",
        "reply_assist.web",
        "reply_assist.auth",
        "reply_assist.http",
        "reply_assist.runtime",
        "reply_assist.cli",
        "reply_assist.app",
    )
    assert not crossings(modules("store"), above)


def test_services_import_no_face() -> None:
    faces = (
        "reply_assist.api",
        "reply_assist.web",
        "reply_assist.auth",
        "reply_assist.http",
        "reply_assist.cli",
        "reply_assist.app",
    )
    assert not crossings(modules("services"), faces)


def test_only_the_api_imports_the_api() -> None:
    """What the faces share lives below them (reply_assist.http), not inside one of them."""
    others = [p for p in modules("web", "auth.py", "http", "services", "cli.py")]
    assert not crossings(others, ("reply_assist.api",))


def storage_reaches(path: Path) -> list[str]:
    """``rt.drafts``, ``runtime.store``, ``runtime_of(request).replies``…: storage reached
    through the runtime object rather than through a service function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or node.attr not in STORAGE_ATTRIBUTES:
            continue
        owner = node.value
        if isinstance(owner, ast.Attribute) and owner.attr in ("runtime", "rt"):
            owner = ast.Name(id=owner.attr)  # state.runtime.store, self.rt.drafts
        is_runtime = (isinstance(owner, ast.Name) and owner.id in ("runtime", "rt")) or (
            isinstance(owner, ast.Call)
            and isinstance(owner.func, ast.Name)
            and owner.func.id == "runtime_of"
        )
        if is_runtime:
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} .{node.attr}")
    return found


@pytest.mark.parametrize("face", FACES)
def test_faces_reach_no_storage_through_the_runtime(face: str) -> None:
    assert not [hit for path in modules(face) for hit in storage_reaches(path)]


def test_the_checks_see_a_crossing() -> None:
    """The rules above find what they look for (a test that cannot fail proves nothing)."""
    sample = PACKAGE.parent / "build" / "layers-sample.py"
    sample.parent.mkdir(exist_ok=True)
    sample.write_text(
        "from reply_assist.store.drafts import DraftRecord\n"
        "async def f(rt):\n    return await rt.drafts.get('a', 'b', 'c')\n",
        encoding="utf-8",
    )
    try:
        assert crossings([sample], ("reply_assist.store",))
        assert storage_reaches(sample)
    finally:
        sample.unlink()
