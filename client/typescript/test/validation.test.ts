/**
 * LangGraph.js's own conformance suite for checkpointers, against a real gateway.
 * Run with `npx vitest run --globals` (the suite uses vitest's globals).
 */
import { validate, type CheckpointSaverTestInitializer } from "@langchain/langgraph-checkpoint-validation";
import { GatewaySaver } from "../src/langgraph.js";
import { backend, newClient, target, token, wipe } from "./gateway.js";

const initializer: CheckpointSaverTestInitializer<GatewaySaver> = {
  checkpointerName: `GatewaySaver (${backend()})`,
  async createCheckpointer() {
    const saver = new GatewaySaver(target(), { token: token() });
    // One gateway serves every checkpointer in turn; the suite wants each to start empty.
    await wipe(saver.client);
    return saver;
  },
  async destroyCheckpointer(saver) {
    await wipe(saver.client);
    saver.close();
  },
};

validate(initializer);
