"""The web console in headless Chromium against a real gateway: sign in, list, open,
diff, page through a 10,000-checkpoint history, tenants, and refusals."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from playwright.sync_api import expect

from checkpoint_client.langgraph import GatewaySaver

from .conftest import LONG_HISTORY, PAGE, PRINCIPALS, Seeded, principals_yaml

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "console.png"

#: The en dash of a range of positions ("1-50") and the times sign of a fork ("x2").
DASH, TIMES = "\u2013", "\u00d7"

pytestmark = pytest.mark.slow


class ChatState(TypedDict):
    messages: Annotated[list[Any], add_messages]
    count: int


def agent(state: ChatState) -> dict[str, Any]:
    """A graph node: one reply per turn."""
    return {"messages": [AIMessage(f"reply {state['count']}")], "count": state["count"] + 1}


def sign_in(page: Any, url: str, principal: str) -> None:
    """Sign in through the form, as a person does."""
    page.goto(url)
    page.get_by_label("Token").fill(PRINCIPALS[principal].token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Executions")).to_be_visible()


def test_refuses_without_credentials(page: Any, seeded: Seeded) -> None:
    # No session: every page is the sign-in form, with 401, and shows no data.
    for path in ("", "execution?id=run-forks", "search?filter=", "diff?execution=long"):
        response = page.goto(seeded.url + path)
        assert response.status == 401, path
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        assert "node-1" not in page.content()
    raw = page.request.get(
        seeded.url + f"checkpoint/raw?execution=run-forks&id={seeded.forks[0].checkpoint_id}"
    )
    assert raw.status == 401
    assert b"messages" not in raw.body()

    # A wrong token: refused, and no session cookie.
    page.get_by_label("Token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The gateway did not accept this token.")
    assert page.context.cookies() == []
    assert page.goto(seeded.url).status == 401

    # A principal without the read role: refused too.
    page.get_by_label("Token").fill(PRINCIPALS["writeonly"].token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("may not read checkpoints")
    assert page.context.cookies() == []


def test_list_open_checkpoint_and_diff(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded.url, "reader")
    cookie = page.context.cookies()[0]
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert PRINCIPALS["reader"].token not in cookie["value"]

    # The executions of the tenant, most recently saved first; not the other tenant's.
    executions = page.locator("table.executions tbody tr td:nth-child(2)")
    expect(executions).to_have_text(["hostile", "long", "run-forks"])
    assert "team-b-secret" not in page.content()

    # An execution's history: every namespace, the fork and the branch marked.
    page.get_by_role("link", name="run-forks", exact=True).click()
    expect(page.get_by_role("heading", name="Execution run-forks")).to_be_visible()
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(len(seeded.forks))
    expect(page.locator(".namespaces")).to_contain_text("tools:call-1")
    fork_point = rows.filter(has_text="node-1")
    expect(fork_point.locator(".badge.fork")).to_have_text(f"fork {TIMES}2")
    expect(rows.filter(has_text="replay").locator(".badge.branch")).to_be_visible()
    if os.environ.get("CHECKPOINT_GATEWAY_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    # A checkpoint: its state pretty-printed, its pending writes, its parent.
    rows.filter(has_text="node-2").locator("td:nth-child(4) a.id").click()
    expect(page.get_by_role("heading", name=re.compile("^Checkpoint "))).to_contain_text(
        seeded.forks[2].checkpoint_id
    )
    state = page.locator("pre.json").first
    expect(state).to_contain_text('"how are you"')
    assert '\n  "messages": [' in state.inner_text()  # indented, not one line
    writes = page.locator("table.writes tbody tr")
    expect(writes).to_have_count(1)
    expect(writes).to_contain_text("task-7")
    expect(writes).to_contain_text('"content": "42"')

    # Its diff with its parent: the list item added, keyed by path.
    page.get_by_role("link", name="Diff with parent").click()
    diff = page.locator("table.diff tbody tr")
    expect(diff.filter(has_text="state.messages[2]")).to_contain_text("added")
    expect(diff.filter(has_text="state.messages[2]")).to_contain_text('"how are you"')
    expect(diff.filter(has_text="metadata.step")).to_contain_text("changed")

    # Two ticked in the history: the fork against the branch it left.
    page.go_back()
    page.go_back()
    rows.filter(has_text="node-2").get_by_role("checkbox").check()
    rows.filter(has_text="replay").get_by_role("checkbox").check()
    page.get_by_role("button", name="Diff the two ticked").click()
    diff = page.locator("table.diff tbody tr")
    expect(diff.filter(has_text="state.messages[2]")).to_contain_text("changed")
    expect(diff.filter(has_text="state.done")).to_contain_text("true")
    expect(diff.filter(has_text="node")).to_contain_text(["changed"])
    assert "state.messages[0]" not in page.locator("table.diff").inner_text()  # unchanged


def test_pages_through_a_long_history(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded.url, "reader")
    started = time.monotonic()
    page.goto(seeded.url + "execution?id=long")
    first_page = time.monotonic() - started
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(PAGE)
    expect(page.locator(".pager .count")).to_have_text(f"1{DASH}{PAGE}")
    newest = seeded.long_ids[::-1]
    expect(rows.first.locator("a.id").first).to_have_attribute("title", newest[0])
    # A page, not the history: the oldest checkpoint is nowhere on it.
    assert seeded.long_ids[0] not in page.content()
    assert len(page.content()) < 200_000

    for number in (2, 3):
        page.get_by_role("link", name="Next page »").click()
        first = (number - 1) * PAGE + 1
        expect(page.locator(".pager .count")).to_have_text(f"{first}{DASH}{first + PAGE - 1}")
        expect(rows).to_have_count(PAGE)
        expect(rows.first.locator("td.num").first).to_have_text(str(first))
        expect(rows.first.locator("a.id").first).to_have_attribute("title", newest[first - 1])
        expect(rows.last.locator("a.id").first).to_have_attribute("title", newest[first + PAGE - 2])
    page.get_by_role("link", name="« Newest").click()
    expect(page.locator(".pager .count")).to_have_text(f"1{DASH}{PAGE}")

    # Deep in the history: the oldest checkpoint's lineage page is one page too.
    page.goto(seeded.url + f"lineage?execution=long&id={newest[0]}")
    expect(rows).to_have_count(PAGE)
    expect(page.get_by_role("link", name="Next page »")).to_be_visible()
    # Generous: a page of 10,000 costs a page of 50 (a full load would take seconds).
    assert first_page < 5, f"the first page took {first_page:.1f}s"
    assert LONG_HISTORY > 100 * PAGE


def test_a_tenant_sees_only_its_own(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded.url, "reader")
    # Another tenant's execution, by id: the reader's tenant has none of that name.
    page.goto(seeded.url + "execution?id=team-b-secret")
    expect(page.locator("table.history tbody tr")).to_have_count(0)
    # Naming another tenant: the gateway refuses a principal without the admin role.
    response = page.goto(seeded.url + "?tenant=team-b")
    assert response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("may not act in another tenant")

    # An admin may look at another tenant, and sees only that one there.
    page.context.clear_cookies()
    sign_in(page, seeded.url, "ops")
    page.get_by_label("Tenant (admin)").fill("team-b")
    page.get_by_role("button", name="Look").click()
    executions = page.locator("table.executions tbody tr td:nth-child(2)")
    expect(executions).to_have_text(["team-b-secret"])
    page.get_by_role("link", name="team-b-secret").click()  # the tenant stays chosen
    expect(page.locator("table.history tbody tr")).to_have_count(1)
    expect(page.locator("header .tenant")).to_contain_text("team-b")


def test_states_are_shown_as_text_never_run(page: Any, seeded: Seeded) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, seeded.url, "reader")
    page.goto(seeded.url + "execution?id=hostile")
    expect(page.locator("table.history tbody tr")).to_contain_text("<b>node</b>")
    page.locator("table.history a.id").first.click()
    expect(page.locator("pre.json").first).to_contain_text('"<script>alert(1)</script>"')
    expect(page.locator("pre.json").first).to_contain_text("<img src=x onerror=alert(2)>")
    assert page.locator("main script, main img").count() == 0
    assert dialogs == []


def test_sign_out_and_a_revoked_token(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded.url, "reader")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.goto(seeded.url).status == 401

    # The gateway stops accepting a token: the session ends at its next page.
    sign_in(page, seeded.url, "leaving")
    seeded.principals_file.write_text(
        principals_yaml([name for name in PRINCIPALS if name != "leaving"])
    )
    deadline = time.monotonic() + 15  # the file is read again within about a second
    while page.goto(seeded.url).status != 401:
        assert time.monotonic() < deadline, "the revoked token still works"
    expect(page.get_by_role("alert")).to_contain_text("no longer accepts")
    assert page.context.cookies() == []


def test_a_langgraph_thread_is_decoded_and_diffed(page: Any, seeded: Seeded) -> None:
    """A real LangGraph graph saved through GatewaySaver (MessagePack states and
    channels): the console shows its messages as text and diffs them by item."""
    graph = StateGraph(ChatState)
    graph.add_node("agent", agent)
    graph.add_edge(START, "agent")
    graph.add_edge("agent", END)
    config = {"configurable": {"thread_id": "langgraph-thread"}}
    with GatewaySaver(seeded.gateway.target, token=PRINCIPALS["writer"].token) as saver:
        app = graph.compile(checkpointer=saver)
        app.invoke({"messages": [HumanMessage("hello")], "count": 0}, config)
        app.invoke({"messages": [HumanMessage("again")], "count": 1}, config)

    sign_in(page, seeded.url, "reader")
    page.goto(seeded.url + "execution?id=langgraph-thread")
    rows = page.locator("table.history tbody tr")
    rows.first.locator("td:nth-child(4) a.id").click()
    expect(page.locator("p.meta").first).to_contain_text("serde=msgpack")
    channel = page.locator("h2:text('Channels') ~ pre").first
    expect(channel).to_contain_text('"content": "reply 1"')
    expect(channel).to_contain_text('"content": "again"')

    page.go_back()
    rows.first.get_by_role("checkbox").check()  # the end of the second turn
    rows.nth(2).get_by_role("checkbox").check()  # the end of the first
    page.get_by_role("button", name="Diff the two ticked").click()
    diff = page.locator("table.diff tbody tr")
    expect(diff.filter(has_text="channels.messages[3]")).to_contain_text("reply 1")
    expect(diff.filter(has_text="state.channel_values.count")).to_contain_text("changed")
