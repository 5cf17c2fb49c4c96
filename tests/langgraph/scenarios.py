"""Real compiled LangGraph graphs, each run the same way on any checkpointer, observed
as plain data (ids and timestamps left out) so two checkpointers can be compared."""

from __future__ import annotations

import asyncio
import operator
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot, interrupt

Durability = str
Scenario = Callable[["Runner"], Awaitable[Any]]


class Runner:
    """Runs graph calls sync (in a worker thread: the gateway under test shares this
    event loop) or async, and records what a user would see."""

    def __init__(self, saver: BaseCheckpointSaver[Any], durability: Durability, sync: bool):
        self.saver = saver
        self.durability = durability
        self.sync = sync

    def config(self) -> RunnableConfig:
        return {"configurable": {"thread_id": str(uuid.uuid4())}}

    async def invoke(
        self, graph: CompiledStateGraph[Any], value: Any, config: RunnableConfig
    ) -> Any:
        if self.sync:
            return await asyncio.to_thread(
                graph.invoke,
                value,
                config,
                durability=self.durability,  # type: ignore[arg-type]
            )
        return await graph.ainvoke(value, config, durability=self.durability)  # type: ignore[arg-type]

    async def state(
        self, graph: CompiledStateGraph[Any], config: RunnableConfig, *, subgraphs: bool = False
    ) -> dict[str, Any]:
        if self.sync:
            snap = await asyncio.to_thread(graph.get_state, config, subgraphs=subgraphs)
        else:
            snap = await graph.aget_state(config, subgraphs=subgraphs)
        return observe(snap)

    async def snapshot(
        self, graph: CompiledStateGraph[Any], config: RunnableConfig
    ) -> StateSnapshot:
        if self.sync:
            return await asyncio.to_thread(graph.get_state, config)
        return await graph.aget_state(config)

    async def history(
        self, graph: CompiledStateGraph[Any], config: RunnableConfig, **kw: Any
    ) -> list[StateSnapshot]:
        if self.sync:
            return await asyncio.to_thread(lambda: list(graph.get_state_history(config, **kw)))
        return [s async for s in graph.aget_state_history(config, **kw)]

    async def update(
        self, graph: CompiledStateGraph[Any], config: RunnableConfig, values: Any, **kw: Any
    ) -> RunnableConfig:
        if self.sync:
            return await asyncio.to_thread(graph.update_state, config, values, **kw)
        return await graph.aupdate_state(config, values, **kw)


def observe(snap: StateSnapshot) -> dict[str, Any]:
    """What a snapshot shows a user, without ids and times."""
    return {
        "values": snap.values,
        "next": list(snap.next),
        "source": snap.metadata.get("source") if snap.metadata else None,
        "step": snap.metadata.get("step") if snap.metadata else None,
        "has_parent": snap.parent_config is not None,
        "interrupts": [i.value for i in snap.interrupts],
        "tasks": [
            {
                "name": t.name,
                "interrupts": [i.value for i in t.interrupts],
                "error": repr(t.error) if t.error else None,
                "state": observe(t.state) if isinstance(t.state, StateSnapshot) else None,
            }
            for t in snap.tasks
        ],
    }


class State(TypedDict):
    steps: Annotated[list[str], operator.add]
    value: int


def _step(name: str, add: int = 1) -> Callable[[State], dict[str, Any]]:
    def node(state: State) -> dict[str, Any]:
        return {"steps": [name], "value": state["value"] + add}

    node.__name__ = name
    return node


def _chain(saver: BaseCheckpointSaver[Any], **compile: Any) -> CompiledStateGraph[Any]:
    builder = StateGraph(State)
    for name in ("a", "b", "c"):
        builder.add_node(name, _step(name))  # type: ignore[call-overload]
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", END)
    return builder.compile(checkpointer=saver, **compile)


async def interrupt_before_then_resume(run: Runner) -> Any:
    graph = _chain(run.saver, interrupt_before=["b"])
    config = run.config()
    first = await run.invoke(graph, {"steps": [], "value": 0}, config)
    paused = await run.state(graph, config)
    final = await run.invoke(graph, None, config)
    history = [observe(s) for s in await run.history(graph, config)]
    return {"first": first, "paused": paused, "final": final, "history": history}


def _asking(saver: BaseCheckpointSaver[Any]) -> CompiledStateGraph[Any]:
    def ask(state: State) -> dict[str, Any]:
        answer = interrupt({"question": "go on?", "at": state["value"]})
        return {"steps": [f"ask:{answer}"], "value": state["value"] + 10}

    builder = StateGraph(State)
    builder.add_node("a", _step("a"))  # type: ignore[call-overload]
    builder.add_node("ask", ask)  # type: ignore[call-overload]
    builder.add_node("c", _step("c"))  # type: ignore[call-overload]
    builder.add_edge(START, "a")
    builder.add_edge("a", "ask")
    builder.add_edge("ask", "c")
    builder.add_edge("c", END)
    return builder.compile(checkpointer=saver)


async def interrupt_then_command_resume(run: Runner) -> Any:
    graph = _asking(run.saver)
    config = run.config()
    first = await run.invoke(graph, {"steps": [], "value": 1}, config)
    paused = await run.state(graph, config)
    final = await run.invoke(graph, Command(resume="yes"), config)
    history = [observe(s) for s in await run.history(graph, config)]
    return {
        "first": {k: v for k, v in first.items() if k != "__interrupt__"},
        "interrupt": [i.value for i in first.get("__interrupt__", [])],
        "paused": paused,
        "final": final,
        "history": history,
    }


