package io.raftline.metadata.image;

import io.raftline.metadata.record.MetadataRecord;
import io.raftline.metadata.record.NoOpRecord;
import io.raftline.metadata.record.PartitionRecord;
import io.raftline.metadata.record.RegisterBrokerRecord;
import io.raftline.metadata.record.RemoveTopicRecord;
import io.raftline.metadata.record.TopicRecord;
import java.util.Collections;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.pcollections.PMap;

/**
 * Records applied on top of a base image. Replaying is cheap (persistent-map updates); {@link #apply()}
 * yields the next image, and the delta remembers which topics and brokers it touched so projections
 * look only at those. Not thread-safe: one owner replays, then hands the resulting image around.
 */
public final class MetadataDelta {
  private final MetadataImage base;
  private long offset;
  private PMap<Integer, BrokerRegistration> brokers;
  private PMap<UUID, TopicImage> topicsById;
  private PMap<String, UUID> topicIdsByName;
  private final Set<UUID> changedTopics = new HashSet<>();
  private final Map<UUID, TopicImage> removedTopics = new java.util.HashMap<>();
  private final Set<Integer> changedBrokers = new HashSet<>();

  public MetadataDelta(MetadataImage base) {
    this.base = base;
    this.offset = base.offset();
    this.brokers = base.brokers();
    this.topicsById = base.topicsById();
    this.topicIdsByName = base.topicIdsByName();
  }

  /** Applies one record found at {@code recordOffset}, which must be past everything applied so far. */
  public void replay(long recordOffset, MetadataRecord record) {
    if (recordOffset <= offset) {
      throw new MetadataReplayException(recordOffset, "already applied (image is at " + offset + ")");
    }
    if (record instanceof RegisterBrokerRecord r) {
        brokers = brokers.plus(r.brokerId(),
            new BrokerRegistration(r.brokerId(), r.incarnationId(), r.brokerEpoch(), r.listeners(), r.rack()));
        changedBrokers.add(r.brokerId());
    } else if (record instanceof TopicRecord r) {
        if (topicIdsByName.containsKey(r.name())) {
          throw new MetadataReplayException(recordOffset, "topic " + r.name() + " already exists");
        }
        topicsById = topicsById.plus(r.topicId(), TopicImage.create(r.topicId(), r.name()));
        topicIdsByName = topicIdsByName.plus(r.name(), r.topicId());
        changedTopics.add(r.topicId());
    } else if (record instanceof PartitionRecord r) {
        TopicImage topic = topicsById.get(r.topicId());
        if (topic == null) {
          throw new MetadataReplayException(recordOffset, "partition of unknown topic id " + r.topicId());
        }
        topicsById = topicsById.plus(r.topicId(), topic.withPartition(r.partition(),
            new PartitionRegistration(r.replicas(), r.isr(), r.leader(), r.leaderEpoch(), r.partitionEpoch())));
        changedTopics.add(r.topicId());
    } else if (record instanceof RemoveTopicRecord r) {
        TopicImage topic = topicsById.get(r.topicId());
        if (topic == null) {
          throw new MetadataReplayException(recordOffset, "removal of unknown topic id " + r.topicId());
        }
        topicsById = topicsById.minus(r.topicId());
        topicIdsByName = topicIdsByName.minus(topic.name());
        // A topic created and removed within one delta never existed for the projections.
        if (!changedTopics.remove(r.topicId()) || base.topicsById().containsKey(r.topicId())) {
          removedTopics.put(r.topicId(), base.topicsById().getOrDefault(r.topicId(), topic));
        }
    } else if (!(record instanceof NoOpRecord)) {
      throw new MetadataReplayException(recordOffset, "unhandled record type " + record.getClass().getSimpleName());
    }
    offset = recordOffset;
  }

  /** Moves the image's offset over entries that carry no metadata record (e.g. Raft leader markers). */
  public void advanceTo(long recordOffset) {
    if (recordOffset > offset) {
      offset = recordOffset;
    }
  }

  public MetadataImage apply() {
    return new MetadataImage(offset, brokers, topicsById, topicIdsByName);
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

  public Set<Integer> changedBrokers() {
    return Collections.unmodifiableSet(changedBrokers);
  }

  public boolean isEmpty() {
    return changedTopics.isEmpty() && removedTopics.isEmpty() && changedBrokers.isEmpty();
  }
}
