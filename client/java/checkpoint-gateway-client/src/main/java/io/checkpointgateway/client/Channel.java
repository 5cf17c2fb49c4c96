package io.checkpointgateway.client;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * A named part of a checkpoint's state, stored once per version: the checkpoints of a
 * lineage that carry the same (name, version) share one stored value, so a save sends
 * only the channels that changed. A channel without a value ({@link #reference}) refers to
 * the value stored earlier in the lineage; reads always return values.
 */
public final class Channel {
  private final String version;
  private final byte[] value;
  private final String contentType;

  private Channel(String version, byte[] value, String contentType) {
    this.version = Objects.requireNonNull(version, "version");
    this.value = value == null ? null : value.clone();
    this.contentType = contentType == null ? "" : contentType;
  }

  /** This version with its value (content type null or "": application/octet-stream). */
  public static Channel of(String version, byte[] value, String contentType) {
    return new Channel(version, Objects.requireNonNull(value, "value"), contentType);
  }

  /** This version with JSON text as its value. */
  public static Channel json(String version, String json) {
    return new Channel(version, json.getBytes(StandardCharsets.UTF_8), Checkpoint.JSON);
  }

  /** This version without its value: "the value already stored". */
  public static Channel reference(String version) {
    return new Channel(version, null, "");
  }

  public String version() {
    return version;
  }

  /** The value bytes; empty for a reference. */
  public Optional<byte[]> value() {
    return Optional.ofNullable(value).map(byte[]::clone);
  }

  public boolean hasValue() {
    return value != null;
  }

  public String contentType() {
    return contentType;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Channel)) {
      return false;
    }
    Channel c = (Channel) o;
    return version.equals(c.version)
        && Arrays.equals(value, c.value)
        && contentType.equals(c.contentType);
  }

  @Override
  public int hashCode() {
    return Objects.hash(version, contentType);
  }

  @Override
  public String toString() {
    return value == null
        ? "Channel{version=" + version + ", <reference>}"
        : "Channel{version=" + version + ", value=<" + value.length + " bytes " + contentType + ">}";
  }
}
