package io.raftline.broker.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.protocol.records.CompressionType;
import io.raftline.protocol.records.Header;
import io.raftline.protocol.records.Record;
import io.raftline.protocol.records.RecordBatch;
import io.raftline.protocol.records.RecordBatchBuilder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Compaction of compressed batches: records are read decompressed, a batch that loses records is
 * written back compressed with its own codec, a batch that keeps all its records is kept byte for
 * byte, and offsets, timestamps and headers survive.
 */
class CompressedCompactionTest {
  private static final int MAX_BATCH = 1 << 20;
  private static final UUID TOPIC = new UUID(5, 6);
  /** Makes every value compressible, so a rewritten batch that was not compressed again would show. */
  private static final String PADDING = "|" + "padding ".repeat(40);

  @TempDir
  Path tmp;

  private Path dir() {
    return tmp.resolve("state-0");
  }

  private static byte[] utf8(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }

  private static String str(byte[] b) {
    if (b == null) {
      return null;
    }
    String s = new String(b, StandardCharsets.UTF_8);
    return s.endsWith(PADDING) ? s.substring(0, s.length() - PADDING.length()) : s;
  }

  /** One batch with {@code codec} of key=value pairs ("k=" a tombstone, "=v" no key), all at {@code ts}. */
  private static List<RecordBatch> batch(CompressionType codec, long ts, String... pairs) {
    RecordBatchBuilder b = new RecordBatchBuilder(codec);
    for (String pair : pairs) {
      int eq = pair.indexOf('=');
      String key = eq == 0 ? null : pair.substring(0, eq);
      String value = eq == pair.length() - 1 ? null : pair.substring(eq + 1) + PADDING;
      b.append(ts, utf8(key), utf8(value), List.of(new Header("h", utf8(pair)), new Header("n", null)));
    }
    List<RecordBatch> batches = RecordBatch.validateAll(b.build(), MAX_BATCH);
    assertEquals(codec, batches.get(0).compressionType());
    return batches;
  }

  private static List<RecordBatch> batches(PartitionLog log) throws IOException {
    return RecordBatch.validateAll(log.read(log.startOffset(), Integer.MAX_VALUE), MAX_BATCH);
  }

  private static List<Record> records(PartitionLog log) throws IOException {
    List<Record> out = new ArrayList<>();
    batches(log).forEach(b -> out.addAll(b.records()));
    return out;
  }

  /** "offset:key=value@timestamp" for each record, checking each record's header still names it. */
  private static List<String> describe(List<Record> records) {
    List<String> out = new ArrayList<>();
    for (Record r : records) {
      String pair = (r.key() == null ? "" : str(r.key())) + "=" + (r.value() == null ? "" : str(r.value()));
      assertEquals(List.of(new Header("h", utf8(pair)), new Header("n", null)), r.headers(), "headers of " + pair);
      out.add(r.offset() + ":" + str(r.key()) + "=" + str(r.value()) + "@" + r.timestamp());
    }
    return out;
  }

