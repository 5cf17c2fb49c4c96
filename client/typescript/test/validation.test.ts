/**
 * LangGraph.js's own conformance suite for checkpointers, whole, against a real gateway.
 * Run with `npx vitest run --globals` (the suite uses vitest's globals; its command-line
 * tool is broken in 1.1.1, so it is called as a library).
 */
import { validate } from "@langchain/langgraph-checkpoint-validation";
import { initializer } from "./initializer.js";

validate(initializer);
