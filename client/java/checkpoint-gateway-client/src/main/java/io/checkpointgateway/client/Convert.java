package io.checkpointgateway.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Between the public model and the generated protobuf messages (kept out of the API). */
final class Convert {
  private Convert() {}

  static io.checkpointgateway.v1.Checkpoint toProto(Checkpoint cp) {
    io.checkpointgateway.v1.Checkpoint.Builder b =
        io.checkpointgateway.v1.Checkpoint.newBuilder()
            .setExecutionId(cp.executionId())
            .setNamespace(cp.namespace())
            .setCheckpointId(cp.checkpointId())
            .setParentId(cp.parentId())
            .setState(ByteString.copyFrom(cp.state()))
            .setContentType(cp.contentType())
            .setMetadata("{}".equals(cp.metadata()) ? "" : cp.metadata())
            .setNode(cp.node())
            .addAllNextNodes(cp.nextNodes());
    for (Map.Entry<String, Channel> e : cp.channels().entrySet()) {
      io.checkpointgateway.v1.Channel.Builder ch =
          io.checkpointgateway.v1.Channel.newBuilder()
              .setName(e.getKey())
              .setVersion(e.getValue().version())
              .setContentType(e.getValue().contentType());
      e.getValue().value().ifPresent(v -> ch.setValue(ByteString.copyFrom(v)));
      b.addChannels(ch);
    }
    return b.build();
  }

  static Checkpoint fromProto(io.checkpointgateway.v1.Checkpoint m) {
    Map<String, Channel> channels = new LinkedHashMap<>();
    for (io.checkpointgateway.v1.Channel ch : m.getChannelsList()) {
      channels.put(
          ch.getName(),
          ch.hasValue()
              ? Channel.of(ch.getVersion(), ch.getValue().toByteArray(), ch.getContentType())
              : Channel.reference(ch.getVersion()));
    }
    List<PendingWrite> writes = new ArrayList<>();
    for (io.checkpointgateway.v1.PendingWrite w : m.getPendingWritesList()) {
      writes.add(fromProto(w));
    }
    return Checkpoint.newBuilder(m.getExecutionId())
        .namespace(m.getNamespace())
        .checkpointId(m.getCheckpointId())
        .parentId(m.getParentId())
        .state(m.getState().toByteArray(), m.getContentType())
        .metadata(m.getMetadata())
        .node(m.getNode())
        .nextNodes(m.getNextNodesList())
        .createdAt(m.hasCreatedAt() ? instant(m.getCreatedAt()) : null)
        .version(m.getVersion())
        .pendingWrites(writes)
        .channels(channels)
        .build();
  }

  static io.checkpointgateway.v1.PendingWrite toProto(PendingWrite w) {
    return io.checkpointgateway.v1.PendingWrite.newBuilder()
        .setTaskId(w.taskId())
        .setIdx(w.idx())
        .setChannel(w.channel())
        .setValue(ByteString.copyFrom(w.value()))
        .setContentType(w.contentType())
        .setTaskPath(w.taskPath())
        .build();
  }

  static PendingWrite fromProto(io.checkpointgateway.v1.PendingWrite w) {
    return new PendingWrite(
        w.getTaskId(),
        w.getIdx(),
        w.getChannel(),
        w.getValue().toByteArray(),
        w.getContentType(),
        w.getTaskPath());
  }

  static Instant instant(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }

  static Page<Checkpoint> page(List<io.checkpointgateway.v1.Checkpoint> items, String token) {
    List<Checkpoint> out = new ArrayList<>(items.size());
    for (io.checkpointgateway.v1.Checkpoint m : items) {
      out.add(fromProto(m));
    }
    return new Page<>(out, token);
  }
}
