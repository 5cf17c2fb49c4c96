package io.checkpointgateway.client;

/** What {@code prune} keeps of each execution. */
public enum PruneStrategy {
  /** The newest checkpoint of each namespace, with its writes and channels. */
  KEEP_LATEST,
  /** Nothing (as {@code clear} does). */
  DELETE_ALL
}
