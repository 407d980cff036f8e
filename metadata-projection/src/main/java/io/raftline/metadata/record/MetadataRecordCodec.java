package io.raftline.metadata.record;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.raftline.protocol.Endpoint;
import io.raftline.protocol.metadata.MetadataRecordEnvelope;
import java.nio.ByteBuffer;
import java.util.List;
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
    return envelope(record).toByteArray();
  }

  static MetadataRecordEnvelope envelope(MetadataRecord record) {
    MetadataRecordEnvelope.Builder env = MetadataRecordEnvelope.newBuilder().setVersion(VERSION);
    if (record instanceof RegisterBrokerRecord r) {
      var b = io.raftline.protocol.metadata.RegisterBrokerRecord.newBuilder()
          .setBrokerId(r.brokerId()).setIncarnationId(r.incarnationId()).setBrokerEpoch(r.brokerEpoch())
          .setRack(r.rack()).setFenced(r.fenced());
      for (BrokerEndpoint e : r.listeners()) {
        b.addListeners(Endpoint.newBuilder().setListenerName(e.listenerName()).setHost(e.host()).setPort(e.port()));
      }
      env.setRegisterBroker(b);
    } else if (record instanceof UnregisterBrokerRecord r) {
      env.setUnregisterBroker(io.raftline.protocol.metadata.UnregisterBrokerRecord.newBuilder()
          .setBrokerId(r.brokerId()).setBrokerEpoch(r.brokerEpoch()));
    } else if (record instanceof FenceBrokerRecord r) {
      env.setFenceBroker(io.raftline.protocol.metadata.FenceBrokerRecord.newBuilder()
          .setBrokerId(r.brokerId()).setBrokerEpoch(r.brokerEpoch()));
    } else if (record instanceof UnfenceBrokerRecord r) {
      env.setUnfenceBroker(io.raftline.protocol.metadata.UnfenceBrokerRecord.newBuilder()
          .setBrokerId(r.brokerId()).setBrokerEpoch(r.brokerEpoch()));
    } else if (record instanceof TopicRecord r) {
      env.setTopic(io.raftline.protocol.metadata.TopicRecord.newBuilder()
          .setName(r.name()).setTopicId(uuidBytes(r.topicId())));
    } else if (record instanceof PartitionRecord r) {
      env.setPartition(io.raftline.protocol.metadata.PartitionRecord.newBuilder()
          .setTopicId(uuidBytes(r.topicId())).setPartition(r.partition()).addAllReplicas(r.replicas())
          .addAllIsr(r.isr()).setLeader(r.leader()).setLeaderEpoch(r.leaderEpoch())
          .setPartitionEpoch(r.partitionEpoch()));
    } else if (record instanceof PartitionChangeRecord r) {
      var b = io.raftline.protocol.metadata.PartitionChangeRecord.newBuilder()
          .setTopicId(uuidBytes(r.topicId())).setPartition(r.partition()).setLeader(r.leader());
      if (r.isr() != null) {
        b.setHasIsr(true).addAllIsr(r.isr());
      }
      if (r.replicas() != null) {
        b.setHasReplicas(true).addAllReplicas(r.replicas());
      }
      env.setPartitionChange(b);
    } else if (record instanceof RemoveTopicRecord r) {
      env.setRemoveTopic(io.raftline.protocol.metadata.RemoveTopicRecord.newBuilder()
          .setTopicId(uuidBytes(r.topicId())));
    } else if (record instanceof ConfigRecord r) {
      var b = io.raftline.protocol.metadata.ConfigRecord.newBuilder().setResourceType(r.resource().type().name())
          .setResourceName(r.resource().name()).setName(r.name());
      if (r.value() == null) {
        b.setDeleted(true);
      } else {
        b.setValue(r.value());
      }
      env.setConfig(b);
    } else if (record instanceof ProducerIdsRecord r) {
      env.setProducerIds(io.raftline.protocol.metadata.ProducerIdsRecord.newBuilder().setBrokerId(r.brokerId())
          .setBrokerEpoch(r.brokerEpoch()).setNextProducerId(r.nextProducerId()));
    } else if (record instanceof FeatureLevelRecord r) {
      env.setFeatureLevel(io.raftline.protocol.metadata.FeatureLevelRecord.newBuilder().setName(r.name())
          .setFeatureLevel(r.level()));
    } else if (record instanceof AccessControlEntryRecord r) {
      env.setAccessControlEntry(io.raftline.protocol.metadata.AccessControlEntryRecord.newBuilder()
          .setId(uuidBytes(r.id())).setResourceType(r.resourceType()).setResourceName(r.resourceName())
          .setPatternType(r.patternType()).setPrincipal(r.principal()).setHost(r.host()).setOperation(r.operation())
          .setPermissionType(r.permissionType()));
    } else if (record instanceof RemoveAccessControlEntryRecord r) {
      env.setRemoveAccessControlEntry(io.raftline.protocol.metadata.RemoveAccessControlEntryRecord.newBuilder()
          .setId(uuidBytes(r.id())));
    } else if (record instanceof ClientQuotaRecord r) {
      var b = io.raftline.protocol.metadata.ClientQuotaRecord.newBuilder().putAllEntity(r.entity()).setKey(r.key());
      if (r.value() == null) {
        b.setRemoved(true);
      } else {
        b.setValue(r.value());
      }
      env.setClientQuota(b);
    } else if (record instanceof NoOpRecord) {
      env.setNoOp(io.raftline.protocol.metadata.NoOpRecord.getDefaultInstance());
    } else {
      throw new IllegalArgumentException("unhandled record type " + record.getClass().getSimpleName());
    }
    return env.build();
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
    return fromEnvelope(env);
  }

  static MetadataRecord fromEnvelope(MetadataRecordEnvelope env) {
    if (env.getVersion() < 1 || env.getVersion() > VERSION) {
      throw new IllegalArgumentException("unsupported metadata record version " + env.getVersion());
    }
    return switch (env.getRecordCase()) {
      case REGISTER_BROKER -> {
        var r = env.getRegisterBroker();
        // A loop: every voter decodes every committed record, and a stream's set-up outweighs the few listeners.
        BrokerEndpoint[] listeners = new BrokerEndpoint[r.getListenersCount()];
        for (int i = 0; i < listeners.length; i++) {
          Endpoint e = r.getListeners(i);
          listeners[i] = new BrokerEndpoint(e.getListenerName(), e.getHost(), e.getPort());
        }
        yield new RegisterBrokerRecord(r.getBrokerId(), r.getIncarnationId(), r.getBrokerEpoch(),
            List.of(listeners), r.getRack(), r.getFenced());
      }
      case UNREGISTER_BROKER -> new UnregisterBrokerRecord(env.getUnregisterBroker().getBrokerId(),
          env.getUnregisterBroker().getBrokerEpoch());
      case FENCE_BROKER -> new FenceBrokerRecord(env.getFenceBroker().getBrokerId(),
          env.getFenceBroker().getBrokerEpoch());
      case UNFENCE_BROKER -> new UnfenceBrokerRecord(env.getUnfenceBroker().getBrokerId(),
          env.getUnfenceBroker().getBrokerEpoch());
      case TOPIC -> new TopicRecord(env.getTopic().getName(), uuid(env.getTopic().getTopicId()));
      case PARTITION -> {
        var r = env.getPartition();
        yield new PartitionRecord(uuid(r.getTopicId()), r.getPartition(), r.getReplicasList(), r.getIsrList(),
            r.getLeader(), r.getLeaderEpoch(), r.getPartitionEpoch());
      }
      case PARTITION_CHANGE -> {
        var r = env.getPartitionChange();
        yield new PartitionChangeRecord(uuid(r.getTopicId()), r.getPartition(), r.getLeader(),
            r.getHasIsr() ? r.getIsrList() : null, r.getHasReplicas() ? r.getReplicasList() : null);
      }
      case REMOVE_TOPIC -> new RemoveTopicRecord(uuid(env.getRemoveTopic().getTopicId()));
      case CONFIG -> {
        var r = env.getConfig();
        ConfigResource.Type type;
        try {
          type = ConfigResource.Type.valueOf(r.getResourceType());
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("unknown config resource type " + r.getResourceType());
        }
        yield new ConfigRecord(new ConfigResource(type, r.getResourceName()), r.getName(),
            r.getDeleted() ? null : r.getValue());
      }
      case PRODUCER_IDS -> new ProducerIdsRecord(env.getProducerIds().getBrokerId(),
          env.getProducerIds().getBrokerEpoch(), env.getProducerIds().getNextProducerId());
      case FEATURE_LEVEL -> new FeatureLevelRecord(env.getFeatureLevel().getName(),
          env.getFeatureLevel().getFeatureLevel());
      case ACCESS_CONTROL_ENTRY -> {
        var r = env.getAccessControlEntry();
        yield new AccessControlEntryRecord(uuid(r.getId()), r.getResourceType(), r.getResourceName(),
            r.getPatternType(), r.getPrincipal(), r.getHost(), r.getOperation(), r.getPermissionType());
      }
      case REMOVE_ACCESS_CONTROL_ENTRY -> new RemoveAccessControlEntryRecord(
          uuid(env.getRemoveAccessControlEntry().getId()));
      case CLIENT_QUOTA -> {
        var r = env.getClientQuota();
        yield new ClientQuotaRecord(r.getEntityMap(), r.getKey(), r.getRemoved() ? null : r.getValue());
      }
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
      throw new IllegalArgumentException("an id must be 16 bytes, got " + b.size());
    }
    ByteBuffer buf = b.asReadOnlyByteBuffer();
    return new UUID(buf.getLong(), buf.getLong());
  }
}
