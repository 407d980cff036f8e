package io.raftline.quorum.log;

import static io.raftline.quorum.log.LogTestSupport.appendBytes;
import static io.raftline.quorum.log.LogTestSupport.entries;
import static io.raftline.quorum.log.LogTestSupport.flipByte;
import static io.raftline.quorum.log.LogTestSupport.segment;
import static io.raftline.quorum.log.LogTestSupport.truncateFile;
import static io.raftline.quorum.log.LogTestSupport.writeAt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.quorum.raft.LogEntry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Crash recovery: torn tails are cut, real corruption is reported, interrupted truncations are finished. */
class MetadataLogRecoveryTest {

  @TempDir Path tmp;
  private Path dir;
  private Path seg0;
  /** Byte positions where batches 0, 1, 2 start, and the file size after batch 2. */
  private final long[] boundaries = new long[4];
  private final List<LogEntry> all = new ArrayList<>();

  /** Writes three batches [0,3) [3,6) [6,9) to a single segment and records their positions. */
  @BeforeEach
  void threeBatches() throws IOException {
    dir = tmp.resolve("__cluster_metadata-0");
    seg0 = segment(dir, 0);
    try (MetadataLog log = MetadataLog.open(dir, MetadataLogConfig.defaults())) {
      for (int b = 0; b < 3; b++) {
        List<LogEntry> batch = entries(b * 3L, 3, b + 1);
        log.append(batch);
        all.addAll(batch);
        log.flush();
        boundaries[b + 1] = Files.size(seg0);
      }
    }
  }

  private void assertEndsAfterTwoBatches() throws IOException {
    try (MetadataLog log = MetadataLog.open(dir, MetadataLogConfig.defaults())) {
      assertEquals(6, log.endOffset());
      assertEquals(6, log.durableEndOffset());
      assertEquals(2, log.lastEpoch());
      assertEquals(all.subList(0, 6), log.readAll());
      assertEquals(boundaries[2], Files.size(seg0), "torn bytes removed from the file");
      // The repaired log takes appends and survives another reopen.
      log.append(entries(6, 2, 9));
    }
    try (MetadataLog log = MetadataLog.open(dir, MetadataLogConfig.defaults())) {
      List<LogEntry> expected = new ArrayList<>(all.subList(0, 6));
      expected.addAll(entries(6, 2, 9));
      assertEquals(expected, log.readAll());
    }
  }

  @Test
  void cleanReopenKeepsEverything() throws IOException {
    try (MetadataLog log = MetadataLog.open(dir, MetadataLogConfig.defaults())) {
      assertEquals(all, log.readAll());
    }
  }

  @Test
  void tornTailShortenedFileIsTruncatedToLastWholeBatch() throws IOException {
    truncateFile(seg0, boundaries[3] - 3);
    assertEndsAfterTwoBatches();
  }

  @Test
  void tornTailOfOnlyAFewHeaderBytesIsTruncated() throws IOException {
    truncateFile(seg0, boundaries[2] + 2); // not even a whole length field
    assertEndsAfterTwoBatches();
  }

  @Test
  void flippedByteInLastBatchIsATornTail() throws IOException {
    flipByte(seg0, boundaries[3] - 5);
    assertEndsAfterTwoBatches();
  }

  @Test
  void flippedLengthOfLastBatchIsATornTail() throws IOException {
    flipByte(seg0, boundaries[2]); // high byte of the length: now negative
    assertEndsAfterTwoBatches();
  }

  @Test
  void zeroedTailIsATornTail() throws IOException {
    // What a crash often leaves: the file was extended but the last pages never reached the disk.
    writeAt(seg0, boundaries[2], new byte[(int) (boundaries[3] - boundaries[2])]);
    assertEndsAfterTwoBatches();
  }

