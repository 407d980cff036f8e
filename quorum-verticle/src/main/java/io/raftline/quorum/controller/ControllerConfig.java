package io.raftline.quorum.controller;

/**
 * Cluster defaults the controller applies to requests that leave them out.
 *
 * @param defaultPartitions {@code num.partitions}
 * @param defaultReplicationFactor {@code default.replication.factor}
 */
public record ControllerConfig(int defaultPartitions, int defaultReplicationFactor) {
  public static final int MAX_PARTITIONS_PER_TOPIC = 1_000_000;

  public static ControllerConfig defaults() {
    return new ControllerConfig(1, 1);
  }
}