  @ParameterizedTest
  @EnumSource(CompressionType.class)
  void compressedBatchesCompactAndKeepTheirCodec(CompressionType codec) throws IOException {
    // Every append rolls a segment, so each batch has its own; the last one is the active segment.
    LogConfig config = LogConfig.DEFAULT.withSegmentBytes(1).withIndexIntervalBytes(1);
    List<String> expected = List.of("4:null=free@100", "5:b=2@200", "7:d=2@200", "8:e=1@300", "9:f=1@300",
        "10:a=3@400", "11:c=null@400", "12:g=1@400", "13:null=tail@500");
    RecordBatch untouched;
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, config)) {
      log.append(batch(codec, 100, "a=1", "b=1", "a=2", "c=1", "=free"), 3); // 0..4
      log.append(batch(codec, 200, "b=2", "d=1", "d=2"), 3); // 5..7
      List<RecordBatch> third = batch(codec, 300, "e=1", "f=1"); // 8..9, all survive
      log.append(third, 3);
      untouched = third.get(0);
      log.append(batch(codec, 400, "a=3", "c=", "g=1"), 3); // 10..12
      log.append(batch(codec, 500, "=tail"), 3); // 13, active
      long sizeBefore = log.sizeInBytes();

      PartitionLog.CompactionResult result = log.compact(1_000, 1_000_000);
      assertEquals(5, result.recordsRemoved());
      assertTrue(log.sizeInBytes() < sizeBefore);
      assertEquals(14, log.endOffset());
      assertEquals(expected, describe(records(log)));

      List<RecordBatch> after = batches(log);
      assertEquals(5, after.size());
      for (RecordBatch b : after) {
        assertEquals(codec, b.compressionType(), "batch at " + b.baseOffset());
        assertEquals(3, b.partitionLeaderEpoch());
      }
      // Rewritten batches: the same base offset and range, fewer records, compressed again.
      RecordBatch first = after.get(0);
      assertEquals(0, first.baseOffset());
      assertEquals(4, first.lastOffset());
      assertEquals(1, first.recordCount());
      RecordBatch second = after.get(1);
      assertEquals(5, second.baseOffset());
      assertEquals(7, second.lastOffset());
      assertEquals(2, second.recordCount());
      if (codec != CompressionType.NONE) {
        assertTrue(second.sizeInBytes() < second.decompressed().sizeInBytes() / 2,
            "rewritten " + codec + " batch of " + second.sizeInBytes() + " bytes is not compressed");
      }
      // A batch that kept all its records is the same bytes.
      assertEquals(untouched.buffer(), after.get(2).buffer());

      // A second pass finds nothing more to remove and keeps the records.
      assertEquals(0, log.compact(1_000, 1_000_000).recordsRemoved());
      assertEquals(expected, describe(records(log)));
      log.closeUncleanly();
    }
    // An unclean restart CRC-checks every batch, rewritten compressed ones included.
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, config)) {
      assertTrue(log.crcCheckedBatchesOnOpen() > 0);
      assertEquals(14, log.endOffset());
      assertEquals(expected, describe(records(log)));
    }
  }

  @Test
  void aLogOfMixedCodecsCompactsEachBatchWithItsOwnCodec() throws IOException {
    LogConfig config = LogConfig.DEFAULT.withSegmentBytes(1);
    CompressionType[] codecs = CompressionType.values();
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, config)) {
      for (int i = 0; i < codecs.length; i++) {
        // Each batch overwrites the key "k" and adds its own key, which survives.
        log.append(batch(codecs[i], 10L * i, "k=" + i, "own" + i + "=" + i), 1);
      }
      log.append(batch(CompressionType.NONE, 100, "=active"), 1);
      PartitionLog.CompactionResult result = log.compact(1_000, -1);
      assertEquals(codecs.length - 1, result.recordsRemoved());
      List<RecordBatch> after = batches(log);
      for (int i = 0; i < codecs.length; i++) {
        assertEquals(codecs[i], after.get(i).compressionType());
      }
      List<String> left = describe(records(log));
      assertEquals("1:own0=0@0", left.get(0));
      assertEquals("8:k=4@40", left.get(left.size() - 3));
      assertEquals("9:own4=4@40", left.get(left.size() - 2));
      assertEquals(codecs.length + 2, left.size());
    }
  }

  @Test
  void compactedSizesPerCodec() throws IOException {
    long[] after = new long[CompressionType.values().length];
    for (CompressionType codec : CompressionType.values()) {
      Path dir = tmp.resolve("sizes-" + codec.configName());
      try (PartitionLog log = PartitionLog.open(dir, TOPIC, LogConfig.DEFAULT.withSegmentBytes(1))) {
        for (int batch = 0; batch < 10; batch++) {
          String[] pairs = new String[100];
          for (int i = 0; i < pairs.length; i++) {
            pairs[i] = "key-" + (i % 40) + "=value-" + batch + "-" + i;
          }
          log.append(batch(codec, 1_000L + batch, pairs), 1);
        }
        log.append(batch(codec, 2_000L, "=active"), 1); // so the last keyed batch is compacted too
        long before = log.sizeInBytes();
        PartitionLog.CompactionResult result = log.compact(10_000, -1);
        after[codec.ordinal()] = log.sizeInBytes();
        System.out.printf("compaction %-6s: %d bytes -> %d bytes, %d records removed%n", codec.configName(), before,
            log.sizeInBytes(), result.recordsRemoved());
        assertEquals(9 * 100 + 60, result.recordsRemoved());
        ByteBuffer left = log.read(log.startOffset(), Integer.MAX_VALUE);
        assertEquals(40 + 1, RecordBatch.validateAll(left, MAX_BATCH).stream().mapToInt(RecordBatch::recordCount).sum());
      }
    }
    for (CompressionType codec : CompressionType.values()) {
      if (codec != CompressionType.NONE) {
        assertTrue(after[codec.ordinal()] * 3 < after[CompressionType.NONE.ordinal()], codec + " after compaction");
      }
    }
  }
}
