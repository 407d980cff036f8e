package io.raftline.metadata.record;

import java.util.List;
import java.util.UUID;

/** The full state of one partition: its replicas, in-sync replicas, leader and epochs. */
public record PartitionRecord(
    UUID topicId, int partition, List<Integer> replicas, List<Integer> isr, int leader, int leaderEpoch,
    int partitionEpoch) implements MetadataRecord {
  public PartitionRecord {
    replicas = List.copyOf(replicas);
    isr = List.copyOf(isr);
  }
}
