package io.raftline.quorum.log;

import static io.raftline.quorum.log.LogTestSupport.entries;
import static io.raftline.quorum.log.LogTestSupport.segment;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.quorum.raft.LogEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetadataLogTest {

  @TempDir Path tmp;

  private Path dir() {
    return tmp.resolve("__cluster_metadata-0");
  }

  @Test
  void newLogIsEmptyAndCreatesFirstSegment() throws IOException {
    try (MetadataLog log = MetadataLog.open(dir(), MetadataLogConfig.defaults())) {
      assertEquals(0, log.startOffset());
      assertEquals(0, log.endOffset());
      assertEquals(0, log.durableEndOffset());
      assertEquals(0, log.lastEpoch());
      assertEquals(List.of(), log.readAll());
      assertEquals(List.of(), log.read(0, 100));
    }
    assertTrue(Files.isRegularFile(dir().resolve("00000000000000000000.log")));
  }

  @Test
  void appendReadReopenRoundTrip() throws IOException {
    List<LogEntry> expected = new ArrayList<>();
    expected.addAll(entries(0, 3, 1));
    expected.addAll(entries(3, 1, 1));
    expected.addAll(entries(4, 5, 2));
    expected.add(new LogEntry(9, 3, new byte[0])); // empty payloads are legal
    try (MetadataLog log = MetadataLog.open(dir(), MetadataLogConfig.defaults())) {
      log.append(expected.subList(0, 3));
      log.append(expected.subList(3, 4));
      log.append(expected.subList(4, 10));
      assertEquals(10, log.endOffset());
      assertEquals(3, log.lastEpoch());
      assertEquals(expected, log.readAll());
      assertEquals(expected.subList(5, 10), log.read(5, Integer.MAX_VALUE));
      log.flush();
    }
    try (MetadataLog log = MetadataLog.open(dir(), MetadataLogConfig.defaults())) {
      assertEquals(0, log.startOffset());
      assertEquals(10, log.endOffset());
      assertEquals(10, log.durableEndOffset());
      assertEquals(3, log.lastEpoch());
      assertEquals(expected, log.readAll());
      log.append(entries(10, 2, 3));
      assertEquals(12, log.readAll().size());
    }
  }

  @Test
  void closeFlushesUnflushedAppends() throws IOException {
    try (MetadataLog log = MetadataLog.open(dir(), MetadataLogConfig.defaults())) {
      log.append(entries(0, 4, 1));
    }
    try (MetadataLog log = MetadataLog.open(dir(), MetadataLogConfig.defaults())) {
      assertEquals(entries(0, 4, 1), log.readAll());
    }
  }

  @Test
  void groupCommitFlushesSeveralBatchesAtOnce() throws IOException {
    try (MetadataLog log = MetadataLog.open(dir(), MetadataLogConfig.defaults())) {
      log.append(entries(0, 2, 1));
      log.append(entries(2, 3, 1));
      log.append(entries(5, 1, 2));
      assertEquals(6, log.endOffset());
      assertEquals(0, log.durableEndOffset(), "append alone must not claim durability");
      assertEquals(6, log.flush());
      assertEquals(6, log.durableEndOffset());
      assertEquals(6, log.flush(), "a flush with nothing pending is a no-op");
      log.append(entries(6, 1, 2));
      assertEquals(6, log.durableEndOffset());
      assertEquals(7, log.flush());
    }
  }

  @Test
  void readHonoursMaxBytesButReturnsAtLeastOneEntry() throws IOException {
    try (MetadataLog log = MetadataLog.open(dir(), MetadataLogConfig.defaults())) {
      List<LogEntry> all = new ArrayList<>();
      for (int i = 0; i < 10; i++) all.add(new LogEntry(i, 1, new byte[10])); // 18 bytes each
      log.append(all.subList(0, 4));
      log.append(all.subList(4, 10));
      assertEquals(all.subList(0, 2), log.read(0, 36));
      assertEquals(all.subList(0, 2), log.read(0, 53));
      assertEquals(all.subList(0, 1), log.read(0, 0), "at least one entry");
      assertEquals(all.subList(3, 6), log.read(3, 54), "spans batches");
      assertEquals(all.subList(9, 10), log.read(9, 1000));
      assertEquals(List.of(), log.read(10, 1000), "reading at the end gives nothing");
      assertThrows(IllegalArgumentException.class, () -> log.read(11, 1000));
      assertThrows(IllegalArgumentException.class, () -> log.read(-1, 1000));
    }
  }

  @Test
  void segmentsRollAndReadsCrossThem() throws IOException {
    MetadataLogConfig config = new MetadataLogConfig(200);
    List<LogEntry> all = new ArrayList<>();
    try (MetadataLog log = MetadataLog.open(dir(), config)) {
      for (int b = 0; b < 20; b++) {
        List<LogEntry> batch = entries(b * 3L, 3, 1 + b / 5);
        log.append(batch);
        all.addAll(batch);
      }
      List<Long> bases = log.segmentBaseOffsets();
      assertTrue(bases.size() > 3, "expected several segments, got " + bases);
      for (long base : bases) {
        assertTrue(Files.isRegularFile(segment(dir(), base)));
        assertTrue(Files.size(segment(dir(), base)) <= 200, "segment " + base + " exceeds segmentBytes");
      }
      assertEquals(all, log.readAll());
      // A read starting inside a batch in a later segment and running over several segments.
      long from = bases.get(2) + 1;
      assertEquals(all.subList((int) from, all.size()), log.read(from, Integer.MAX_VALUE));
      assertTrue(log.durableEndOffset() >= bases.get(bases.size() - 1), "a roll fsyncs the old segment");
    }
    try (MetadataLog log = MetadataLog.open(dir(), config)) {
      assertEquals(all, log.readAll());
      assertEquals(60, log.endOffset());
      assertEquals(4, log.lastEpoch());
    }
  }

  @Test
  void batchLargerThanSegmentGetsItsOwnSegment() throws IOException {
    try (MetadataLog log = MetadataLog.open(dir(), new MetadataLogConfig(64))) {
      log.append(entries(0, 1, 1));
      log.append(List.of(new LogEntry(1, 1, new byte[500])));
      log.append(entries(2, 1, 1));
      assertEquals(List.of(0L, 1L, 2L), log.segmentBaseOffsets());
      assertEquals(500, log.read(1, 0).get(0).payload().length);
    }
    try (MetadataLog log = MetadataLog.open(dir(), new MetadataLogConfig(64))) {
      assertEquals(3, log.readAll().size());
    }
  }

  @Test
  void nonContiguousAppendIsRejected() throws IOException {
    try (MetadataLog log = MetadataLog.open(dir(), MetadataLogConfig.defaults())) {
      log.append(entries(0, 3, 1));
      assertThrows(IllegalArgumentException.class, () -> log.append(entries(4, 1, 1)), "gap");
      assertThrows(IllegalArgumentException.class, () -> log.append(entries(2, 2, 1)), "overlap");
      List<LogEntry> holed = new ArrayList<>(entries(3, 1, 1));
      holed.addAll(entries(5, 1, 1));
      assertThrows(IllegalArgumentException.class, () -> log.append(holed), "gap inside the list");
      assertThrows(IllegalArgumentException.class, () -> log.append(entries(3, 1, 0)), "epoch went down");
      assertEquals(3, log.endOffset(), "rejected appends write nothing");
      log.append(List.of()); // no-op
      log.append(entries(3, 1, 1));
      assertEquals(entries(0, 4, 1), log.readAll());
    }
  }

  @Test
  void truncateInsideABatchThenReopen() throws IOException {
    try (MetadataLog log = MetadataLog.open(dir(), MetadataLogConfig.defaults())) {
      log.append(entries(0, 5, 1));
      log.append(entries(5, 5, 2));
      log.append(entries(10, 5, 3));
      log.truncateTo(7);
      assertEquals(7, log.endOffset());
      assertEquals(7, log.durableEndOffset());
      assertEquals(2, log.lastEpoch());
      List<LogEntry> expected = new ArrayList<>(entries(0, 5, 1));
      expected.addAll(entries(5, 2, 2));
      assertEquals(expected, log.readAll());
      assertFalse(Files.exists(dir().resolve(TruncationIntent.FILE_NAME)), "intent removed once applied");
      log.append(entries(7, 2, 4));
      expected.addAll(entries(7, 2, 4));
      assertEquals(expected, log.readAll());
      log.flush();
      log.close();
      try (MetadataLog reopened = MetadataLog.open(dir(), MetadataLogConfig.defaults())) {
        assertEquals(expected, reopened.readAll());
        assertEquals(4, reopened.lastEpoch());
      }
    }
  }

  @Test
  void truncateAtBatchBoundaryAndToStart() throws IOException {
    try (MetadataLog log = MetadataLog.open(dir(), MetadataLogConfig.defaults())) {
      log.append(entries(0, 5, 1));
      log.append(entries(5, 5, 2));
      log.truncateTo(5);
      assertEquals(entries(0, 5, 1), log.readAll());
      assertEquals(1, log.lastEpoch());
      log.truncateTo(5); // nothing at or above 5: no-op
      log.truncateTo(99);
      assertEquals(5, log.endOffset());
      log.truncateTo(0);
      assertEquals(0, log.endOffset());
      assertEquals(0, log.lastEpoch());
      assertEquals(List.of(), log.readAll());
      assertThrows(IllegalArgumentException.class, () -> log.truncateTo(-1));
      log.append(entries(0, 2, 7));
    }
    try (MetadataLog log = MetadataLog.open(dir(), MetadataLogConfig.defaults())) {
      assertEquals(entries(0, 2, 7), log.readAll());
    }
  }

  @Test
  void truncateAcrossSegmentsThenReopen() throws IOException {
    MetadataLogConfig config = new MetadataLogConfig(150);
    List<LogEntry> all = new ArrayList<>();
    long secondBase;
    try (MetadataLog log = MetadataLog.open(dir(), config)) {
      for (int b = 0; b < 12; b++) {
        List<LogEntry> batch = entries(b * 3L, 3, 1 + b);
        log.append(batch);
        all.addAll(batch);
      }
      List<Long> before = log.segmentBaseOffsets();
      assertTrue(before.size() >= 4, "segments: " + before);
      secondBase = before.get(1);
      long cut = secondBase + 1; // inside the first batch of the second segment
      log.truncateTo(cut);
      assertEquals(cut, log.endOffset());
      assertEquals(before.subList(0, 2), log.segmentBaseOffsets());
      try (Stream<Path> files = Files.list(dir())) {
        assertEquals(2, files.filter(p -> p.toString().endsWith(".log")).count(), "later segments deleted");
      }
      assertEquals(all.subList(0, (int) cut), log.readAll());
      assertEquals(all.get((int) cut - 1).epoch(), log.lastEpoch());

      // Cutting exactly at a segment's base offset deletes that segment.
      log.truncateTo(secondBase);
      assertEquals(before.subList(0, 1), log.segmentBaseOffsets());
      assertEquals(all.get((int) secondBase - 1).epoch(), log.lastEpoch());
      log.append(entries(secondBase, 2, 50));
    }
    try (MetadataLog log = MetadataLog.open(dir(), config)) {
      List<LogEntry> expected = new ArrayList<>(all.subList(0, (int) secondBase));
      expected.addAll(entries(secondBase, 2, 50));
      assertEquals(expected, log.readAll());
      assertEquals(50, log.lastEpoch());
    }
  }

  @Test
  void randomOperationsMatchASimpleModel() throws IOException {
    Random random = new Random(42);
    MetadataLogConfig config = new MetadataLogConfig(512);
    List<LogEntry> model = new ArrayList<>();
    MetadataLog log = MetadataLog.open(dir(), config);
    try {
      int epoch = 1;
      for (int step = 0; step < 400; step++) {
        int op = random.nextInt(10);
        if (op < 6) {
          if (random.nextInt(5) == 0) epoch++;
          int n = 1 + random.nextInt(6);
          List<LogEntry> batch = new ArrayList<>();
          for (int i = 0; i < n; i++) {
            byte[] payload = new byte[random.nextInt(40)];
            random.nextBytes(payload);
            batch.add(new LogEntry(model.size() + i, epoch, payload));
          }
          log.append(batch);
          model.addAll(batch);
        } else if (op == 6 && !model.isEmpty()) {
          int cut = random.nextInt(model.size() + 1);
          log.truncateTo(cut);
          model.subList(cut, model.size()).clear();
        } else if (op == 7) {
          assertEquals(model.size(), log.flush());
        } else if (op == 8) {
          log.close();
          log = MetadataLog.open(dir(), config);
        } else if (!model.isEmpty()) {
          int from = random.nextInt(model.size());
          int maxBytes = random.nextInt(200);
          List<LogEntry> got = log.read(from, maxBytes);
          assertFalse(got.isEmpty());
          assertEquals(model.subList(from, from + got.size()), got);
        }
        assertEquals(model.size(), log.endOffset(), "step " + step);
        assertEquals(model.isEmpty() ? 0 : model.get(model.size() - 1).epoch(), log.lastEpoch(), "step " + step);
      }
      assertEquals(model, log.readAll());
      assertTrue(log.segmentBaseOffsets().size() > 1);
    } finally {
      log.close();
    }
    try (MetadataLog reopened = MetadataLog.open(dir(), config)) {
      assertEquals(model, reopened.readAll());
    }
  }

  @Test
  void closedLogRefusesUse() throws IOException {
    MetadataLog log = MetadataLog.open(dir(), MetadataLogConfig.defaults());
    log.close();
    log.close(); // idempotent
    assertThrows(IllegalStateException.class, log::endOffset);
    assertThrows(IllegalStateException.class, () -> log.append(entries(0, 1, 1)));
    assertThrows(IllegalStateException.class, log::readAll);
  }

  @Test
  void configRejectsNonPositiveSegmentSize() {
    assertThrows(IllegalArgumentException.class, () -> new MetadataLogConfig(0));
    assertEquals(64L * 1024 * 1024, MetadataLogConfig.defaults().segmentBytes());
  }
}
