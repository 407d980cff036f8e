package io.raftline.quorum.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.quorum.raft.LogEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Dropping what a snapshot covers: whole old segments, or everything after an installed snapshot. */
class MetadataLogCompactionTest {
  @TempDir Path dir;

  private static long segmentFiles(Path dir) throws Exception {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.toString().endsWith(".log")).count();
    }
  }

  @Test
  void segmentsWhollyBelowASnapshotAreDeletedAndTheRestSurvivesAReopen() throws Exception {
    MetadataLogConfig small = new MetadataLogConfig(200);
    try (MetadataLog log = MetadataLog.open(dir, small)) {
      for (int i = 0; i < 20; i++) {
        log.append(LogTestSupport.entries(i * 5L, 5, 1));
      }
      log.flush();
      assertTrue(segmentFiles(dir) > 3, "small segments roll often");
      log.deleteSegmentsBelow(60);
      assertTrue(log.startOffset() <= 60 && log.startOffset() > 0, "start " + log.startOffset());
      assertEquals(100, log.endOffset());
    }
    try (MetadataLog again = MetadataLog.open(dir, small)) {
      long start = again.startOffset();
      assertTrue(start <= 60 && start > 0);
      List<LogEntry> all = again.readAll();
      assertEquals(start, all.get(0).offset());
      assertEquals(99, all.get(all.size() - 1).offset());
      again.append(LogTestSupport.entries(100, 1, 2));
      assertEquals(101, again.endOffset());
    }
  }

  @Test
  void resetLeavesAnEmptyLogAtTheSnapshotOffset() throws Exception {
    try (MetadataLog log = MetadataLog.open(dir, MetadataLogConfig.defaults())) {
      log.append(LogTestSupport.entries(0, 10, 1));
      log.flush();
      log.resetTo(500);
      assertEquals(500, log.startOffset());
      assertEquals(500, log.endOffset());
      assertEquals(List.of(), log.readAll());
      log.append(LogTestSupport.entries(500, 3, 4));
      log.flush();
    }
    try (MetadataLog again = MetadataLog.open(dir, MetadataLogConfig.defaults())) {
      assertEquals(500, again.startOffset());
      assertEquals(503, again.endOffset());
      assertEquals(4, again.lastEpoch());
      assertEquals(1, segmentFiles(dir));
    }
  }
}
