package io.raftline.broker.group;

import io.raftline.metadata.TopicPartition;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.ToIntFunction;

/**
 * Kafka's range assignor, server side: for each topic, its subscribed members in member-id order take
 * consecutive ranges of its partitions, the first {@code partitions % members} one more than the rest.
 * Topics with the same partition count subscribed by the same members are thus co-partitioned (a
 * member gets the same partition numbers of each), which joins across topics need. Not sticky: the
 * target depends only on the current members, so a membership change may move many partitions.
 */
final class RangeAssignor {
  private RangeAssignor() {}

  /** See {@link PartitionAssignor#assign}; {@code previous} is ignored. */
  static Map<String, Set<TopicPartition>> assign(Map<String, ? extends Set<String>> subscriptions,
      ToIntFunction<String> partitionCount, Map<String, ? extends Set<TopicPartition>> previous) {
    Map<String, Set<TopicPartition>> target = new TreeMap<>();
    Map<String, SortedSet<String>> membersByTopic = new TreeMap<>();
    subscriptions.forEach((member, topics) -> {
      target.put(member, new TreeSet<>(GroupCoordinator.PARTITION_ORDER));
      topics.forEach(t -> membersByTopic.computeIfAbsent(t, x -> new TreeSet<>()).add(member));
    });
    membersByTopic.forEach((topic, members) -> {
      int n = partitionCount.applyAsInt(topic);
      if (n <= 0) {
        return;
      }
      List<String> order = new ArrayList<>(members);
      int base = n / order.size();
      int extra = n % order.size();
      int next = 0;
      for (int i = 0; i < order.size(); i++) {
        int share = base + (i < extra ? 1 : 0);
        for (int k = 0; k < share; k++) {
          target.get(order.get(i)).add(new TopicPartition(topic, next++));
        }
      }
    });
    return target;
  }
}
