package io.raftline.metadata.image;

import java.util.List;

/** A partition's replica assignment and leadership. {@code leader} is -1 when there is none. */
public record PartitionRegistration(
    List<Integer> replicas, List<Integer> isr, int leader, int leaderEpoch, int partitionEpoch) {
  public static final int NO_LEADER = -1;

  public PartitionRegistration {
    replicas = List.copyOf(replicas);
    isr = List.copyOf(isr);
  }

  public boolean hasReplica(int brokerId) {
    return replicas.contains(brokerId);
  }

  /**
   * This partition after a change. The partition epoch always grows; the leader epoch grows when the
   * leader changes, so followers and clients can tell the new leadership from the old.
   */
  public PartitionRegistration merge(io.raftline.metadata.record.PartitionChangeRecord change) {
    int newLeader = change.leader() == io.raftline.metadata.record.PartitionChangeRecord.NO_CHANGE ? leader
        : change.leader();
    return new PartitionRegistration(change.replicas() == null ? replicas : change.replicas(),
        change.isr() == null ? isr : change.isr(), newLeader, newLeader != leader ? leaderEpoch + 1 : leaderEpoch,
        partitionEpoch + 1);
  }
}
