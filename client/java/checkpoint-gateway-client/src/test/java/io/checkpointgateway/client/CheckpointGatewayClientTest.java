package io.checkpointgateway.client;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeNotNull;

import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TestName;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/** End to end against real gateways, one run per backend the environment names. */
@RunWith(Parameterized.class)
public class CheckpointGatewayClientTest {
  @Parameters(name = "{0}")
  public static List<Object[]> gateways() {
    return GatewayTarget.parameters();
  }

  @Rule public final TestName name = new TestName();

  private final GatewayTarget gateway;
  private CheckpointGatewayClient client;
  private String thread;

  public CheckpointGatewayClientTest(String backend, GatewayTarget gateway) {
    this.gateway = gateway;
  }

  @Before
  public void open() {
    client = gateway.client();
    thread = "java-" + name.getMethodName().replaceAll("\\W", "-") + "-" + UUID.randomUUID();
  }

  @After
  public void close() {
    client.close();
  }

  private Checkpoint.Builder cp(String json) {
    return Checkpoint.newBuilder(thread).jsonState(json);
  }

  @Test
  public void saveLoadLatest() {
    Checkpoint first =
        client.save(
            cp("{\"step\": 1}").node("agent").nextNodes("tools").metadata("{\"source\": \"loop\"}").build());
    assertFalse(first.checkpointId().isEmpty());
    assertEquals(1, first.version());
    assertTrue(first.createdAt().isPresent());

    Checkpoint second = client.save(cp("{\"step\": 2}").parentId(first.checkpointId()).build());
    assertEquals(2, second.version());
    assertTrue("ids are time-ordered", second.checkpointId().compareTo(first.checkpointId()) > 0);

    Checkpoint loaded = client.load(thread, first.checkpointId());
    assertEquals(first.checkpointId(), loaded.checkpointId());
    assertEquals("{\"step\": 1}", loaded.stateAsString());
    assertEquals(Checkpoint.JSON, loaded.contentType());
    assertEquals("agent", loaded.node());
    assertEquals(List.of("tools"), loaded.nextNodes());
    assertTrue(loaded.metadata().contains("\"source\""));
    assertEquals(first.createdAt(), loaded.createdAt());

    Checkpoint latest = client.latest(thread);
    assertEquals(second.checkpointId(), latest.checkpointId());
    assertEquals(first.checkpointId(), latest.parentId());
    assertEquals(2, latest.version());
  }

  @Test
  public void bytesStateRoundTrips() {
    byte[] state = {0, 1, 2, (byte) 0xff};
    Checkpoint saved = client.save(Checkpoint.newBuilder(thread).state(state, "application/x-test").build());
    Checkpoint loaded = client.load(thread, saved.checkpointId());
    assertArrayEquals(state, loaded.state());
    assertEquals("application/x-test", loaded.contentType());
  }

  @Test
  public void retriedSaveIsIdempotent() {
    Checkpoint saved = client.save(cp("{}").build());
    Checkpoint again = client.save(cp("{}").checkpointId(saved.checkpointId()).build());
    assertEquals(saved.version(), again.version());
    assertThrows(
        ConflictException.class,
        () -> client.save(cp("{\"other\": true}").checkpointId(saved.checkpointId()).build()));
  }

