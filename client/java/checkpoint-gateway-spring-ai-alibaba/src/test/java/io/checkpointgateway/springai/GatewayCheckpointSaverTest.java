package io.checkpointgateway.springai;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.alibaba.cloud.ai.graph.RunnableConfig;
import com.alibaba.cloud.ai.graph.checkpoint.BaseCheckpointSaver;
import com.alibaba.cloud.ai.graph.checkpoint.Checkpoint;
import io.checkpointgateway.client.CheckpointGatewayClient;
import io.checkpointgateway.client.UnauthenticatedException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.UUID;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/**
 * The saver against real gateways, through the spring-ai-alibaba graph STAND-IN types
 * (module spring-ai-alibaba-graph-standin): the calls the graph runtime makes.
 */
@RunWith(Parameterized.class)
public class GatewayCheckpointSaverTest {
  @Parameters(name = "{0}")
  public static List<Object[]> gateways() {
    return GatewayTarget.parameters();
  }

  private final GatewayTarget gateway;
  private CheckpointGatewayClient client;
  private BaseCheckpointSaver saver;
  private RunnableConfig config;
  private String thread;

  public GatewayCheckpointSaverTest(String backend, GatewayTarget gateway) {
    this.gateway = gateway;
  }

  @Before
  public void open() {
    client = gateway.client();
    saver = GatewayCheckpointSaver.builder(client).build();
    thread = "java-saver-" + UUID.randomUUID();
    config = RunnableConfig.builder().threadId(thread).build();
  }

  @After
  public void close() {
    client.close();
  }

  private static Checkpoint step(String node, String next, Object value) {
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("value", value);
    return Checkpoint.builder().state(state).nodeId(node).nextNodeId(next).build();
  }

  private static List<String> ids(Collection<Checkpoint> checkpoints) {
    List<String> out = new ArrayList<>();
    checkpoints.forEach(c -> out.add(c.getId()));
    return out;
  }

  @Test
  public void putAppendsAndGetReturnsTheLatest() throws Exception {
    assertEquals(Optional.empty(), saver.get(config));
    Checkpoint a = step("__START__", "agent", 1);
    RunnableConfig afterA = saver.put(config, a);
    assertEquals(Optional.of(a.getId()), afterA.checkPointId());
    assertEquals(Optional.of(thread), afterA.threadId());
    Checkpoint b = step("agent", "tools", 2);
    saver.put(config, b);

    Checkpoint latest = saver.get(config).orElseThrow();
    assertEquals(b.getId(), latest.getId());
    assertEquals("agent", latest.getNodeId());
    assertEquals("tools", latest.getNextNodeId());
    assertEquals(2L, latest.getState().get("value"));

    Checkpoint first = saver.get(afterA).orElseThrow();
    assertEquals(a.getId(), first.getId());
    assertEquals("__START__", first.getNodeId());
    assertEquals(Optional.empty(), saver.get(config.withCheckPointId("no-such-checkpoint")));
  }

