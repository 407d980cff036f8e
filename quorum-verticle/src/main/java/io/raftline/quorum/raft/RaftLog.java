package io.raftline.quorum.raft;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The core's in-memory copy of the replicated log, plus an index of where each epoch starts (Kafka's
 * leader-epoch cache), which answers "where does epoch e end in my log?" for divergence checks.
 *
 * <p>Invariants: offsets are contiguous from {@link #startOffset()}; epochs never decrease along the log.
 * Package-private: the shell sees the log only through {@link Ready} and {@link RaftNode}'s queries.
 */
final class RaftLog {

  /** An (epoch, end offset) answer; for {@link #endOffsetForEpoch} the end offset is exclusive. */
  record EpochEnd(int epoch, long endOffset) {}

  private final long startOffset;
  private final ArrayList<LogEntry> entries = new ArrayList<>();
  // epochStarts.get(i) is the first offset of epochs.get(i); both grow/shrink together.
  private final ArrayList<Integer> epochs = new ArrayList<>();
  private final ArrayList<Long> epochStarts = new ArrayList<>();

  RaftLog(long startOffset) {
    if (startOffset < 0) throw new IllegalArgumentException("startOffset < 0: " + startOffset);
    this.startOffset = startOffset;
  }

  long startOffset() {
    return startOffset;
  }

  /** Offset the next entry gets (exclusive end). */
  long endOffset() {
    return startOffset + entries.size();
  }

  /** Epoch of the last entry, 0 if the log is empty. */
  int lastEpoch() {
    return epochs.isEmpty() ? 0 : epochs.get(epochs.size() - 1);
  }

  LogEntry entry(long offset) {
    if (offset < startOffset || offset >= endOffset()) {
      throw new IndexOutOfBoundsException("offset " + offset + " not in [" + startOffset + ", " + endOffset() + ")");
    }
    return entries.get((int) (offset - startOffset));
  }

  /** The entries in {@code [from, to)}, as an unmodifiable snapshot. */
  List<LogEntry> range(long from, long to) {
    if (from < startOffset || to > endOffset() || from > to) {
      throw new IndexOutOfBoundsException("[" + from + ", " + to + ") not in [" + startOffset + ", " + endOffset() + ")");
    }
    return Collections.unmodifiableList(
        new ArrayList<>(entries.subList((int) (from - startOffset), (int) (to - startOffset))));
  }

  /** At most {@code maxEntries} entries from {@code from}, stopping once {@code maxBytes} is exceeded. */
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
   * The largest epoch {@code e' <= epoch} present in this log, and the offset just past its last entry
   * (equivalently, where the next larger epoch starts, or the log end). If no entry has an epoch
   * {@code <= epoch}, the answer is (0, start offset): the empty prefix.
   */
  EpochEnd endOffsetForEpoch(int epoch) {
    for (int i = epochs.size() - 1; i >= 0; i--) {
      if (epochs.get(i) <= epoch) {
        long end = i + 1 < epochs.size() ? epochStarts.get(i + 1) : endOffset();
        return new EpochEnd(epochs.get(i), end);
      }
    }
    return new EpochEnd(0, startOffset);
  }
}
