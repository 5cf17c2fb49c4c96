"""The console's parts on their own: the history tree, the JSON-aware diff, decoding by
content type, metadata filters, the sign-in redirect, and session expiry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from checkpoint_client import Channel, Checkpoint
from checkpoint_gateway.console._history import lay_out
from checkpoint_gateway.console._pages import parse_filter
from checkpoint_gateway.console._server import ConsoleError, _host_name, _safe_next
from checkpoint_gateway.console._sessions import Sessions
from checkpoint_gateway.views.decode import DISPLAY_LIMIT, decode
from checkpoint_gateway.views.diff import diff_checkpoints, format_path


def cp(cid: str, parent: str = "", namespace: str = "", state: Any = None) -> Checkpoint:
    return Checkpoint("run", state or {}, checkpoint_id=cid, parent_id=parent, namespace=namespace)


def test_a_linear_history_is_one_lane() -> None:
    rows = lay_out([cp("c", "b"), cp("b", "a"), cp("a")], first_position=51)
    assert [r.lanes for r in rows] == ["●", "●", "●"]
    assert [r.position for r in rows] == [51, 52, 53]
    assert not any(r.branched or r.children > 1 for r in rows)


def test_a_fork_shows_two_lanes_that_meet() -> None:
    # a <- b <- c, and d forked from a after c was saved (newest first: d, c, b, a).
    rows = lay_out([cp("d", "a"), cp("c", "b"), cp("b", "a"), cp("a")])
    assert [r.lanes for r in rows] == ["●", "│●", "│●", "◆┘"]
    assert rows[3].children == 2
    assert rows[0].branched  # d follows a, not c (saved just before it)
    assert not rows[1].branched


def test_namespaces_get_lanes_of_their_own() -> None:
    rows = lay_out([cp("s2", "s1", "sub"), cp("r2", "r1"), cp("s1", "", "sub"), cp("r1")])
    assert [r.lanes for r in rows] == ["●", "│●", "●│", " ●"]
    assert not any(r.branched for r in rows)


def test_diff_names_changed_keys_and_list_items() -> None:
    a = cp("a", state={"messages": ["hi", "there"], "n": 1, "gone": True})
    b = cp("b", state={"messages": ["hi", "new", "there"], "n": 2, "added": {"k": [1]}})
    b.metadata = {"step": 2}
    changes = {(c.kind, c.path): (c.before, c.after) for c in diff_checkpoints(a, b)}
    assert changes == {
        ("added", "metadata.step"): (None, 2),
        ("added", "state.added"): (None, {"k": [1]}),
        ("added", "state.messages[1]"): (None, "new"),  # an insertion, not a shift
        ("changed", "state.n"): (1, 2),
        ("removed", "state.gone"): (True, None),
    }


def test_diff_of_channels_and_of_bytes() -> None:
    a = cp("a").replace(channels={"messages": Channel("1", ["hi"])})
    b = cp("b").replace(channels={"messages": Channel("2", ["hi", "yo"])})
    assert [(c.kind, c.path) for c in diff_checkpoints(a, b)] == [("added", "channels.messages[1]")]
    x = Checkpoint("run", b"\x00\x01", content_type="application/octet-stream")
    y = Checkpoint("run", b"\x00\x02", content_type="application/octet-stream")
    [change] = diff_checkpoints(x, y)
    assert change.path == "state"
    assert "2 bytes application/octet-stream" in change.before
    assert diff_checkpoints(x, x) == []


def test_paths_quote_what_is_not_a_name() -> None:
    assert format_path(["state", "a b", 0, "x"]) == "state['a b'][0].x"
    assert format_path([]) == "(whole)"


def test_decode_by_content_type() -> None:
    assert decode(b'{"a":[1]}', "application/json").text == '{\n  "a": [\n    1\n  ]\n}'
    assert decode(b'{"a":1}', "application/x-langgraph;serde=json").kind == "json"
    assert decode(b"{not json", "application/json").text == "{not json"
    assert decode("héllo".encode(), "text/plain; charset=utf-8").text == "héllo"
    binary = decode(bytes(range(20)), "application/octet-stream")
    assert binary.kind == "binary"
    assert binary.text.startswith("00000000  00 01 02")
    big = decode(json.dumps(["x" * 100] * 10_000).encode(), "application/json")
    assert big.truncated
    assert len(big.text) == DISPLAY_LIMIT


def test_states_nested_beyond_the_stack_are_shown_and_compared_as_text() -> None:
    data = ("[" * 100_000 + "]" * 100_000).encode()
    decoded = decode(data, "application/json")
    assert decoded.kind == "text"
    assert decoded.text.startswith("[[[")
    a = Checkpoint("run", data, content_type="application/json")
    b = Checkpoint("run", data + b" ", content_type="application/json")
    assert [c.path for c in diff_checkpoints(a, b)] == ["state"]
    # Deep, yet within the stack: shown as JSON (the diff page says when it cannot go
    # that deep rather than failing).
    assert decode(("[" * 900 + "]" * 900).encode(), "application/json").kind == "json"


def test_decode_langgraph_msgpack() -> None:
    ormsgpack = pytest.importorskip("ormsgpack")
    data = ormsgpack.packb({"messages": ["hi"], "n": 1})
    decoded = decode(data, "application/x-langgraph;serde=msgpack")
    assert decoded.kind == "json"
    assert decoded.value == {"messages": ["hi"], "n": 1}


def test_metadata_filters_as_typed() -> None:
    assert parse_filter("") == {}
    assert parse_filter("source=loop step=3 done=true") == {
        "source": "loop",
        "step": 3,
        "done": True,
    }
    assert parse_filter('{"step": 3}') == {"step": 3}
    with pytest.raises(ConsoleError):
        parse_filter("no-equals-sign")
    with pytest.raises(ConsoleError):
        parse_filter("[1]")


def test_sign_in_only_sends_back_within_the_console() -> None:
    assert _safe_next("/execution?id=a") == "/execution?id=a"
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "x", ""):
        assert _safe_next(target) == ""
    assert _host_name("127.0.0.1:8080") == "127.0.0.1"
    assert _host_name("[::1]:8080") == "[::1]"
    assert _host_name("localhost") == "localhost"


async def test_sessions_end_when_idle() -> None:
    now = [0.0]
    sessions = Sessions(lambda token, tenant: None, idle_seconds=60, clock=lambda: now[0])  # type: ignore[arg-type,return-value]
    session = sessions.new("token")
    await sessions.add(session)
    now[0] = 59
    assert await sessions.get(session.id) is session
    now[0] = 118  # 59 s after the last request: still alive
    assert await sessions.get(session.id) is session
    now[0] = 179
    assert await sessions.get(session.id) is None
    assert len(sessions) == 0
    assert await sessions.get("made-up") is None


def test_every_template_and_stylesheet_ships_in_the_wheel() -> None:
    """The image installs the server as a wheel: its templates must be package data."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["checkpoint_gateway.console"]
    package = root / "server" / "checkpoint_gateway" / "console"
    assets = [p for p in package.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
    assert assets
    for asset in assets:
        relative = asset.relative_to(package)
        assert any(relative.match(pattern) for pattern in declared), relative
