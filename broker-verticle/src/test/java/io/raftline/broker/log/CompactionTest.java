package io.raftline.broker.log;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.protocol.records.Header;
import io.raftline.protocol.records.Record;
import io.raftline.protocol.records.RecordBatch;
import io.raftline.protocol.records.RecordBatchBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CompactionTest {
  private static final int MAX_BATCH = 1 << 20;
  private static final UUID TOPIC = new UUID(3, 4);

  @TempDir
  Path tmp;

  private Path dir() {
    return tmp.resolve("state-0");
  }

  private static byte[] utf8(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }

  private static String str(byte[] b) {
    return b == null ? null : new String(b, StandardCharsets.UTF_8);
  }

  /** A batch of records given as key=value pairs ("k=" for a tombstone, "=v" for no key), all at {@code ts}. */
  private static List<RecordBatch> batch(long ts, String... pairs) {
    RecordBatchBuilder b = new RecordBatchBuilder();
    for (String pair : pairs) {
      int eq = pair.indexOf('=');
      String key = eq == 0 ? null : pair.substring(0, eq);
      String value = eq == pair.length() - 1 ? null : pair.substring(eq + 1);
      b.append(ts, utf8(key), utf8(value), List.of(new Header("h", utf8("x"))));
    }
    return RecordBatch.validateAll(b.build(), MAX_BATCH);
  }

  private static List<Record> records(PartitionLog log) throws IOException {
    List<Record> out = new ArrayList<>();
    RecordBatch.validateAll(log.read(log.startOffset(), Integer.MAX_VALUE), MAX_BATCH)
        .forEach(b -> out.addAll(b.records()));
    return out;
  }

  /** "offset:key=value" for each record. */
  private static List<String> describe(List<Record> records) {
    return records.stream().map(r -> r.offset() + ":" + str(r.key()) + "=" + str(r.value())).toList();
  }

  /** Segments of three single-record batches each. */
  private static LogConfig threePerSegment() {
    int size = batch(0, "a=1").get(0).sizeInBytes();
    return LogConfig.DEFAULT.withSegmentBytes(3L * size).withIndexIntervalBytes(1);
  }

  private static void put(PartitionLog log, long ts, String... pairs) throws IOException {
    for (String pair : pairs) {
      log.append(batch(ts, pair), 5);
    }
  }

  @Test
  void keepsOnlyTheLatestRecordPerKeyAndKeepsOffsets() throws IOException {
    LogConfig config = threePerSegment();
    List<String> expected = List.of("4:b=2", "5:a=3", "6:c=2");
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, config)) {
      put(log, 100, "a=1", "b=1", "a=2", "c=1", "b=2", "a=3", "c=2");
      assertEquals(List.of(0L, 3L, 6L), log.segmentBaseOffsets());
      long sizeBefore = log.sizeInBytes();
      PartitionLog.CompactionResult result = log.compact(1_000, -1);
      assertEquals(2, result.segmentsRewritten());
      assertEquals(4, result.recordsRemoved());
      assertTrue(log.sizeInBytes() < sizeBefore);
      assertEquals(sizeBefore - result.bytesBefore() + result.bytesAfter(), log.sizeInBytes());
      assertEquals(7, log.endOffset());
      assertEquals(0, log.startOffset());
      assertEquals(expected, describe(records(log)));
      // Every offset is still readable; a removed one yields the batch covering it.
      for (long offset = 0; offset < 7; offset++) {
        RecordBatch first = RecordBatch.validateAll(log.read(offset, 1), MAX_BATCH).get(0);
        assertTrue(first.baseOffset() <= offset && offset <= first.lastOffset(), "offset " + offset);
      }
      assertEquals(5, RecordBatch.validateAll(log.read(5, 1), MAX_BATCH).get(0).baseOffset());
      assertFalse(Files.exists(dir().resolve(LogSegment.fileName(0, ".log") + PartitionLog.CLEANED_SUFFIX)));
      assertTrue(Files.exists(dir().resolve(LogSegment.fileName(3, ".index"))));
      // Appends continue after the compacted segments.
      assertEquals(7, log.append(batch(100, "d=1"), 5));
      // A second pass over already compacted data removes nothing more.
      assertEquals(0, log.compact(1_000, -1).recordsRemoved());
      log.closeUncleanly();
    }
    // An unclean restart checks every batch (none was flushed): the rewritten ones are valid and contiguous.
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, config)) {
      assertTrue(log.crcCheckedBatchesOnOpen() > 0);
      assertEquals(8, log.endOffset());
      assertEquals(List.of("4:b=2", "5:a=3", "6:c=2", "7:d=1"), describe(records(log)));
    }
  }

  @Test
  void partiallyKeptBatchesKeepTheirRecordsBytesOffsetsAndTimestamps() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, LogConfig.DEFAULT.withSegmentBytes(1))) {
      log.append(batch(500, "x=1", "y=1", "x=2", "z=1"), 2); // offsets 0..3, one segment
      log.append(batch(600, "y=2"), 2); // offset 4, the next
      log.append(batch(700, "=nokey"), 2); // offset 5, active
      log.compact(1_000, -1);
      List<Record> left = records(log);
      assertEquals(List.of("2:x=2", "3:z=1", "4:y=2", "5:null=nokey"), describe(left));
      assertEquals(500, left.get(0).timestamp());
      assertEquals(600, left.get(2).timestamp());
      assertArrayEquals(utf8("x"), left.get(0).headers().get(0).value());
      RecordBatch first = RecordBatch.validateAll(log.read(0, 1), MAX_BATCH).get(0);
      assertEquals(0, first.baseOffset());
      assertEquals(3, first.lastOffset());
      assertEquals(2, first.recordCount());
      assertEquals(2, first.partitionLeaderEpoch());
    }
  }

  @Test
  void tombstonesStayForDeleteRetentionMsThenGo() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, threePerSegment())) {
      put(log, 1_000, "t=1", "t=", "=free", "u=1");
      log.compact(1_500, 1_000);
      assertEquals(List.of("1:t=null", "2:null=free", "3:u=1"), describe(records(log)));
      log.compact(2_000, 1_000);
      assertEquals(List.of("1:t=null", "2:null=free", "3:u=1"), describe(records(log)), "not yet older than 1000 ms");
      log.compact(2_001, 1_000);
      assertEquals(List.of("2:null=free", "3:u=1"), describe(records(log)));
      assertEquals(4, log.endOffset());
    }
  }

  @Test
  void aTombstoneInTheActiveSegmentStillRemovesOlderValues() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, threePerSegment())) {
      put(log, 10, "k=1", "k=2", "j=1", "k=");
      log.compact(20, 1_000_000);
      List<String> left = describe(records(log));
      assertEquals(List.of("2:j=1", "3:k=null"), left);
      assertNull(records(log).get(1).value());
    }
  }

  @Test
  void timestampLookupAndRetentionStillWorkAfterCompaction() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, threePerSegment())) {
      put(log, 100, "a=1");
      put(log, 200, "a=2");
      put(log, 300, "b=1");
      put(log, 400, "a=3");
      put(log, 500, "b=2");
      log.compact(1_000, -1);
      assertEquals(OptionalLong.of(0), log.offsetForTimestamp(150));
      assertEquals(OptionalLong.of(3), log.offsetForTimestamp(350));
      assertEquals(1, log.deleteExpiredSegments(1_000, 650, -1));
      assertEquals(3, log.startOffset());
      assertEquals(List.of("3:a=3", "4:b=2"), describe(records(log)));
    }
  }

  @Test
  void aHalfWrittenCleanedFileIsDiscardedOnOpen() throws IOException {
    LogConfig config = threePerSegment();
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, config)) {
      put(log, 100, "a=1", "a=2", "a=3", "a=4");
    }
    Path cleaned = dir().resolve(LogSegment.fileName(0, ".log") + PartitionLog.CLEANED_SUFFIX);
    Files.write(cleaned, new byte[] {1, 2, 3});
    Files.write(dir().resolve(LogSegment.fileName(99, ".index")), new byte[8]);
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, config)) {
      assertFalse(Files.exists(cleaned));
      assertFalse(Files.exists(dir().resolve(LogSegment.fileName(99, ".index"))));
      assertEquals(4, records(log).size());
    }
  }
}
