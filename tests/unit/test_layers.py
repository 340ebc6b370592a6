"""Dependencies point one way: pure rules ← storage ← runtime ← use cases ← faces ← the assembly
point; and no face module imports another (what two of them share is a use case or a rule).

Every import of every module of the project (also those inside functions) is read from the
source; an arrow that points up, or sideways between faces, fails the test.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Where a package may import from (besides itself, the standard library and third-party libraries).
ALLOWED = {
    "rules": set(),
    "storage": {"rules"},
    "bot": {"rules", "storage"},
    "services": {"rules", "storage", "bot"},
    "commands": {"rules", "storage", "bot", "services"},
    "web": {"rules", "storage", "bot", "services"},
}
# Packages whose modules are faces: each stands alone (its package's __init__ aside).
FACES = {"commands", "web"}
# The one place that assembles the bot (and the command line and demo that start it) knows the handlers.
ASSEMBLY = {"bot.app", "bot.cli", "bot.demo", "bot.__main__"}
ASSEMBLY_ALLOWED = {"rules", "storage", "bot", "services", "commands", "web"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for each import of a project package in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] in ALLOWED]


def violations() -> list[str]:
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = module_name(path)
            may = ASSEMBLY_ALLOWED if module in ASSEMBLY else {package, *allowed}
            for line, imported in project_imports(path):
                if (
                    imported.split(".")[0] not in may
                    or (imported in ASSEMBLY and module not in ASSEMBLY)
                    or sideways(module, imported)
                ):
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    return wrong


def sideways(module: str, imported: str) -> bool:
    """One face module importing another of its package (`commands.series` → `commands.topics`)."""
    package = module.split(".")[0]
    return package in FACES and module != package and imported.startswith(f"{package}.") and imported != module


def test_no_import_points_upward():
    assert violations() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The walker itself: a planted import of a handler in storage is found."""
    fake = tmp_path / "project"
    for package in ALLOWED:
        (fake / package).mkdir(parents=True)
        (fake / package / "__init__.py").write_text("")
    (fake / "storage" / "bad.py").write_text("def f():\n    from commands import qa\n")
    (fake / "rules" / "fine.py").write_text("import json\nfrom rules import dates\n")
    monkeypatch.setattr(f"{__name__}.ROOT", fake)
    assert violations() == ["storage/bad.py:2 imports commands"]


def test_the_check_sees_a_feature_in_the_runtime_and_faces_importing_each_other(tmp_path, monkeypatch):
    """Planted arrows: the runtime naming a use case, one chat module importing another; a face
    using a use case and the assembly point naming every feature stay allowed."""
    fake = tmp_path / "project"
    for package in ALLOWED:
        (fake / package).mkdir(parents=True)
        (fake / package / "__init__.py").write_text("")
    (fake / "bot" / "scheduler.py").write_text("from services import board\n")
    (fake / "bot" / "app.py").write_text("from commands import board\nfrom services import board\n")
    (fake / "commands" / "series.py").write_text("from services.sessions import add\nfrom commands.topics import x\n")
    (fake / "commands" / "topics.py").write_text("import commands.series\n")
    (fake / "services" / "series.py").write_text("from services import sessions\nfrom bot.acting import Acting\n")
    monkeypatch.setattr(f"{__name__}.ROOT", fake)
    assert violations() == [
        "bot/scheduler.py:1 imports services",
        "commands/series.py:2 imports commands.topics",
        "commands/topics.py:1 imports commands.series",
    ]


def test_the_web_face_stands_alone_like_the_chat_face(tmp_path, monkeypatch):
    """A web module importing another, or the chat face, is found; its package gathering the
    modules' routes and a module using the runtime's web face stay allowed."""
    fake = tmp_path / "project"
    for package in ALLOWED:
        (fake / package).mkdir(parents=True)
        (fake / package / "__init__.py").write_text("")
    (fake / "web" / "__init__.py").write_text("from web import login, me\n")
    (fake / "web" / "me.py").write_text("from bot.web_face import WebFace\nfrom web.login import routes\n")
    (fake / "web" / "login.py").write_text("from commands import registration\nfrom services import widget\n")
    monkeypatch.setattr(f"{__name__}.ROOT", fake)
    assert violations() == ["web/login.py:1 imports commands", "web/me.py:2 imports web.login"]
