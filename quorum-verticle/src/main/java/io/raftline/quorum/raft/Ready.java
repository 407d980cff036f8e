package io.raftline.quorum.raft;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Everything a {@link RaftNode} asks its IO shell to do, drained by {@link RaftNode#ready()}.
 *
 * <p>The shell must apply it in this order:
 *
 * <ol>
 *   <li>{@link #state()}, if present: write and <b>fsync</b> the quorum-state file. This must complete
 *       before any message of this Ready is sent (a vote grant is among them).
 *   <li>{@link #truncateTo()}, if present: cut the log so that it ends (exclusive) at that offset; then
 *       append {@link #entries()}, in order. The write may go to the page cache; the fsync can run in the
 *       background (group commit). Report it with {@link RaftNode#appendDurable(long)} when done.
 *   <li>Send {@link #messages()}. They never claim that an unsynced entry is durable (a follower's
 *       fetch offset only covers durable entries, and the leader only counts its own durable ones), so
 *       they need not wait for the log fsync.
 *   <li>Apply entries below {@link #highWatermark()}, if present, to the state machine: they are
 *       committed. An entry's payload may be empty: a new leader appends one such "leader change" entry
 *       of its epoch, and the state machine must skip it. Entries below the shell's image offset are
 *       already applied (after a snapshot install the high watermark jumps to the snapshot's offset,
 *       whose entries the installed image holds).
 * </ol>
 *
 * <p>{@link #snapshotToFetch()}, if present, is independent of these steps: the shell may start the
 * download at any moment (before, during or after them), because the snapshot it names holds only
 * committed entries and the node neither fetches nor changes its log until the download ends. It must
 * end it with exactly one of {@link RaftNode#snapshotInstalled} (after making the snapshot and the new,
 * empty log durable) or {@link RaftNode#snapshotFetchFailed} (on an error, or when it stalls for longer
 * than it is willing to wait); a restart abandons it.
 *
 * <p>After these steps the shell's log equals the core's log ({@link RaftNode#entries}) from
 * {@link RaftNode#logStartOffset()} on; the shell may keep (and delete later) log entries below it.
 *
 * @param state the quorum state to persist, if it changed since the previous Ready
 * @param truncateTo if present, remove every log entry at or above this offset before appending
 * @param entries entries to append, contiguous, starting at the log end after the truncation
 * @param messages messages to send (any order; the core tolerates loss and reordering)
 * @param highWatermark the new high watermark, if it advanced; it never goes backwards while the node
 *     stays up
 * @param roleChange the new role, epoch and leader, if any of them changed
 * @param snapshotToFetch a snapshot to download from the leader, at most once per request: the node's
 *     log is too far behind (or diverges below the leader's log start) to catch up by fetching
 */
public record Ready(
    Optional<PersistentState> state,
    OptionalLong truncateTo,
    List<LogEntry> entries,
    List<RaftMessage> messages,
    OptionalLong highWatermark,
    Optional<RoleChange> roleChange,
    Optional<SnapshotFetch> snapshotToFetch) {

  public Ready {
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(truncateTo, "truncateTo");
    entries = List.copyOf(entries);
    messages = List.copyOf(messages);
    Objects.requireNonNull(highWatermark, "highWatermark");
    Objects.requireNonNull(roleChange, "roleChange");
    Objects.requireNonNull(snapshotToFetch, "snapshotToFetch");
  }

  /** True if there is nothing to do. */
  public boolean isEmpty() {
    return state.isEmpty() && truncateTo.isEmpty() && entries.isEmpty() && messages.isEmpty()
        && highWatermark.isEmpty() && roleChange.isEmpty() && snapshotToFetch.isEmpty();
  }

  /**
   * A notification that the node's role, epoch or leader changed. {@code leaderId} is the live leader
   * this node follows (itself when LEADER), -1 when there is none.
   */
  public record RoleChange(RaftRole role, int epoch, int leaderId) {}

  /**
   * "Download snapshot {@code snapshot} from {@code leaderId}, then call
   * {@link RaftNode#snapshotInstalled} (or {@link RaftNode#snapshotFetchFailed})". The shell may instead
   * install a newer snapshot (offset at least as large), for example the leader's latest if the named one
   * was replaced meanwhile, or another replica's: every snapshot holds only committed entries. Never an
   * older one.
   */
  public record SnapshotFetch(int leaderId, OffsetAndEpoch snapshot) {
    public SnapshotFetch {
      Objects.requireNonNull(snapshot, "snapshot");
    }
  }
}
