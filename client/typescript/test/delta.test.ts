/**
 * The validation package's opt-in conformance tests of `getDeltaChannelHistory` (not
 * part of `validate`; LangGraph.js runs them for each of its own savers): GatewaySaver
 * answers them with the gateway's Ancestors walk.
 */
import { deltaChannelHistoryTests } from "@langchain/langgraph-checkpoint-validation";
import { initializer } from "./initializer.js";

deltaChannelHistoryTests(initializer);