  @Test
  void garbageAfterTheLastBatchIsDropped() throws IOException {
    byte[] garbage = new byte[100];
    new Random(7).nextBytes(garbage);
    appendBytes(seg0, garbage);
    appendBytes(seg0, new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF});
    try (MetadataLog log = MetadataLog.open(dir, MetadataLogConfig.defaults())) {
      assertEquals(9, log.endOffset());
      assertEquals(all, log.readAll());
      assertEquals(boundaries[3], Files.size(seg0));
    }
  }

  @Test
  void tornTailIsLoggedAsAWarningNamingFileAndPosition() throws IOException {
    List<LogRecord> records = new ArrayList<>();
    Handler handler = new Handler() {
      @Override public void publish(LogRecord r) { records.add(r); }
      @Override public void flush() {}
      @Override public void close() {}
    };
    Logger logger = Logger.getLogger(MetadataLog.class.getName());
    logger.addHandler(handler);
    try {
      truncateFile(seg0, boundaries[3] - 1);
      MetadataLog.open(dir, MetadataLogConfig.defaults()).close();
    } finally {
      logger.removeHandler(handler);
    }
    assertTrue(records.stream().anyMatch(r -> r.getLevel() == Level.WARNING
        && r.getMessage().contains(seg0.toString())
        && r.getMessage().contains("byte position " + boundaries[2])), "warning not logged: " + records);
  }

  @Test
  void corruptionInTheFirstOfThreeBatchesIsReported() throws IOException {
    flipByte(seg0, boundaries[0] + BatchFormat.HEADER_SIZE + 10);
    CorruptLogException e = assertThrows(CorruptLogException.class,
        () -> MetadataLog.open(dir, MetadataLogConfig.defaults()));
    assertTrue(e.getMessage().contains("00000000000000000000.log"), e.getMessage());
    assertTrue(e.getMessage().contains("byte position 0"), e.getMessage());
    assertTrue(e.getMessage().contains("offset 0"), e.getMessage());
    assertEquals(seg0, e.file());
    assertEquals(0, e.position());
    assertEquals(0, e.offset());
    assertEquals(boundaries[3], Files.size(seg0), "nothing was truncated");
  }

  @Test
  void corruptionInTheMiddleBatchIsReported() throws IOException {
    flipByte(seg0, boundaries[1] + 12);
    CorruptLogException e = assertThrows(CorruptLogException.class,
        () -> MetadataLog.open(dir, MetadataLogConfig.defaults()));
    assertEquals(boundaries[1], e.position());
    assertEquals(3, e.offset());
    assertTrue(e.getMessage().contains("byte position " + boundaries[1]), e.getMessage());
  }

  @Test
  void damagedLengthFieldMidFileIsNotMistakenForATornTail() throws IOException {
    // The length now claims the batch runs past the end of the file, as a torn write would; but a valid
    // batch follows, so dropping the tail would silently lose data.
    writeAt(seg0, boundaries[1], ByteBuffer.allocate(4).putInt(0, 1 << 30).array());
    CorruptLogException e = assertThrows(CorruptLogException.class,
        () -> MetadataLog.open(dir, MetadataLogConfig.defaults()));
    assertEquals(boundaries[1], e.position());
    assertTrue(e.getMessage().contains("valid batch at byte position " + boundaries[2]), e.getMessage());
  }

  @Test
  void damageInANonLastSegmentIsCorruptionEvenAtItsEnd() throws IOException {
    Path d = tmp.resolve("rolled");
    MetadataLogConfig config = new MetadataLogConfig(150);
    try (MetadataLog log = MetadataLog.open(d, config)) {
      for (int b = 0; b < 4; b++) log.append(entries(b * 3L, 3, 1));
      assertTrue(log.segmentBaseOffsets().size() >= 3);
    }
    Path first = segment(d, 0);
    flipByte(first, Files.size(first) - 1);
    CorruptLogException e = assertThrows(CorruptLogException.class, () -> MetadataLog.open(d, config));
    assertEquals(first, e.file());
    assertTrue(e.getMessage().contains("not the last"), e.getMessage());
  }

  @Test
  void missingMiddleSegmentIsAGap() throws IOException {
    Path d = tmp.resolve("gap");
    MetadataLogConfig config = new MetadataLogConfig(150);
    List<Long> bases;
    try (MetadataLog log = MetadataLog.open(d, config)) {
      for (int b = 0; b < 4; b++) log.append(entries(b * 3L, 3, 1));
      bases = log.segmentBaseOffsets();
    }
    Files.delete(segment(d, bases.get(1)));
    CorruptLogException e = assertThrows(CorruptLogException.class, () -> MetadataLog.open(d, config));
    assertEquals(segment(d, bases.get(2)), e.file());
    assertEquals(bases.get(1), e.offset());
  }

  @Test
  void tornTailInTheLastOfSeveralSegmentsIsTruncated() throws IOException {
    Path d = tmp.resolve("rolled-torn");
    MetadataLogConfig config = new MetadataLogConfig(150);
    List<Long> bases;
    try (MetadataLog log = MetadataLog.open(d, config)) {
      for (int b = 0; b < 4; b++) log.append(entries(b * 3L, 3, 1));
      bases = log.segmentBaseOffsets();
    }
    long lastBase = bases.get(bases.size() - 1);
    Path last = segment(d, lastBase);
    truncateFile(last, Files.size(last) - 4);
    try (MetadataLog log = MetadataLog.open(d, config)) {
      assertEquals(lastBase, log.endOffset());
      assertEquals(0, Files.size(last), "an empty last segment is fine");
      log.append(entries(lastBase, 1, 1));
    }
    try (MetadataLog log = MetadataLog.open(d, config)) {
      assertEquals(lastBase + 1, log.endOffset());
    }
  }

  @Test
  void interruptedInBatchTruncationIsCompletedOnOpen() throws IOException {
    // Simulate a crash right after the intent became durable, before the segment was touched.
    ByteBuffer batch = ByteBuffer.wrap(Arrays.copyOfRange(Files.readAllBytes(seg0), (int) boundaries[1],
        (int) boundaries[2]));
    BatchFormat.Prefix prefix = BatchFormat.prefix(batch, 1);
    truncateFile(seg0, boundaries[2]);
    new TruncationIntent(0, boundaries[1], boundaries[1] + prefix.size(), prefix.header()).writeDurably(dir);
    try (MetadataLog log = MetadataLog.open(dir, MetadataLogConfig.defaults())) {
      assertEquals(4, log.endOffset());
      assertEquals(all.subList(0, 4), log.readAll());
      assertEquals(2, log.lastEpoch());
    }
    assertFalse(Files.exists(dir.resolve(TruncationIntent.FILE_NAME)));
  }

  @Test
  void headerRewrittenButFileNotCutIsRecovered() throws IOException {
    // The state a crash leaves if the new, shorter header of the last batch reached the disk but the file
    // was not yet cut: the stale entry bytes after the shortened batch must be treated as a torn tail.
    ByteBuffer batch = ByteBuffer.wrap(Arrays.copyOfRange(Files.readAllBytes(seg0), (int) boundaries[2],
        (int) boundaries[3]));
    BatchFormat.Prefix prefix = BatchFormat.prefix(batch, 2);
    writeAt(seg0, boundaries[2], Arrays.copyOf(prefix.header().array(), BatchFormat.HEADER_SIZE));
    try (MetadataLog log = MetadataLog.open(dir, MetadataLogConfig.defaults())) {
      assertEquals(8, log.endOffset());
      assertEquals(all.subList(0, 8), log.readAll());
    }
  }

  @Test
  void tornIntentIsDiscarded() throws IOException {
    Files.write(dir.resolve(TruncationIntent.FILE_NAME), new byte[] {1, 2, 3});
    try (MetadataLog log = MetadataLog.open(dir, MetadataLogConfig.defaults())) {
      assertEquals(all, log.readAll());
    }
    assertFalse(Files.exists(dir.resolve(TruncationIntent.FILE_NAME)));
  }

  @Test
  void corruptionFoundWhileReadingIsNotServed() throws IOException {
    try (MetadataLog log = MetadataLog.open(dir, MetadataLogConfig.defaults())) {
      flipByte(seg0, boundaries[1] + 12); // damage after open: bit rot under a running node
      java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class, () -> log.read(3, 100));
      assertTrue(e.getCause() instanceof CorruptLogException, e.toString());
      int firstBatchBytes = all.subList(0, 3).stream().mapToInt(x -> 8 + x.payload().length).sum();
      assertEquals(all.subList(0, 3), log.read(0, firstBatchBytes), "undamaged batches are still served");
    }
  }
}
