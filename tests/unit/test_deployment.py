"""The container files agree with each other and with the project: Dockerfile (read with Docker's
own parser), .dockerignore, compose.yaml, the Makefile's install step, the lock files and the
example config."""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath
from typing import NamedTuple
from urllib.parse import urlsplit

import dockerfile
import yaml
from packaging.requirements import Requirement

from bot.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def stages() -> list[list[dockerfile.Command]]:
    """The Dockerfile's instructions, one list per build stage."""
    result: list[list[dockerfile.Command]] = []
    for command in dockerfile.parse_file(str(ROOT / "Dockerfile")):
        if command.cmd == "FROM":
            result.append([])
        result[-1].append(command)
    return result


def instructions(stage: list[dockerfile.Command], name: str) -> list[dockerfile.Command]:
    return [c for c in stage if c.cmd == name]


def last(stage: list[dockerfile.Command], name: str) -> dockerfile.Command:
    found = instructions(stage, name)
    assert found, f"no {name} in the stage"
    return found[-1]


class PipInstall(NamedTuple):
    options: frozenset[str]
    lock_files: list[str]  # the -r requirement files
    targets: list[tuple[str, frozenset[str]]]  # (path, extras)


def pip_install(argv: list[str]) -> PipInstall:
    """What a `pip install` command line installs: its options, requirement files and targets."""
    start = next(i for i in range(len(argv) - 1) if argv[i].endswith("pip") and argv[i + 1] == "install")
    args = argv[start + 2 :]
    files = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-r", "--requirement")]
    rest = [a for a in args if a not in files]
    targets = [re.fullmatch(r"(.+?)(?:\[(.*)\])?", a) for a in rest if not a.startswith("-")]
    return PipInstall(
        frozenset(a for a in rest if a.startswith("-")),
        files,
        [(t[1], frozenset(e.strip() for e in (t[2] or "").split(",") if e.strip())) for t in targets],
    )


