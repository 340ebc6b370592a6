"""The docs keep up with the code: every command and alias the routers declare is in
docs/commands.md, every command the docs quote exists, every key the config loader reads is in
config.example.toml and docs/configuration.md, and the links between the pages lead somewhere.
The pre-commit hooks run what `make check` runs.

The config keys are not listed here: the loader is run on tables that note each key it looks up.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bot.app import ROUTERS
from bot.config import parse_config
from bot.routing import CommandSet, Invocation, parse_invocation

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
COMMANDS_PAGE = DOCS / "commands.md"
CONFIG_PAGE = DOCS / "configuration.md"
EXAMPLE = ROOT / "config.example.toml"
PAGES = sorted([ROOT / "README.md", *DOCS.glob("*.md")])
PREFIX = "!"  # the default `[bot] command_prefix`, the one the docs are written with
CODE_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
EXAMPLE_SECTION = re.compile(r"^#?\s*\[(\w+)\]\s*$")
PAGE_SECTION = re.compile(r"^#+ .*`\[(\w+)\]`")
TABLE_KEY = re.compile(r"^\| `(\w+)` \|")
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#+ (.+)$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CHECK_RECIPE = re.compile(r"^check:.*?\n((?:\t.*\n)+)", re.MULTILINE)
CHECK_TOOL = re.compile(r"\$\(BIN\)/([^|;]+?)\s*\|\|")
TYPED = re.compile(r"^TYPED := \$\(wildcard ([^)]*)\)", re.MULTILINE)
HOOK_ENTRY = re.compile(r"^\s*entry: \.venv/bin/(.+?)\s*$", re.MULTILINE)

KeyPath = tuple[str, ...]


class _Table(dict[str, Any]):
    """A TOML table that notes the path of every key looked up in it, present or not; the tables
    inside it (or given as a default) note theirs."""

    def __init__(self, values: dict[str, Any], path: KeyPath, seen: set[KeyPath]) -> None:
        super().__init__(values)
        self.path = path
        self.seen = seen

    def _looked_up(self, key: str, value: Any) -> Any:
        self.seen.add((*self.path, key))
        return _Table(value, (*self.path, key), self.seen) if isinstance(value, dict) else value

    def __contains__(self, key: object) -> bool:
        self.seen.add((*self.path, str(key)))
        return super().__contains__(key)

    def __getitem__(self, key: str) -> Any:
        return self._looked_up(key, super().__getitem__(key))

    def get(self, key: str, default: Any = None) -> Any:
        return self._looked_up(key, super().get(key, default))


class _Environment(dict[str, str]):
    """An empty environment that notes the variables looked up in it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.add(key)
        return super().get(key, default)


@cache
def loader_reads() -> tuple[dict[str, set[str]], set[str]]:
    """The sections and keys `parse_config` looks up ({section: {key}}), and the environment
    variables it reads, found by running it on the example (with a password, so that it gets
    past the account) and an empty environment."""
    data = tomllib.loads(EXAMPLE.read_text())
    data["matrix"]["password"] = "secret"
    seen: set[KeyPath] = set()
    environment = _Environment()
    parse_config(_Table(data, (), seen), environment, base_dir=ROOT)
    sections: dict[str, set[str]] = {path[0]: set() for path in seen}
    for path in seen:
        if len(path) == 2:
            sections[path[0]].add(path[1])
    return sections, environment.seen


def by_section(text: str, header: re.Pattern[str]) -> dict[str, str]:
    """The text under each section header (a line `header` matches) up to the next one."""
    sections: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in text.splitlines():
        match = header.match(line)
        if match:
            lines = sections.setdefault(match.group(1), [])
        else:
            lines.append(line)
    return {name: "\n".join(body) for name, body in sections.items()}


def quoted_commands(text: str) -> Iterator[tuple[str, Invocation]]:
    """Code spans that quote a command (`!name …`, not the prefix alone or a room id
    `!abc:server`), each with the command as the bot would read it."""
    for span in CODE_SPAN.findall(text):
        invocation = parse_invocation(span, PREFIX)
        if invocation is not None and ":" not in invocation.words[0]:
            yield span, invocation


