package io.raftline.metadata.record;

import java.util.List;
import java.util.UUID;

/**
 * A change to one partition: a new leader, ISR or replica set. Unchanged parts are {@link #NO_CHANGE}
 * (leader) or null (lists). Applying it bumps the partition epoch, and the leader epoch when the
 * leader changes.
 */
public record PartitionChangeRecord(UUID topicId, int partition, int leader, List<Integer> isr,
    List<Integer> replicas) implements MetadataRecord {
  /** The leader field's value for "leader unchanged". */
  public static final int NO_CHANGE = -2;

  public PartitionChangeRecord {
    isr = isr == null ? null : List.copyOf(isr);
    replicas = replicas == null ? null : List.copyOf(replicas);
  }
}
