package io.raftline.broker.log;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.protocol.records.Header;
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
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PartitionLogTest {
  private static final int MAX_BATCH = 1 << 20;
  private static final UUID TOPIC = new UUID(0x1234_5678L, 0x9abc_def0L);

  @TempDir
  Path tmp;

  private Path dir() {
    return tmp.resolve("orders-0");
  }

  private Path segment() {
    return dir().resolve(PartitionLog.SEGMENT_NAME);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A validated batch of {@code count} records whose values are {@code prefix-i}. */
  private static List<RecordBatch> batch(String prefix, int count) {
    RecordBatchBuilder b = new RecordBatchBuilder();
    for (int i = 0; i < count; i++) {
      b.append(1_000L + i, utf8("k" + i), utf8(prefix + "-" + i), List.of(new Header("h", utf8(prefix))));
    }
    return RecordBatch.validateAll(b.build(), MAX_BATCH);
  }

  /** A validated batch of one record carrying a value of {@code valueBytes} bytes. */
  private static List<RecordBatch> sizedBatch(int valueBytes) {
    RecordBatchBuilder b = new RecordBatchBuilder();
    b.append(5L, null, new byte[valueBytes], List.of());
    return RecordBatch.validateAll(b.build(), MAX_BATCH);
  }

  private static byte[] bytesOf(ByteBuffer buffer) {
    ByteBuffer d = buffer.duplicate();
    byte[] out = new byte[d.remaining()];
    d.get(out);
    return out;
  }

  private static List<Record> recordsOf(ByteBuffer read) {
    List<Record> out = new ArrayList<>();
    for (RecordBatch b : RecordBatch.validateAll(read, MAX_BATCH)) {
      out.addAll(b.records());
    }
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

  @Test
  void aNewLogIsEmptyAndReadingAtZeroGivesNothing() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      assertEquals(0, log.startOffset());
      assertEquals(0, log.endOffset());
      assertEquals(0, log.sizeInBytes());
      assertEquals(0, log.read(0, 1000).remaining());
      assertTrue(Files.exists(segment()));
      assertTrue(Files.exists(dir().resolve(PartitionLog.PARTITION_METADATA)));
      assertEquals(dir(), log.dir());
    }
  }

  @Test
  void appendAssignsContiguousOffsetsAndStampsTheLeaderEpoch() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      assertEquals(0, log.append(batch("a", 3), 7));
      assertEquals(3, log.endOffset());
      List<RecordBatch> two = new ArrayList<>(batch("b", 1));
      two.addAll(batch("c", 4));
      assertEquals(3, log.append(two, 8));
      assertEquals(8, log.endOffset());

      List<RecordBatch> stored = RecordBatch.validateAll(log.read(0, Integer.MAX_VALUE), MAX_BATCH);
      assertEquals(3, stored.size());
      assertEquals(List.of(0L, 3L, 4L), stored.stream().map(RecordBatch::baseOffset).toList());
      assertEquals(List.of(2L, 3L, 7L), stored.stream().map(RecordBatch::lastOffset).toList());
      assertEquals(List.of(7, 8, 8), stored.stream().map(RecordBatch::partitionLeaderEpoch).toList());

      List<Record> records = recordsOf(log.read(0, Integer.MAX_VALUE));
      assertEquals(8, records.size());
      for (int i = 0; i < records.size(); i++) {
        assertEquals(i, records.get(i).offset(), "record " + i);
      }
      assertArrayEquals(utf8("a-2"), records.get(2).value());
      assertArrayEquals(utf8("b-0"), records.get(3).value());
      assertArrayEquals(utf8("c-3"), records.get(7).value());
      long expectedSize = stored.stream().mapToLong(RecordBatch::sizeInBytes).sum();
      assertEquals(expectedSize, log.sizeInBytes());
    }
  }

  @Test
  void readStartsWithTheBatchHoldingTheOffset() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      log.append(batch("a", 3), 0); // 0..2
      log.append(batch("b", 3), 0); // 3..5
      log.append(batch("c", 3), 0); // 6..8
      for (long offset = 0; offset < 9; offset++) {
        List<RecordBatch> got = RecordBatch.validateAll(log.read(offset, Integer.MAX_VALUE), MAX_BATCH);
        RecordBatch first = got.get(0);
        assertEquals(offset / 3 * 3, first.baseOffset(), "offset " + offset);
        assertTrue(first.baseOffset() <= offset && offset <= first.lastOffset());
        assertEquals(8, got.get(got.size() - 1).lastOffset());
      }
    }
  }

  @Test
  void readReturnsAtLeastOneBatchEvenIfLargerThanMaxBytes() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      int big = sizedBatch(500).get(0).sizeInBytes();
      log.append(sizedBatch(500), 1);
      log.append(sizedBatch(500), 1);
      ByteBuffer got = log.read(0, 10);
      assertEquals(big, got.remaining());
      List<RecordBatch> batches = RecordBatch.validateAll(got, MAX_BATCH);
      assertEquals(1, batches.size());
      assertEquals(0, batches.get(0).baseOffset());
      // The same from the second batch, and with maxBytes 0.
      List<RecordBatch> second = RecordBatch.validateAll(log.read(1, 0), MAX_BATCH);
      assertEquals(1, second.size());
      assertEquals(1, second.get(0).baseOffset());
    }
  }

  @Test
  void readStopsBeforeExceedingMaxBytes() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      int size = sizedBatch(100).get(0).sizeInBytes();
      for (int i = 0; i < 5; i++) {
        log.append(sizedBatch(100), 2);
      }
      assertEquals(5L * size, log.sizeInBytes());
      // Exactly two batches fit.
      assertEquals(2 * size, log.read(0, 2 * size).remaining());
      // One byte short of three batches: still two.
      assertEquals(2 * size, log.read(0, 3 * size - 1).remaining());
      // One byte short of two: only the first.
      assertEquals(size, log.read(0, 2 * size - 1).remaining());
      // From the middle, the limit counts from the batch holding the offset.
      List<RecordBatch> fromThree = RecordBatch.validateAll(log.read(3, 3 * size), MAX_BATCH);
      assertEquals(List.of(3L, 4L), fromThree.stream().map(RecordBatch::baseOffset).toList());
      // Never more than the log holds.
      assertEquals(5 * size, log.read(0, Integer.MAX_VALUE).remaining());
    }
  }

  @Test
  void readAtTheEndOffsetIsEmpty() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      log.append(batch("a", 4), 0);
      ByteBuffer got = log.read(4, 1_000_000);
      assertEquals(0, got.remaining());
    }
  }

  @Test
  void offsetsOutsideTheLogAreOutOfRangeWithTheRangeInTheMessage() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      log.append(batch("a", 4), 0);
      OffsetOutOfRangeException below = assertThrows(OffsetOutOfRangeException.class, () -> log.read(-1, 100));
      assertTrue(below.getMessage().contains("-1"), below.getMessage());
      assertTrue(below.getMessage().contains("0 to 4"), below.getMessage());
      OffsetOutOfRangeException above = assertThrows(OffsetOutOfRangeException.class, () -> log.read(5, 100));
      assertTrue(above.getMessage().contains("5"), above.getMessage());
      assertTrue(above.getMessage().contains("0 to 4"), above.getMessage());
      assertThrows(OffsetOutOfRangeException.class, () -> log.read(Long.MAX_VALUE, 100));
    }
  }

  @Test
  void offsetOnEmptyLogAboveZeroIsOutOfRange() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      OffsetOutOfRangeException e = assertThrows(OffsetOutOfRangeException.class, () -> log.read(1, 100));
      assertTrue(e.getMessage().contains("0 to 0"), e.getMessage());
    }
  }

  @Test
  void closeAndReopenKeepsEverything() throws IOException {
    byte[] before;
    long end;
    long size;
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      log.append(batch("a", 2), 3);
      log.append(batch("b", 5), 4);
      log.flush();
      log.append(batch("c", 1), 4);
      before = bytesOf(log.read(0, Integer.MAX_VALUE));
      end = log.endOffset();
      size = log.sizeInBytes();
    }
    assertEquals(8, end);
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      assertEquals(end, log.endOffset());
      assertEquals(size, log.sizeInBytes());
      assertArrayEquals(before, bytesOf(log.read(0, Integer.MAX_VALUE)));
      // Reads from the rebuilt index start at the right batch.
      assertEquals(2, RecordBatch.validateAll(log.read(6, Integer.MAX_VALUE), MAX_BATCH).get(0).baseOffset());
      assertEquals(7, RecordBatch.validateAll(log.read(7, Integer.MAX_VALUE), MAX_BATCH).get(0).baseOffset());
      assertEquals(8, log.append(batch("d", 2), 5));
      assertEquals(10, log.endOffset());
    }
  }

  @Test
  void manyBatchesSurviveIndexGrowthAndReopen() throws IOException {
    SplittableRandom random = new SplittableRandom(42);
    List<Long> baseOffsets = new ArrayList<>();
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      for (int i = 0; i < 300; i++) {
        int count = 1 + random.nextInt(4);
        baseOffsets.add(log.append(batch("b" + i, count), i % 5));
      }
    }
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      for (int i = 0; i < 200; i++) {
        long offset = random.nextLong(log.endOffset());
        RecordBatch first = RecordBatch.validateAll(log.read(offset, 1), MAX_BATCH).get(0);
        assertTrue(first.baseOffset() <= offset && offset <= first.lastOffset(), "offset " + offset);
        assertTrue(baseOffsets.contains(first.baseOffset()));
      }
      List<Record> all = recordsOf(log.read(0, Integer.MAX_VALUE));
      assertEquals(log.endOffset(), all.size());
      for (int i = 0; i < all.size(); i++) {
        assertEquals(i, all.get(i).offset());
      }
    }
  }

  /**
   * Writes batches a(3), b(2), c(4), stops without a clean close (so no recovery point vouches for
   * them and the next open checks them all), and returns the segment size before c.
   */
  private long threeBatchesOnDisk() throws IOException {
    PartitionLog log = PartitionLog.open(dir(), TOPIC);
    log.append(batch("a", 3), 1);
    log.append(batch("b", 2), 1);
    long beforeLast = log.sizeInBytes();
    log.append(batch("c", 4), 1);
    assertEquals(9, log.endOffset());
    log.closeUncleanly();
    return beforeLast;
  }

  private void assertRecoveredToTwoBatchesAndAppendContinues(long beforeLast) throws IOException {
    byte[] validPrefix;
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      assertEquals(5, log.endOffset());
      assertEquals(beforeLast, log.sizeInBytes());
      assertEquals(beforeLast, Files.size(segment()), "the torn tail is cut off the file");
      validPrefix = bytesOf(log.read(0, Integer.MAX_VALUE));
      assertEquals(5, recordsOf(log.read(0, Integer.MAX_VALUE)).size());
      assertThrows(OffsetOutOfRangeException.class, () -> log.read(6, 100));

      assertEquals(5, log.append(batch("d", 2), 2));
      assertEquals(7, log.endOffset());
    }
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      assertEquals(7, log.endOffset());
      List<Record> records = recordsOf(log.read(0, Integer.MAX_VALUE));
      assertEquals(7, records.size());
      for (int i = 0; i < 7; i++) {
        assertEquals(i, records.get(i).offset());
      }
      assertArrayEquals(utf8("b-1"), records.get(4).value());
      assertArrayEquals(utf8("d-0"), records.get(5).value());
      byte[] now = bytesOf(log.read(0, Integer.MAX_VALUE));
      for (int i = 0; i < validPrefix.length; i++) {
        assertEquals(validPrefix[i], now[i], "byte " + i + " of the surviving batches changed");
      }
      RecordBatch last = RecordBatch.validateAll(log.read(5, Integer.MAX_VALUE), MAX_BATCH).get(0);
      assertEquals(5, last.baseOffset());
      assertEquals(2, last.partitionLeaderEpoch());
    }
  }

  @Test
  void aTruncatedLastBatchIsDroppedOnReopen() throws IOException {
    long beforeLast = threeBatchesOnDisk();
    try (FileChannel ch = FileChannel.open(segment(), StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() - 3);
    }
    assertRecoveredToTwoBatchesAndAppendContinues(beforeLast);
  }

  @Test
  void aLastBatchCutInsideItsHeaderIsDroppedOnReopen() throws IOException {
    long beforeLast = threeBatchesOnDisk();
    try (FileChannel ch = FileChannel.open(segment(), StandardOpenOption.WRITE)) {
      ch.truncate(beforeLast + 7);
    }
    assertRecoveredToTwoBatchesAndAppendContinues(beforeLast);
  }

  @Test
  void garbageAfterTheLastBatchIsDroppedOnReopen() throws IOException {
    threeBatchesOnDisk();
    long valid = Files.size(segment());
    SplittableRandom random = new SplittableRandom(7);
    for (int garbageLength : new int[] {5, 40, 300}) {
      byte[] garbage = new byte[garbageLength];
      random.nextBytes(garbage);
      Files.write(segment(), garbage, StandardOpenOption.APPEND);
      try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
        assertEquals(9, log.endOffset(), "after " + garbageLength + " garbage bytes");
        assertEquals(valid, log.sizeInBytes());
      }
      assertEquals(valid, Files.size(segment()));
    }
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      assertEquals(9, log.append(batch("d", 1), 3));
      assertEquals(10, recordsOf(log.read(0, Integer.MAX_VALUE)).size());
    }
  }

  @Test
  void aGarbageHeaderClaimingAHugeBatchIsDroppedOnReopen() throws IOException {
    threeBatchesOnDisk();
    long valid = Files.size(segment());
    ByteBuffer fakeHeader = ByteBuffer.allocate(RecordBatch.HEADER_SIZE + 10);
    fakeHeader.putLong(9L).putInt(Integer.MAX_VALUE - 4);
    Files.write(segment(), fakeHeader.array(), StandardOpenOption.APPEND);
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      assertEquals(9, log.endOffset());
      assertEquals(valid, log.sizeInBytes());
    }
  }

  @Test
  void aFlippedByteInTheLastBatchDropsThatBatchOnReopen() throws IOException {
    long beforeLast = threeBatchesOnDisk();
    long end = Files.size(segment());
    // A byte of the last record's value (covered by the CRC).
    flipByte(segment(), end - 3);
    assertRecoveredToTwoBatchesAndAppendContinues(beforeLast);
  }

  @Test
  void aFlippedCrcOrMagicByteInTheLastBatchDropsThatBatch() throws IOException {
    long beforeLast = threeBatchesOnDisk();
    flipByte(segment(), beforeLast + 17); // first CRC byte
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      assertEquals(5, log.endOffset());
      assertEquals(beforeLast, log.sizeInBytes());
    }
    long beforeLast2 = beforeLast;
    // Rebuild the third batch, then break its magic byte.
    PartitionLog again = PartitionLog.open(dir(), TOPIC);
    again.append(batch("c", 4), 1);
    again.closeUncleanly();
    flipByte(segment(), beforeLast2 + 16);
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      assertEquals(5, log.endOffset());
      assertEquals(beforeLast2, Files.size(segment()));
    }
  }

  @Test
  void aBatchWithANonContiguousBaseOffsetEndsTheLog() throws IOException {
    long beforeLast = threeBatchesOnDisk();
    // Rewrite the third batch's base offset (outside the CRC) to skip ahead.
    try (FileChannel ch = FileChannel.open(segment(), StandardOpenOption.WRITE)) {
      ByteBuffer offset = ByteBuffer.allocate(8).putLong(0, 50L);
      ch.write(offset, beforeLast);
    }
    assertRecoveredToTwoBatchesAndAppendContinues(beforeLast);
  }

  @Test
  void aFullyCorruptSegmentRecoversToEmpty() throws IOException {
    threeBatchesOnDisk();
    flipByte(segment(), 30); // inside the first batch, covered by its CRC
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      assertEquals(0, log.endOffset());
      assertEquals(0, log.sizeInBytes());
      assertEquals(0, log.append(batch("z", 2), 9));
      assertEquals(2, log.endOffset());
    }
  }

  @Test
  void reopeningWithTheSameTopicIdKeepsDataButAnotherIdWipesIt() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      log.append(batch("a", 3), 1);
    }
    Files.writeString(dir().resolve("leftover.index"), "old");
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC)) {
      assertEquals(3, log.endOffset());
    }
    assertTrue(Files.exists(dir().resolve("leftover.index")));

    UUID other = new UUID(1, 2);
    try (PartitionLog log = PartitionLog.open(dir(), other)) {
      assertEquals(0, log.endOffset());
      assertEquals(0, log.sizeInBytes());
      assertEquals(0, log.read(0, 100).remaining());
      assertFalse(Files.exists(dir().resolve("leftover.index")), "old topic's files are deleted");
      String meta = Files.readString(dir().resolve(PartitionLog.PARTITION_METADATA));
      assertTrue(meta.contains(other.toString()), meta);
      assertFalse(meta.contains(TOPIC.toString()), meta);
      log.append(batch("new", 1), 1);
    }
    // The new id stuck: reopening with it keeps the new data.
    try (PartitionLog log = PartitionLog.open(dir(), other)) {
      assertEquals(1, log.endOffset());
      assertArrayEquals(utf8("new-0"), recordsOf(log.read(0, 1000)).get(0).value());
    }
  }

  @Test
  void anUnreadablePartitionMetadataFileFailsToOpen() throws IOException {
    Files.createDirectories(dir());
    Files.writeString(dir().resolve(PartitionLog.PARTITION_METADATA), "version: 0\ntopic_id: nonsense\n");
    assertThrows(IOException.class, () -> PartitionLog.open(dir(), TOPIC));
  }

  @Test
  void deleteRemovesTheDirectory() throws IOException {
    PartitionLog log = PartitionLog.open(dir(), TOPIC);
    log.append(batch("a", 2), 0);
    log.delete();
    assertFalse(Files.exists(dir()));
    assertTrue(Files.exists(tmp), "only the partition directory goes");
    // A later open starts afresh.
    try (PartitionLog again = PartitionLog.open(dir(), TOPIC)) {
      assertEquals(0, again.endOffset());
    }
  }
}
