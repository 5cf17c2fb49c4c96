package io.checkpointgateway.client;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import io.grpc.Status;
import java.util.HashSet;
import java.util.Set;
import org.junit.Test;

/** The status-to-exception table and the UUIDv7 ids, without a gateway. */
public class CheckpointGatewayExceptionTest {
  @Test
  public void eachCodeHasItsClass() {
    assertClass(Status.NOT_FOUND, NotFoundException.class);
    assertClass(Status.INVALID_ARGUMENT, InvalidArgumentException.class);
    assertClass(Status.ABORTED, ConflictException.class);
    assertClass(Status.RESOURCE_EXHAUSTED, ResourceExhaustedException.class);
    assertClass(Status.UNAVAILABLE, UnavailableException.class);
    assertClass(Status.CANCELLED, UnavailableException.class);
    assertClass(Status.DEADLINE_EXCEEDED, DeadlineExceededException.class);
    assertClass(Status.UNAUTHENTICATED, UnauthenticatedException.class);
    assertClass(Status.PERMISSION_DENIED, PermissionDeniedException.class);
    assertClass(Status.INTERNAL, InternalException.class);
    assertClass(Status.DATA_LOSS, CheckpointGatewayException.class);
  }

  @Test
  public void messageIsCodeAndDescription() {
    CheckpointGatewayException e =
        CheckpointGatewayException.fromStatus(Status.NOT_FOUND.withDescription("no checkpoint x"));
    assertEquals("NOT_FOUND: no checkpoint x", e.getMessage());
    assertEquals(Status.Code.NOT_FOUND, e.getCode());
    assertEquals("ABORTED: lost", new ConflictException("lost").getMessage());
  }

  @Test
  public void checkpointIdsAreTimeOrderedUuidV7() {
    Set<String> seen = new HashSet<>();
    String previous = "";
    for (int i = 0; i < 10_000; i++) {
      String id = CheckpointIds.newId();
      assertEquals(7, java.util.UUID.fromString(id).version());
      assertEquals(2, java.util.UUID.fromString(id).variant());
      assertTrue(id + " after " + previous, id.compareTo(previous) > 0);
      assertTrue(seen.add(id));
      previous = id;
    }
  }

  private static void assertClass(Status status, Class<?> expected) {
    assertSame(expected, CheckpointGatewayException.fromStatus(status).getClass());
  }
}
