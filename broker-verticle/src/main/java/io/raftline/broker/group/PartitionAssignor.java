package io.raftline.broker.group;

import io.raftline.metadata.TopicPartition;
import java.util.Map;
import java.util.Set;
import java.util.function.ToIntFunction;

/**
 * A server-side assignor (KIP-848's {@code group.remote.assignor}): computes a group's target
 * assignment from its members' subscriptions. Pure and deterministic.
 */
@FunctionalInterface
interface PartitionAssignor {
  /**
   * @param subscriptions member id to subscribed topic names
   * @param partitionCount partitions of a topic, or a negative number if it does not exist
   * @param previous the previous target assignment (member id to partitions), for assignors that are sticky
   * @return the new target: every member id of {@code subscriptions}, with its partitions
   */
  Map<String, Set<TopicPartition>> assign(Map<String, ? extends Set<String>> subscriptions,
      ToIntFunction<String> partitionCount, Map<String, ? extends Set<TopicPartition>> previous);

  /** The assignors by the name members ask for. */
  Map<String, PartitionAssignor> BY_NAME = Map.of("uniform", UniformAssignor::assign, "range", RangeAssignor::assign);

  /** The assignor of a group none of whose members prefers one (Kafka's default is uniform too). */
  String DEFAULT = "uniform";
}
