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
}
