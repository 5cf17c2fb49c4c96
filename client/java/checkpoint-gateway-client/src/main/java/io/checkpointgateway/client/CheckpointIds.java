package io.checkpointgateway.client;

import java.security.SecureRandom;
import java.util.UUID;

/** Time-ordered checkpoint ids (UUIDv7, RFC 9562), as the Python client makes them. */
public final class CheckpointIds {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static long lastMillis;
  private static int counter;

  private CheckpointIds() {}

  /**
   * A new UUIDv7 string. The 12-bit {@code rand_a} field counts within one millisecond
   * (RFC 9562 method 1), so ids made in this process sort in the order they were made.
   */
  public static String newId() {
    long millis;
    int count;
    synchronized (CheckpointIds.class) {
      long now = System.currentTimeMillis();
      if (now > lastMillis) {
        lastMillis = now;
        counter = RANDOM.nextInt(0x400);
      } else if (++counter > 0xFFF) { // counter exhausted: borrow the next millisecond
        lastMillis++;
        counter = 0;
      }
      millis = lastMillis;
      count = counter;
    }
    long high = (millis & 0xFFFF_FFFF_FFFFL) << 16 | 0x7000L | count;
    long low = (RANDOM.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
    return new UUID(high, low).toString();
  }
}
