package io.raftline.quorum.raft;

/**
 * The quorum state a node must keep across restarts (Kafka's {@code quorum-state} file).
 *
 * <p>The IO shell must write and fsync it <em>before</em> sending any message of the same
 * {@link Ready}: a vote grant is only safe once {@code votedFor} is durable, otherwise a node that
 * crashes and restarts could vote twice in one epoch.
 *
 * @param epoch the current epoch (0 before the first election)
 * @param votedFor the candidate this node voted for in {@code epoch}, or -1
 * @param leaderId the leader of {@code epoch} once known, or -1. It is never cleared within an epoch
 *     (even after the leader resigns), so a restarted node knows whom to fetch from, or that it led the
 *     epoch itself (then it must not lead it again: it lost the leader's volatile state). A node also
 *     grants no vote in an epoch whose leader it knows. That is not needed for safety (the persisted
 *     {@code votedFor} already allows one winner per epoch) but avoids elections that cannot win.
 */
public record PersistentState(int epoch, int votedFor, int leaderId) {

  /** The state of a node that has never seen an election. */
  public static final PersistentState INITIAL = new PersistentState(0, -1, -1);

  public PersistentState {
    if (epoch < 0) throw new IllegalArgumentException("epoch < 0: " + epoch);
    if (votedFor < -1) throw new IllegalArgumentException("votedFor < -1: " + votedFor);
    if (leaderId < -1) throw new IllegalArgumentException("leaderId < -1: " + leaderId);
  }
}
