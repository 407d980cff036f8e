package io.raftline.metadata.projection;

import io.raftline.metadata.TopicPartition;
import io.raftline.metadata.image.MetadataDelta;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.metadata.image.TopicImage;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * What one broker must do after a metadata change: the partitions it now leads, the ones it follows,
 * the ones it must drop (topic deleted or replica moved away), and whether its own fencing changed.
 * Partitions whose registration did not change for this broker are left out, so a broker does work
 * only for what changed.
 *
 * @param fenced the broker's new fencing state if it changed (fenced, unfenced, or unregistered which
 *     counts as fenced); empty if unchanged
 */
public record LocalReplicaChanges(
    Map<TopicPartition, PartitionRegistration> leaders,
    Map<TopicPartition, PartitionRegistration> followers,
    Set<TopicPartition> deletes,
    java.util.Optional<Boolean> fenced) {

  public LocalReplicaChanges {
    leaders = Map.copyOf(leaders);
    followers = Map.copyOf(followers);
    deletes = Set.copyOf(deletes);
  }

  public boolean isEmpty() {
    return leaders.isEmpty() && followers.isEmpty() && deletes.isEmpty() && fenced.isEmpty();
  }

  private static java.util.Optional<Boolean> fencingChange(MetadataImage before, MetadataImage after, int brokerId) {
    boolean was = !before.isUnfenced(brokerId);
    boolean is = !after.isUnfenced(brokerId);
    return was == is ? java.util.Optional.empty() : java.util.Optional.of(is);
  }

  /** The changes a delta makes for {@code brokerId}; {@code after} is {@code delta.apply()}. */
  public static LocalReplicaChanges of(MetadataDelta delta, MetadataImage after, int brokerId) {
    Builder b = new Builder(brokerId);
    for (TopicImage removed : delta.removedTopics().values()) {
      b.dropAll(removed);
    }
    b.compare(delta.base(), after, delta.changedTopics());
    return b.build(delta.changedBrokers().contains(brokerId) ? fencingChange(delta.base(), after, brokerId)
        : java.util.Optional.empty());
  }

  /**
   * The changes between any two images, for a listener that missed the deltas in between (or starts
   * from {@link MetadataImage#EMPTY}). Looks at every topic, so prefer {@link #of} when a delta is at
   * hand.
   */
  public static LocalReplicaChanges between(MetadataImage before, MetadataImage after, int brokerId) {
    Builder b = new Builder(brokerId);
    before.topicsById().forEach((id, topic) -> {
      if (!after.topicsById().containsKey(id)) {
        b.dropAll(topic);
      }
    });
    b.compare(before, after, after.topicsById().keySet());
    return b.build(fencingChange(before, after, brokerId));
  }

  private static final class Builder {
    private final int brokerId;
    private final Map<TopicPartition, PartitionRegistration> leaders = new LinkedHashMap<>();
    private final Map<TopicPartition, PartitionRegistration> followers = new LinkedHashMap<>();
    private final Set<TopicPartition> deletes = new LinkedHashSet<>();

    Builder(int brokerId) {
      this.brokerId = brokerId;
    }

    void dropAll(TopicImage topic) {
      topic.partitions().forEach((index, p) -> {
        if (p.hasReplica(brokerId)) {
          deletes.add(new TopicPartition(topic.name(), index));
        }
      });
    }

    void compare(MetadataImage before, MetadataImage after, Collection<UUID> topicIds) {
      for (UUID id : topicIds) {
        TopicImage now = after.topicsById().get(id);
        if (now == null) {
          continue;
        }
        TopicImage then = before.topicsById().get(id);
        now.partitions().forEach((index, p) -> {
          PartitionRegistration old = then == null ? null : then.partition(index);
          if (p.equals(old)) {
            return;
          }
          TopicPartition tp = new TopicPartition(now.name(), index);
          if (p.hasReplica(brokerId)) {
            (p.leader() == brokerId ? leaders : followers).put(tp, p);
          } else if (old != null && old.hasReplica(brokerId)) {
            deletes.add(tp);
          }
        });
      }
    }

    LocalReplicaChanges build(java.util.Optional<Boolean> fenced) {
      return new LocalReplicaChanges(leaders, followers, deletes, fenced);
    }
  }
}
