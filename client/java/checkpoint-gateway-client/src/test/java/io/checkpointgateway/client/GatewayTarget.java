package io.checkpointgateway.client;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A real gateway to test against, from the environment tests/sdk/test_java.py gives:
 * {@code CHECKPOINT_GATEWAY_BACKENDS=memory,sqlite,...} with {@code
 * CHECKPOINT_GATEWAY_TARGET_<BACKEND>}, {@code CHECKPOINT_GATEWAY_TLS_TARGET_<BACKEND>} and
 * {@code CHECKPOINT_GATEWAY_TLS_CA_<BACKEND>} for each (one Maven run for every backend), or
 * the single-gateway form {@code CHECKPOINT_GATEWAY_TARGET}, {@code ..._TLS_TARGET}, {@code
 * ..._TLS_CA}, {@code ..._BACKEND}; and {@code CHECKPOINT_GATEWAY_TOKEN}.
 */
public final class GatewayTarget {
  public final String backend;
  public final String target;
  public final String token;
  public final String tlsTarget;
  public final File tlsCa;

  GatewayTarget(String backend, String target, String token, String tlsTarget, String tlsCa) {
    this.backend = backend;
    this.target = target;
    this.token = token;
    this.tlsTarget = tlsTarget;
    this.tlsCa = tlsCa == null ? null : new File(tlsCa);
  }

  /** Every gateway of the environment, as JUnit parameters ({backend, target}). */
  public static List<Object[]> parameters() {
    List<Object[]> out = new ArrayList<>();
    for (GatewayTarget t : all()) {
      out.add(new Object[] {t.backend, t});
    }
    return out;
  }

  public static List<GatewayTarget> all() {
    Map<String, String> env = System.getenv();
    String token = env.get("CHECKPOINT_GATEWAY_TOKEN");
    List<GatewayTarget> out = new ArrayList<>();
    String backends = env.get("CHECKPOINT_GATEWAY_BACKENDS");
    if (backends != null && !backends.isBlank()) {
      for (String b : backends.split(",")) {
        String key = b.trim().toUpperCase(Locale.ROOT);
        out.add(
            new GatewayTarget(
                b.trim(),
                required(env, "CHECKPOINT_GATEWAY_TARGET_" + key),
                token,
                env.get("CHECKPOINT_GATEWAY_TLS_TARGET_" + key),
                env.get("CHECKPOINT_GATEWAY_TLS_CA_" + key)));
      }
    } else {
      out.add(
          new GatewayTarget(
              env.getOrDefault("CHECKPOINT_GATEWAY_BACKEND", "gateway"),
              required(env, "CHECKPOINT_GATEWAY_TARGET"),
              token,
              env.get("CHECKPOINT_GATEWAY_TLS_TARGET"),
              env.get("CHECKPOINT_GATEWAY_TLS_CA")));
    }
    return out;
  }

  private static String required(Map<String, String> env, String name) {
    String value = env.get(name);
    if (value == null || value.isBlank()) {
      throw new IllegalStateException(
          name + " is not set: run these tests through tests/sdk/test_java.py, which starts the gateways");
    }
    return value;
  }

  /** A plaintext client of this gateway with the token. */
  public CheckpointGatewayClient client() {
    return CheckpointGatewayClient.newBuilder(target).usePlaintext().token(token).build();
  }

  @Override
  public String toString() {
    return backend;
  }
}
