package io.raftline.quorum.raft;

/** The answer to {@link RaftNode#propose}: accepted with the offsets assigned, or rejected. */
public sealed interface ProposeResult {

  /**
   * The entries were appended to the leader's log at {@code [baseOffset, endOffset)} in {@code epoch}.
   * They are committed once the high watermark reaches {@code endOffset} <em>and</em> the entry at
   * {@code endOffset - 1} still has {@code epoch} (a leader change can truncate uncommitted entries, so
   * the shell must compare the epoch before acknowledging a client).
   */
  record Accepted(int epoch, long baseOffset, long endOffset) implements ProposeResult {}

  /**
   * Nothing was appended. {@code error} is NOT_LEADER_OR_FOLLOWER (retry at {@code leaderId}, -1 if
   * unknown), INVALID_REQUEST (empty batch) or RECORD_LIST_TOO_LARGE.
   */
  record Rejected(RaftError error, int leaderId, int epoch) implements ProposeResult {}
}
