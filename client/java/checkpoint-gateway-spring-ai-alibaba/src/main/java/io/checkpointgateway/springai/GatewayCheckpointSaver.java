package io.checkpointgateway.springai;

import com.alibaba.cloud.ai.graph.RunnableConfig;
import com.alibaba.cloud.ai.graph.checkpoint.BaseCheckpointSaver;
import com.alibaba.cloud.ai.graph.checkpoint.Checkpoint;
import io.checkpointgateway.client.CheckpointGatewayClient;
import io.checkpointgateway.client.ListOptions;
import io.checkpointgateway.client.NotFoundException;
import io.checkpointgateway.client.Page;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;

/**
 * A spring-ai-alibaba graph {@link BaseCheckpointSaver} whose checkpoints live in
 * checkpoint-gateway: a thread is a gateway execution, a graph checkpoint a gateway checkpoint
 * (same id; node id as its node, next node id as its one next node; state through a {@link
 * StateCodec}, JSON by default), so every backend of the gateway and every process of the
 * graph share them.
 *
 * <pre>{@code
 * BaseCheckpointSaver saver = GatewayCheckpointSaver.builder(client).build();
 * CompiledGraph graph = stateGraph.compile(CompileConfig.builder()
 *     .saverConfig(SaverConfig.builder().register(saver).build())
 *     .build());
 * }</pre>
 *
 * <p>Semantics, as spring-ai-alibaba's own savers (a config without a thread id means {@link
 * #THREAD_ID_DEFAULT}):
 *
 * <ul>
 *   <li>{@link #list}: every checkpoint of the thread, newest first (the gateway's version
 *       order, not a timestamp: it is exact);
 *   <li>{@link #get}: the config's checkpoint, or the newest when the config names none;
 *       empty when there is none;
 *   <li>{@link #put}: without a checkpoint id in the config, saves the checkpoint as the
 *       thread's newest; with one, replaces that checkpoint ({@link NoSuchElementException}
 *       when there is none). Either way it returns the config with the checkpoint's id. The
 *       gateway's versions only grow, so a replacement becomes the thread's newest checkpoint
 *       (MemorySaver keeps it in place; for the usual replacement, of the newest, it is the
 *       same). Honours {@link #CHECKPOINTS_NUM_RETAINED}.
 *   <li>{@link #release}: the thread is done: its checkpoints are deleted and returned in the
 *       {@link Tag}, newest first;
 *   <li>{@link #clear}: deletes the thread's checkpoints (the method of spring-ai-alibaba
 *       before 1.1, kept for its callers).
 * </ul>
 *
 * <p>Gateway failures surface as the client's unchecked exceptions ({@code
 * UnavailableException}, {@code DeadlineExceededException}...). The saver does not close the
 * client.
 */
public final class GatewayCheckpointSaver implements BaseCheckpointSaver {
  private static final int PAGE_SIZE = 100;

  private final CheckpointGatewayClient client;
  private final String namespace;
  private final StateCodec codec;

  private GatewayCheckpointSaver(Builder builder) {
    this.client = builder.client;
    this.namespace = builder.namespace;
    this.codec = builder.codec;
  }

  /** A builder of a saver over {@code client}. */
  public static Builder builder(CheckpointGatewayClient client) {
    return new Builder(client);
  }

  @Override
  public Collection<Checkpoint> list(RunnableConfig config) {
    return Collections.unmodifiableList(all(threadId(config)));
  }

  @Override
  public Optional<Checkpoint> get(RunnableConfig config) {
    String thread = threadId(config);
    try {
      io.checkpointgateway.client.Checkpoint found =
          config.checkPointId().isPresent()
              ? client.load(thread, namespace, config.checkPointId().get())
              : client.latest(thread, namespace);
      return Optional.of(fromGateway(found));
    } catch (NotFoundException e) {
      return Optional.empty();
    }
  }

