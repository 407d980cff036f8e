package io.raftline.metadata.image;

import io.raftline.metadata.record.AccessControlEntryRecord;
import io.raftline.metadata.record.ClientQuotaRecord;
import io.raftline.metadata.record.ConfigRecord;
import io.raftline.metadata.record.ConfigResource;
import io.raftline.metadata.record.FeatureLevelRecord;
import io.raftline.metadata.record.FenceBrokerRecord;
import io.raftline.metadata.record.MetadataRecord;
import io.raftline.metadata.record.NoOpRecord;
import io.raftline.metadata.record.PartitionChangeRecord;
import io.raftline.metadata.record.PartitionRecord;
import io.raftline.metadata.record.ProducerIdsRecord;
import io.raftline.metadata.record.RegisterBrokerRecord;
import io.raftline.metadata.record.RemoveAccessControlEntryRecord;
import io.raftline.metadata.record.RemoveTopicRecord;
import io.raftline.metadata.record.TopicRecord;
import io.raftline.metadata.record.UnfenceBrokerRecord;
import io.raftline.metadata.record.UnregisterBrokerRecord;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.pcollections.PMap;

/**
 * Records applied on top of a base image. Replaying is cheap (map builders change the trie nodes the
 * delta already copied in place, so a run of records copies each node once); {@link #apply()}
 * yields the next image, and the delta remembers which topics and brokers it touched so projections
 * look only at those. A record that does not fit the image (a partition of an unknown topic, a fence
 * with a stale broker epoch) stops replay with {@link MetadataReplayException}. Not thread-safe: one
 * owner replays, then hands the resulting image around.
 */
public final class MetadataDelta {
  private final MetadataImage base;
  private long offset;
  // Builders: a run of records copies each trie node it touches once, not once per record.
  private final HashTrieMap.Builder<Integer, BrokerRegistration> brokers;
  private final HashTrieMap.Builder<UUID, TopicImage> topicsById;
  private final HashTrieMap.Builder<String, UUID> topicIdsByName;
  private final HashTrieMap.Builder<ConfigResource, PMap<String, String>> configs;
  private long nextProducerId;
  private final HashTrieMap.Builder<String, Integer> features;
  private final HashTrieMap.Builder<UUID, AccessControlEntryRecord> acls;
  private final HashTrieMap.Builder<Map<String, String>, PMap<String, Double>> quotas;
  private final Set<UUID> changedTopics = new HashSet<>();
  private final Map<UUID, TopicImage> removedTopics = new HashMap<>();
  private final Set<Integer> changedBrokers = new HashSet<>();

  public MetadataDelta(MetadataImage base) {
    this.base = base;
    this.offset = base.offset();
    this.brokers = HashTrieMap.builder(base.brokers());
    this.topicsById = HashTrieMap.builder(base.topicsById());
    this.topicIdsByName = HashTrieMap.builder(base.topicIdsByName());
    this.configs = HashTrieMap.builder(base.configs());
    this.nextProducerId = base.nextProducerId();
    this.features = HashTrieMap.builder(base.features());
    this.acls = HashTrieMap.builder(base.acls());
    this.quotas = HashTrieMap.builder(base.quotas());
  }

  /** Applies one record found at {@code recordOffset}, which must be past everything applied so far. */
  public void replay(long recordOffset, MetadataRecord record) {
    if (recordOffset <= offset) {
      throw new MetadataReplayException(recordOffset, "already applied (image is at " + offset + ")");
    }
    apply(recordOffset, record);
    offset = recordOffset;
  }

  /**
   * Applies one record of a snapshot. Snapshot records carry no offsets of their own; the caller
   * moves the image to the snapshot's offset with {@link #advanceTo} afterwards.
   */
  public void load(MetadataRecord record) {
    apply(offset, record);
  }

