/**
 * GatewaySaver beyond what LangGraph's validation suite asks: forks, values a put by hand
 * gives to a stored version, filters the gateway cannot serve, foreign threads, versions.
 */
import { randomUUID } from "node:crypto";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { emptyCheckpoint, uuid6, type Checkpoint as LangGraphCheckpoint } from "@langchain/langgraph-checkpoint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointGatewayClient, InvalidArgumentError } from "../src/index.js";
import { CONTENT_TYPE, GatewaySaver } from "../src/langgraph.js";
import { newClient } from "./gateway.js";

const meta = { source: "loop" as const, step: 0, parents: {} };

function checkpoint(values: Record<string, unknown>, versions: Record<string, number>): LangGraphCheckpoint {
  return { ...emptyCheckpoint(), id: uuid6(-1), channel_values: values, channel_versions: versions };
}

describe("GatewaySaver", () => {
  let client: CheckpointGatewayClient;
  let saver: GatewaySaver;
  beforeAll(() => {
    client = newClient();
    saver = new GatewaySaver(client);
  });
  afterAll(() => {
    saver.close();
    client.close();
  });

  it("leaves a client it was given open", async () => {
    saver.close();
    await expect(client.latest(randomUUID())).rejects.toThrow(/has no checkpoints/);
  });

  it("runs a graph, forks it from an older checkpoint, and keeps both branches apart", async () => {
    const State = Annotation.Root({ items: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }) });
    const graph = new StateGraph(State)
      .addNode("add", (state) => ({ items: [`item${state.items.length}`] }))
      .addEdge(START, "add")
      .addEdge("add", END)
      .compile({ checkpointer: saver });
    const thread = { configurable: { thread_id: `fork-${randomUUID()}` } };
    await graph.invoke({ items: ["a"] }, thread);
    const afterFirst = await graph.getState(thread);
    await graph.invoke({ items: ["b"] }, thread);
    expect((await graph.getState(thread)).values.items).toEqual(["a", "item1", "b", "item3"]);

    // Fork: update the state as it was after the first run, then run on from there.
    const forked = await graph.updateState(afterFirst.config, { items: ["c"] });
    await graph.invoke({ items: ["d"] }, forked);
    expect((await graph.getState(thread)).values.items).toEqual(["a", "item1", "c", "d", "item4"]);
    // The old branch still reads as it was.
    const history = [];
    for await (const state of graph.getStateHistory(thread)) {
      history.push(state.values.items as string[]);
    }
    expect(history).toContainEqual(["a", "item1", "b", "item3"]);
  });

  it("reads back a checkpoint put by hand that gives a stored channel version another value", async () => {
    const thread = `hand-${randomUUID()}`;
    const config = { configurable: { thread_id: thread, checkpoint_ns: "" } };
    const first = await saver.put(config, checkpoint({ messages: ["hi"] }, { messages: 1 }), meta, { messages: 1 });
    const second = await saver.put(first, checkpoint({ messages: ["other"] }, { messages: 1 }), meta, { messages: 1 });
    expect((await saver.getTuple(second))?.checkpoint.channel_values).toEqual({ messages: ["other"] });
    expect((await saver.getTuple(first))?.checkpoint.channel_values).toEqual({ messages: ["hi"] });
  });

  it("filters on metadata values the gateway cannot index (objects, arrays) itself", async () => {
    const thread = `filter-${randomUUID()}`;
    const config = { configurable: { thread_id: thread, checkpoint_ns: "" } };
    await saver.put(config, checkpoint({}, {}), { ...meta, tags: ["a"] } as typeof meta, {});
    await saver.put(config, checkpoint({}, {}), { ...meta, tags: ["b"] } as typeof meta, {});
    const found = [];
    for await (const tuple of saver.list({ configurable: { thread_id: thread } }, { filter: { tags: ["a"], source: "loop" } })) {
      found.push(tuple.metadata);
    }
    expect(found).toEqual([{ ...meta, tags: ["a"] }]);
  });

  it("refuses to read a thread other clients wrote, saying why", async () => {
    const thread = `foreign-${randomUUID()}`;
    await client.save({ executionId: thread, state: { not: "langgraph" } });
    const read = saver.getTuple({ configurable: { thread_id: thread } });
    await expect(read).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(read).rejects.toThrow(/not saved by a LangGraph saver/);
  });

  it("stores values with the serializer's type in the content type", async () => {
    const thread = `type-${randomUUID()}`;
    const config = { configurable: { thread_id: thread, checkpoint_ns: "" } };
    await saver.put(config, checkpoint({ text: "x" }, { text: 1 }), meta, { text: 1 });
    const stored = await client.latest(thread);
    expect(stored.contentType).toBe(`${CONTENT_TYPE};serde=json`);
    expect(stored.channels.text?.contentType).toBe(`${CONTENT_TYPE};serde=json`);
  });

  it("needs a thread id to put, and a checkpoint id to put writes", async () => {
    await expect(saver.put({ configurable: {} }, checkpoint({}, {}), meta, {})).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(saver.putWrites({ configurable: { thread_id: "t" } }, [["a", 1]], "task")).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it("makes increasing channel versions with a random part", () => {
    const first = saver.getNextVersion(undefined);
    const second = saver.getNextVersion(first);
    expect(Math.trunc(first)).toBe(1);
    expect(Math.trunc(second)).toBe(2);
    expect(saver.getNextVersion(1)).not.toBe(saver.getNextVersion(1));
  });
});
