package io.checkpointgateway.springai;

import java.util.Map;

/**
 * How {@link GatewayCheckpointSaver} turns a graph's state into the gateway's opaque state
 * bytes and back. The default, {@link JsonStateCodec}, stores plain data (maps, lists,
 * strings, numbers, booleans, null) as JSON; a graph whose state holds other objects plugs
 * in its own (over spring-ai-alibaba's {@code StateSerializer}, say).
 */
public interface StateCodec {
  /** The media type of what {@link #encode} makes, e.g. {@code application/json}. */
  String contentType();

  byte[] encode(Map<String, Object> state);

  /**
   * The state back from its bytes.
   *
   * @param contentType the media type they were stored with
   */
  Map<String, Object> decode(byte[] bytes, String contentType);
}
