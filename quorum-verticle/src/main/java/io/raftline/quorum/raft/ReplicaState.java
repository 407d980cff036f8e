package io.raftline.quorum.raft;

/**
 * What the leader knows about one replica, for a "describe quorum" command. Times are the caller's
 * clock ({@code nowMs} values handed to the node); -1 means "never in this epoch".
 *
 * @param replicaId the node id
 * @param voter whether the replica is a voter (only voters count toward the high watermark)
 * @param endOffset the log end offset the replica last proved it holds durably (its fetch offset), -1
 *     if unknown; for the leader itself, its own durable end offset
 * @param lastFetchMs when the replica's last fetch arrived in this epoch
 * @param lastCaughtUpMs when the replica last fetched at (or beyond) the leader's log end offset
 */
public record ReplicaState(int replicaId, boolean voter, long endOffset, long lastFetchMs, long lastCaughtUpMs) {}
