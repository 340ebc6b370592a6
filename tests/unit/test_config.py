"""Configuration: every key validated, one clear message naming the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_config, parse_config, require_store_key

BASE = {"matrix": {"homeserver": "http://127.0.0.1:8008", "user_id": "@regiobot:localhost", "password": "x"}}


def config_with(**sections):
    data = {k: dict(v) for k, v in BASE.items()}
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return data


def test_example_config_is_valid():
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    config = load_config(example, {"REGIOBOT_PASSWORD": "secret"})
    assert config.timezone.key == "Europe/Berlin"
    assert config.announce_before == (timedelta(days=14), timedelta(days=2))


def test_defaults():
    config = parse_config(BASE, {}, Path("/srv/regiobot"))
    assert config.command_prefix == "!" and config.language == "de"
    assert config.matrix.allowed_servers == ("localhost",)
    assert config.matrix.device_id == "REGIOBOT"
    assert config.storage_url == "sqlite+aiosqlite:////srv/regiobot/regiobot.db"
    assert config.roles.coordinator_power_level == 100 and config.roles.moderator_power_level == 50


def test_postgresql_through_asyncpg():
    url = "postgresql+asyncpg://regiobot:secret@postgres:5432/regiobot"
    assert parse_config(config_with(storage={"url": url}), {}, Path(".")).storage_url == url


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        (None, None),
        ("127.0.0.1:9108", ("127.0.0.1", 9108)),
        ("0.0.0.0:9108", ("0.0.0.0", 9108)),
        ("[::1]:9108", ("::1", 9108)),
        ("localhost:80", ("localhost", 80)),
    ],
)
def test_metrics_listener_is_off_unless_configured(listen, expected):
    data = config_with(metrics={"listen": listen}) if listen else BASE
    assert parse_config(data, {}, Path(".")).metrics_listen == expected


def test_secrets_from_environment_win():
    data = config_with(matrix={"password": None})
    del data["matrix"]["password"]
    config = parse_config(data, {"REGIOBOT_ACCESS_TOKEN": "syt_abc"}, Path("."))
    assert config.matrix.access_token == "syt_abc" and config.matrix.password is None


@pytest.mark.parametrize(
    ("sections", "key"),
    [
        ({"matrix": {"homeserver": "matrix.example.org"}}, "[matrix] homeserver"),
        ({"matrix": {"user_id": "regiobot"}}, "[matrix] user_id"),
        ({"matrix": {"device_id": "a b"}}, "[matrix] device_id"),
        ({"bot": {"timezone": "Europe/Bielefeld"}}, "[bot] timezone"),
        ({"bot": {"language": "fr"}}, "[bot] language"),
        ({"bot": {"command_prefix": ""}}, "[bot] command_prefix"),
        ({"bot": {"default_capacity": 0}}, "[bot] default_capacity"),
        ({"bot": {"session_minutes": True}}, "[bot] session_minutes"),
        ({"roles": {"coordinators": ["anna"]}}, "[roles] coordinators"),
        ({"schedule": {"remind_before": ["1 Tag"]}}, "[schedule] remind_before"),
        ({"storage": {"url": "mysql://x"}}, "[storage] url"),
        ({"storage": {"url": "postgresql://regiobot@db/regiobot"}}, "[storage] url"),
        ({"metrics": {"listen": "9108"}}, "[metrics] listen"),
        ({"metrics": {"listen": "127.0.0.1:0"}}, "[metrics] listen"),
        ({"metrics": {"listen": "http://127.0.0.1:9108/metrics"}}, "[metrics] listen"),
        ({"metrics": {"listen": 9108}}, "[metrics] listen"),
        ({"roles": {"coordinator_power_level": 0}}, "[roles] coordinator_power_level"),
        ({"roles": {"coordinator_power_level": 101}}, "[roles] coordinator_power_level"),
        ({"roles": {"moderator_power_level": 0}}, "[roles] moderator_power_level"),
        ({"roles": {"moderator_power_level": -5}}, "[roles] moderator_power_level"),
        ({"roles": {"coordinator_power_level": 50, "moderator_power_level": 75}}, "[roles] moderator_power_level"),
        ({"roles": {"moderator_power_level": "50"}}, "[roles] moderator_power_level"),
    ],
)
def test_invalid_values_name_the_key(sections, key):
    with pytest.raises(ConfigError) as info:
        parse_config(config_with(**sections), {}, Path("."))
    assert info.value.key == key


def test_missing_credentials_and_missing_keys():
    with pytest.raises(ConfigError, match=r"\[matrix\] password"):
        parse_config({"matrix": {"homeserver": "https://m.example.org", "user_id": "@b:example.org"}}, {}, Path("."))
    with pytest.raises(ConfigError, match=r"\[matrix\] homeserver: fehlt"):
        parse_config({"matrix": {}}, {}, Path("."))


def test_run_with_bad_config_exits_2_without_traceback(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text(
        '[matrix]\nhomeserver = "http://127.0.0.1:1"\nuser_id = "@bot:localhost"\n'
        'password = "x"\n[bot]\ntimezone = "Mars/Olympus"\n'
    )
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "[bot] timezone" in err and "Traceback" not in err
    path.write_text("[matrix\n")
    assert main(["run", "--config", str(path)]) == 2
    assert main(["run", "--config", str(tmp_path / "missing.toml")]) == 2


def test_when_command(capsys):
    assert main(["when", "Do 10.12. 14–15 Uhr", "--now", "2026-11-22T10:00:00+01:00"]) == 0
    assert capsys.readouterr().out.strip() == "2026-12-10T14:00:00+01:00/2026-12-10T15:00:00+01:00"
    assert main(["when", "gestern", "10", "Uhr", "--now", "2026-11-22T10:00:00+01:00"]) == 2
    assert "Vergangenheit" in capsys.readouterr().err


@pytest.mark.parametrize(("coordinator", "moderator"), [(100, 50), (1, 1), (100, 100), (50, 1)])
def test_power_levels_from_1_to_100_with_moderation_not_above_coordination(coordinator, moderator):
    roles = {"coordinator_power_level": coordinator, "moderator_power_level": moderator}
    config = parse_config(config_with(roles=roles), {}, Path("."))
    assert (config.roles.coordinator_power_level, config.roles.moderator_power_level) == (coordinator, moderator)


def test_the_store_key_comes_from_the_environment_or_the_file_and_is_never_shown():
    assert parse_config(BASE, {}, Path(".")).matrix.store_key == ""
    from_file = parse_config(config_with(matrix={"store_key": "k" * 16}), {}, Path("."))
    assert from_file.matrix.store_key == "k" * 16
    from_env = parse_config(config_with(matrix={"store_key": "k" * 16}), {"REGIOBOT_STORE_KEY": "e" * 32}, Path("."))
    assert from_env.matrix.store_key == "e" * 32 and "e" * 32 not in repr(from_env)
    require_store_key(from_env.matrix)


@pytest.mark.parametrize(("key", "says"), [("", "fehlt"), ("kurz", "zu kurz")])
def test_without_a_store_key_the_bot_refuses_to_start_and_says_why(tmp_path, capsys, monkeypatch, key, says):
    monkeypatch.delenv("REGIOBOT_STORE_KEY", raising=False)
    with pytest.raises(ConfigError) as info:
        require_store_key(parse_config(config_with(matrix={"store_key": key}), {}, Path(".")).matrix)
    assert info.value.key == "[matrix] store_key" and says in info.value.problem
    path = tmp_path / "config.toml"
    path.write_text('[matrix]\nhomeserver = "http://127.0.0.1:1"\nuser_id = "@bot:localhost"\npassword = "x"\n')
    for command in ("run", "check-config"):
        assert main([command, "--config", str(path)]) == 2
        err = capsys.readouterr().err
        assert "[matrix] store_key: fehlt" in err and "REGIOBOT_STORE_KEY" in err and "missing" in err
        assert "Traceback" not in err


def test_the_password_and_the_access_token_are_never_shown():
    secrets_env = {"REGIOBOT_PASSWORD": "pw-" + "p" * 20, "REGIOBOT_ACCESS_TOKEN": "syt_" + "t" * 20}
    config = parse_config(BASE, secrets_env, Path("."))
    assert config.matrix.password == secrets_env["REGIOBOT_PASSWORD"]
    assert config.matrix.access_token == secrets_env["REGIOBOT_ACCESS_TOKEN"]
    shown = f"{config!r} {config.matrix!r}"
    assert "p" * 20 not in shown and "t" * 20 not in shown
