package io.raftline.quorum;

import io.raftline.quorum.raft.RaftRole;

/**
 * A node's view of the quorum at one moment, published by the quorum verticle after each change so
 * other threads (metrics scrapes, tests, tools) can read it without touching the event loop's state.
 *
 * @param role this node's Raft role
 * @param epoch the current epoch
 * @param leaderId the leader this node knows, -1 if none
 * @param highWatermark the committed offset (exclusive)
 * @param logEndOffset the offset the next entry would take
 * @param appliedOffset the offset of the last record applied to the metadata image, -1 if none
 * @param elections how many times this node has become leader
 * @param halted true once a disk error stopped this node from taking part
 */
public record QuorumStatus(RaftRole role, int epoch, int leaderId, long highWatermark, long logEndOffset,
    long appliedOffset, long elections, boolean halted) {

  static final QuorumStatus STARTING = new QuorumStatus(RaftRole.UNATTACHED, 0, -1, 0, 0, -1, 0, false);
}
