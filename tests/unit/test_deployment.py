"""The container files agree with each other and with the project: Dockerfile (read with Docker's
own parser), .dockerignore, compose.yaml, the Makefile's install step and the example config."""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import dockerfile
import yaml

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


def pip_install(argv: list[str]) -> list[tuple[str, frozenset[str]]]:
    """What a `pip install` command line installs: (path, extras) per target; options dropped."""
    start = next(i for i in range(len(argv) - 1) if argv[i].endswith("pip") and argv[i + 1] == "install")
    targets = [re.fullmatch(r"(.+?)(?:\[(.*)\])?", a) for a in argv[start + 2 :] if not a.startswith("-")]
    return [(t[1], frozenset(e.strip() for e in (t[2] or "").split(",") if e.strip())) for t in targets]


def makefile_install() -> list[str]:
    line = next(line for line in (ROOT / "Makefile").read_text().splitlines() if "pip install" in line and "-e" in line)
    return shlex.split(line.strip().replace("$(BIN)/", ""))


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


def test_image_installs_the_project_as_the_makefile_does():
    builder = stages()[0]
    run = next(c for c in instructions(builder, "RUN") if "pip install" in c.value[0])
    [(docker_path, docker_extras)] = pip_install(shlex.split(run.value[0]))
    [(make_path, make_extras)] = pip_install(makefile_install())
    assert docker_path == make_path == "."  # this project, from its own folder
    assert docker_extras == set() and "test" in make_extras  # the image leaves out tests and Synapse
    # "." is the folder the project was copied to, and it holds everything the package build needs.
    workdir = last(builder[: builder.index(run)], "WORKDIR").value[0]
    copied = {
        PurePosixPath(src).name
        for c in instructions(builder, "COPY")
        for src in c.value[:-1]
        if PurePosixPath(workdir, c.value[-1]).is_relative_to(workdir)
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert {"pyproject.toml", project["project"]["readme"], *packages} <= copied


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
