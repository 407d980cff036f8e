package io.raftline.quorum.log;

/**
 * The part of a Raft voter's state that must survive a restart besides the log: the highest epoch it has
 * seen, whom it voted for in that epoch, and the leader it knows for that epoch. Losing the vote would let
 * a restarted node vote twice in one epoch and elect two leaders.
 *
 * @param epoch the current epoch (Raft term), {@code >= 0}
 * @param votedFor node id voted for in {@code epoch}, or {@link #NONE}
 * @param leaderId known leader of {@code epoch}, or {@link #NONE}
 */
public record QuorumState(int epoch, int votedFor, int leaderId) {

  /** Marks "no vote cast" and "no known leader". */
  public static final int NONE = -1;

  public QuorumState {
    if (epoch < 0) throw new IllegalArgumentException("epoch < 0: " + epoch);
    if (votedFor < NONE) throw new IllegalArgumentException("votedFor < -1: " + votedFor);
    if (leaderId < NONE) throw new IllegalArgumentException("leaderId < -1: " + leaderId);
  }

  /** The state of a node that has never taken part in an election: epoch 0, no vote, no leader. */
  public static QuorumState initial() {
    return new QuorumState(0, NONE, NONE);
  }
}
