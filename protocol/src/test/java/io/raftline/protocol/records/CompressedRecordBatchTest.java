package io.raftline.protocol.records;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.protocol.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class CompressedRecordBatchTest {
  private static final int MAX = 64 << 20;

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Appends a varied set of records to {@code b} and returns what reading them back must give. */
  private static List<Record> fill(RecordBatchBuilder b, long baseOffset) {
    List<Record> expected = new ArrayList<>();
    Random random = new Random(42);
    for (int i = 0; i < 200; i++) {
      long ts = 1_700_000_000_000L + (i % 7 == 0 ? -i : i * 3L);
      byte[] key = i % 5 == 0 ? null : utf8("key-" + (i % 17));
      byte[] value;
      if (i % 9 == 0) {
        value = null;
      } else if (i % 4 == 0) {
        value = new byte[random.nextInt(300)];
        random.nextBytes(value);
      } else {
        value = utf8("value " + i + " " + "x".repeat(i));
      }
      List<Header> headers = i % 3 == 0
          ? List.of(new Header("trace", utf8("t" + i)), new Header("empty", null), new Header("z", new byte[0]))
          : List.of();
      b.append(ts, key, value, headers);
      expected.add(new Record(baseOffset + i, ts, key, value, headers));
    }
    return expected;
  }

  @ParameterizedTest
  @EnumSource(CompressionType.class)
  void roundTripsEveryCodec(CompressionType type) {
    RecordBatchBuilder b = new RecordBatchBuilder(type).producer(77L, (short) 3, 1000);
    List<Record> expected = fill(b, 500);
    ByteBuffer bytes = b.build();
    assertEquals(0, bytes.position());

    List<RecordBatch> batches = RecordBatch.validateAll(bytes, MAX);
    assertEquals(1, batches.size());
    RecordBatch batch = batches.get(0);
    assertEquals(type, batch.compressionType());
    assertEquals(type.id(), batch.attributes() & 0x07);
    assertEquals(bytes.remaining(), batch.sizeInBytes());
    batch.setBaseOffset(500);
    batch.setPartitionLeaderEpoch(9);
    assertEquals(200, batch.recordCount());
    assertEquals(699, batch.lastOffset());
    assertEquals(77L, batch.producerId());
    assertEquals(3, batch.producerEpoch());
    assertEquals(1000, batch.baseSequence());
    assertEquals(expected, batch.records());

    RecordBatch plain = batch.decompressed();
    if (type == CompressionType.NONE) {
      assertSame(batch, plain);
    } else {
      assertNotSame(batch, plain);
    }
    assertEquals(CompressionType.NONE, plain.compressionType());
    plain.checkIntegrity();
    assertEquals(500, plain.baseOffset());
    assertEquals(9, plain.partitionLeaderEpoch());
    assertEquals(expected, plain.records());
    assertEquals(batch.uncompressedRecords(), plain.uncompressedRecords());
    // The same records uncompressed give the same records section.
    RecordBatchBuilder none = new RecordBatchBuilder().producer(77L, (short) 3, 1000);
    fill(none, 0);
    ByteBuffer noneBytes = none.build();
    assertEquals(RecordBatch.parse(noneBytes).get(0).uncompressedRecords(), batch.uncompressedRecords());
    assertEquals(noneBytes.remaining(), plain.sizeInBytes());
  }

  @ParameterizedTest
  @EnumSource(CompressionType.class)
  void compressedBatchesLieBackToBackWithOthers(CompressionType type) {
    RecordBatchBuilder a = new RecordBatchBuilder(type);
    a.append(1L, utf8("a"), utf8("1"), List.of());
    RecordBatchBuilder b = new RecordBatchBuilder(CompressionType.GZIP);
    b.append(2L, null, null, List.of());
    ByteBuffer first = a.build();
    ByteBuffer second = b.build();
    ByteBuffer both = ByteBuffer.allocate(first.remaining() + second.remaining()).put(first).put(second).flip();
    List<RecordBatch> batches = RecordBatch.validateAll(both, MAX);
    assertEquals(2, batches.size());
    assertEquals(List.of(new Record(0, 1L, utf8("a"), utf8("1"), List.of())), batches.get(0).records());
    assertEquals(List.of(new Record(0, 2L, null, null, List.of())), batches.get(1).records());
    assertEquals(2, RecordBatch.parse(both).size());
  }

  @ParameterizedTest
  @EnumSource(value = CompressionType.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
  void aFlippedCompressedByteFailsTheCrc(CompressionType type) {
    RecordBatchBuilder b = new RecordBatchBuilder(type);
    fill(b, 0);
    ByteBuffer bytes = b.build();
    for (int pos : new int[] {RecordBatch.HEADER_SIZE, RecordBatch.HEADER_SIZE + 5, bytes.limit() / 2,
        bytes.limit() - 1}) {
      ByteBuffer copy = copy(bytes);
      copy.put(pos, (byte) (copy.get(pos) ^ 0x10));
      InvalidRecordBatchException e =
          assertThrows(InvalidRecordBatchException.class, () -> RecordBatch.validateAll(copy, MAX));
      assertEquals(ErrorCode.CORRUPT_MESSAGE, e.errorCode(), e.getMessage());
      assertTrue(e.getMessage().contains("CRC"), e.getMessage());
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {5, 6, 7})
  void anUnknownCodecIsUnsupportedCompressionType(int codec) {
    RecordBatchBuilder b = new RecordBatchBuilder(CompressionType.GZIP);
    fill(b, 0);
    ByteBuffer bytes = b.build();
    short attributes = bytes.getShort(RecordBatch.ATTRIBUTES);
    bytes.putShort(RecordBatch.ATTRIBUTES, (short) ((attributes & ~0x07) | codec));
    reseal(bytes);
    InvalidRecordBatchException e =
        assertThrows(InvalidRecordBatchException.class, () -> RecordBatch.validateAll(bytes, MAX));
    assertEquals(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, e.errorCode());
    assertTrue(e.getMessage().contains("codec id " + codec), e.getMessage());
    RecordBatch parsed = RecordBatch.parse(bytes).get(0);
    assertEquals(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
        assertThrows(InvalidRecordBatchException.class, parsed::records).errorCode());
    assertEquals(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
        assertThrows(InvalidRecordBatchException.class, parsed::compressionType).errorCode());
  }

  @ParameterizedTest
  @EnumSource(value = CompressionType.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
  void aCorruptCompressedPayloadWithAValidCrcIsCorruptMessage(CompressionType type) {
    RecordBatchBuilder b = new RecordBatchBuilder(type);
    fill(b, 0);
    ByteBuffer good = b.build();

    // Garbage where the compressed stream should be.
    ByteBuffer garbage = copy(good);
    Random random = new Random(7);
    for (int i = RecordBatch.HEADER_SIZE; i < garbage.limit(); i++) {
      garbage.put(i, (byte) random.nextInt());
    }
    reseal(garbage);
    assertCorruptOnRead(garbage);

    // The stream cut in half (header length and CRC fixed up, so only the codec can tell).
    int half = RecordBatch.HEADER_SIZE + (good.limit() - RecordBatch.HEADER_SIZE) / 2;
    ByteBuffer cut = copy(good).limit(half).slice();
    cut.putInt(RecordBatch.LENGTH, half - RecordBatch.LOG_OVERHEAD);
    reseal(cut);
    assertCorruptOnRead(cut);
  }

  private static void assertCorruptOnRead(ByteBuffer bytes) {
    RecordBatch batch = RecordBatch.validateAll(bytes, MAX).get(0); // the CRC is fine: nothing decompressed
    InvalidRecordBatchException e = assertThrows(InvalidRecordBatchException.class, batch::records);
    assertEquals(ErrorCode.CORRUPT_MESSAGE, e.errorCode(), e.getMessage());
    assertEquals(ErrorCode.CORRUPT_MESSAGE,
        assertThrows(InvalidRecordBatchException.class, batch::decompressed).errorCode());
  }

  @ParameterizedTest
  @EnumSource(value = CompressionType.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
  void aHighlyCompressibleBatchShrinks(CompressionType type) {
    RecordBatchBuilder plain = new RecordBatchBuilder();
    RecordBatchBuilder compressed = new RecordBatchBuilder(type);
    for (int i = 0; i < 1000; i++) {
      byte[] value = utf8("{\"user\":\"user-" + (i % 10) + "\",\"event\":\"page_view\",\"path\":\"/products/"
          + (i % 25) + "\",\"padding\":\"" + "a".repeat(100) + "\"}");
      plain.append(1_700_000_000_000L + i, utf8("user-" + (i % 10)), value, List.of());
      compressed.append(1_700_000_000_000L + i, utf8("user-" + (i % 10)), value, List.of());
    }
    int plainSize = plain.build().remaining();
    ByteBuffer bytes = compressed.build();
    int size = bytes.remaining();
    assertEquals(plainSize, compressed.sizeInBytes());
    System.out.printf("compression %-6s: %d bytes -> %d bytes (%.1f%%)%n", type.configName(), plainSize, size,
        100.0 * size / plainSize);
    assertTrue(size * 5 < plainSize, type + ": " + plainSize + " -> " + size + " bytes");
    assertEquals(1000, RecordBatch.validateAll(bytes, MAX).get(0).records().size());
  }

  @Test
  void eachCodecUsesKafkasFraming() {
    assertMagic(CompressionType.GZIP, 0x1f, 0x8b);
    assertMagic(CompressionType.SNAPPY, 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0);
    assertMagic(CompressionType.LZ4, 0x04, 0x22, 0x4d, 0x18);
    assertMagic(CompressionType.ZSTD, 0x28, 0xb5, 0x2f, 0xfd);
  }

  private static void assertMagic(CompressionType type, int... magic) {
    RecordBatchBuilder b = new RecordBatchBuilder(type);
    b.append(1L, utf8("k"), utf8("v"), List.of());
    ByteBuffer bytes = b.build();
    for (int i = 0; i < magic.length; i++) {
      assertEquals((byte) magic[i], bytes.get(RecordBatch.HEADER_SIZE + i), type + " byte " + i);
    }
  }

  @Test
  void compressionTypesHaveKafkasIdsAndNames() {
    assertEquals(List.of(0, 1, 2, 3, 4),
        List.of(CompressionType.values()).stream().map(CompressionType::id).toList());
    for (CompressionType t : CompressionType.values()) {
      assertSame(t, CompressionType.forName(t.configName()));
      assertSame(t, CompressionType.forId(t.id()));
    }
    assertSame(CompressionType.ZSTD, CompressionType.forName(" ZSTD "));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> CompressionType.forName("brotli"));
    assertTrue(e.getMessage().contains("brotli") && e.getMessage().contains("none, gzip, snappy, lz4, zstd"),
        e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> CompressionType.forName("producer"));
    assertEquals(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
        assertThrows(InvalidRecordBatchException.class, () -> CompressionType.forId(5)).errorCode());
  }

  @ParameterizedTest
  @EnumSource(CompressionType.class)
  void codecsRoundTripReadOnlyAndEmptyBuffers(CompressionType type) {
    byte[] data = utf8("hello hello hello hello");
    ByteBuffer compressed = type.compress(ByteBuffer.wrap(data).asReadOnlyBuffer());
    assertArrayEquals(data, toArray(type.decompress(compressed.asReadOnlyBuffer())));
    assertEquals(0, type.decompress(type.compress(ByteBuffer.allocate(0))).remaining());
    ByteBuffer direct = ByteBuffer.allocateDirect(data.length).put(data).flip();
    assertArrayEquals(data, toArray(type.decompress(type.compress(direct))));
  }

  private static byte[] toArray(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }

  private static ByteBuffer copy(ByteBuffer b) {
    return ByteBuffer.allocate(b.remaining()).put(b.duplicate()).flip();
  }

  private static void reseal(ByteBuffer bytes) {
    RecordBatch batch = RecordBatch.parse(bytes).get(0);
    bytes.putInt(RecordBatch.CRC, (int) batch.computeChecksum());
  }
}
