package io.raftline.quorum.raft;

/**
 * The role a {@link RaftNode} plays in its current epoch.
 *
 * <p>A voter moves UNATTACHED/FOLLOWER → PROSPECTIVE (pre-vote, same epoch) → CANDIDATE (epoch + 1,
 * voted for itself) → LEADER, and back to UNATTACHED or FOLLOWER whenever it sees a higher epoch, resigns,
 * or learns the leader of its epoch. A node that is not in the voter set is always OBSERVER.
 */
public enum RaftRole {
  /** Elected leader of the current epoch: accepts proposals, serves fetches, computes the high watermark. */
  LEADER,
  /** Voted for itself in the current epoch and asks the other voters for their (real) votes. */
  CANDIDATE,
  /**
   * Pre-vote phase (KIP-996): asks the voters whether it could win an election in epoch + 1, without
   * bumping its own epoch, so a node that merely lost contact cannot disrupt a healthy leader.
   */
  PROSPECTIVE,
  /** Voter that knows the leader of the current epoch and fetches from it. */
  FOLLOWER,
  /** Non-voter: fetches from the leader, never votes, never campaigns, never counts toward the HW. */
  OBSERVER,
  /**
   * Voter that follows no live leader in the current epoch: it has not learnt one yet, the leader
   * resigned (EndQuorumEpoch), or it resigned itself. It waits for its election timer.
   */
  UNATTACHED
}
