package com.alibaba.cloud.ai.graph.checkpoint;

import com.alibaba.cloud.ai.graph.RunnableConfig;
import java.util.Collection;
import java.util.LinkedList;
import java.util.List;
import java.util.Optional;

/**
 * STAND-IN for spring-ai-alibaba graph's {@code BaseCheckpointSaver} (1.1.x): the same
 * methods, constants and {@link Tag} record, and the documented semantics the graph relies
 * on (as its MemorySaver implements them):
 *
 * <ul>
 *   <li>{@code list}: the thread's checkpoints, newest first;
 *   <li>{@code get}: the checkpoint of the config's checkpoint id, or the newest one when
 *       it has none; empty when there is none;
 *   <li>{@code put}: without a checkpoint id in the config, adds the checkpoint as the
 *       newest and returns the config with its id; with one, replaces that checkpoint
 *       ({@link java.util.NoSuchElementException} when there is none);
 *   <li>{@code release}: the thread is done: its checkpoints go, returned in a {@link Tag}.
 * </ul>
 *
 * <p>A config without a thread id means {@link #THREAD_ID_DEFAULT}. Not the real interface:
 * see client/java/README.md.
 */
public interface BaseCheckpointSaver {
  String THREAD_ID_DEFAULT = "$default";
  String CHECKPOINTS_NUM_RETAINED = "checkpoints.numRetained";

  /** The newest of a newest-first list. */
  default Optional<Checkpoint> getLast(LinkedList<Checkpoint> checkpoints, RunnableConfig config) {
    return checkpoints.isEmpty() ? Optional.empty() : Optional.ofNullable(checkpoints.peek());
  }

  /** How many checkpoints a thread keeps (the config's "checkpoints.numRetained"), if set. */
  default Optional<Integer> checkpointsNumRetained(RunnableConfig config) {
    return config
        .metadata(CHECKPOINTS_NUM_RETAINED)
        .map(
            value -> {
              if (value instanceof Number) {
                return ((Number) value).intValue();
              }
              if (value instanceof String) {
                return Integer.parseInt((String) value);
              }
              throw new IllegalArgumentException(
                  "checkpoints.numRetained must be a number or numeric string, got: "
                      + value.getClass().getName());
            })
        .filter(value -> value > 0);
  }

  /** Drops the oldest checkpoints of a newest-first list beyond the retained number. */
  default void retainLatestCheckpoints(LinkedList<Checkpoint> checkpoints, RunnableConfig config) {
    checkpointsNumRetained(config)
        .ifPresent(
            n -> {
              while (checkpoints.size() > n) {
                checkpoints.removeLast();
              }
            });
  }

  Collection<Checkpoint> list(RunnableConfig config);

  Optional<Checkpoint> get(RunnableConfig config);

  RunnableConfig put(RunnableConfig config, Checkpoint checkpoint) throws Exception;

  Tag release(RunnableConfig config) throws Exception;

  /** What {@code release} returns: the thread and the checkpoints it held. */
  record Tag(String threadId, Collection<Checkpoint> checkpoints) {
    public Tag(String threadId, Collection<Checkpoint> checkpoints) {
      this.threadId = threadId;
      this.checkpoints = checkpoints == null ? List.of() : List.copyOf(checkpoints);
    }
  }
}
