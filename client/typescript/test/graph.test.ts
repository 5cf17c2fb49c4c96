/**
 * A LangGraph.js graph with a human-in-the-loop interrupt runs through GatewaySaver
 * against a real gateway: it stops at `interrupt()`, its state survives in the gateway
 * (a second saver, a new connection, reads it), and `Command({ resume })` finishes it.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Annotation, Command, END, INTERRUPT, START, StateGraph, interrupt } from "@langchain/langgraph";
import { GatewaySaver } from "../src/langgraph.js";
import { newClient, target, token } from "./gateway.js";

const State = Annotation.Root({
  request: Annotation<string>(),
  approved: Annotation<boolean>(),
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

function buildGraph() {
  return new StateGraph(State)
    .addNode("draft", (state) => ({ log: [`drafted ${state.request}`] }))
    .addNode("review", () => {
      const answer = interrupt<{ question: string }, { approved: boolean }>({ question: "approve?" });
      return { approved: answer.approved, log: [answer.approved ? "approved" : "rejected"] };
    })
    .addNode("publish", (state) => ({ log: [state.approved ? "published" : "dropped"] }))
    .addEdge(START, "draft")
    .addEdge("draft", "review")
    .addEdge("review", "publish")
    .addEdge("publish", END);
}

describe("a StateGraph with interrupt() and Command({ resume })", () => {
  it("stops at the interrupt, keeps its state in the gateway and resumes from it", async () => {
    const thread = { configurable: { thread_id: `graph-${randomUUID()}` } };
    const first = new GatewaySaver(target(), { token: token() });
    try {
      const graph = buildGraph().compile({ checkpointer: first });
      const paused = await graph.invoke({ request: "post" }, thread);
      expect(paused.log).toEqual(["drafted post"]);
      const snapshot = await graph.getState(thread);
      expect(snapshot.next).toEqual(["review"]);
      expect(snapshot.tasks[0]?.interrupts[0]?.value).toEqual({ question: "approve?" });
    } finally {
      first.close();
    }

    // The interrupt is in the gateway, as a pending write of the latest checkpoint.
    const client = newClient();
    try {
      const latest = await client.latest(thread.configurable.thread_id);
      expect(latest.pendingWrites.some((w) => w.channel === INTERRUPT)).toBe(true);
    } finally {
      client.close();
    }

    // A new saver (a process restarted) resumes the same thread.
    const second = new GatewaySaver(target(), { token: token() });
    try {
      const graph = buildGraph().compile({ checkpointer: second });
      const done = await graph.invoke(new Command({ resume: { approved: true } }), thread);
      expect(done.log).toEqual(["drafted post", "approved", "published"]);
      expect(done.approved).toBe(true);
      const snapshot = await graph.getState(thread);
      expect(snapshot.next).toEqual([]);
      const history = [];
      for await (const state of graph.getStateHistory(thread)) {
        history.push(state);
      }
      expect(history.length).toBeGreaterThanOrEqual(4);
      expect(history[0]?.values).toEqual(done);
    } finally {
      second.close();
    }
  });
});
