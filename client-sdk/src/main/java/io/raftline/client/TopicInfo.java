package io.raftline.client;

import java.util.List;

/** A topic as described by the cluster. */
public record TopicInfo(String name, String topicId, List<PartitionInfo> partitions) {
  /** One partition: its leader (-1 if none), leader epoch, replicas and in-sync replicas. */
  public record PartitionInfo(int partition, int leader, int leaderEpoch, List<Integer> replicas, List<Integer> isr) {}
}
