package io.raftline.quorum.raft;

/**
 * Error codes carried by Raft responses. The numeric codes are Apache Kafka's for the same condition,
 * so they can be mapped one-to-one onto a Kafka-compatible wire protocol later.
 */
public enum RaftError {
  NONE(0),
  /**
   * The fetch offset is below the log start offset. Not sent by the core: a leader answers such a fetch
   * with NONE and the id of its snapshot (KIP-630). Kept for the mapping of Kafka's codes.
   */
  OFFSET_OUT_OF_RANGE(1),
  /** The receiver is not the leader (or not a replica) for the epoch in the request. */
  NOT_LEADER_OR_FOLLOWER(6),
  /** A proposal had more entries than {@link RaftConfig#maxBatchEntries()}. */
  RECORD_LIST_TOO_LARGE(18),
  /** The request is malformed (negative offsets, ids that do not match the sender, ...). */
  INVALID_REQUEST(42),
  /** The request carries an epoch older than the receiver's: the sender must catch up. */
  FENCED_LEADER_EPOCH(74),
  /** The request carries an epoch newer than the receiver's. */
  UNKNOWN_LEADER_EPOCH(75),
  /** The sender or the receiver is not a voter where the request requires one. */
  INCONSISTENT_VOTER_SET(94);

  private final int code;

  RaftError(int code) {
    this.code = code;
  }

  /** Kafka's numeric error code. */
  public int code() {
    return code;
  }
}