  @Test
  public void listIsNewestFirst() throws Exception {
    List<String> put = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      Checkpoint cp = step("n" + i, "n" + (i + 1), i);
      saver.put(config, cp);
      put.add(0, cp.getId());
    }
    Collection<Checkpoint> listed = saver.list(config);
    assertEquals(put, ids(listed));
    assertThrows(UnsupportedOperationException.class, () -> listed.clear());
    assertTrue(saver.list(RunnableConfig.builder().threadId(thread + "-none").build()).isEmpty());
  }

  @Test
  public void stateRoundTripsAsJson() throws Exception {
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("messages", Arrays.asList("hi", "there"));
    state.put("count", 3);
    state.put("ratio", 0.5);
    state.put("done", true);
    state.put("nothing", null);
    state.put("nested", Map.of("k", "v"));
    state.put("text", "<é \"quoted\">");
    saver.put(config, Checkpoint.builder().state(state).nodeId("a").nextNodeId("b").build());
    Map<String, Object> back = saver.get(config).orElseThrow().getState();
    assertEquals(List.of("hi", "there"), back.get("messages"));
    assertEquals(3L, back.get("count"));
    assertEquals(0.5, back.get("ratio"));
    assertEquals(true, back.get("done"));
    assertTrue(back.containsKey("nothing"));
    assertEquals(Map.of("k", "v"), back.get("nested"));
    assertEquals("<é \"quoted\">", back.get("text"));
  }

  @Test
  public void putWithACheckpointIdReplacesIt() throws Exception {
    Checkpoint a = step("a", "b", 1);
    Checkpoint b = step("b", "c", 2);
    saver.put(config, a);
    RunnableConfig atB = saver.put(config, b);

    // As CompiledGraph.updateState does: a copy under a new id replaces the config's one.
    Checkpoint updated = Checkpoint.copyOf(step("b", "c", 20));
    RunnableConfig after = saver.put(atB, updated);
    assertEquals(Optional.of(updated.getId()), after.checkPointId());
    assertEquals(List.of(updated.getId(), a.getId()), ids(saver.list(config)));
    assertEquals(20L, saver.get(config).orElseThrow().getState().get("value"));

    // The same id with a new state replaces it too.
    Checkpoint sameId = Checkpoint.builder().id(a.getId()).state(Map.of("value", 10)).nodeId("a").nextNodeId("b").build();
    saver.put(config.withCheckPointId(a.getId()), sameId);
    assertEquals(10L, saver.get(config.withCheckPointId(a.getId())).orElseThrow().getState().get("value"));
    assertEquals(2, saver.list(config).size());

    assertThrows(
        NoSuchElementException.class,
        () -> saver.put(config.withCheckPointId("no-such-checkpoint"), step("x", "y", 0)));
  }

  @Test
  public void releaseReturnsTheThreadsCheckpointsAndForgetsThem() throws Exception {
    Checkpoint a = step("a", "b", 1);
    Checkpoint b = step("b", "c", 2);
    saver.put(config, a);
    saver.put(config, b);
    BaseCheckpointSaver.Tag tag = saver.release(config);
    assertEquals(thread, tag.threadId());
    assertEquals(List.of(b.getId(), a.getId()), ids(tag.checkpoints()));
    assertTrue(saver.list(config).isEmpty());
    assertEquals(Optional.empty(), saver.get(config));
  }

  @Test
  public void clearDeletesTheThread() throws Exception {
    GatewayCheckpointSaver gatewaySaver = (GatewayCheckpointSaver) saver;
    saver.put(config, step("a", "b", 1));
    assertTrue(gatewaySaver.clear(config));
    assertFalse(gatewaySaver.clear(config));
    assertTrue(saver.list(config).isEmpty());
  }

  @Test
  public void numRetainedKeepsTheNewest() throws Exception {
    RunnableConfig retaining =
        RunnableConfig.builder(config).addMetadata(BaseCheckpointSaver.CHECKPOINTS_NUM_RETAINED, 2).build();
    List<String> put = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Checkpoint cp = step("n", "n", i);
      saver.put(retaining, cp);
      put.add(0, cp.getId());
    }
    assertEquals(put.subList(0, 2), ids(saver.list(config)));
  }

  @Test
  public void aConfigWithoutThreadUsesTheDefaultThread() throws Exception {
    GatewayCheckpointSaver namespaced =
        GatewayCheckpointSaver.builder(client).namespace("java-" + UUID.randomUUID()).build();
    RunnableConfig noThread = RunnableConfig.builder().build();
    Checkpoint cp = step("a", "b", 1);
    namespaced.put(noThread, cp);
    assertEquals(cp.getId(), namespaced.get(noThread).orElseThrow().getId());
    assertEquals(BaseCheckpointSaver.THREAD_ID_DEFAULT, namespaced.release(noThread).threadId());
  }

  @Test
  public void namespacesKeepGraphsApart() throws Exception {
    GatewayCheckpointSaver sub = GatewayCheckpointSaver.builder(client).namespace("sub").build();
    saver.put(config, step("root", "x", 1));
    sub.put(config, step("sub", "y", 2));
    assertEquals("root", saver.get(config).orElseThrow().getNodeId());
    assertEquals("sub", sub.get(config).orElseThrow().getNodeId());
    assertEquals(1, sub.release(config).checkpoints().size());
    assertEquals(1, saver.list(config).size());
  }

  @Test
  public void gatewayErrorsSurface() {
    try (CheckpointGatewayClient anonymous =
        CheckpointGatewayClient.newBuilder(gateway.target).usePlaintext().build()) {
      BaseCheckpointSaver unauthenticated = GatewayCheckpointSaver.builder(anonymous).build();
      assertThrows(UnauthenticatedException.class, () -> unauthenticated.get(config));
      assertThrows(UnauthenticatedException.class, () -> unauthenticated.put(config, step("a", "b", 1)));
    }
  }

  /** What the graph runtime does: a step per node, then a resume from the latest. */
  @Test
  public void aGraphRunAndItsResume() throws Exception {
    RunnableConfig running = config;
    for (String[] edge : new String[][] {{"__START__", "agent"}, {"agent", "human"}}) {
      running = saver.put(RunnableConfig.builder(running).checkPointId(null).build(), step(edge[0], edge[1], edge[0]));
    }
    // Interrupted before "human"; later, another process resumes from the thread alone.
    Checkpoint resumeFrom = saver.get(RunnableConfig.builder().threadId(thread).build()).orElseThrow();
    assertEquals("human", resumeFrom.getNextNodeId());
    assertEquals(running.checkPointId(), Optional.of(resumeFrom.getId()));
    assertEquals(2, saver.list(config).size());
  }
}
