package io.raftline.broker.log;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.protocol.records.Record;
import io.raftline.protocol.records.RecordBatch;
import io.raftline.protocol.records.RecordBatchBuilder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Segments, indexes, checkpoints, retention and timestamp lookup; time is always injected. */
class SegmentedLogTest {
  private static final int MAX_BATCH = 1 << 20;
  private static final UUID TOPIC = new UUID(7, 9);
  /** The size of {@link #batch(long)}'s batches: every one has the same layout. */
  private static final int BATCH = batch(0).get(0).sizeInBytes();

  @TempDir
  Path tmp;

  private Path dir() {
    return tmp.resolve("events-3");
  }

  private Path file(long base, String suffix) {
    return dir().resolve(LogSegment.fileName(base, suffix));
  }

  /** One record with timestamp {@code ts} and a 100-byte value derived from it. */
  private static List<RecordBatch> batch(long ts) {
    RecordBatchBuilder b = new RecordBatchBuilder();
    byte[] value = new byte[100];
    value[0] = (byte) ts;
    b.append(ts, ("k" + (ts % 10)).getBytes(StandardCharsets.UTF_8), value, List.of());
    return RecordBatch.validateAll(b.build(), MAX_BATCH);
  }

  private static LogConfig segmentsOf(int batches) {
    return LogConfig.DEFAULT.withSegmentBytes((long) batches * BATCH);
  }

  private static List<Long> baseOffsets(ByteBuffer read) {
    return RecordBatch.validateAll(read, MAX_BATCH).stream().map(RecordBatch::baseOffset).toList();
  }

  private static List<Record> records(ByteBuffer read) {
    List<Record> out = new ArrayList<>();
    RecordBatch.validateAll(read, MAX_BATCH).forEach(b -> out.addAll(b.records()));
    return out;
  }