def documents(span: str, name: str) -> bool:
    return span == f"{PREFIX}{name}" or span.startswith(f"{PREFIX}{name} ")


def test_every_command_and_alias_is_in_the_commands_page():
    spans = [span for span, _ in quoted_commands(COMMANDS_PAGE.read_text())]
    names = {name for command in CommandSet(ROUTERS).commands for name in command.names}
    missing = sorted(name for name in names if not any(documents(span, name) for span in spans))
    assert not missing, "docs/commands.md lacks these commands or aliases (quote each as `!name …`): " + ", ".join(
        f"{PREFIX}{name}" for name in missing
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_command_the_docs_quote_exists(page: Path):
    commands = CommandSet(ROUTERS)
    unknown = [span for span, invocation in quoted_commands(page.read_text()) if commands.resolve(invocation) is None]
    assert not unknown, f"{page.relative_to(ROOT)} quotes commands no router declares: {unknown}"


def test_every_config_key_is_in_the_example():
    sections, environment = loader_reads()
    text = EXAMPLE.read_text()
    example = by_section(text, EXAMPLE_SECTION)
    missing = [f"[{section}]" for section in sorted(sections) if section not in example]
    missing += [
        f"[{section}] {key}"
        for section, keys in sorted(sections.items())
        for key in sorted(keys)
        if not re.search(rf"^#?\s*{re.escape(key)}\s*=", example.get(section, ""), re.MULTILINE)
    ]
    missing += sorted(name for name in environment if name not in text)
    assert not missing, "config.example.toml lacks (as `key = …`, or commented out): " + ", ".join(missing)


def test_every_config_key_is_in_the_configuration_page():
    sections, environment = loader_reads()
    text = CONFIG_PAGE.read_text()
    page = by_section(text, PAGE_SECTION)
    missing = [f"[{section}]" for section in sorted(sections) if section not in page]
    missing += [
        f"[{section}] {key}"
        for section, keys in sorted(sections.items())
        for key in sorted(keys)
        if f"`{key}`" not in page.get(section, "")
    ]
    missing += sorted(name for name in environment if f"`{name}`" not in text)
    assert not missing, "docs/configuration.md lacks (as `key` under a heading with `[section]`): " + ", ".join(missing)


def test_the_configuration_page_documents_no_key_the_loader_does_not_read():
    sections, _ = loader_reads()
    page = by_section(CONFIG_PAGE.read_text(), PAGE_SECTION)
    stale = [
        f"[{section}] {match.group(1)}"
        for section, body in sorted(page.items())
        for match in (TABLE_KEY.match(line) for line in body.splitlines())
        if match and match.group(1) not in sections.get(section, set())
    ]
    assert not stale, f"docs/configuration.md documents keys the loader does not read: {', '.join(stale)}"


def anchors(page: Path) -> list[str]:
    """The anchors of a page's headings, as GitHub makes them (lower case, punctuation dropped,
    spaces as hyphens)."""
    headings = HEADING.findall(FENCE.sub("", page.read_text()))
    return [re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_links_between_pages_lead_somewhere(page: Path):
    own = anchors(page)
    assert len(own) == len(set(own)), f"{page.relative_to(ROOT)} has two headings of the same name: {sorted(own)}"
    broken = []
    for target in LINK.findall(page.read_text()):
        if "://" in target:
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in anchors(linked)):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to what is not there: {broken}"


def test_the_pre_commit_hooks_run_what_make_check_runs():
    makefile = (ROOT / "Makefile").read_text()
    recipe = CHECK_RECIPE.search(makefile)
    typed = TYPED.search(makefile)
    assert recipe and typed, "the Makefile's check target or its TYPED list is not where this test looks"
    packages = " ".join(name for name in typed.group(1).split() if (ROOT / name).exists())
    checks = {tool.replace("$(TYPED)", packages) for tool in CHECK_TOOL.findall(recipe.group(1))}
    hooks = set(HOOK_ENTRY.findall((ROOT / ".pre-commit-config.yaml").read_text()))
    assert checks and hooks == checks, f"make check runs {sorted(checks)}, the pre-commit hooks {sorted(hooks)}"