async def subgraph_interrupt_then_resume(run: Runner) -> Any:
    sub = _asking(None)  # type: ignore[arg-type]  # the parent's checkpointer is used

    def call_sub(state: State) -> dict[str, Any]:
        out = sub.invoke({"steps": [], "value": state["value"]})
        return {"steps": ["sub:" + ",".join(out["steps"])], "value": out["value"]}

    async def acall_sub(state: State) -> dict[str, Any]:
        out = await sub.ainvoke({"steps": [], "value": state["value"]})
        return {"steps": ["sub:" + ",".join(out["steps"])], "value": out["value"]}

    builder = StateGraph(State)
    builder.add_node("a", _step("a"))  # type: ignore[call-overload]
    builder.add_node("sub", call_sub if run.sync else acall_sub)  # type: ignore[call-overload]
    builder.add_node("c", _step("c"))  # type: ignore[call-overload]
    builder.add_edge(START, "a")
    builder.add_edge("a", "sub")
    builder.add_edge("sub", "c")
    builder.add_edge("c", END)
    graph = builder.compile(checkpointer=run.saver)
    config = run.config()
    first = await run.invoke(graph, {"steps": [], "value": 5}, config)
    paused = await run.state(graph, config, subgraphs=True)
    final = await run.invoke(graph, Command(resume="sure"), config)
    after = await run.state(graph, config, subgraphs=True)
    return {
        "interrupt": [i.value for i in first.get("__interrupt__", [])],
        "paused": paused,
        "final": final,
        "after": after,
    }


async def history_with_filter_and_limit(run: Runner) -> Any:
    graph = _chain(run.saver)
    config = run.config()
    await run.invoke(graph, {"steps": [], "value": 0}, config)
    await run.invoke(graph, {"steps": ["again"], "value": 100}, config)
    every = [observe(s) for s in await run.history(graph, config)]
    loops = [observe(s) for s in await run.history(graph, config, filter={"source": "loop"})]
    limited = [observe(s) for s in await run.history(graph, config, limit=3)]
    inputs = [
        observe(s) for s in await run.history(graph, config, filter={"source": "input"}, limit=1)
    ]
    return {"every": every, "loops": loops, "limited": limited, "inputs": inputs}


async def update_state_forks(run: Runner) -> Any:
    graph = _chain(run.saver)
    config = run.config()
    await run.invoke(graph, {"steps": [], "value": 0}, config)
    history = await run.history(graph, config)
    # Fork from an earlier checkpoint (before "b" ran, when it was saved: durability
    # "exit" saves the last one only), with another value, and run on from there.
    pending = [s for s in history if s.next and "value" in s.values]
    base = pending[-1] if pending else history[-1]
    fork = await run.update(graph, base.config, {"value": 42})
    forked = await run.invoke(graph, None, fork)
    # And a second fork of the same checkpoint, as node "a" this time.
    again = await run.update(graph, base.config, {"steps": ["edited"], "value": 7}, as_node="a")
    second = await run.invoke(graph, None, again)
    after = [observe(s) for s in await run.history(graph, config)]
    return {"forked": forked, "second": second, "history": after}


def _append(state: list[str], writes: Sequence[list[str]]) -> list[str]:
    return state + [item for write in writes for item in write]


_EVERY_100 = DeltaChannel(_append)
_EVERY_2 = DeltaChannel(_append, snapshot_frequency=2)


class Chat(TypedDict):
    messages: Annotated[list[str], _EVERY_100]
    turns: int


class ChatWithSnapshots(TypedDict):
    messages: Annotated[list[str], _EVERY_2]
    turns: int


def _delta_graph(saver: BaseCheckpointSaver[Any], snapshots: bool) -> CompiledStateGraph[Any]:
    def reply(state: Any) -> dict[str, Any]:
        return {"messages": [f"reply-{state['turns']}"], "turns": state["turns"] + 1}

    builder = StateGraph(ChatWithSnapshots if snapshots else Chat)
    builder.add_node("reply", reply)  # type: ignore[call-overload]
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=saver)


async def _delta(run: Runner, snapshots: bool) -> Any:
    graph = _delta_graph(run.saver, snapshots)
    config = run.config()
    outputs = []
    for turn in range(7):
        outputs.append(
            await run.invoke(graph, {"messages": [f"user-{turn}"], "turns": turn}, config)
        )
    state = await run.state(graph, config)
    history = [observe(s) for s in await run.history(graph, config, limit=4)]
    return {"outputs": outputs, "state": state, "history": history}


async def delta_channel(run: Runner) -> Any:
    return await _delta(run, False)


async def delta_channel_snapshots(run: Runner) -> Any:
    return await _delta(run, True)


SCENARIOS: dict[str, Scenario] = {
    "interrupt_before": interrupt_before_then_resume,
    "interrupt_resume": interrupt_then_command_resume,
    "subgraph": subgraph_interrupt_then_resume,
    "history": history_with_filter_and_limit,
    "fork": update_state_forks,
    "delta": delta_channel,
    "delta_snapshots": delta_channel_snapshots,
}
DURABILITIES = ("async", "sync", "exit")
