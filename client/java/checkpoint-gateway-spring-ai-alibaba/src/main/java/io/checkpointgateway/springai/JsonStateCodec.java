package io.checkpointgateway.springai;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import com.google.gson.ToNumberPolicy;
import com.google.gson.reflect.TypeToken;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * State as JSON ({@code application/json}): maps, lists, strings, booleans and null come back
 * as they went; whole numbers come back as {@link Long}, others as {@link Double}.
 */
public final class JsonStateCodec implements StateCodec {
  private static final Type MAP = new TypeToken<LinkedHashMap<String, Object>>() {}.getType();

  private final Gson gson =
      new GsonBuilder()
          .serializeNulls()
          .disableHtmlEscaping()
          .setObjectToNumberStrategy(ToNumberPolicy.LONG_OR_DOUBLE)
          .create();

  @Override
  public String contentType() {
    return "application/json";
  }

  @Override
  public byte[] encode(Map<String, Object> state) {
    return gson.toJson(state, MAP).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public Map<String, Object> decode(byte[] bytes, String contentType) {
    try {
      Map<String, Object> state = gson.fromJson(new String(bytes, StandardCharsets.UTF_8), MAP);
      return state == null ? new LinkedHashMap<>() : state;
    } catch (JsonParseException e) {
      throw new IllegalStateException(
          "a checkpoint's state is not a JSON object (" + contentType + ")", e);
    }
  }
}
