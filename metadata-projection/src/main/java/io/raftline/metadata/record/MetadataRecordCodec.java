package io.raftline.metadata.record;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.raftline.protocol.Endpoint;
import io.raftline.protocol.metadata.MetadataRecordEnvelope;
import java.nio.ByteBuffer;
import java.util.UUID;

/**
 * Serialises metadata records as protobuf envelopes: compact, and new fields or record types can be
 * added without breaking old logs. An empty payload decodes as {@link NoOpRecord}, because the Raft
 * leader writes empty entries to open its epoch.
 */
public final class MetadataRecordCodec {
  /** The highest envelope version this code reads and the one it writes. */
  public static final int VERSION = 1;

  private MetadataRecordCodec() {}

  public static byte[] encode(MetadataRecord record) {
    MetadataRecordEnvelope.Builder env = MetadataRecordEnvelope.newBuilder().setVersion(VERSION);
    if (record instanceof RegisterBrokerRecord r) {
        var b = io.raftline.protocol.metadata.RegisterBrokerRecord.newBuilder()
            .setBrokerId(r.brokerId()).setIncarnationId(r.incarnationId()).setBrokerEpoch(r.brokerEpoch())
            .setRack(r.rack());
        for (BrokerEndpoint e : r.listeners()) {
          b.addListeners(Endpoint.newBuilder().setListenerName(e.listenerName()).setHost(e.host()).setPort(e.port()));
        }
        env.setRegisterBroker(b);
    } else if (record instanceof TopicRecord r) {
      env.setTopic(io.raftline.protocol.metadata.TopicRecord.newBuilder()
          .setName(r.name()).setTopicId(uuidBytes(r.topicId())));
    } else if (record instanceof PartitionRecord r) {
      env.setPartition(io.raftline.protocol.metadata.PartitionRecord.newBuilder()
          .setTopicId(uuidBytes(r.topicId())).setPartition(r.partition()).addAllReplicas(r.replicas())
          .addAllIsr(r.isr()).setLeader(r.leader()).setLeaderEpoch(r.leaderEpoch())
          .setPartitionEpoch(r.partitionEpoch()));
    } else if (record instanceof RemoveTopicRecord r) {
      env.setRemoveTopic(io.raftline.protocol.metadata.RemoveTopicRecord.newBuilder()
          .setTopicId(uuidBytes(r.topicId())));
    } else if (record instanceof NoOpRecord) {
      env.setNoOp(io.raftline.protocol.metadata.NoOpRecord.getDefaultInstance());
    } else {
      throw new IllegalArgumentException("unhandled record type " + record.getClass().getSimpleName());
    }
    return env.build().toByteArray();
  }

  /**
   * @throws IllegalArgumentException for bytes that are not a record this version understands; the
   *     caller must stop rather than skip it, or nodes would build different images
   */
  public static MetadataRecord decode(byte[] payload) {
    if (payload.length == 0) {
      return NoOpRecord.INSTANCE;
    }
    MetadataRecordEnvelope env;
    try {
      env = MetadataRecordEnvelope.parseFrom(payload);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("malformed metadata record: " + e.getMessage(), e);
    }
    if (env.getVersion() < 1 || env.getVersion() > VERSION) {
      throw new IllegalArgumentException("unsupported metadata record version " + env.getVersion());
    }
    return switch (env.getRecordCase()) {
      case REGISTER_BROKER -> {
        var r = env.getRegisterBroker();
        yield new RegisterBrokerRecord(r.getBrokerId(), r.getIncarnationId(), r.getBrokerEpoch(),
            r.getListenersList().stream().map(e -> new BrokerEndpoint(e.getListenerName(), e.getHost(), e.getPort()))
                .toList(),
            r.getRack());
      }
      case TOPIC -> new TopicRecord(env.getTopic().getName(), uuid(env.getTopic().getTopicId()));
      case PARTITION -> {
        var r = env.getPartition();
        yield new PartitionRecord(uuid(r.getTopicId()), r.getPartition(), r.getReplicasList(), r.getIsrList(),
            r.getLeader(), r.getLeaderEpoch(), r.getPartitionEpoch());
      }
      case REMOVE_TOPIC -> new RemoveTopicRecord(uuid(env.getRemoveTopic().getTopicId()));
      case NO_OP -> NoOpRecord.INSTANCE;
      case RECORD_NOT_SET -> throw new IllegalArgumentException("metadata record of an unknown type");
    };
  }

  private static ByteString uuidBytes(UUID id) {
    return ByteString.copyFrom(
        ByteBuffer.allocate(16).putLong(id.getMostSignificantBits()).putLong(id.getLeastSignificantBits()).flip());
  }

  private static UUID uuid(ByteString b) {
    if (b.size() != 16) {
      throw new IllegalArgumentException("topic id must be 16 bytes, got " + b.size());
    }
    ByteBuffer buf = b.asReadOnlyByteBuffer();
    return new UUID(buf.getLong(), buf.getLong());
  }
}