  private void apply(long recordOffset, MetadataRecord record) {
    if (record instanceof RegisterBrokerRecord r) {
      brokers.put(r.brokerId(), new BrokerRegistration(r.brokerId(), r.incarnationId(), r.brokerEpoch(),
          r.listeners(), r.rack(), r.fenced()));
      changedBrokers.add(r.brokerId());
    } else if (record instanceof UnregisterBrokerRecord r) {
      registered(recordOffset, r.brokerId(), r.brokerEpoch());
      brokers.remove(r.brokerId());
      changedBrokers.add(r.brokerId());
    } else if (record instanceof FenceBrokerRecord r) {
      brokers.put(r.brokerId(), registered(recordOffset, r.brokerId(), r.brokerEpoch()).withFenced(true));
      changedBrokers.add(r.brokerId());
    } else if (record instanceof UnfenceBrokerRecord r) {
      brokers.put(r.brokerId(), registered(recordOffset, r.brokerId(), r.brokerEpoch()).withFenced(false));
      changedBrokers.add(r.brokerId());
    } else if (record instanceof TopicRecord r) {
      if (topicIdsByName.containsKey(r.name())) {
        throw new MetadataReplayException(recordOffset, "topic " + r.name() + " already exists");
      }
      topicsById.put(r.topicId(), TopicImage.create(r.topicId(), r.name()));
      topicIdsByName.put(r.name(), r.topicId());
      changedTopics.add(r.topicId());
    } else if (record instanceof PartitionRecord r) {
      TopicImage topic = topic(recordOffset, r.topicId());
      topicsById.put(r.topicId(), topic.withPartition(r.partition(),
          new PartitionRegistration(r.replicas(), r.isr(), r.leader(), r.leaderEpoch(), r.partitionEpoch())));
      changedTopics.add(r.topicId());
    } else if (record instanceof PartitionChangeRecord r) {
      TopicImage topic = topic(recordOffset, r.topicId());
      PartitionRegistration p = topic.partition(r.partition());
      if (p == null) {
        throw new MetadataReplayException(recordOffset, "change of unknown partition " + r.partition() + " of "
            + topic.name());
      }
      topicsById.put(r.topicId(), topic.withPartition(r.partition(), p.merge(r)));
      changedTopics.add(r.topicId());
    } else if (record instanceof RemoveTopicRecord r) {
      TopicImage topic = topic(recordOffset, r.topicId());
      topicsById.remove(r.topicId());
      topicIdsByName.remove(topic.name());
      configs.remove(new ConfigResource(ConfigResource.Type.TOPIC, topic.name()));
      // A topic created and removed within one delta never existed for the projections.
      if (!changedTopics.remove(r.topicId()) || base.topicsById().containsKey(r.topicId())) {
        removedTopics.put(r.topicId(), base.topicsById().getOrDefault(r.topicId(), topic));
      }
    } else if (record instanceof ConfigRecord r) {
      PMap<String, String> current = configs.getOrDefault(r.resource(), HashTrieMap.empty());
      PMap<String, String> next = r.value() == null ? current.minus(r.name()) : current.plus(r.name(), r.value());
      if (next.isEmpty()) {
        configs.remove(r.resource());
      } else {
        configs.put(r.resource(), next);
      }
    } else if (record instanceof ProducerIdsRecord r) {
      if (r.nextProducerId() <= nextProducerId) {
        throw new MetadataReplayException(recordOffset, "producer id block ends at " + r.nextProducerId()
            + ", not past the current " + nextProducerId);
      }
      nextProducerId = r.nextProducerId();
    } else if (record instanceof FeatureLevelRecord r) {
      if (r.level() == 0) {
        features.remove(r.name());
      } else {
        features.put(r.name(), r.level());
      }
    } else if (record instanceof AccessControlEntryRecord r) {
      acls.put(r.id(), r);
    } else if (record instanceof RemoveAccessControlEntryRecord r) {
      acls.remove(r.id());
    } else if (record instanceof ClientQuotaRecord r) {
      PMap<String, Double> current = quotas.getOrDefault(r.entity(), HashTrieMap.empty());
      PMap<String, Double> next = r.value() == null ? current.minus(r.key()) : current.plus(r.key(), r.value());
      if (next.isEmpty()) {
        quotas.remove(r.entity());
      } else {
        quotas.put(r.entity(), next);
      }
    } else if (!(record instanceof NoOpRecord)) {
      throw new MetadataReplayException(recordOffset, "unhandled record type " + record.getClass().getSimpleName());
    }
  }

  private BrokerRegistration registered(long recordOffset, int brokerId, long brokerEpoch) {
    BrokerRegistration b = brokers.get(brokerId);
    if (b == null || b.epoch() != brokerEpoch) {
      throw new MetadataReplayException(recordOffset, "broker " + brokerId + " with epoch " + brokerEpoch
          + " is not registered" + (b == null ? "" : " (its epoch is " + b.epoch() + ")"));
    }
    return b;
  }

  private TopicImage topic(long recordOffset, UUID topicId) {
    TopicImage topic = topicsById.get(topicId);
    if (topic == null) {
      throw new MetadataReplayException(recordOffset, "unknown topic id " + topicId);
    }
    return topic;
  }

  /** Moves the image's offset over entries that carry no metadata record (e.g. Raft leader markers). */
  public void advanceTo(long recordOffset) {
    if (recordOffset > offset) {
      offset = recordOffset;
    }
  }

  public MetadataImage apply() {
    return new MetadataImage(offset, brokers.build(), topicsById.build(), topicIdsByName.build(), configs.build(),
        nextProducerId, features.build(), acls.build(), quotas.build());
  }

  public MetadataImage base() {
    return base;
  }

  /** Topics created or changed (not removed) by this delta. */
  public Set<UUID> changedTopics() {
    return Collections.unmodifiableSet(changedTopics);
  }

  /** Topics removed by this delta, as they were in the base image. */
  public Map<UUID, TopicImage> removedTopics() {
    return Collections.unmodifiableMap(removedTopics);
  }

  /** Brokers registered, unregistered, fenced or unfenced by this delta. */
  public Set<Integer> changedBrokers() {
    return Collections.unmodifiableSet(changedBrokers);
  }

  public boolean isEmpty() {
    return changedTopics.isEmpty() && removedTopics.isEmpty() && changedBrokers.isEmpty();
  }
}
