package io.raftline.broker.log;

import io.raftline.protocol.records.RecordBatch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;
import io.raftline.broker.log.ProducerStateTable.ProducerStateException;

/**
 * One partition's log, in its own directory:
 *
 * <ul>
 *   <li>segments {@code <base offset, 20 digits>.log} of back-to-back record batches, each with a
 *       sparse {@code .index} and {@code .timeindex} (formats in {@link LogSegment}); the last one is
 *       the active segment, rolled before an append would take it past {@code segment.bytes} or once
 *       it is {@code segment.ms} old;
 *   <li>{@code partition.metadata}: the topic id the directory belongs to;
 *   <li>{@code recovery-point-offset-checkpoint}: every batch below this offset, and the indexes
 *       covering it, were fsynced; kept per partition (not per log dir, as Kafka does) so a partition
 *       directory is self-contained and moving or deleting it needs no shared file rewritten;
 *   <li>{@code log-start-offset-checkpoint}: the first offset still readable, advanced by retention;
 *   <li>{@code leader-epoch-checkpoint}: the first offset of each leader epoch ({@link LeaderEpochCache}).
 * </ul>
 *
 * <p>Both checkpoints hold two text lines, a version ({@code 0}) and the offset, and are replaced
 * atomically. Opening trusts everything below the recovery point (a header walk over the active
 * segment's tail finds its end) and checks the CRC of every batch at or above it; a torn or corrupt
 * tail is truncated, because nothing past it can have been acknowledged as durable. A clean
 * {@link #close()} checkpoints the recovery point at the end offset, so a clean restart checks no CRC.
 *
 * <p>Not thread-safe: the broker gives each partition a serial chain of worker tasks, so one thread
 * at a time touches it. Appends go to the page cache; {@link #flush()} forces them to disk and
 * advances the recovery point. No method reads the wall clock: time comes in as {@code nowMs}.
 */