  private static void flipByte(Path file, long position) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      assertEquals(1, ch.read(one, position));
      one.put(0, (byte) ~one.get(0));
      one.rewind();
      assertEquals(1, ch.write(one, position));
    }
  }

  /** Appends one batch per timestamp, one offset each. */
  private static void appendAll(PartitionLog log, long... timestamps) throws IOException {
    for (long ts : timestamps) {
      log.append(batch(ts), 1);
    }
  }

  // --- rolling --------------------------------------------------------------------------------

  @Test
  void rollsBeforeAnAppendWouldPassSegmentBytes() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, segmentsOf(3))) {
      appendAll(log, 1, 2, 3, 4, 5, 6, 7);
      assertEquals(List.of(0L, 3L, 6L), log.segmentBaseOffsets());
      assertEquals(3L * BATCH, Files.size(file(0, ".log")));
      assertEquals(3L * BATCH, Files.size(file(3, ".log")));
      assertEquals(BATCH, Files.size(file(6, ".log")));
      for (long base : new long[] {0, 3, 6}) {
        assertTrue(Files.exists(file(base, ".index")), "index of " + base);
        assertTrue(Files.exists(file(base, ".timeindex")), "time index of " + base);
      }
      assertEquals(7L * BATCH, log.sizeInBytes());
      assertEquals(7, log.endOffset());
    }
  }

  @Test
  void aBatchLargerThanSegmentBytesGetsASegmentOfItsOwn() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, LogConfig.DEFAULT.withSegmentBytes(BATCH / 2))) {
      appendAll(log, 1, 2, 3);
      assertEquals(List.of(0L, 1L, 2L), log.segmentBaseOffsets());
      assertEquals(List.of(0L, 1L, 2L), baseOffsets(log.read(0, Integer.MAX_VALUE)));
    }
  }

  @Test
  void rollsOnceTheActiveSegmentIsSegmentMsOld() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, LogConfig.DEFAULT.withSegmentMs(1_000))) {
      log.append(batch(1), 0, 10_000);
      log.append(batch(2), 0, 10_999);
      assertEquals(List.of(0L), log.segmentBaseOffsets());
      log.append(batch(3), 0, 11_000);
      assertEquals(List.of(0L, 2L), log.segmentBaseOffsets());
      log.append(batch(4), 0, 11_500);
      // Appends without a clock never roll by age.
      log.append(batch(5), 0);
      assertEquals(List.of(0L, 2L), log.segmentBaseOffsets());
      log.append(batch(6), 0, 12_000);
      assertEquals(List.of(0L, 2L, 5L), log.segmentBaseOffsets());
      assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L), baseOffsets(log.read(0, Integer.MAX_VALUE)));
    }
  }

  @Test
  void anEmptyActiveSegmentDoesNotRollByAge() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, LogConfig.DEFAULT.withSegmentMs(1_000))) {
      log.append(batch(1), 0, 0);
      log.append(batch(2), 0, 5_000);
      assertEquals(List.of(0L, 1L), log.segmentBaseOffsets());
      // The new segment's age counts from its own first append.
      log.append(batch(3), 0, 5_999);
      assertEquals(List.of(0L, 1L), log.segmentBaseOffsets());
    }
  }

  @Test
  void afterAReopenTheActiveSegmentsAgeCountsFromItsFirstBatchTimestamp() throws IOException {
    LogConfig config = LogConfig.DEFAULT.withSegmentMs(1_000);
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, config)) {
      log.append(batch(50_000), 0, 50_000);
    }
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, config)) {
      log.append(batch(50_500), 0, 50_999);
      assertEquals(List.of(0L), log.segmentBaseOffsets());
      log.append(batch(51_000), 0, 51_000);
      assertEquals(List.of(0L, 2L), log.segmentBaseOffsets());
    }
  }

  @Test
  void checkpointsAreTwoTextLinesVersionThenOffset() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, segmentsOf(2))) {
      appendAll(log, 1, 2, 3, 4, 5);
      log.deleteExpiredSegments(0, -1, 0);
    }
    assertEquals("0\n5\n", Files.readString(dir().resolve(PartitionLog.RECOVERY_POINT_CHECKPOINT)));
    assertEquals("0\n4\n", Files.readString(dir().resolve(PartitionLog.LOG_START_OFFSET_CHECKPOINT)));
  }

  // --- reads and indexes ----------------------------------------------------------------------

  @Test
  void readsAcrossSegmentsStartAtTheRightBatchAndRespectMaxBytes() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, segmentsOf(3))) {
      appendAll(log, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
      for (long offset = 0; offset < 10; offset++) {
        List<Long> got = baseOffsets(log.read(offset, Integer.MAX_VALUE));
        assertEquals(offset, got.get(0), "from " + offset);
        assertEquals(10 - offset, got.size(), "everything from " + offset + " in one read");
        assertEquals(List.of(offset), baseOffsets(log.read(offset, 1)), "at least one batch");
      }
      // A limit spanning a segment boundary takes whole batches from both.
      assertEquals(List.of(2L, 3L, 4L), baseOffsets(log.read(2, 3 * BATCH)));
      assertEquals(List.of(2L, 3L), baseOffsets(log.read(2, 3 * BATCH - 1)));
      List<Record> all = records(log.read(0, Integer.MAX_VALUE));
      for (int i = 0; i < 10; i++) {
        assertEquals(i, all.get(i).offset());
        assertEquals(i, all.get(i).timestamp());
      }
    }
  }

  @Test
  void theOffsetIndexIsSparseAndPointsAtBatchStarts() throws IOException {
    int interval = 3 * BATCH;
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, LogConfig.DEFAULT.withIndexIntervalBytes(interval))) {
      for (int i = 0; i < 20; i++) {
        appendAll(log, i);
      }
      // An entry for the batch at each multiple of the interval after the start: positions 3, 6, ... 18.
      ByteBuffer index = ByteBuffer.wrap(Files.readAllBytes(file(0, ".index")));
      assertZeroFrom(index, 6 * LogSegment.INDEX_ENTRY);
      for (int e = 0; e < 6; e++) {
        int rel = index.getInt(e * 8);
        int position = index.getInt(e * 8 + 4);
        assertEquals(3 * (e + 1), rel);
        assertEquals(rel * BATCH, position);
      }
      for (long offset = 0; offset < 20; offset++) {
        assertEquals(offset, baseOffsets(log.read(offset, 1)).get(0));
      }
    }
    // Closed: cut back to its entries.
    assertEquals(6 * LogSegment.INDEX_ENTRY, Files.size(file(0, ".index")));
  }

  /** An open index is mapped ahead of its entries: everything from {@code from} on must be unused (zero). */
  private static void assertZeroFrom(ByteBuffer index, int from) {
    assertTrue(index.remaining() >= from, "index of " + index.remaining() + " bytes, expected entries up to " + from);
    for (int i = from; i < index.limit(); i++) {
      assertEquals(0, index.get(i), "byte " + i + " past the entries");
    }
  }

  @Test
  void theTimeIndexRecordsTheRunningMaxTimestamp() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, LogConfig.DEFAULT.withIndexIntervalBytes(1))) {
      appendAll(log, 100, 300, 200, 250, 400);
      // Entries at batches 1..4, but only where the max grew: 300 (offset 1) and 400 (offset 4).
      ByteBuffer times = ByteBuffer.wrap(Files.readAllBytes(file(0, ".timeindex")));
      assertZeroFrom(times, 2 * LogSegment.TIME_INDEX_ENTRY);
      assertEquals(300, times.getLong(0));
      assertEquals(1, times.getInt(8));
      assertEquals(400, times.getLong(12));
      assertEquals(4, times.getInt(20));
      assertZeroFrom(ByteBuffer.wrap(Files.readAllBytes(file(0, ".index"))), 4 * LogSegment.INDEX_ENTRY);
    }
    assertEquals(2 * LogSegment.TIME_INDEX_ENTRY, Files.size(file(0, ".timeindex")));
    assertEquals(4 * LogSegment.INDEX_ENTRY, Files.size(file(0, ".index")));
  }

  @Test
  void readsStillWorkWhenAnOldSegmentsIndexIsLost() throws IOException {
    LogConfig config = segmentsOf(5).withIndexIntervalBytes(1);
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, config)) {
      appendAll(log, 0, 1, 2, 3, 4, 5, 6);
    }
    Files.delete(file(0, ".index"));
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, config)) {
      for (long offset = 0; offset < 7; offset++) {
        assertEquals(offset, baseOffsets(log.read(offset, 1)).get(0));
      }
    }
  }

  // --- recovery -------------------------------------------------------------------------------

  @Test
  void aCleanRestartChecksNoCrcEvenWithACorruptOldSegment() throws IOException {
    byte[] before;
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, segmentsOf(3))) {
      appendAll(log, 0, 1, 2, 3, 4, 5, 6, 7);
      before = Files.readAllBytes(file(3, ".log"));
    }
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, segmentsOf(3))) {
      assertEquals(0, log.crcCheckedBatchesOnOpen());
      assertEquals(8, log.recoveryPoint());
    }
    // A flipped value byte in the middle segment's middle batch: a CRC check would cut the log at 4.
    flipByte(file(3, ".log"), BATCH + BATCH - 20);
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, segmentsOf(3))) {
      assertEquals(0, log.crcCheckedBatchesOnOpen());
      assertEquals(8, log.endOffset(), "the old segment was not scanned");
      assertEquals(List.of(0L, 3L, 6L), log.segmentBaseOffsets());
      assertEquals(before.length, Files.size(file(3, ".log")));
      assertEquals(8, log.append(batch(8), 2));
    }
  }

  @Test
  void flushAdvancesTheRecoveryPointAndAnUncleanStopChecksOnlyWhatFollows() throws IOException {
    PartitionLog log = PartitionLog.open(dir(), TOPIC, segmentsOf(3));
    appendAll(log, 0, 1, 2, 3);
    assertEquals(0, log.recoveryPoint());
    log.flush();
    assertEquals(4, log.recoveryPoint());
    appendAll(log, 4, 5, 6, 7);
    long validEnd = Files.size(file(6, ".log"));
    appendAll(log, 8);
    log.closeUncleanly();
    // The last batch is torn (the crash hit mid-write); an older one is damaged below the recovery point.
    try (FileChannel ch = FileChannel.open(file(6, ".log"), StandardOpenOption.WRITE)) {
      ch.truncate(validEnd + 30);
    }
    flipByte(file(0, ".log"), BATCH - 20);

    try (PartitionLog reopened = PartitionLog.open(dir(), TOPIC, segmentsOf(3))) {
      // Batches 4..7 were checked; 0..3 were trusted; 8 was torn off.
      assertEquals(4, reopened.crcCheckedBatchesOnOpen());
      assertEquals(8, reopened.endOffset());
      assertEquals(validEnd, Files.size(file(6, ".log")));
      assertEquals(List.of(0L, 3L, 6L), reopened.segmentBaseOffsets());
      assertEquals(List.of(4L, 5L, 6L, 7L), baseOffsets(reopened.read(4, Integer.MAX_VALUE)));
      assertEquals(8, reopened.append(batch(80), 3));
    }
  }

  @Test
  void aCorruptBatchInAnUnflushedMiddleSegmentDropsEverythingAfterIt() throws IOException {
    PartitionLog log = PartitionLog.open(dir(), TOPIC, segmentsOf(3));
    appendAll(log, 0, 1, 2, 3, 4, 5, 6, 7);
    log.closeUncleanly();
    flipByte(file(3, ".log"), BATCH + BATCH - 20); // offset 4
    try (PartitionLog reopened = PartitionLog.open(dir(), TOPIC, segmentsOf(3))) {
      assertEquals(4, reopened.endOffset());
      assertEquals(List.of(0L, 3L), reopened.segmentBaseOffsets());
      assertFalse(Files.exists(file(6, ".log")));
      assertFalse(Files.exists(file(6, ".index")));
      assertEquals(4, reopened.append(batch(40), 1));
      assertEquals(List.of(0L, 1L, 2L, 3L, 4L), baseOffsets(reopened.read(0, Integer.MAX_VALUE)));
    }
  }

  @Test
  void recoveryRebuildsTheIndexesOfTheCheckedSegments() throws IOException {
    LogConfig config = LogConfig.DEFAULT.withIndexIntervalBytes(1);
    PartitionLog log = PartitionLog.open(dir(), TOPIC, config);
    appendAll(log, 10, 20, 30, 40, 50);
    log.closeUncleanly();
    byte[] index = Files.readAllBytes(file(0, ".index"));
    byte[] times = Files.readAllBytes(file(0, ".timeindex"));
    // Indexes that ran ahead of (or behind) the data are rebuilt from the batches.
    Files.write(file(0, ".index"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13});
    Files.write(file(0, ".timeindex"), new byte[0]);
    try (PartitionLog reopened = PartitionLog.open(dir(), TOPIC, config)) {
      assertEquals(5, reopened.crcCheckedBatchesOnOpen());
      assertEquals(5, reopened.endOffset());
    }
    assertArrayEquals(index, Files.readAllBytes(file(0, ".index")));
    assertArrayEquals(times, Files.readAllBytes(file(0, ".timeindex")));
  }

  // --- retention ------------------------------------------------------------------------------

  @Test
  void retentionByTimeDeletesOldSegmentsAndMovesTheStart() throws IOException {
    LogConfig config = segmentsOf(3);
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, config)) {
      appendAll(log, 100, 200, 300, 400, 500, 600, 700, 800);
      // Max timestamps: 300, 600, and 800 in the active segment.
      assertEquals(0, log.deleteExpiredSegments(1_300, 1_000, -1));
      assertEquals(1, log.deleteExpiredSegments(1_301, 1_000, -1));
      assertEquals(3, log.startOffset());
      assertFalse(Files.exists(file(0, ".log")));
      assertFalse(Files.exists(file(0, ".index")));
      assertFalse(Files.exists(file(0, ".timeindex")));
      assertEquals(5L * BATCH, log.sizeInBytes());
      OffsetOutOfRangeException e = assertThrows(OffsetOutOfRangeException.class, () -> log.read(2, 100));
      assertTrue(e.getMessage().contains("3 to 8"), e.getMessage());
      assertEquals(3, baseOffsets(log.read(3, 1)).get(0));
      // The active segment stays however old it is.
      assertEquals(1, log.deleteExpiredSegments(1_000_000, 1_000, -1));
      assertEquals(List.of(6L), log.segmentBaseOffsets());
      assertEquals(6, log.startOffset());
      assertEquals(0, log.deleteExpiredSegments(1_000_000, 1_000, -1));
    }
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, config)) {
      assertEquals(6, log.startOffset());
      assertEquals(8, log.endOffset());
      assertThrows(OffsetOutOfRangeException.class, () -> log.read(5, 100));
      assertEquals(List.of(6L, 7L), baseOffsets(log.read(6, Integer.MAX_VALUE)));
    }
  }

  @Test
  void retentionBySizeKeepsAtLeastRetentionBytes() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, segmentsOf(2))) {
      appendAll(log, 1, 2, 3, 4, 5, 6, 7);
      assertEquals(List.of(0L, 2L, 4L, 6L), log.segmentBaseOffsets());
      assertEquals(0, log.deleteExpiredSegments(0, -1, -1), "unlimited");
      // 7 batches; dropping the first segment leaves 5 >= 5.
      assertEquals(1, log.deleteExpiredSegments(0, -1, 5L * BATCH));
      assertEquals(2, log.startOffset());
      // 5 batches; keeping at least 2 allows dropping two segments (5 -> 3 -> 1 is too far).
      assertEquals(1, log.deleteExpiredSegments(0, -1, 2L * BATCH));
      assertEquals(List.of(4L, 6L), log.segmentBaseOffsets());
      assertEquals(3L * BATCH, log.sizeInBytes());
      assertEquals(1, log.deleteExpiredSegments(0, -1, 0));
      assertEquals(List.of(6L), log.segmentBaseOffsets());
      assertEquals(6, log.startOffset());
      assertFalse(Files.exists(file(4, ".log")));
    }
  }

  @Test
  void aCrashBetweenCheckpointingTheStartAndDeletingFilesFinishesOnOpen() throws IOException {
    PartitionLog log = PartitionLog.open(dir(), TOPIC, segmentsOf(2));
    appendAll(log, 1, 2, 3, 4, 5);
    log.flush();
    log.closeUncleanly();
    // As if retention had written the new start and then crashed before removing segments 0 and 2.
    OffsetCheckpoint.write(dir().resolve(PartitionLog.LOG_START_OFFSET_CHECKPOINT), 4);
    try (PartitionLog reopened = PartitionLog.open(dir(), TOPIC, segmentsOf(2))) {
      assertEquals(4, reopened.startOffset());
      assertEquals(List.of(4L), reopened.segmentBaseOffsets());
      assertFalse(Files.exists(file(0, ".log")));
      assertFalse(Files.exists(file(2, ".log")));
      assertEquals(5, reopened.endOffset());
    }
  }

  // --- timestamp lookup -----------------------------------------------------------------------

  @Test
  void offsetForTimestampFindsTheFirstBatchAtOrAfterIt() throws IOException {
    for (int interval : new int[] {1, 2 * BATCH, 4096}) {
      Path d = tmp.resolve("ts-" + interval);
      LogConfig config = segmentsOf(4).withIndexIntervalBytes(interval);
      try (PartitionLog log = PartitionLog.open(d, TOPIC, config)) {
        // Offsets 0..9; timestamps rise with one late arrival (offset 5 carries 150).
        appendAll(log, 100, 200, 300, 400, 500, 150, 700, 800, 900, 1000);
        String at = "interval " + interval;
        assertEquals(OptionalLong.of(0), log.offsetForTimestamp(0), at);
        assertEquals(OptionalLong.of(0), log.offsetForTimestamp(100), at);
        assertEquals(OptionalLong.of(1), log.offsetForTimestamp(101), at);
        assertEquals(OptionalLong.of(4), log.offsetForTimestamp(450), at);
        assertEquals(OptionalLong.of(6), log.offsetForTimestamp(600), at);
        assertEquals(OptionalLong.of(6), log.offsetForTimestamp(700), at);
        assertEquals(OptionalLong.of(9), log.offsetForTimestamp(1000), at);
        assertEquals(OptionalLong.empty(), log.offsetForTimestamp(1001), at);
        log.deleteExpiredSegments(0, -1, 0);
        assertEquals(8, log.startOffset(), at);
        assertEquals(OptionalLong.of(8), log.offsetForTimestamp(0), at);
      }
      // The same answers from indexes read back from disk.
      try (PartitionLog log = PartitionLog.open(d, TOPIC, config)) {
        assertEquals(OptionalLong.of(9), log.offsetForTimestamp(901));
        assertEquals(OptionalLong.empty(), log.offsetForTimestamp(2000));
      }
    }
  }

  @Test
  void offsetForTimestampOnAnEmptyLogIsEmpty() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      assertEquals(OptionalLong.empty(), log.offsetForTimestamp(0));
      assertEquals(OptionalLong.empty(), log.offsetForTimestamp(Long.MIN_VALUE));
    }
  }

  @Test
  void timestampLookupsOnReopenedOldSegmentsUseTheirIndexes() throws IOException {
    LogConfig config = segmentsOf(5).withIndexIntervalBytes(BATCH);
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, config)) {
      appendAll(log, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110);
    }
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, config)) {
      for (int i = 0; i < 11; i++) {
        assertEquals(OptionalLong.of(i), log.offsetForTimestamp(10L * (i + 1)), "ts " + (10 * (i + 1)));
        assertEquals(OptionalLong.of(i), log.offsetForTimestamp(10L * (i + 1) - 5));
      }
      // Retention by time uses the reopened segments' max timestamps.
      assertEquals(1, log.deleteExpiredSegments(151, 100, -1));
      assertEquals(5, log.startOffset());
    }
  }
}
