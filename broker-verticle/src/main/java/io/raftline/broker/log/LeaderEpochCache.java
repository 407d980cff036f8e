package io.raftline.broker.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A partition's leader-epoch history: for each leader epoch, the first offset written in it. This is
 * what lets a follower find, after a leader change, the point where its log and the new leader's
 * agree (Kafka's KIP-101/KIP-279): the end offset of epoch {@code e} on the leader is the start of
 * the next epoch it knows, or its log end for its latest epoch.
 *
 * <p>Persisted as {@code leader-epoch-checkpoint}: a version line ({@code 0}), a count line, then one
 * {@code <epoch> <start offset>} line per epoch, replaced atomically (temp file, fsync, rename) on
 * every change. Changes are rare (one per leader change, plus truncations), so the rewrite is cheap.
 * Not thread-safe: owned by its {@link PartitionLog}.
 */
public final class LeaderEpochCache {
  public static final String CHECKPOINT = "leader-epoch-checkpoint";
  /** Kafka's UNDEFINED_EPOCH: no epoch is known. */
  public static final int UNDEFINED_EPOCH = -1;

  /** An epoch and the offset its records end before (exclusive). */
  public record EpochEndOffset(int epoch, long endOffset) {}

  private final Path file;
  private final TreeMap<Integer, Long> startOffsets = new TreeMap<>();

  private LeaderEpochCache(Path file) {
    this.file = file;
  }

  /** Reads the checkpoint in {@code dir}, or starts empty if there is none. */
  static LeaderEpochCache load(Path dir) throws IOException {
    LeaderEpochCache cache = new LeaderEpochCache(dir.resolve(CHECKPOINT));
    if (!Files.exists(cache.file)) {
      return cache;
    }
    List<String> lines = Files.readAllLines(cache.file, StandardCharsets.UTF_8);
    try {
      if (lines.size() < 2 || !lines.get(0).trim().equals("0")) {
        throw new IOException(cache.file + ": unknown format (expected version 0)");
      }
      int count = Integer.parseInt(lines.get(1).trim());
      if (lines.size() < 2 + count) {
        throw new IOException(cache.file + ": holds fewer entries than its count " + count);
      }
      for (int i = 0; i < count; i++) {
        String[] parts = lines.get(2 + i).trim().split("\\s+");
        cache.startOffsets.put(Integer.parseInt(parts[0]), Long.parseLong(parts[1]));
      }
    } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
      throw new IOException(cache.file + ": unreadable entry", e);
    }
    return cache;
  }

  /** True if the checkpoint file exists (a log written before epochs were kept has none). */
  boolean persisted() {
    return Files.exists(file);
  }

  /**
   * Records that {@code epoch} starts at {@code startOffset}, if it is newer than every epoch known.
   * An older or equal epoch changes nothing: a batch of a known epoch continues it.
   *
   * @return true if the history changed (and was written)
   */
  boolean assign(int epoch, long startOffset) throws IOException {
    if (epoch < 0 || (!startOffsets.isEmpty() && startOffsets.lastKey() >= epoch)) {
      return false;
    }
    // An epoch that starts where the latest one started replaces it: the latter wrote nothing.
    while (!startOffsets.isEmpty() && startOffsets.lastEntry().getValue() >= startOffset) {
      startOffsets.pollLastEntry();
    }
    startOffsets.put(epoch, startOffset);
    write();
    return true;
  }

  /** Forgets epochs starting at or after {@code endOffset}: the log was truncated there. */
  void truncateFromEnd(long endOffset) throws IOException {
    if (dropFromEnd(endOffset)) {
      write();
    }
  }

  private boolean dropFromEnd(long endOffset) {
    boolean changed = false;
    while (!startOffsets.isEmpty() && startOffsets.lastEntry().getValue() >= endOffset) {
      startOffsets.pollLastEntry();
      changed = true;
    }
    return changed;
  }

  /**
   * Fits the epochs to a log spanning {@code startOffset} to {@code endOffset}, as {@link
   * #truncateFromStart} and {@link #truncateFromEnd} do, but in memory only; the checkpoint file may
   * keep the extra entries until the next change writes it, which is safe as long as every load
   * trims the same way.
   */
  void trimToLog(long startOffset, long endOffset) {
    dropFromEnd(endOffset);
    dropBeforeStart(startOffset);
  }

  /**
   * The log now starts at {@code startOffset}: epochs that ended before it are dropped and the one
   * holding it starts there.
   */
  void truncateFromStart(long startOffset) throws IOException {
    if (dropBeforeStart(startOffset)) {
      write();
    }
  }

  private boolean dropBeforeStart(long startOffset) {
    boolean changed = false;
    while (startOffsets.size() > 1) {
      Map.Entry<Integer, Long> first = startOffsets.firstEntry();
      Map.Entry<Integer, Long> second = startOffsets.higherEntry(first.getKey());
      if (second.getValue() > startOffset) {
        break;
      }
      startOffsets.pollFirstEntry();
      changed = true;
    }
    Map.Entry<Integer, Long> first = startOffsets.firstEntry();
    if (first != null && first.getValue() < startOffset) {
      startOffsets.put(first.getKey(), startOffset);
      changed = true;
    }
    return changed;
  }

  /** Forgets everything: the log restarts empty. */
  void clear() throws IOException {
    startOffsets.clear();
    write();
  }

  /** The newest epoch, or {@link #UNDEFINED_EPOCH}. */
  public int latestEpoch() {
    return startOffsets.isEmpty() ? UNDEFINED_EPOCH : startOffsets.lastKey();
  }

  /** The offset the latest epoch started at, or -1. */
  public long latestEpochStartOffset() {
    return startOffsets.isEmpty() ? -1 : startOffsets.lastEntry().getValue();
  }

  /**
   * Where {@code epoch} ends in this log: the largest known epoch at or below it, and the offset the
   * next epoch starts at (the log end for the latest epoch). An epoch older than every known one (its
   * records went with retention) ends where the oldest known epoch starts, as in Kafka; with no epoch
   * known at all the answer is ({@link #UNDEFINED_EPOCH}, -1).
   */
  public EpochEndOffset endOffsetFor(int epoch, long logEndOffset) {
    if (startOffsets.isEmpty()) {
      return new EpochEndOffset(UNDEFINED_EPOCH, -1);
    }
    Map.Entry<Integer, Long> floor = startOffsets.floorEntry(epoch);
    if (floor == null) {
      return new EpochEndOffset(epoch, startOffsets.firstEntry().getValue());
    }
    Map.Entry<Integer, Long> next = startOffsets.higherEntry(floor.getKey());
    return new EpochEndOffset(floor.getKey(), next == null ? logEndOffset : next.getValue());
  }

  /** The epochs and their start offsets, oldest first (a copy). */
  public Map<Integer, Long> entries() {
    return new TreeMap<>(startOffsets);
  }

  private void write() throws IOException {
    StringBuilder text = new StringBuilder("0\n").append(startOffsets.size()).append('\n');
    startOffsets.forEach((epoch, start) -> text.append(epoch).append(' ').append(start).append('\n'));
    Path tmp = file.resolveSibling(CHECKPOINT + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer bytes = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
      while (bytes.hasRemaining()) {
        ch.write(bytes);
      }
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
