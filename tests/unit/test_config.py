"""Settings: strict parsing, precedence, and documentation of every setting."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from checkpoint_gateway import config

ROOT = Path(__file__).resolve().parents[2]


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    config.add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults() -> None:
    s = config.load(_args(), environ={})
    assert s.listen == "127.0.0.1:50051"
    assert s.backend == "sqlite:///checkpoints.db"
    assert s.max_state_bytes == 16 * 1024 * 1024
    assert s.max_checkpoints is None
    assert s.ttl_seconds is None


def test_flag_beats_env_beats_default() -> None:
    env = {"CHECKPOINT_GATEWAY_LISTEN": "0.0.0.0:1", "CHECKPOINT_GATEWAY_MAX_PAGE_SIZE": "200"}
    s = config.load(_args("--listen", "[::1]:2"), environ=env)
    assert s.listen == "[::1]:2"
    assert s.max_page_size == 200


@pytest.mark.parametrize(
    ("text", "size"),
    [("1048576", 1048576), ("64KiB", 65536), ("16MiB", 16 * 2**20), ("2MB", 2_000_000)],
)
def test_sizes(text: str, size: int) -> None:
    assert config.parse_size(text) == size


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"CHECKPOINT_GATEWAY_MAX_STATE_BYTES": "16 megs"}, "--max-state-bytes"),
        ({"CHECKPOINT_GATEWAY_MAX_PAGE_SIZE": "0"}, "--max-page-size"),
        ({"CHECKPOINT_GATEWAY_TTL_SECONDS": "soon"}, "--ttl-seconds"),
        ({"CHECKPOINT_GATEWAY_LISTEN": "127.0.0.1"}, "--listen"),
        ({"CHECKPOINT_GATEWAY_LISTEN": "[zz]:80"}, "--listen"),
        ({"CHECKPOINT_GATEWAY_LOG_LEVEL": "loud"}, "--log-level"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], names: str) -> None:
    with pytest.raises(config.SettingsError, match=names):
        config.load(_args(), environ=env)


def test_optional_settings_can_be_turned_off() -> None:
    s = config.load(_args(), environ={"CHECKPOINT_GATEWAY_MAX_CHECKPOINTS": "off"})
    assert s.max_checkpoints is None
    assert config.load(_args("--max-checkpoints", "5"), environ={}).max_checkpoints == 5


def test_bools_are_strict() -> None:
    assert config.parse_bool("false") is False
    assert config.parse_bool("Yes") is True
    with pytest.raises(ValueError, match="true or false"):
        config.parse_bool("flase")


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [env for _, env, _, _ in config.describe() if env not in readme]
    assert not missing, f"README does not document {missing}"


def test_backend_sections_are_parsed_by_type() -> None:
    env = {
        "CHECKPOINT_GATEWAY_POSTGRES_MAX_SIZE": "32",
        "CHECKPOINT_GATEWAY_POSTGRES_CHECK": "false",
        "CHECKPOINT_GATEWAY_POSTGRES_PREPARE_THRESHOLD": "none",
        "CHECKPOINT_GATEWAY_REDIS_POOL_TIMEOUT": "0.5",
    }
    s = config.load(_args("--redis-key-prefix", "agents:"), environ=env)
    assert s.postgres.max_size == 32
    assert s.postgres.check is False
    assert s.postgres.prepare_threshold is None
    assert s.redis.pool_timeout == 0.5
    assert s.redis.key_prefix == "agents:"
    assert config.load(_args(), environ={}).postgres.max_size == 10


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"CHECKPOINT_GATEWAY_POSTGRES_MAX_SIZE": "many"}, "--postgres-max-size"),
        ({"CHECKPOINT_GATEWAY_REDIS_SOCKET_KEEPALIVE": "perhaps"}, "--redis-socket-keepalive"),
        ({"CHECKPOINT_GATEWAY_REDIS_MAX_CONNECTIONS": "0"}, "CHECKPOINT_GATEWAY_REDIS_"),
        (
            {"CHECKPOINT_GATEWAY_POSTGRES_SCHEMA": "public; drop table x"},
            "CHECKPOINT_GATEWAY_POSTGRES_",
        ),
    ],
)
def test_bad_backend_settings_name_the_section(env: dict[str, str], names: str) -> None:
    with pytest.raises(config.SettingsError, match=names):
        config.load(_args(), environ=env)
