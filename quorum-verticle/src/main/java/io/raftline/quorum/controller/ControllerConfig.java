package io.raftline.quorum.controller;

/**
 * Cluster defaults and timeouts the active controller applies.
 *
 * @param defaultPartitions {@code num.partitions}
 * @param defaultReplicationFactor {@code default.replication.factor}
 * @param brokerSessionTimeoutMs {@code broker.session.timeout.ms}: a broker silent this long is fenced
 */
public record ControllerConfig(int defaultPartitions, int defaultReplicationFactor, long brokerSessionTimeoutMs) {
  public static final int MAX_PARTITIONS_PER_TOPIC = 1_000_000;
  public static final long DEFAULT_BROKER_SESSION_TIMEOUT_MS = 9_000;

  public ControllerConfig(int defaultPartitions, int defaultReplicationFactor) {
    this(defaultPartitions, defaultReplicationFactor, DEFAULT_BROKER_SESSION_TIMEOUT_MS);
  }

  public static ControllerConfig defaults() {
    return new ControllerConfig(1, 1);
  }
}
