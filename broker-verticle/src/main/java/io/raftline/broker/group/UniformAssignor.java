package io.raftline.broker.group;

import io.raftline.metadata.TopicPartition;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.ToIntFunction;

/**
 * The server-side assignor: for each topic, the members subscribed to it share its partitions evenly
 * (counts differ by at most one), and it is sticky: a member keeps as many of its previous target
 * partitions as its share allows, so a membership change moves as few partitions as it can. Pure and
 * deterministic (members in id order).
 */
final class UniformAssignor {
  private UniformAssignor() {}

  /**
   * @param subscriptions member id to subscribed topic names
   * @param partitionCount partitions of a topic, or a negative number if it does not exist
   * @param previous the previous target assignment (member id to partitions), for stickiness
   * @return the new target: every member id of {@code subscriptions}, with its partitions
   */
  static Map<String, Set<TopicPartition>> assign(Map<String, ? extends Set<String>> subscriptions,
      ToIntFunction<String> partitionCount, Map<String, ? extends Set<TopicPartition>> previous) {
    Map<String, Set<TopicPartition>> target = new TreeMap<>();
    Map<String, SortedSet<String>> membersByTopic = new TreeMap<>();
    subscriptions.forEach((member, topics) -> {
      target.put(member, new TreeSet<>(GroupCoordinator.PARTITION_ORDER));
      topics.forEach(t -> membersByTopic.computeIfAbsent(t, x -> new TreeSet<>()).add(member));
    });
    // Previous partitions by member and topic.
    Map<String, Map<String, List<Integer>>> before = new HashMap<>();
    previous.forEach((member, partitions) -> partitions.forEach(tp -> before.computeIfAbsent(member, m -> new HashMap<>())
        .computeIfAbsent(tp.topic(), t -> new ArrayList<>()).add(tp.partition())));
    before.values().forEach(byTopic -> byTopic.values().forEach(l -> l.sort(null)));

    membersByTopic.forEach((topic, members) -> {
      int n = partitionCount.applyAsInt(topic);
      if (n <= 0) {
        return;
      }
      int m = members.size();
      int base = n / m;
      int extra = n % m;
      // Members who had more of this topic get the larger shares first (less movement); among equals,
      // those with fewer partitions so far, which spreads the larger shares over topics.
      List<String> order = new ArrayList<>(members);
      order.sort(Comparator.<String>comparingInt(id -> -previousOf(before, id, topic).size())
          .thenComparingInt(id -> target.get(id).size())
          .thenComparing(Comparator.naturalOrder()));
      Map<String, Integer> quota = new HashMap<>();
      for (int i = 0; i < order.size(); i++) {
        quota.put(order.get(i), base + (i < extra ? 1 : 0));
      }
      boolean[] taken = new boolean[n];
      Map<String, Integer> given = new HashMap<>();
      for (String id : order) {
        int mine = 0;
        for (int p : previousOf(before, id, topic)) {
          if (p < n && !taken[p] && mine < quota.get(id)) {
            taken[p] = true;
            mine++;
            target.get(id).add(new TopicPartition(topic, p));
          }
        }
        given.put(id, mine);
      }
      int next = 0;
      for (String id : members) {
        for (int mine = given.get(id); mine < quota.get(id); mine++) {
          while (taken[next]) {
            next++;
          }
          taken[next] = true;
          target.get(id).add(new TopicPartition(topic, next));
        }
      }
    });
    return target;
  }

  private static List<Integer> previousOf(Map<String, Map<String, List<Integer>>> before, String member, String topic) {
    return before.getOrDefault(member, Map.of()).getOrDefault(topic, List.of());
  }
}
