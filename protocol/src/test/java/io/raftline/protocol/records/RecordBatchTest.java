package io.raftline.protocol.records;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.raftline.protocol.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class RecordBatchTest {

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static ByteBuffer threeRecordBatch() {
    RecordBatchBuilder b = new RecordBatchBuilder();
    b.append(1_000L, null, utf8("a"), List.of());
    b.append(1_005L, utf8("k"), utf8("bb"), List.of(new Header("h", utf8("v"))));
    b.append(999L, utf8("k2"), null, List.of());
    return b.build();
  }

  @Test
  void roundTripsRecordsWithKeysHeadersAndTombstones() {
    ByteBuffer bytes = threeRecordBatch();
    List<RecordBatch> batches = RecordBatch.validateAll(bytes, 1 << 20);
    assertEquals(1, batches.size());
    RecordBatch batch = batches.get(0);
    batch.setBaseOffset(40);
    assertEquals(3, batch.recordCount());
    assertEquals(42, batch.lastOffset());
    assertEquals(1_005L, batch.maxTimestamp());
    List<Record> records = batch.records();
    assertEquals(40, records.get(0).offset());
    assertNull(records.get(0).key());
    assertArrayEquals(utf8("a"), records.get(0).value());
    assertEquals(1_005L, records.get(1).timestamp());
    assertEquals(List.of(new Header("h", utf8("v"))), records.get(1).headers());
    assertEquals(999L, records.get(2).timestamp());
    assertNull(records.get(2).value());
  }

  @Test
  void stampingOffsetAndEpochKeepsTheChecksumValid() {
    ByteBuffer bytes = threeRecordBatch();
    RecordBatch batch = RecordBatch.validateAll(bytes, 1 << 20).get(0);
    batch.setBaseOffset(123_456_789L);
    batch.setPartitionLeaderEpoch(7);
    RecordBatch again = RecordBatch.validateAll(bytes, 1 << 20).get(0);
    assertEquals(123_456_789L, again.baseOffset());
    assertEquals(7, again.partitionLeaderEpoch());
  }

  @Test
  void aFlippedByteIsCorruptMessage() {
    ByteBuffer bytes = threeRecordBatch();
    int pos = bytes.limit() - 2;
    bytes.put(pos, (byte) (bytes.get(pos) ^ 0x01));
    InvalidRecordBatchException e =
        assertThrows(InvalidRecordBatchException.class, () -> RecordBatch.validateAll(bytes, 1 << 20));
    assertEquals(ErrorCode.CORRUPT_MESSAGE, e.errorCode());
  }

  @Test
  void aTruncatedBatchIsCorruptMessage() {
    ByteBuffer bytes = threeRecordBatch();
    ByteBuffer truncated = bytes.slice(0, bytes.limit() - 1);
    assertEquals(ErrorCode.CORRUPT_MESSAGE,
        assertThrows(InvalidRecordBatchException.class, () -> RecordBatch.validateAll(truncated, 1 << 20)).errorCode());
    assertEquals(ErrorCode.CORRUPT_MESSAGE,
        assertThrows(InvalidRecordBatchException.class, () -> RecordBatch.validateAll(ByteBuffer.allocate(0), 100))
            .errorCode());
  }

  @Test
  void aBatchOverTheLimitIsRecordTooLarge() {
    ByteBuffer bytes = threeRecordBatch();
    assertEquals(ErrorCode.RECORD_TOO_LARGE,
        assertThrows(InvalidRecordBatchException.class, () -> RecordBatch.validateAll(bytes, bytes.limit() - 1))
            .errorCode());
  }

  @Test
  void parseReadsBackToBackBatchesAndIgnoresAPartialTail() {
    ByteBuffer a = threeRecordBatch();
    ByteBuffer b = threeRecordBatch();
    ByteBuffer both = ByteBuffer.allocate(a.limit() + b.limit() - 5);
    both.put(a.duplicate()).put(b.duplicate().limit(b.limit() - 5)).flip();
    assertEquals(1, RecordBatch.parse(both).size());
    assertEquals(2, RecordBatch.validateAll(ByteBuffer.allocate(a.limit() * 2).put(a).put(b).flip(), 1 << 20).size());
  }

  @Test
  void varintsRoundTripAtTheEdges() {
    long[] values = {0, 1, -1, 63, -64, 64, Integer.MAX_VALUE, Integer.MIN_VALUE, Long.MAX_VALUE, Long.MIN_VALUE};
    for (long v : values) {
      ByteBuffer buf = ByteBuffer.allocate(10);
      Varints.writeVarlong(v, buf);
      assertEquals(Varints.sizeOfVarlong(v), buf.position(), "size of " + v);
      buf.flip();
      assertEquals(v, Varints.readVarlong(buf));
    }
  }
}
