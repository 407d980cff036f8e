package io.raftline.quorum;

import io.raftline.metadata.QuorumVoter;
import io.raftline.quorum.controller.ControllerConfig;
import java.nio.file.Path;
import java.util.List;

/**
 * What a quorum verticle needs. A node whose id is among the voters is a voter and serves the Raft
 * and Controller RPCs on {@code host:port}; any other node is an observer that only fetches.
 *
 * @param nodeId {@code node.id}
 * @param voters {@code controller.quorum.voters}
 * @param host the controller listener's host (voters only)
 * @param port the controller listener's port; 0 picks a free one (voters only)
 * @param metadataLogDir the {@code __cluster_metadata-0} directory
 * @param clusterId the formatted cluster id; Raft traffic from another cluster is refused
 * @param metadataAddress the local event-bus address on which metadata updates are published
 * @param electionTimeoutMs {@code controller.quorum.election.timeout.ms}
 * @param fetchTimeoutMs {@code controller.quorum.fetch.timeout.ms}
 * @param controller cluster defaults for the active controller
 * @param snapshotMaxBytes {@code metadata.log.max.record.bytes.between.snapshots}: snapshot once this many
 *     bytes of records were committed since the last snapshot
 * @param snapshotIntervalMs {@code metadata.log.max.snapshot.interval.ms}: snapshot at least this often
 *     while records keep coming
 */
public record QuorumConfig(
    int nodeId,
    List<QuorumVoter> voters,
    String host,
    int port,
    Path metadataLogDir,
    String clusterId,
    String metadataAddress,
    int electionTimeoutMs,
    int fetchTimeoutMs,
    ControllerConfig controller,
    long snapshotMaxBytes,
    long snapshotIntervalMs) {

  public static final long DEFAULT_SNAPSHOT_MAX_BYTES = 20L * 1024 * 1024;
  public static final long DEFAULT_SNAPSHOT_INTERVAL_MS = 3_600_000;

  public QuorumConfig(int nodeId, List<QuorumVoter> voters, String host, int port, Path metadataLogDir,
      String clusterId, String metadataAddress, int electionTimeoutMs, int fetchTimeoutMs, ControllerConfig controller) {
    this(nodeId, voters, host, port, metadataLogDir, clusterId, metadataAddress, electionTimeoutMs, fetchTimeoutMs,
        controller, DEFAULT_SNAPSHOT_MAX_BYTES, DEFAULT_SNAPSHOT_INTERVAL_MS);
  }

  public QuorumConfig {
    voters = List.copyOf(voters);
    if (voters.isEmpty()) {
      throw new IllegalArgumentException("controller.quorum.voters must name at least one voter");
    }
  }

  public boolean isVoter() {
    return voters.stream().anyMatch(v -> v.id() == nodeId);
  }
}
