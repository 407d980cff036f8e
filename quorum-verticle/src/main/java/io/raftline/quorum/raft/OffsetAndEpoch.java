package io.raftline.quorum.raft;

/**
 * An offset and the epoch of the entry just below it: a snapshot's id or a log's start boundary.
 *
 * <p>As a snapshot id (Kafka's {@code <endOffset>-<epoch>.checkpoint}), {@code offset} is the exclusive
 * end of the entries the snapshot holds and {@code epoch} the epoch of its last entry (offset - 1).
 * {@code OffsetAndEpoch(0, 0)} means "no snapshot": nothing below offset 0. The record itself checks
 * nothing (the shell may use other values as sentinels); the {@link RaftNode} methods that take one
 * reject negative components.
 */
public record OffsetAndEpoch(long offset, int epoch) {

  /** The id of the empty snapshot (no snapshot at all). */
  public static final OffsetAndEpoch ZERO = new OffsetAndEpoch(0, 0);
}
