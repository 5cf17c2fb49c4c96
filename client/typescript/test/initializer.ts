/**
 * The validation suite's initializer: a GatewaySaver on the harness's gateway. Not a
 * test file itself.
 */
import type { CheckpointSaverTestInitializer } from "@langchain/langgraph-checkpoint-validation";
import { GatewaySaver } from "../src/langgraph.js";
import { backend, target, token, wipe } from "./gateway.js";

export const initializer: CheckpointSaverTestInitializer<GatewaySaver> = {
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