  @Override
  public RunnableConfig put(RunnableConfig config, Checkpoint checkpoint) {
    Objects.requireNonNull(checkpoint, "checkpoint");
    String thread = threadId(config);
    Optional<String> replaced = config.checkPointId();
    if (replaced.isEmpty()) {
      client.save(toGateway(thread, checkpoint, ""));
    } else {
      io.checkpointgateway.client.Checkpoint old;
      try {
        old = client.load(thread, namespace, replaced.get());
      } catch (NotFoundException e) {
        throw new NoSuchElementException(
            String.format("Checkpoint with id %s not found!", replaced.get()));
      }
      if (old.checkpointId().equals(checkpoint.getId())) {
        // The gateway never changes a stored checkpoint: the old one goes first.
        client.delete(thread, namespace, old.checkpointId());
        client.save(toGateway(thread, checkpoint, old.parentId()));
      } else {
        client.save(toGateway(thread, checkpoint, old.parentId()));
        client.delete(thread, namespace, old.checkpointId());
      }
    }
    Optional<Integer> retained = checkpointsNumRetained(config);
    if (retained.isPresent()) {
      List<Checkpoint> kept = all(thread);
      for (Checkpoint old : kept.subList(Math.min(retained.get(), kept.size()), kept.size())) {
        client.delete(thread, namespace, old.getId());
      }
    }
    return RunnableConfig.builder(config).checkPointId(checkpoint.getId()).build();
  }

  @Override
  public Tag release(RunnableConfig config) {
    String thread = threadId(config);
    List<Checkpoint> checkpoints = all(thread);
    client.clear(thread, namespace);
    return new Tag(thread, checkpoints);
  }

  /**
   * Deletes every checkpoint of the config's thread.
   *
   * @return whether there were any
   */
  public boolean clear(RunnableConfig config) {
    return client.clear(threadId(config), namespace) > 0;
  }

  private List<Checkpoint> all(String thread) {
    List<Checkpoint> out = new ArrayList<>();
    String token = "";
    do {
      Page<io.checkpointgateway.client.Checkpoint> page =
          client.list(
              thread, namespace, ListOptions.newBuilder().pageSize(PAGE_SIZE).pageToken(token).build());
      for (io.checkpointgateway.client.Checkpoint cp : page.items()) {
        out.add(fromGateway(cp));
      }
      token = page.nextPageToken().orElse("");
    } while (!token.isEmpty());
    return out;
  }

  private static String threadId(RunnableConfig config) {
    return Objects.requireNonNull(config, "config").threadId().orElse(THREAD_ID_DEFAULT);
  }

  private io.checkpointgateway.client.Checkpoint toGateway(
      String thread, Checkpoint checkpoint, String parentId) {
    return io.checkpointgateway.client.Checkpoint.newBuilder(thread)
        .namespace(namespace)
        .checkpointId(checkpoint.getId())
        .parentId(parentId)
        .state(codec.encode(checkpoint.getState()), codec.contentType())
        .node(checkpoint.getNodeId())
        .nextNodes(checkpoint.getNextNodeId())
        .build();
  }

  private Checkpoint fromGateway(io.checkpointgateway.client.Checkpoint cp) {
    List<String> next = cp.nextNodes();
    return Checkpoint.builder()
        .id(cp.checkpointId())
        .state(codec.decode(cp.state(), cp.contentType()))
        .nodeId(cp.node())
        .nextNodeId(next.isEmpty() ? "" : next.get(0))
        .build();
  }

  /** Builds a {@link GatewayCheckpointSaver}. */
  public static final class Builder {
    private final CheckpointGatewayClient client;
    private String namespace = "";
    private StateCodec codec = new JsonStateCodec();

    private Builder(CheckpointGatewayClient client) {
      this.client = Objects.requireNonNull(client, "client");
    }

    /** The gateway namespace of this graph's checkpoints ("" by default: the root graph). */
    public Builder namespace(String namespace) {
      this.namespace = Objects.requireNonNull(namespace, "namespace");
      return this;
    }

    /** How the state is stored (JSON by default). */
    public Builder stateCodec(StateCodec codec) {
      this.codec = Objects.requireNonNull(codec, "codec");
      return this;
    }

    public GatewayCheckpointSaver build() {
      return new GatewayCheckpointSaver(this);
    }
  }
}