public final class PartitionLog implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(PartitionLog.class.getName());
  /** The first segment's file name in a new log. */
  public static final String SEGMENT_NAME = LogSegment.fileName(0, ".log");
  public static final String PARTITION_METADATA = "partition.metadata";
  public static final String RECOVERY_POINT_CHECKPOINT = "recovery-point-offset-checkpoint";
  public static final String LOG_START_OFFSET_CHECKPOINT = "log-start-offset-checkpoint";
  /** The {@code nowMs} of an append that has no clock: such appends never roll by time. */
  public static final long NO_CLOCK = Long.MIN_VALUE;
  /** Suffix of a segment being rewritten by compaction. */
  static final String CLEANED_SUFFIX = ".cleaned";
  /** Suffix of a cleaned segment's file that is being renamed into place. */
  static final String SWAP_SUFFIX = ".swap";
  /** Where the next cleaning pass's dirty range starts (Kafka's cleaner-offset-checkpoint, per partition here). */
  public static final String CLEANER_CHECKPOINT = "cleaner-offset-checkpoint";
  /** Kafka's log.cleaner.dedupe.buffer.size default. */
  public static final long DEFAULT_CLEANER_MAP_BYTES = 128L << 20;

  private final Path dir;
  private final LogConfig config;
  private final TreeMap<Long, LogSegment> segments = new TreeMap<>();
  private long logStartOffset;
  private long recoveryPoint;
  /** The recovery point the checkpoint file holds; -1 if there is no file yet. */
  private long checkpointedRecoveryPoint = -1;
  private long size;
  private long crcCheckedOnOpen;
  private LeaderEpochCache epochs;
  private final ProducerStateTable producers = new ProducerStateTable();
  /** Bumped by every truncation, so a cleaning pass planned before one knows to give up. */
  private long truncations;
  /** The cleaner checkpoint; -1 until read. */
  private long cleanerCheckpoint = -1;
  /** Set by the first close of any kind; later ones do nothing. */
  private boolean closed;

  private PartitionLog(Path dir, LogConfig config) {
    this.dir = dir;
    this.config = config;
  }

  /** {@link #open(Path, UUID, LogConfig)} with the default settings. */
  public static PartitionLog open(Path dir, UUID topicId) throws IOException {
    return open(dir, topicId, LogConfig.DEFAULT);
  }

  /**
   * Opens the log in {@code dir}, creating it for {@code topicId} if absent. A directory left by an
   * older topic of the same name (another id) is wiped first, so a recreated topic never serves the
   * deleted one's records.
   */
  public static PartitionLog open(Path dir, UUID topicId, LogConfig config) throws IOException {
    Files.createDirectories(dir);
    Path meta = dir.resolve(PARTITION_METADATA);
    Optional<UUID> stored = readTopicId(meta);
    if (stored.isPresent() && !stored.get().equals(topicId)) {
      LOG.log(System.Logger.Level.INFO, "{0} belonged to topic id {1}, not {2}: deleting its old data",
          dir, stored.get(), topicId);
      deleteContents(dir);
    }
    if (stored.isEmpty() || !stored.get().equals(topicId)) {
      writeTopicId(meta, topicId);
    }
    PartitionLog log = new PartitionLog(dir, config);
    try {
      log.load();
    } catch (IOException | RuntimeException e) {
      log.closeSegmentsQuietly();
      throw e;
    }
    return log;
  }

  private void load() throws IOException {
    long checkpointedStart = OffsetCheckpoint.read(dir.resolve(LOG_START_OFFSET_CHECKPOINT)).orElse(0);
    OptionalLong storedRecoveryPoint = OffsetCheckpoint.read(dir.resolve(RECOVERY_POINT_CHECKPOINT));
    checkpointedRecoveryPoint = storedRecoveryPoint.orElse(-1);

    completeInterruptedSwaps();
    List<Long> bases = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.log")) {
      for (Path file : files) {
        long base = LogSegment.parseBaseOffset(file.getFileName().toString(), ".log");
        if (base >= 0) {
          bases.add(base);
        }
      }
    }
    bases.sort(null);
    deleteStrayFiles(bases);
    for (long base : bases) {
      segments.put(base, LogSegment.open(dir, base));
    }
    if (segments.isEmpty()) {
      segments.put(checkpointedStart, LogSegment.open(dir, checkpointedStart));
    }
    // Retention checkpoints the new start before deleting files; finish a deletion a crash interrupted.
    while (segments.size() > 1 && segments.higherKey(segments.firstKey()) <= checkpointedStart) {
      segments.pollFirstEntry().getValue().deleteFiles();
    }
    logStartOffset = Math.max(checkpointedStart, segments.firstKey());
    // Without a checkpoint nothing is known to be on disk: check every batch.
    recoveryPoint = Math.max(storedRecoveryPoint.orElse(0), segments.firstKey());

    for (Map.Entry<Long, LogSegment> e : new ArrayList<>(segments.entrySet())) {
      LogSegment segment = e.getValue();
      Long next = segments.higherKey(e.getKey());
      if (next != null && next <= recoveryPoint) {
        // Wholly below the recovery point: trusted without reading it.
        segment.endOffset = next;
        continue;
      }
      LogSegment.Recovery r = segment.recover(recoveryPoint, config.indexIntervalBytes());
      crcCheckedOnOpen += r.crcCheckedBatches();
      if (r.truncated()) {
        LOG.log(System.Logger.Level.WARNING, "{0}: truncated a torn or corrupt tail of {1} at offset {2}",
            dir, segment.logFile.getFileName(), segment.endOffset);
      }
      if (next != null && (r.truncated() || segment.endOffset != next)) {
        // Later segments would leave a gap in the offsets: nothing after the damage is kept.
        while (segments.lastKey() > e.getKey()) {
          LogSegment dropped = segments.pollLastEntry().getValue();
          LOG.log(System.Logger.Level.WARNING, "{0}: deleting {1}, which follows a damaged segment",
              dir, dropped.logFile.getFileName());
          dropped.deleteFiles();
        }
        break;
      }
    }
    LogSegment active = segments.lastEntry().getValue();
    active.rollStartMs = active.firstBatchMaxTimestamp();
    for (LogSegment s : segments.values()) {
      size += s.size;
    }
    if (recoveryPoint > endOffset()) {
      // The checkpoint claimed more than survived; an old value must not vouch for future appends.
      recoveryPoint = endOffset();
      writeRecoveryPoint();
    }
    epochs = LeaderEpochCache.load(dir);
    if (!epochs.persisted() && endOffset() > logStartOffset) {
      // A log written before epochs were checkpointed: the batch headers hold them.
      for (LogSegment segment : segments.values()) {
        segment.forEachBatch(b -> epochs.assign(b.partitionLeaderEpoch(), b.baseOffset()));
      }
    }
    // A torn tail may have taken the batches an epoch started with, and a leader that appended
    // nothing in its epoch left an entry at the end. Trimmed in memory only: the same trim happens at
    // every open, and the next change writes the file, so opening 10,000 logs costs no fsyncs here.
    epochs.trimToLog(logStartOffset, endOffset());
    long covered = producers.readCheckpoint(dir);
    // A checkpoint is written on a clean close and removed when the log is cut below it; one past
    // the end (a torn tail lost what it covered) cannot be trusted.
    if (covered < 0 || covered > endOffset()) {
      producers.clear();
      covered = logStartOffset;
    }
    replayProducerState(covered);
    ProducerStateTable.deleteCheckpoint(dir);
  }

  /** Updates the producer table from the batch headers at and after {@code from}. */
  private void replayProducerState(long from) throws IOException {
    Long first = segments.floorKey(from);
    for (LogSegment segment : (first == null ? segments : segments.tailMap(first, true)).values()) {
      segment.forEachProducerHeaderFrom(from, (base, last, producerId, epoch, sequence) -> {
        if (producerId >= 0 && base >= from) {
          producers.update(producerId, epoch, sequence,
              ProducerStateTable.lastSequence(sequence, (int) (last - base)), base, last);
        }
      });
    }
  }

  private void rebuildProducerState() throws IOException {
    producers.clear();
    ProducerStateTable.deleteCheckpoint(dir);
    replayProducerState(logStartOffset);
  }

  /**
   * Removes indexes whose segment is gone (a crash while deleting one) and unfinished cleaner output
   * ({@code .cleaned}, and {@code .swap} files of a set whose log file never got there: the
   * original segment is intact).
   */
  private void deleteStrayFiles(List<Long> bases) throws IOException {
    List<Path> stray = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path file : files) {
        String name = file.getFileName().toString();
        long index = Math.max(LogSegment.parseBaseOffset(name, ".index"), LogSegment.parseBaseOffset(name, ".timeindex"));
        if (name.endsWith(CLEANED_SUFFIX) || name.endsWith(SWAP_SUFFIX) || (index >= 0 && !bases.contains(index))) {
          stray.add(file);
        }
      }
    }
    for (Path file : stray) {
      LOG.log(System.Logger.Level.INFO, "{0}: deleting stray {1}", dir, file.getFileName());
      Files.delete(file);
    }
  }

  /**
   * Appends without a clock, so the active segment never rolls by age; see
   * {@link #append(List, int, long)}.
   */
  public long append(List<RecordBatch> batches, int leaderEpoch) throws IOException {
    return append(batches, leaderEpoch, NO_CLOCK);
  }

  /**
   * Stamps offsets and the leader epoch on already validated batches and appends them, rolling to a
   * new segment first when the active one is full or at least {@code segment.ms} old at {@code nowMs}.
   *
   * @return the base offset of the first batch
   */
  public long append(List<RecordBatch> batches, int leaderEpoch, long nowMs) throws IOException {
    return appendAsLeader(batches, leaderEpoch, nowMs).baseOffset();
  }

  /**
   * What a leader append did: the base offset of the first batch, and whether the batches were a
   * retry of an idempotent batch already in the log (then nothing was written and the offset is the
   * original one).
   */
  public record LeaderAppend(long baseOffset, long nextOffset, boolean duplicate) {}

  /**
   * {@link #append(List, int, long)} for a partition leader, with the idempotent producer checks: a
   * batch with a producer id must continue that producer's sequence; a retry of one of its last
   * batches is answered with the original offsets and not written again.
   *
   * @throws ProducerStateException OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, or
   *     INVALID_REQUEST for an idempotent batch that shares its request with other batches
   */
  public LeaderAppend appendAsLeader(List<RecordBatch> batches, int leaderEpoch, long nowMs) throws IOException {
    for (RecordBatch batch : batches) {
      if (batch.producerId() < 0) {
        continue;
      }
      if (batches.size() > 1) {
        throw new ProducerStateException(io.raftline.protocol.ErrorCode.INVALID_REQUEST,
            "an idempotent producer sends one record batch per partition and request, got " + batches.size());
      }
      Optional<ProducerStateTable.BatchMetadata> duplicate = producers.check(batch.producerId(),
          batch.producerEpoch(), batch.baseSequence(), ProducerStateTable.lastSequence(batch.baseSequence(),
              (int) (batch.nextOffset() - 1 - batch.baseOffset())));
      if (duplicate.isPresent()) {
        return new LeaderAppend(duplicate.get().firstOffset(), duplicate.get().lastOffset() + 1, true);
      }
    }
    long firstOffset = endOffset();
    epochs.assign(leaderEpoch, firstOffset);
    for (RecordBatch batch : batches) {
      long base = endOffset();
      batch.setBaseOffset(base);
      batch.setPartitionLeaderEpoch(leaderEpoch);
      LogSegment active = maybeRoll(batch, nowMs);
      active.append(batch.buffer(), base, batch.nextOffset(), batch.maxTimestamp(), config.indexIntervalBytes());
      if (active.rollStartMs == Long.MIN_VALUE) {
        active.rollStartMs = nowMs;
      }
      size += batch.sizeInBytes();
      updateProducerState(batch);
    }
    return new LeaderAppend(firstOffset, endOffset(), false);
  }

  private void updateProducerState(RecordBatch batch) {
    if (batch.producerId() >= 0) {
      long last = batch.nextOffset() - 1;
      producers.update(batch.producerId(), batch.producerEpoch(), batch.baseSequence(),
          ProducerStateTable.lastSequence(batch.baseSequence(), (int) (last - batch.baseOffset())), batch.baseOffset(),
          last);
    }
  }

  /** The idempotent producers this log has seen (for tests and diagnostics). */
  public ProducerStateTable producerState() {
    return producers;
  }

  /**
   * Appends batches copied from the partition leader, keeping their offsets and leader epochs. Each
   * batch's CRC is checked (the bytes crossed the network). A batch that ends at or below the log end
   * is skipped (a fetch answered twice); one that starts past the end is refused, because the log
   * must have no gaps.
   *
   * @return the number of batches appended
   * @throws io.raftline.protocol.records.InvalidRecordBatchException on a corrupt batch
   */
  public int appendAsFollower(List<RecordBatch> batches, long nowMs) throws IOException {
    int appended = 0;
    for (RecordBatch batch : batches) {
      long end = endOffset();
      if (batch.nextOffset() <= end) {
        continue;
      }
      if (batch.baseOffset() != end) {
        throw new IOException(dir + ": follower batch at offset " + batch.baseOffset()
            + " does not continue the log, which ends at " + end);
      }
      batch.checkIntegrity();
      epochs.assign(batch.partitionLeaderEpoch(), end);
      LogSegment active = maybeRoll(batch, nowMs);
      active.append(batch.buffer().duplicate(), end, batch.nextOffset(), batch.maxTimestamp(),
          config.indexIntervalBytes());
      if (active.rollStartMs == Long.MIN_VALUE) {
        active.rollStartMs = nowMs;
      }
      size += batch.sizeInBytes();
      updateProducerState(batch);
      appended++;
    }
    return appended;
  }

  /**
   * Records that {@code leaderEpoch} starts at the current log end: called when this replica becomes
   * leader, so a follower of the previous epoch learns where that epoch ended here even before the
   * new leader writes anything.
   */
  public void assignEpochStart(int leaderEpoch) throws IOException {
    epochs.assign(leaderEpoch, endOffset());
  }

  /** The newest leader epoch of this log's batches (or of its leadership), or -1. */
  public int latestEpoch() {
    return epochs.latestEpoch();
  }

  /** The offset the latest leader epoch started at, or -1 if no epoch is known. */
  public long latestEpochStartOffset() {
    return epochs.latestEpochStartOffset();
  }

  /** Where {@code epoch} ends in this log (see {@link LeaderEpochCache#endOffsetFor}). */
  public LeaderEpochCache.EpochEndOffset endOffsetForEpoch(int epoch) {
    return epochs.endOffsetFor(epoch, endOffset());
  }

  /** The leader-epoch history, oldest first. */
  public Map<Integer, Long> leaderEpochs() {
    return epochs.entries();
  }

  /**
   * Removes every batch from the one holding {@code offset} on (a follower dropping a tail that
   * diverges from its leader's log). Segments wholly past the cut are deleted; the recovery point and
   * the epoch history move back with the end.
   *
   * @return the new log end offset (at or below {@code offset})
   */
  public long truncateTo(long offset) throws IOException {
    if (offset >= endOffset()) {
      // No record to cut, but an epoch starting at the end holds none here (a leadership of this
      // replica that appended nothing). Kept, it would stay this log's latest epoch: the new leader,
      // which never saw it, answers every fetch with the same divergence, and the follower never
      // fetches again (a soak run stalled a replica so after a network cut).
      epochs.truncateFromEnd(endOffset());
      return endOffset();
    }
    truncations++;
    if (offset <= logStartOffset) {
      truncateFullyAndStartAt(logStartOffset);
      return endOffset();
    }
    while (segments.size() > 1 && segments.lastKey() >= offset) {
      LogSegment dropped = segments.pollLastEntry().getValue();
      size -= dropped.size;
      dropped.deleteFiles();
    }
    LogSegment last = segments.lastEntry().getValue();
    long before = last.size;
    long newEnd = last.truncateTo(offset);
    size -= before - last.size;
    epochs.truncateFromEnd(newEnd);
    rebuildProducerState();
    if (recoveryPoint > newEnd) {
      recoveryPoint = newEnd;
      writeRecoveryPoint();
    }
    if (cleanerCheckpoint() > newEnd) {
      writeCleanerCheckpoint(newEnd);
    }
    LOG.log(System.Logger.Level.INFO, "{0}: truncated to offset {1}", dir, newEnd);
    return newEnd;
  }

  /**
   * Deletes every segment and starts the log empty at {@code offset} (a follower whose log lies
   * wholly outside the leader's, for example below its log start after retention).
   */
  public void truncateFullyAndStartAt(long offset) throws IOException {
    // The new start is checkpointed first: a crash mid-way then opens an empty log at it.
    OffsetCheckpoint.write(dir.resolve(LOG_START_OFFSET_CHECKPOINT), offset);
    truncations++;
    writeCleanerCheckpoint(offset);
    for (LogSegment segment : segments.values()) {
      segment.deleteFiles();
    }
    segments.clear();
    segments.put(offset, LogSegment.open(dir, offset));
    size = 0;
    logStartOffset = offset;
    recoveryPoint = offset;
    writeRecoveryPoint();
    epochs.clear();
    producers.clear();
    ProducerStateTable.deleteCheckpoint(dir);
    LOG.log(System.Logger.Level.INFO, "{0}: emptied, now starting at offset {1}", dir, offset);
  }

  private LogSegment maybeRoll(RecordBatch batch, long nowMs) throws IOException {
    LogSegment active = segments.lastEntry().getValue();
    if (active.size == 0) {
      // An empty segment takes any batch, even one larger than segment.bytes.
      return active;
    }
    boolean full = active.size + batch.sizeInBytes() > config.segmentBytes();
    boolean old = nowMs != NO_CLOCK && active.rollStartMs != Long.MIN_VALUE
        && nowMs - active.rollStartMs >= config.segmentMs();
    // Index entries hold offsets relative to the base as ints.
    boolean offsetsExhausted = batch.lastOffset() - active.baseOffset > Integer.MAX_VALUE;
    if (!full && !old && !offsetsExhausted) {
      return active;
    }
    LogSegment next = LogSegment.open(dir, active.endOffset);
    next.rollStartMs = nowMs;
    segments.put(next.baseOffset, next);
    return next;
  }

  /**
   * Whole batches starting with the one that holds {@code offset}, up to {@code maxBytes} (but at
   * least one batch, so a batch larger than the limit can still be consumed), continuing into later
   * segments while the limit allows.
   *
   * @throws OffsetOutOfRangeException if offset is outside [startOffset, endOffset]
   */
  public ByteBuffer read(long offset, int maxBytes) throws IOException {
    return read(offset, maxBytes, Long.MAX_VALUE);
  }

  /**
   * Like {@link #read(long, int)}, but only batches that end at or below {@code maxOffset}: a
   * consumer reads below the high watermark, never the tail the followers may not hold yet. An
   * offset between {@code maxOffset} and the log end reads nothing.
   */
  public ByteBuffer read(long offset, int maxBytes, long maxOffset) throws IOException {
    long end = endOffset();
    if (offset < logStartOffset || offset > end) {
      throw new OffsetOutOfRangeException(offset, logStartOffset, end);
    }
    if (offset >= Math.min(end, maxOffset)) {
      return ByteBuffer.allocate(0);
    }
    if (maxOffset < end) {
      ByteBuffer all = read(offset, maxBytes, Long.MAX_VALUE);
      return all.limit(batchesEndingBy(all, maxOffset));
    }
    Map.Entry<Long, LogSegment> entry = segments.floorEntry(offset);
    LogSegment segment = entry.getValue();
    long position = segment.positionOf(offset);
    List<ByteBuffer> parts = new ArrayList<>();
    long total = 0;
    while (segment != null) {
      long available = segment.size - position;
      if (available > 0) {
        long budget = (long) maxBytes - total;
        long want = parts.isEmpty() ? Math.max(budget, segment.batchSizeAt(position)) : budget;
        want = Math.min(want, available);
        if (want < RecordBatch.HEADER_SIZE) {
          break;
        }
        ByteBuffer part = segment.read(position, (int) want);
        int whole = wholeBatches(part);
        if (whole == 0) {
          break;
        }
        parts.add(part.limit(whole));
        total += whole;
        if (whole < available) {
          break;
        }
      }
      Map.Entry<Long, LogSegment> next = segments.higherEntry(segment.baseOffset);
      segment = next == null ? null : next.getValue();
      position = 0;
    }
    if (parts.size() == 1) {
      return parts.get(0);
    }
    ByteBuffer out = ByteBuffer.allocate((int) total);
    for (ByteBuffer part : parts) {
      out.put(part);
    }
    return out.flip();
  }

  /** The length of the prefix of {@code buffer} whose batches all end at or below {@code maxOffset}. */
  private static int batchesEndingBy(ByteBuffer buffer, long maxOffset) {
    int n = 0;
    int limit = buffer.limit();
    while (limit - n >= RecordBatch.HEADER_SIZE) {
      long next = buffer.getLong(n) + buffer.getInt(n + LogSegment.LAST_OFFSET_DELTA) + 1;
      if (next > maxOffset) {
        break;
      }
      n += buffer.getInt(n + LogSegment.LENGTH) + RecordBatch.LOG_OVERHEAD;
    }
    return n;
  }

  /** The length of the longest prefix of {@code buffer} made of whole batches. */
  private static int wholeBatches(ByteBuffer buffer) {
    int n = 0;
    int limit = buffer.limit();
    while (limit - n >= RecordBatch.LOG_OVERHEAD) {
      int batchSize = buffer.getInt(n + LogSegment.LENGTH) + RecordBatch.LOG_OVERHEAD;
      if (batchSize < RecordBatch.HEADER_SIZE || batchSize > limit - n) {
        break;
      }
      n += batchSize;
    }
    return n;
  }

  /**
   * The base offset of the first batch (at or after the log start) whose max timestamp is at least
   * {@code timestamp}, or empty if every batch is older. Segments whose max timestamp is below the
   * target are skipped whole; within a segment the time index narrows the walk.
   */
  public OptionalLong offsetForTimestamp(long timestamp) throws IOException {
    for (LogSegment segment : segments.values()) {
      long found = segment.offsetForTimestamp(timestamp, Math.max(logStartOffset, segment.baseOffset));
      if (found >= 0) {
        return OptionalLong.of(found);
      }
    }
    return OptionalLong.empty();
  }

  /**
   * Deletes whole non-active segments, oldest first, while the oldest one's max timestamp is more
   * than {@code retentionMs} before {@code nowMs}, or while the log would still hold at least
   * {@code retentionBytes} without it (Kafka's rule: size retention never takes the log below the
   * limit). -1 disables either rule. The new log start is checkpointed before any file is removed,
   * so a crash in between finishes the deletion on the next open.
   *
   * @return the number of segments deleted
   */
  public int deleteExpiredSegments(long nowMs, long retentionMs, long retentionBytes) throws IOException {
    return deleteExpiredSegments(nowMs, retentionMs, retentionBytes, Long.MAX_VALUE);
  }

  /**
   * {@link #deleteExpiredSegments(long, long, long)}, deleting only segments that end at or below
   * {@code highWatermark}: records the followers may not have yet are never removed by retention.
   */
  public int deleteExpiredSegments(long nowMs, long retentionMs, long retentionBytes, long highWatermark)
      throws IOException {
    List<LogSegment> doomed = new ArrayList<>();
    long remaining = size;
    for (LogSegment segment : segments.values()) {
      if (segment == segments.lastEntry().getValue() || segments.higherKey(segment.baseOffset) > highWatermark) {
        break;
      }
      long maxTimestamp = segment.maxTimestamp();
      boolean expired = retentionMs >= 0
          && (maxTimestamp == Long.MIN_VALUE || nowMs - maxTimestamp > retentionMs);
      boolean oversize = retentionBytes >= 0 && remaining - segment.size >= retentionBytes;
      if (!expired && !oversize) {
        break;
      }
      doomed.add(segment);
      remaining -= segment.size;
    }
    if (doomed.isEmpty()) {
      return 0;
    }
    long newStart = segments.higherKey(doomed.get(doomed.size() - 1).baseOffset);
    logStartOffset = Math.max(logStartOffset, newStart);
    OffsetCheckpoint.write(dir.resolve(LOG_START_OFFSET_CHECKPOINT), logStartOffset);
    recoveryPoint = Math.max(recoveryPoint, logStartOffset);
    epochs.truncateFromStart(logStartOffset);
    for (LogSegment segment : doomed) {
      segments.remove(segment.baseOffset);
      size -= segment.size;
      segment.deleteFiles();
      LOG.log(System.Logger.Level.DEBUG, "{0}: retention deleted {1}", dir, segment.logFile.getFileName());
    }
    return doomed.size();
  }

  /** What one cleaning pass did. */
  public record CompactionResult(int segmentsRewritten, long recordsRemoved, long bytesBefore, long bytesAfter) {
    public static final CompactionResult NONE = new CompactionResult(0, 0, 0, 0);
  }

  /** A closed segment a cleaning pass reads, as it was when the pass was planned. */
  private record PlannedSegment(LogSegment segment, long baseOffset, long size, long endOffset) {}

  /**
   * What a cleaning pass will do, captured on the partition's chain so that the cleaner can build the
   * cleaned segments on another thread without touching the log's mutable state: the closed segments
   * it rewrites (a prefix of the log: Kafka rewrites its clean section too, which is what removes
   * values a newer dirty record supersedes), and the range whose keys it maps, from the first dirty
   * offset to the cleanable bound (the high watermark, or the end).
   */
  public static final class CleaningPlan {
    private final Path dir;
    private final int indexIntervalBytes;
    private final List<PlannedSegment> targets;
    private final List<PlannedSegment> mapSources;
    private final long firstDirtyOffset;
    private final long mapBound;
    private final long dropTombstonesBefore;
    private final long truncations;
    /** The share of the rewritten bytes that were never cleaned (Kafka's dirty ratio). */
    public final double dirtyRatio;

    private CleaningPlan(Path dir, int indexIntervalBytes, List<PlannedSegment> targets, List<PlannedSegment> mapSources,
        long firstDirtyOffset, long mapBound, long dropTombstonesBefore, long truncations, double dirtyRatio) {
      this.dir = dir;
      this.indexIntervalBytes = indexIntervalBytes;
      this.targets = targets;
      this.mapSources = mapSources;
      this.firstDirtyOffset = firstDirtyOffset;
      this.mapBound = mapBound;
      this.dropTombstonesBefore = dropTombstonesBefore;
      this.truncations = truncations;
      this.dirtyRatio = dirtyRatio;
    }

    /** Where the pass's dirty range starts: the previous pass's end, or the log start. */
    public long firstDirtyOffset() {
      return firstDirtyOffset;
    }
  }

  /** A cleaned segment's files, written as {@code <name>.cleaned} and not yet in place. */
  private record CleanedSegment(PlannedSegment original, long size, long recordsRemoved) {}

  /** The output of {@link #buildCleaned}: what {@link #swapIn} puts in place, or {@link #discard} removes. */
  public static final class CleanedSegments {
    private final CleaningPlan plan;
    private final List<CleanedSegment> cleaned;
    /** Where the next pass's dirty range starts: the end of the last segment this pass covered. */
    private final long nextFirstDirtyOffset;
    /** Where the key map filled if it could not take the first dirty segment's keys, else -1. */
    private final long keyMapFilledAt;

    private CleanedSegments(CleaningPlan plan, List<CleanedSegment> cleaned, long nextFirstDirtyOffset,
        long keyMapFilledAt) {
      this.plan = plan;
      this.cleaned = cleaned;
      this.nextFirstDirtyOffset = nextFirstDirtyOffset;
      this.keyMapFilledAt = keyMapFilledAt;
    }

    /**
     * Where the key map filled, if one dirty segment had more keys than it holds, else -1. The pass
     * then cleaned no dirty segment and the next pass would stop at the same place: only a bigger
     * {@code log.cleaner.dedupe.buffer.size} lets the log be cleaned past it.
     */
    public long keyMapOverflowAt() {
      return keyMapFilledAt;
    }

    /** Deletes the cleaned files (a pass whose swap was refused, or never ran). */
    public void discard() throws IOException {
      for (CleanedSegment c : cleaned) {
        deleteCleanedFiles(plan.dir, c.original.baseOffset);
      }
    }
  }

  private static void deleteCleanedFiles(Path dir, long baseOffset) throws IOException {
    for (String suffix : List.of(".log", ".index", ".timeindex")) {
      Files.deleteIfExists(dir.resolve(LogSegment.fileName(baseOffset, suffix + CLEANED_SUFFIX)));
    }
  }

  /**
   * Plans a cleaning pass ({@code cleanup.policy=compact}); cheap, so it runs on the partition's
   * chain. Only closed segments ending at or below {@code cleanableBelow} are rewritten. Keys are
   * mapped from the first dirty offset (where the previous pass stopped) up to
   * {@code min(cleanableBelow, end)}, the active segment included: a newer value there already
   * supersedes older ones, but a record followers may not hold yet must never supersede anything.
   *
   * @param minCleanableDirtyRatio skip the pass unless dirty bytes are at least this share of the
   *     closed segments' bytes; 0 forces a pass even with nothing dirty (tombstones may expire)
   * @return the plan, or null if there is nothing to do
   */
  public CleaningPlan planCleaning(long nowMs, long deleteRetentionMs, double minCleanableDirtyRatio,
      long cleanableBelow) throws IOException {
    long bound = Math.min(cleanableBelow, endOffset());
    long firstDirty = Math.max(logStartOffset, Math.min(cleanerCheckpoint(), endOffset()));
    List<PlannedSegment> targets = new ArrayList<>();
    List<PlannedSegment> mapSources = new ArrayList<>();
    long cleanBytes = 0;
    long dirtyBytes = 0;
    LogSegment active = segments.lastEntry().getValue();
    for (LogSegment segment : segments.values()) {
      if (segment.baseOffset >= bound) {
        break;
      }
      long end = segment == active ? segment.endOffset : segments.higherKey(segment.baseOffset);
      PlannedSegment planned = new PlannedSegment(segment, segment.baseOffset, segment.size, end);
      if (end > firstDirty) {
        mapSources.add(planned);
      }
      if (segment != active && end <= bound) {
        targets.add(planned);
        if (end <= firstDirty) {
          cleanBytes += segment.size;
        } else {
          dirtyBytes += segment.size;
        }
      }
    }
    boolean forced = minCleanableDirtyRatio <= 0;
    double ratio = cleanBytes + dirtyBytes == 0 ? 0 : (double) dirtyBytes / (cleanBytes + dirtyBytes);
    if (targets.isEmpty() || (!forced && (dirtyBytes == 0 || ratio < minCleanableDirtyRatio))) {
      return null;
    }
    long dropTombstonesBefore = deleteRetentionMs < 0 ? Long.MIN_VALUE : nowMs - deleteRetentionMs;
    return new CleaningPlan(dir, config.indexIntervalBytes(), targets, mapSources, firstDirty, bound,
        dropTombstonesBefore, truncations, ratio);
  }

  /**
   * Builds a plan's cleaned segments; runs off the partition's chain (it may take long), reading the
   * planned segments through channels of its own. The key map holds at most {@code mapMemoryBytes}
   * ({@code log.cleaner.dedupe.buffer.size}); if the dirty range has more keys, the pass covers the
   * segments the map could take and the next pass goes on from there.
   */
  public static CleanedSegments buildCleaned(CleaningPlan plan, long mapMemoryBytes) throws IOException {
    OffsetMap map = OffsetMap.forKeys(plan.mapBound - plan.firstDirtyOffset, mapMemoryBytes);
    long mapped = plan.firstDirtyOffset;
    for (PlannedSegment source : plan.mapSources) {
      try (LogSegment view = LogSegment.openReadOnly(plan.dir, source.baseOffset, source.size, source.endOffset)) {
        long[] added = Compactor.addKeys(view, mapped, plan.mapBound, map);
        mapped = added[0];
        if (added[1] != 0) {
          break;
        }
      }
    }
    if (mapped < plan.mapBound) {
      LOG.log(System.Logger.Level.DEBUG, "{0}: the cleaner''s key map filled at offset {1}", plan.dir, mapped);
    }
    // Stuck, not just short: the map could not take even the first dirty segment (the partition's owner warns).
    long overflowAt = -1;
    for (PlannedSegment target : plan.targets) {
      if (target.endOffset > plan.firstDirtyOffset) {
        overflowAt = mapped < target.endOffset ? mapped : -1;
        break;
      }
    }
    List<CleanedSegment> cleaned = new ArrayList<>();
    long covered = plan.firstDirtyOffset;
    for (PlannedSegment target : plan.targets) {
      // A dirty segment past the mapped range could lose a record that only an unmapped one supersedes.
      if (target.endOffset > mapped && target.endOffset > plan.firstDirtyOffset) {
        break;
      }
      long removed;
      long size;
      try (LogSegment view = LogSegment.openReadOnly(plan.dir, target.baseOffset, target.size, target.endOffset);
          LogSegment out = LogSegment.create(plan.dir, target.baseOffset, CLEANED_SUFFIX)) {
        removed = Compactor.rewrite(view, map, plan.dropTombstonesBefore, out, plan.indexIntervalBytes);
        out.force();
        size = out.size;
      } catch (IOException | RuntimeException e) {
        deleteCleanedFiles(plan.dir, target.baseOffset);
        new CleanedSegments(plan, cleaned, covered, -1).discard();
        throw e;
      }
      if (removed > 0) {
        cleaned.add(new CleanedSegment(target, size, removed));
      } else {
        deleteCleanedFiles(plan.dir, target.baseOffset);
      }
      covered = Math.max(covered, target.endOffset);
    }
    return new CleanedSegments(plan, cleaned, covered, overflowAt);
  }

  /**
   * Puts a pass's cleaned segments in place; runs on the partition's chain and costs a few renames
   * per segment. If the log was truncated since the plan, the whole pass is discarded (the records
   * that superseded others may be gone); a planned segment that retention deleted meanwhile is not
   * brought back.
   *
   * <p>Crash safety, as Kafka's {@code .cleaned}/{@code .swap} files: all of a segment's cleaned files
   * are first renamed to {@code .swap}, the log file last, so a {@code .log.swap} means the set is
   * complete; then each {@code .swap} is renamed over its original, the log file last. Segments go
   * oldest first, so a crash leaves a prefix of them cleaned, which is consistent: a record a pass
   * removes is superseded by a later one, and that is still in the log. Opening finishes any swap
   * whose {@code .log.swap} exists and deletes other {@code .cleaned}/{@code .swap} files.
   */
  public CompactionResult swapIn(CleanedSegments built) throws IOException {
    CleaningPlan plan = built.plan;
    if (closed || plan.truncations != truncations) {
      built.discard();
      return CompactionResult.NONE;
    }
    List<CleanedSegment> still = new ArrayList<>();
    for (CleanedSegment c : built.cleaned) {
      if (segments.get(c.original.baseOffset) == c.original.segment) {
        still.add(c);
      } else {
        deleteCleanedFiles(dir, c.original.baseOffset);
      }
    }
    for (CleanedSegment c : still) {
      for (String suffix : List.of(".index", ".timeindex", ".log")) {
        Path from = dir.resolve(LogSegment.fileName(c.original.baseOffset, suffix + CLEANED_SUFFIX));
        Files.move(from, dir.resolve(LogSegment.fileName(c.original.baseOffset, suffix + SWAP_SUFFIX)),
            StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      }
    }
    if (!still.isEmpty()) {
      fsyncDirectory();
    }
    int rewritten = 0;
    long removed = 0;
    long before = 0;
    long after = 0;
    for (CleanedSegment c : still) {
      LogSegment old = c.original.segment;
      old.close();
      completeSwap(dir, old.baseOffset);
      LogSegment fresh = LogSegment.open(dir, old.baseOffset);
      fresh.endOffset = c.original.endOffset;
      segments.put(fresh.baseOffset, fresh);
      size += fresh.size - old.size;
      rewritten++;
      removed += c.recordsRemoved;
      before += old.size;
      after += fresh.size;
    }
    if (rewritten > 0) {
      fsyncDirectory();
    }
    if (built.nextFirstDirtyOffset > cleanerCheckpoint()) {
      writeCleanerCheckpoint(built.nextFirstDirtyOffset);
    }
    return new CompactionResult(rewritten, removed, before, after);
  }

  /** Renames a segment's {@code .swap} files over its files, the log file last. */
  private static void completeSwap(Path dir, long baseOffset) throws IOException {
    for (String suffix : List.of(".index", ".timeindex", ".log")) {
      Path swap = dir.resolve(LogSegment.fileName(baseOffset, suffix + SWAP_SUFFIX));
      if (Files.exists(swap)) {
        Files.move(swap, dir.resolve(LogSegment.fileName(baseOffset, suffix)), StandardCopyOption.ATOMIC_MOVE,
            StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  /** Opening: finishes every segment swap that had its {@code .log.swap} in place when the node stopped. */
  private void completeInterruptedSwaps() throws IOException {
    List<Long> swapped = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.log" + SWAP_SUFFIX)) {
      for (Path file : files) {
        long base = LogSegment.parseBaseOffset(file.getFileName().toString(), ".log" + SWAP_SUFFIX);
        if (base >= 0) {
          swapped.add(base);
        }
      }
    }
    swapped.sort(null);
    for (long base : swapped) {
      LOG.log(System.Logger.Level.INFO, "{0}: finishing the interrupted swap of cleaned segment {1}", dir, base);
      completeSwap(dir, base);
    }
    if (!swapped.isEmpty()) {
      fsyncDirectory();
    }
  }

  /** Where the next cleaning pass's dirty range starts; read from its file on first use. */
  private long cleanerCheckpoint() throws IOException {
    if (cleanerCheckpoint < 0) {
      cleanerCheckpoint = OffsetCheckpoint.read(dir.resolve(CLEANER_CHECKPOINT)).orElse(0);
    }
    return cleanerCheckpoint;
  }

  private void writeCleanerCheckpoint(long offset) throws IOException {
    OffsetCheckpoint.write(dir.resolve(CLEANER_CHECKPOINT), offset);
    cleanerCheckpoint = offset;
  }

  /**
   * A forced cleaning pass run in the caller's task: plan, build and swap back to back. Tests and
   * tools use it; the broker runs the three steps itself so that building stays off the chain.
   */
  public CompactionResult compact(long nowMs, long deleteRetentionMs) throws IOException {
    CleaningPlan plan = planCleaning(nowMs, deleteRetentionMs, 0, Long.MAX_VALUE);
    return plan == null ? CompactionResult.NONE : swapIn(buildCleaned(plan, DEFAULT_CLEANER_MAP_BYTES));
  }

  /** Makes the renames durable: on Linux a directory's entries are fsynced through the directory. */
  private void fsyncDirectory() {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some platforms cannot open a directory; the rename is still atomic, only its durability waits.
      LOG.log(System.Logger.Level.DEBUG, "{0}: cannot fsync the directory ({1})", dir, e.getMessage());
    }
  }

  public long startOffset() {
    return logStartOffset;
  }

  /** The offset the next record will get. */
  public long endOffset() {
    return segments.lastEntry().getValue().endOffset;
  }

  /** Bytes of record batches in all segments. */
  public long sizeInBytes() {
    return size;
  }

  /** Every offset below this is fsynced and will not be CRC-checked on the next open. */
  public long recoveryPoint() {
    return recoveryPoint;
  }

  /**
   * Messages (offsets) appended since the last flush: Kafka's count for {@code flush.messages},
   * and what the next open would check by CRC after a crash.
   */
  public long unflushedMessages() {
    return endOffset() - recoveryPoint;
  }

  /** How many batches opening the log checked by CRC: zero after a clean close. */
  public long crcCheckedBatchesOnOpen() {
    return crcCheckedOnOpen;
  }

  /** The base offsets of the segments, oldest first. */
  public List<Long> segmentBaseOffsets() {
    return List.copyOf(segments.keySet());
  }

  public Path dir() {
    return dir;
  }

  public LogConfig config() {
    return config;
  }

  /** Forces every segment with data above the recovery point to disk, then advances it to the end. */
  public void flush() throws IOException {
    long end = endOffset();
    Long from = segments.floorKey(recoveryPoint);
    for (LogSegment segment : (from == null ? segments : segments.tailMap(from, true)).values()) {
      segment.force();
    }
    recoveryPoint = end;
    if (checkpointedRecoveryPoint != recoveryPoint) {
      writeRecoveryPoint();
    }
  }

  private void writeRecoveryPoint() throws IOException {
    OffsetCheckpoint.write(dir.resolve(RECOVERY_POINT_CHECKPOINT), recoveryPoint);
    checkpointedRecoveryPoint = recoveryPoint;
  }

  /** Flushes, checkpoints the recovery point at the end offset and closes the files. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    try {
      flush();
      producers.writeCheckpoint(dir, endOffset());
    } finally {
      closeSegments();
    }
  }

  /**
   * Closes the files without flushing or checkpointing, leaving the directory as a crash after the
   * last append would (with the page cache intact). For recovery tests.
   */
  void closeUncleanly() throws IOException {
    closeSegments();
  }

  private void closeSegments() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    IOException first = null;
    for (LogSegment segment : segments.values()) {
      try {
        segment.close();
      } catch (IOException e) {
        if (first == null) {
          first = e;
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  private void closeSegmentsQuietly() {
    try {
      closeSegments();
    } catch (IOException ignored) {
      // Already failing to open; the first error is the one worth reporting.
    }
  }

  /** Closes the log and removes its directory. */
  public void delete() throws IOException {
    closeSegments();
    deleteContents(dir);
    Files.deleteIfExists(dir);
  }

  private static void deleteContents(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).filter(p -> !p.equals(dir)).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private static Optional<UUID> readTopicId(Path meta) throws IOException {
    if (!Files.exists(meta)) {
      return Optional.empty();
    }
    for (String line : Files.readAllLines(meta, StandardCharsets.UTF_8)) {
      if (line.startsWith("topic_id:")) {
        try {
          return Optional.of(UUID.fromString(line.substring("topic_id:".length()).trim()));
        } catch (IllegalArgumentException e) {
          throw new IOException(meta + " has an unreadable topic id: " + line, e);
        }
      }
    }
    throw new IOException(meta + " has no topic_id line");
  }

  private static void writeTopicId(Path meta, UUID topicId) throws IOException {
    Path tmp = meta.resolveSibling(PARTITION_METADATA + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(ByteBuffer.wrap(("version: 0\ntopic_id: " + topicId + "\n").getBytes(StandardCharsets.UTF_8)));
      ch.force(true);
    }
    Files.move(tmp, meta, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }
}
