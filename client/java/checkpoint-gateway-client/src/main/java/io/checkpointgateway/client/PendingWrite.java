package io.checkpointgateway.client;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * A write a task made against a checkpoint (LangGraph's {@code put_writes}), keyed by
 * (task id, idx) within its checkpoint. A negative idx marks a special write (an error,
 * an interrupt...), which replaces the earlier one; for idx &gt;= 0 the first write wins.
 */
public final class PendingWrite {
  private final String taskId;
  private final int idx;
  private final String channel;
  private final byte[] value;
  private final String contentType;
  private final String taskPath;

  /** A write whose value is bytes of a media type (null: application/octet-stream). */
  public PendingWrite(
      String taskId, int idx, String channel, byte[] value, String contentType, String taskPath) {
    this.taskId = Objects.requireNonNull(taskId, "taskId");
    this.idx = idx;
    this.channel = Objects.requireNonNull(channel, "channel");
    this.value = Objects.requireNonNull(value, "value").clone();
    this.contentType =
        contentType == null || contentType.isEmpty() ? Checkpoint.OCTET_STREAM : contentType;
    this.taskPath = taskPath == null ? "" : taskPath;
  }

  /** A write whose value is JSON text. */
  public static PendingWrite json(String taskId, int idx, String channel, String json) {
    return new PendingWrite(
        taskId, idx, channel, json.getBytes(StandardCharsets.UTF_8), Checkpoint.JSON, "");
  }

  public String taskId() {
    return taskId;
  }

  public int idx() {
    return idx;
  }

  public String channel() {
    return channel;
  }

  /** The exact stored value bytes (a copy). */
  public byte[] value() {
    return value.clone();
  }

  public String valueAsString() {
    return new String(value, StandardCharsets.UTF_8);
  }

  public String contentType() {
    return contentType;
  }

  /** LangGraph's task path; "" when not given. */
  public String taskPath() {
    return taskPath;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof PendingWrite)) {
      return false;
    }
    PendingWrite w = (PendingWrite) o;
    return idx == w.idx
        && taskId.equals(w.taskId)
        && channel.equals(w.channel)
        && Arrays.equals(value, w.value)
        && contentType.equals(w.contentType)
        && taskPath.equals(w.taskPath);
  }

  @Override
  public int hashCode() {
    return Objects.hash(taskId, idx, channel);
  }

  @Override
  public String toString() {
    return "PendingWrite{taskId=" + taskId + ", idx=" + idx + ", channel=" + channel
        + ", value=<" + value.length + " bytes " + contentType + ">}";
  }
}