  @Test
  public void listPagesNewestFirst() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ids.add(client.save(cp("{\"i\": " + i + "}").metadata("{\"even\": " + (i % 2 == 0) + "}").build()).checkpointId());
    }
    List<String> seen = new ArrayList<>();
    List<Integer> sizes = new ArrayList<>();
    String token = "";
    do {
      Page<Checkpoint> page =
          client.list(thread, "", ListOptions.newBuilder().pageSize(2).pageToken(token).build());
      sizes.add(page.items().size());
      page.items().forEach(c -> seen.add(c.checkpointId()));
      token = page.nextPageToken().orElse("");
    } while (!token.isEmpty());
    assertEquals(List.of(2, 2, 1), sizes);
    List<String> newestFirst = new ArrayList<>(ids);
    java.util.Collections.reverse(newestFirst);
    assertEquals(newestFirst, seen);

    Page<Checkpoint> before =
        client.list(thread, "", ListOptions.newBuilder().before(ids.get(2)).build());
    assertEquals(List.of(ids.get(1), ids.get(0)), checkpointIds(before));
    assertFalse(before.hasNextPage());

    Page<Checkpoint> even =
        client.list(thread, "", ListOptions.newBuilder().metadataFilter("{\"even\": true}").build());
    assertEquals(List.of(ids.get(4), ids.get(2), ids.get(0)), checkpointIds(even));

    assertTrue(client.list("java-nothing-" + UUID.randomUUID()).items().isEmpty());
  }

  @Test
  public void putWritesAreReturnedWithTheirCheckpoint() {
    Checkpoint saved = client.save(cp("{}").build());
    long stored =
        client.putWrites(
            thread,
            saved.checkpointId(),
            List.of(
                PendingWrite.json("task-1", 0, "messages", "\"hi\""),
                PendingWrite.json("task-1", 1, "messages", "\"there\"")));
    assertEquals(2, stored);
    // A retry of idx 0 with another value changes nothing: the first write wins.
    client.putWrites(thread, saved.checkpointId(), List.of(PendingWrite.json("task-1", 0, "messages", "\"again\"")));

    List<PendingWrite> writes = client.load(thread, saved.checkpointId()).pendingWrites();
    assertEquals(2, writes.size());
    assertEquals("\"hi\"", writes.get(0).valueAsString());
    assertEquals("task-1", writes.get(0).taskId());
    assertEquals(1, writes.get(1).idx());
    assertEquals(2, client.latest(thread).pendingWrites().size());
    Page<Checkpoint> withWrites =
        client.list(thread, "", ListOptions.newBuilder().includeWrites(true).build());
    assertEquals(2, withWrites.items().get(0).pendingWrites().size());
  }

  @Test
  public void deleteRemovesOneCheckpoint() {
    Checkpoint a = client.save(cp("{\"a\": 1}").build());
    Checkpoint b = client.save(cp("{\"b\": 1}").build());
    assertTrue(client.delete(thread, b.checkpointId()));
    assertFalse("deleting a missing checkpoint is no error", client.delete(thread, b.checkpointId()));
    assertThrows(NotFoundException.class, () -> client.load(thread, b.checkpointId()));
    assertEquals(a.checkpointId(), client.latest(thread).checkpointId());
  }

  @Test
  public void clearRemovesAnExecution() {
    client.save(cp("{}").build());
    client.save(cp("{}").build());
    client.save(cp("{}").namespace("sub").build());
    assertEquals(1, client.clear(thread, "sub"));
    assertEquals(2, client.list(thread).items().size());
    assertEquals(2, client.clear(thread));
    assertThrows(NotFoundException.class, () -> client.latest(thread));
    assertEquals(0, client.clear(thread));
  }

  @Test
  public void notFound() {
    NotFoundException e =
        assertThrows(NotFoundException.class, () -> client.load(thread, "no-such-checkpoint"));
    assertEquals(Status.Code.NOT_FOUND, e.getCode());
    assertFalse("no server stack trace in the message", e.getMessage().contains("Traceback"));
    assertThrows(NotFoundException.class, () -> client.latest(thread));
  }

  @Test
  public void conflictOnExpectedVersion() {
    Checkpoint first = client.save(cp("{}").build(), 0L);
    assertEquals(1, first.version());
    ConflictException e =
        assertThrows(ConflictException.class, () -> client.save(cp("{}").build(), 0L));
    assertEquals(Status.Code.ABORTED, e.getCode());
    assertTrue(e instanceof CheckpointGatewayException);
    assertEquals(2, client.save(cp("{}").build(), 1L).version());
    assertEquals(1, client.list(thread).items().stream().filter(c -> c.version() == 1).count());
  }

  @Test
  public void deadlineExceeded() {
    client.save(cp("{}").build());
    DeadlineExceededException e =
        assertThrows(
            DeadlineExceededException.class,
            () -> client.withDeadlineAfter(1, TimeUnit.MICROSECONDS).latest(thread));
    assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getCode());
    // A generous per-call deadline works, and the view left the client as it was.
    assertEquals(1, client.withDeadlineAfter(10, TimeUnit.SECONDS).latest(thread).version());
    assertEquals(1, client.latest(thread).version());
  }

  @Test
  public void tokenIsRequired() {
    try (CheckpointGatewayClient anonymous =
        CheckpointGatewayClient.newBuilder(gateway.target).usePlaintext().build()) {
      UnauthenticatedException e =
          assertThrows(UnauthenticatedException.class, () -> anonymous.latest(thread));
      assertEquals(Status.Code.UNAUTHENTICATED, e.getCode());
    }
    try (CheckpointGatewayClient wrong =
        CheckpointGatewayClient.newBuilder(gateway.target).usePlaintext().token("not-the-token").build()) {
      assertThrows(UnauthenticatedException.class, () -> wrong.save(cp("{}").build()));
    }
    // Extra metadata goes along with the token, and a token supplier is asked per call.
    try (CheckpointGatewayClient withMetadata =
        CheckpointGatewayClient.newBuilder(gateway.target)
            .usePlaintext()
            .token(() -> gateway.token)
            .metadata("x-team", "java-sdk")
            .build()) {
      assertEquals(1, withMetadata.save(cp("{}").build()).version());
    }
  }

  @Test
  public void tls() {
    assumeNotNull(gateway.tlsTarget, gateway.tlsCa);
    try (CheckpointGatewayClient secure =
        CheckpointGatewayClient.newBuilder(gateway.tlsTarget)
            .trustCertificates(gateway.tlsCa)
            .token(gateway.token)
            .build()) {
      Checkpoint saved = secure.save(cp("{\"tls\": true}").build());
      assertEquals(saved.checkpointId(), secure.latest(thread).checkpointId());
      assertEquals("{\"tls\": true}", secure.load(thread, saved.checkpointId()).stateAsString());
    }
    // Without trusting the gateway's CA the handshake fails: UNAVAILABLE.
    try (CheckpointGatewayClient untrusting =
        CheckpointGatewayClient.newBuilder(gateway.tlsTarget)
            .token(gateway.token)
            .disableRetry()
            .build()) {
      assertThrows(UnavailableException.class, () -> untrusting.latest(thread));
    }
  }

  @Test
  public void saveManyReportsEachItem() {
    List<SaveResult> results =
        client.saveMany(
            List.of(cp("{\"n\": 1}").build(), cp("{\"n\": 2}").build(), cp("{\"n\": 3}").build()),
            Arrays.asList(0L, 0L, null));
    assertEquals(3, results.size());
    assertTrue(results.get(0).isSaved());
    assertEquals(1, results.get(0).getOrThrow().version());
    assertTrue(results.get(1).error().orElseThrow() instanceof ConflictException);
    assertThrows(ConflictException.class, () -> results.get(1).getOrThrow());
    assertEquals(2, results.get(2).getOrThrow().version());
    assertTrue(client.saveMany(List.of()).isEmpty());
  }

  @Test
  public void searchAndDeleteWhere() {
    String run = UUID.randomUUID().toString();
    String filter = "{\"run\": \"" + run + "\"}";
    client.save(cp("{}").metadata(filter).build());
    client.save(cp("{}").metadata(filter).build());
    client.save(cp("{}").build());
    Page<Checkpoint> found = client.search(filter, ListOptions.newBuilder().pageSize(1).build());
    assertEquals(1, found.items().size());
    assertTrue(found.hasNextPage());
    assertEquals(thread, found.items().get(0).executionId());
    assertEquals(2, client.deleteWhere(filter, thread));
    assertEquals(0, client.deleteWhere(filter));
    assertEquals(1, client.list(thread).items().size());
  }

  @Test
  public void namespacesAndExecutions() {
    client.save(cp("{}").build());
    client.save(cp("{}").namespace("sub").build());
    assertEquals(List.of("", "sub"), client.namespaces(thread, 0, null).items());
    Page<String> first = client.namespaces(thread, 1, "");
    assertEquals(List.of(""), first.items());
    assertEquals(
        List.of("sub"), client.namespaces(thread, 1, first.nextPageToken().orElseThrow()).items());

    // Most recently saved to first: this thread is among the first few (tests run one by one).
    Page<ExecutionInfo> executions = client.executions(5, null);
    ExecutionInfo mine =
        executions.items().stream()
            .filter(e -> e.executionId().equals(thread))
            .findFirst()
            .orElseThrow(() -> new AssertionError(thread + " not in " + executions));
    assertNotNull(mine.updatedAt());
    assertEquals(1, client.executions(1, null).items().size());
    assertTrue(client.executions(1, null).hasNextPage());
  }

  @Test
  public void copyPruneAndAncestors() {
    Checkpoint a = client.save(cp("{\"a\": 1}").build());
    Checkpoint b = client.save(cp("{\"b\": 1}").parentId(a.checkpointId()).build());
    Checkpoint c = client.save(cp("{\"c\": 1}").parentId(b.checkpointId()).build());

    Page<Checkpoint> chain = client.ancestors(thread, "", c.checkpointId(), AncestorsOptions.defaults());
    assertEquals(List.of(b.checkpointId(), a.checkpointId()), checkpointIds(chain));
    Page<Checkpoint> withSelf =
        client.ancestors(
            thread, "", c.checkpointId(),
            AncestorsOptions.newBuilder().includeSelf(true).includeState(true).pageSize(1).build());
    assertEquals(List.of(c.checkpointId()), checkpointIds(withSelf));
    assertEquals("{\"c\": 1}", withSelf.items().get(0).stateAsString());
    assertTrue(withSelf.hasNextPage());

    String copy = thread + "-copy";
    assertEquals(3, client.copyExecution(thread, copy));
    assertEquals(c.checkpointId(), client.latest(copy).checkpointId());
    assertThrows(ConflictException.class, () -> client.copyExecution(thread, copy));
    assertThrows(NotFoundException.class, () -> client.copyExecution(thread + "-none", thread + "-x"));

    assertEquals(2, client.prune(List.of(thread), PruneStrategy.KEEP_LATEST));
    assertEquals(List.of(c.checkpointId()), checkpointIds(client.list(thread)));
    assertEquals(3, client.prune(List.of(copy), PruneStrategy.DELETE_ALL));
  }

  @Test
  public void channelsAreStoredOncePerVersion() {
    byte[] big = "[\"hello\", \"world\"]".getBytes(StandardCharsets.UTF_8);
    Checkpoint first =
        client.save(cp("{}").channel("messages", Channel.of("1", big, Checkpoint.JSON)).build());
    assertFalse("a save answers with references", first.channels().get("messages").hasValue());
    Checkpoint second = client.save(cp("{}").channel("messages", Channel.reference("1")).build());
    Channel loaded = client.load(thread, second.checkpointId()).channels().get("messages");
    assertArrayEquals(big, loaded.value().orElseThrow());
    assertThrows(
        NotFoundException.class,
        () -> client.save(cp("{}").channel("messages", Channel.reference("9")).build()));
  }

  @Test
  public void invalidArgument() {
    InvalidArgumentException e =
        assertThrows(InvalidArgumentException.class, () -> client.save(cp("{}").metadata("[1, 2]").build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getCode());
  }

  private static List<String> checkpointIds(Page<Checkpoint> page) {
    List<String> ids = new ArrayList<>();
    page.items().forEach(c -> ids.add(c.checkpointId()));
    return ids;
  }
}