def makefile_lines() -> list[str]:
    """The Makefile's lines with its simple variables ($(NAME) from NAME := value) filled in."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    variables = dict(re.findall(r"^(\w+) :?= (.*)$", "\n".join(lines), re.MULTILINE))

    def expand(line: str) -> str:
        for _ in range(5):  # variables made of variables: $(STAMP) is $(VENV)/.installed
            line = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m[1], m[0]), line)
        return line

    return [expand(line) for line in lines]


def docker_installs() -> list[PipInstall]:
    runs = instructions(stages()[0], "RUN")
    return [pip_install(shlex.split(c.value[0])) for c in runs if "pip install" in c.value[0]]


def makefile_installs() -> list[PipInstall]:
    return [pip_install(shlex.split(line.strip())) for line in makefile_lines() if "pip install" in line]


def lock_pins(path: str) -> dict[str, str]:
    """A lock file's pins (normalised name → version); each one must carry at least one hash."""
    text = (ROOT / path).read_text()
    requirements = [line for line in text.splitlines() if line and not line[0].isspace() and line[0] != "#"]
    pins = re.findall(
        r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?: \\\n\s+--hash=sha256:[0-9a-f]{64})+", text, re.MULTILINE
    )
    assert pins and len(pins) == len(requirements), f"{path}: every requirement pinned with == and hashed"
    return {normalised(name): version for name, version in pins}


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule for .dockerignore: the last pattern matching the path or a folder above it wins."""
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    verdict = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!")
        if any(
            fnmatch.fnmatchcase(c, pattern) or fnmatch.fnmatchcase(c, pattern.removeprefix("**/")) for c in candidates
        ):
            verdict = not negated
    return verdict


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_two_stages_on_the_same_slim_python_311():
    builder, runtime = stages()
    bases = [stage[0].value for stage in (builder, runtime)]
    assert [b[0] for b in bases] == ["python:3.11-slim-bookworm"] * 2
    assert [b[2] for b in bases] == ["builder", "runtime"]
    copies = instructions(runtime, "COPY")
    assert [c.flags for c in copies] == [("--from=builder",)]
    venv = copies[0].value[0]
    assert copies[0].value == (venv, venv)
    env = last(runtime, "ENV").value
    assert dict(zip(env[::2], env[1::2], strict=False))["PATH"] == f"{venv}/bin:$PATH"


def test_runs_as_an_unprivileged_user_with_data_in_a_volume():
    runtime = stages()[-1]
    user = last(runtime, "USER").value[0]
    assert user not in ("root", "0")
    assert re.search(rf"useradd .*--uid \d+ .*\b{user}\b", last(runtime, "RUN").value[0])
    assert last(runtime, "VOLUME").value == ("/data",)
    assert f"chown {user}:{user} /data" in last(runtime, "RUN").value[0]
    assert last(runtime, "WORKDIR").value == ("/data",)


def test_entry_point_runs_the_bot_on_the_config_in_the_volume():
    runtime = stages()[-1]
    entrypoint, cmd = last(runtime, "ENTRYPOINT"), last(runtime, "CMD")
    assert entrypoint.json and cmd.json
    assert [*entrypoint.value, *cmd.value] == ["regiobot", "run", "--config", "/data/config.toml"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint.value[0] in scripts


def test_health_check_asks_healthz_on_the_metrics_port_of_the_example_config():
    runtime = stages()[-1]
    check = last(runtime, "HEALTHCHECK")
    assert check.json
    kind, program, flag, code = check.value
    assert kind == "CMD"
    assert (program, flag) == ("python", "-c") and "urllib.request.urlopen(" in code
    url = urlsplit(re.search(r"'(http://[^']+)'", code).group(1))
    assert url.path == "/healthz"
    example = load_config(ROOT / "config.example.toml", {"REGIOBOT_PASSWORD": "x"})
    assert example.metrics_listen is not None and url.port == example.metrics_listen[1]
    assert last(runtime, "EXPOSE").value == (str(url.port),)
    assert any(flag.startswith("--interval=") for flag in check.flags)


def test_image_installs_the_lock_then_the_project_as_the_makefile_does():
    builder = stages()[0]
    runs = [c for c in instructions(builder, "RUN") if "pip install" in c.value[0]]
    docker, make = docker_installs(), makefile_installs()
    # Both first install a lock file with every file's hash checked, then the project from its own
    # folder ("."), without extras and without resolving anything: what is installed is the lock.
    for lock, project in (docker, make):
        assert "--require-hashes" in lock.options and len(lock.lock_files) == 1 and not lock.targets
        assert "--no-deps" in project.options and not project.lock_files
        assert project.targets == [(".", frozenset())]
    [docker_lock], [make_lock] = docker[0].lock_files, make[0].lock_files
    assert docker_lock != make_lock
    # The Makefile's environment is reinstalled whenever its lock or the project's metadata change.
    stamp_rule = next(line for line in makefile_lines() if line.startswith(".venv/.installed:"))
    assert {make_lock, "pyproject.toml"} <= set(stamp_rule.split(":", 1)[1].split())
    # "." is the folder the project was copied to, and it holds everything the package build needs,
    # and the lock file was copied there before it is installed.
    workdir = last(builder[: builder.index(runs[0])], "WORKDIR").value[0]

    def copied(before: dockerfile.Command) -> set[str]:
        return {
            PurePosixPath(src).name
            for c in instructions(builder[: builder.index(before)], "COPY")
            for src in c.value[:-1]
            if PurePosixPath(workdir, c.value[-1]).is_relative_to(workdir)
        }

    def source_of(path: str, before: dockerfile.Command) -> Path | None:
        """The file of the build context that a COPY before `before` put at `path` (below the workdir)."""
        found = None
        for c in instructions(builder[: builder.index(before)], "COPY"):
            dest = PurePosixPath(workdir, c.value[-1])
            for src in c.value[:-1]:
                target = PurePosixPath(workdir, path)
                if c.value[-1].endswith("/") and target == dest / PurePosixPath(src).name:
                    found = ROOT / src
                elif target.is_relative_to(dest) and (ROOT / src / target.relative_to(dest)).is_file():
                    found = ROOT / src / target.relative_to(dest)
        return found

    assert source_of(docker_lock, runs[0]) == ROOT / docker_lock
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert {"pyproject.toml", project["project"]["readme"], *packages} <= copied(runs[1])


def test_the_locks_pin_what_pyproject_asks_for_and_the_image_runs_the_tested_versions():
    [docker_lock], [make_lock] = docker_installs()[0].lock_files, makefile_installs()[0].lock_files
    runtime, tested = lock_pins(docker_lock), lock_pins(make_lock)
    assert runtime.items() <= tested.items()  # the image's versions are the ones the tests ran with
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    for lock, wanted in (
        (runtime, project["dependencies"]),
        (tested, project["dependencies"] + extras["test"] + extras["dev"]),
    ):
        for requirement in map(Requirement, wanted):
            name = normalised(requirement.name)
            assert name in lock, f"{requirement} is not locked: run `make lock`"
            assert requirement.specifier.contains(lock[name], prereleases=True), f"{requirement}: `make lock`"
    left_out = {normalised(Requirement(r).name) for r in extras["test"] + extras["dev"]}
    assert not left_out & runtime.keys()  # no test tools, Synapse or linters in the image


def test_build_context_holds_the_sources_and_nothing_secret():
    patterns = dockerignore()
    sources = [src for stage in stages() for c in instructions(stage, "COPY") if not c.flags for src in c.value[:-1]]
    assert sources and not [s for s in sources if ignored(s, patterns)]
    assert not ignored("rules/locales/de.toml", patterns)
    assert not ignored("storage/migrations/versions/0001_sessions_and_registrations.py", patterns)
    for private in (
        ".git/config",
        ".venv/bin/python",
        "config.toml",
        "data/config.toml",
        "regiobot.db",
        "store/matrix.db",
        "tests/e2e/conftest.py",
        "bot/__pycache__/app.cpython-311.pyc",
    ):
        assert ignored(private, patterns), private


def test_compose_runs_this_image_on_its_volume_with_postgresql():
    services = compose()["services"]
    bot, postgres = services["regiobot"], services["postgres"]
    assert bot["build"] == "." and (ROOT / "Dockerfile").exists()
    assert "command" not in bot and "entrypoint" not in bot  # the image's own: run --config /data/config.toml
    runtime = stages()[-1]
    assert [v.split(":")[1] for v in bot["volumes"]] == list(last(runtime, "VOLUME").value)
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert postgres["image"].split(":")[1] == "15"
    assert set(bot["environment"]) == {"REGIOBOT_PASSWORD", "REGIOBOT_STORE_KEY", "PGPASSWORD"}
    assert bot["environment"]["PGPASSWORD"] == postgres["environment"]["POSTGRES_PASSWORD"]
    assert {p.rsplit(":", 1)[1] for p in bot["ports"]} == set(last(runtime, "EXPOSE").value)


def test_the_example_database_url_fits_the_compose_postgresql():
    postgres = compose()["services"]["postgres"]
    text = (ROOT / "config.example.toml").read_text()
    urls = [urlsplit(u) for u in re.findall(r'"(postgresql\+asyncpg://[^"]+)"', text)]
    assert urls
    for url in urls:
        assert url.hostname == "postgres" and url.port in (None, 5432)
        assert url.username == postgres["environment"]["POSTGRES_USER"]
        assert url.path.lstrip("/") == postgres["environment"]["POSTGRES_DB"]
        assert url.password is None  # it comes from PGPASSWORD
