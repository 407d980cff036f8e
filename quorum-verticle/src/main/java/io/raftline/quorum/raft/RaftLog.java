package io.raftline.quorum.raft;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The core's in-memory copy of the replicated log, plus an index of where each epoch starts (Kafka's
 * leader-epoch cache), which answers "where does epoch e end in my log?" for divergence checks.
 *
 * <p>The log starts at {@link #startOffset()}: every entry below it was compacted into a snapshot whose
 * id is ({@link #startOffset()}, {@link #startEpoch()}), the start epoch being the epoch of the entry
 * just below the start (0 for a log that starts at 0). That boundary acts as a virtual last entry of
 * the snapshot: {@link #lastEpoch()} of an empty log is the start epoch, and {@link #endOffsetForEpoch}
 * knows that the start epoch ends at (or extends beyond) the start offset.
 *
 * <p>Invariants: offsets are contiguous from {@link #startOffset()}; epochs never decrease along the log,
 * starting from {@link #startEpoch()}. Package-private: the shell sees the log only through {@link Ready}
 * and {@link RaftNode}'s queries.
 */
final class RaftLog {

  /** An (epoch, end offset) answer; for {@link #endOffsetForEpoch} the end offset is exclusive. */
  record EpochEnd(int epoch, long endOffset) {}

  private long startOffset;
  private int startEpoch;
  private final ArrayList<LogEntry> entries = new ArrayList<>();
  // epochStarts.get(i) is the first offset (>= startOffset) of epochs.get(i); both grow/shrink together.
  private final ArrayList<Integer> epochs = new ArrayList<>();
  private final ArrayList<Long> epochStarts = new ArrayList<>();

  RaftLog(long startOffset, int startEpoch) {
    if (startOffset < 0) throw new IllegalArgumentException("startOffset < 0: " + startOffset);
    if (startEpoch < 0) throw new IllegalArgumentException("startEpoch < 0: " + startEpoch);
    this.startOffset = startOffset;
    this.startEpoch = startEpoch;
  }

  long startOffset() {
    return startOffset;
  }

  /** Epoch of the entry just below {@link #startOffset()} (the snapshot's epoch); 0 if the start is 0. */
  int startEpoch() {
    return startEpoch;
  }

  /** Offset the next entry gets (exclusive end). */
  long endOffset() {
    return startOffset + entries.size();
  }

  /** Epoch of the last entry; the start epoch if the log is empty. */
  int lastEpoch() {
    return epochs.isEmpty() ? startEpoch : epochs.get(epochs.size() - 1);
  }

  LogEntry entry(long offset) {
    if (offset < startOffset) {
      throw new IllegalArgumentException("offset " + offset + " is below the log start offset " + startOffset
          + " (compacted into snapshot " + startOffset + "-" + startEpoch + ")");
    }
    if (offset >= endOffset()) {
      throw new IndexOutOfBoundsException("offset " + offset + " not in [" + startOffset + ", " + endOffset() + ")");
    }
    return entries.get((int) (offset - startOffset));
  }

  /** The epoch of the entry at {@code offset}, for offsets in [start - 1, end) (start - 1: the snapshot's); else -1. */
  int epochAt(long offset) {
    if (offset == startOffset - 1) return startEpoch;
    if (offset < startOffset || offset >= endOffset()) return -1;
    return entries.get((int) (offset - startOffset)).epoch();
  }

  /** The entries in {@code [from, to)}, as an unmodifiable snapshot. */
  List<LogEntry> range(long from, long to) {
    if (from < startOffset) {
      throw new IllegalArgumentException("[" + from + ", " + to + ") starts below the log start offset " + startOffset
          + " (compacted into snapshot " + startOffset + "-" + startEpoch + ")");
    }
    if (to > endOffset() || from > to) {
      throw new IndexOutOfBoundsException("[" + from + ", " + to + ") not in [" + startOffset + ", " + endOffset() + ")");
    }
    return Collections.unmodifiableList(
        new ArrayList<>(entries.subList((int) (from - startOffset), (int) (to - startOffset))));
  }

  /** At most {@code maxEntries} entries from {@code from} (>= start), stopping once {@code maxBytes} is exceeded. */
  List<LogEntry> read(long from, int maxEntries, int maxBytes) {
    long end = endOffset();
    if (from >= end) return List.of();
    ArrayList<LogEntry> out = new ArrayList<>();
    long bytes = 0;
    for (long o = from; o < end && out.size() < maxEntries; o++) {
      LogEntry e = entry(o);
      if (!out.isEmpty() && bytes + e.payload().length > maxBytes) break;
      out.add(e);
      bytes += e.payload().length;
    }
    return out;
  }

  void append(LogEntry e) {
    if (e.offset() != endOffset()) {
      throw new IllegalStateException("append at " + e.offset() + " but log ends at " + endOffset());
    }
    int last = lastEpoch();
    if (e.epoch() < last) {
      throw new IllegalStateException("epoch goes backwards at " + e.offset() + ": " + e.epoch() + " < " + last);
    }
    if (epochs.isEmpty() || e.epoch() != last) {
      epochs.add(e.epoch());
      epochStarts.add(e.offset());
    }
    entries.add(e);
  }

  /** Removes every entry at or above {@code offset}. */
  void truncateTo(long offset) {
    if (offset < startOffset || offset > endOffset()) {
      throw new IllegalArgumentException("truncate to " + offset + " outside [" + startOffset + ", " + endOffset() + "]");
    }
    int keep = (int) (offset - startOffset);
    while (entries.size() > keep) entries.remove(entries.size() - 1);
    while (!epochStarts.isEmpty() && epochStarts.get(epochStarts.size() - 1) >= offset) {
      epochs.remove(epochs.size() - 1);
      epochStarts.remove(epochStarts.size() - 1);
    }
  }

  /**
   * Drops every entry below {@code offset} (in {@code (start, end]}); the log then starts there, and the
   * start epoch becomes the epoch of the entry at {@code offset - 1}.
   */
  void compactTo(long offset) {
    if (offset <= startOffset || offset > endOffset()) {
      throw new IllegalArgumentException("compact to " + offset + " outside (" + startOffset + ", " + endOffset() + "]");
    }
    int newStartEpoch = entry(offset - 1).epoch();
    entries.subList(0, (int) (offset - startOffset)).clear();
    startOffset = offset;
    startEpoch = newStartEpoch;
    // Drop the epochs that end at or below the new start; the first one kept starts at the new start.
    while (epochs.size() > 1 && epochStarts.get(1) <= offset) {
      epochs.remove(0);
      epochStarts.remove(0);
    }
    if (entries.isEmpty()) {
      epochs.clear();
      epochStarts.clear();
    } else if (!epochStarts.isEmpty() && epochStarts.get(0) < offset) {
      epochStarts.set(0, offset);
    }
  }

  /** Replaces the whole log by an empty one starting at {@code offset}, after an entry of {@code epoch}. */
  void resetTo(long offset, int epoch) {
    if (offset < 0 || epoch < 0) throw new IllegalArgumentException("reset to " + offset + "-" + epoch);
    entries.clear();
    epochs.clear();
    epochStarts.clear();
    startOffset = offset;
    startEpoch = epoch;
  }

  /**
   * The largest epoch {@code e' <= epoch} known in this log, and the offset just past its last entry
   * (equivalently, where the next larger epoch starts, or the log end). The start boundary counts as an
   * entry of the start epoch at {@code start - 1}: if no entry has an epoch {@code <= epoch} but the
   * start epoch is, the answer is (start epoch, start offset). If even the start epoch is larger, the
   * answer lies in the compacted prefix and is unknown: {@code null}. (A log starting at 0 has start
   * epoch 0, so it always answers, (0, 0) being the empty prefix.)
   */
  EpochEnd endOffsetForEpoch(int epoch) {
    for (int i = epochs.size() - 1; i >= 0; i--) {
      if (epochs.get(i) <= epoch) {
        long end = i + 1 < epochs.size() ? epochStarts.get(i + 1) : endOffset();
        return new EpochEnd(epochs.get(i), end);
      }
    }
    return startEpoch <= epoch ? new EpochEnd(startEpoch, startOffset) : null;
  }
}
