package io.raftline.broker.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.protocol.records.Record;
import io.raftline.protocol.records.RecordBatch;
import io.raftline.protocol.records.RecordBatchBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A crash in the middle of a cleaning pass's swap: the files are left as each step of the swap
 * would leave them, and the log reopened after an unclean stop must be consistent (contiguous,
 * CRC-valid, every key's latest value kept) with no cleaner file left over.
 */
class CleanerSwapRecoveryTest {
  private static final UUID TOPIC = new UUID(5, 6);
  @TempDir Path tmp;

  private Path dir() {
    return tmp.resolve("c-0");
  }

  private static List<RecordBatch> batch(String key, String value) {
    RecordBatchBuilder b = new RecordBatchBuilder();
    b.append(1_000L, key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8), List.of());
    return RecordBatch.validateAll(b.build(), 1 << 20);
  }

  private static LogConfig fourPerSegment() {
    return LogConfig.DEFAULT.withSegmentBytes(4L * batch("k0", "v00").get(0).sizeInBytes()).withIndexIntervalBytes(1);
  }

  /** Three keys written in six rounds; the expected last value per key. */
  private static Map<String, String> fill(PartitionLog log) throws IOException {
    return fill(log, 3, 6);
  }

  private static Map<String, String> fill(PartitionLog log, int keys, int rounds) throws IOException {
    Map<String, String> latest = new LinkedHashMap<>();
    for (int round = 0; round < rounds; round++) {
      for (int k = 0; k < keys; k++) {
        log.append(batch("k" + k, "v" + round + k), 1);
        latest.put("k" + k, "v" + round + k);
      }
    }
    return latest;
  }

  private static List<Record> records(PartitionLog log) throws IOException {
    List<Record> out = new ArrayList<>();
    RecordBatch.validateAll(log.read(log.startOffset(), Integer.MAX_VALUE), 1 << 20).forEach(b -> {
      b.checkIntegrity();
      out.addAll(b.records());
    });
    return out;
  }

  private static Map<String, String> lastValues(List<Record> records) {
    Map<String, String> out = new LinkedHashMap<>();
    for (Record r : records) {
      out.put(new String(r.key(), StandardCharsets.UTF_8), new String(r.value(), StandardCharsets.UTF_8));
    }
    return out;
  }

  private void rename(long base, String suffix, String from, String to) throws IOException {
    Path source = dir().resolve(LogSegment.fileName(base, suffix + from));
    assertTrue(Files.exists(source), source + " was written");
    Files.move(source, dir().resolve(LogSegment.fileName(base, suffix + to)), StandardCopyOption.REPLACE_EXISTING);
  }

  private void assertNoCleanerFiles() throws IOException {
    try (Stream<Path> files = Files.list(dir())) {
      assertFalse(files.anyMatch(p -> p.toString().endsWith(".cleaned") || p.toString().endsWith(".swap")));
    }
  }

  /**
   * Builds a pass, then leaves its files as a crash would: segment 0's swap half done (index renamed
   * into place, log still .swap), segment 4's set not complete (index .swap, log .cleaned).
   */
  @Test
  void aSwapWhoseLogFileWasStagedIsFinishedAndAnIncompleteOneIsDropped() throws IOException {
    Map<String, String> latest;
    long end;
    long sizeBefore;
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, fourPerSegment())) {
      latest = fill(log);
      end = log.endOffset();
      sizeBefore = log.sizeInBytes();
      assertTrue(log.segmentBaseOffsets().size() >= 4, log.segmentBaseOffsets().toString());
      PartitionLog.CleaningPlan plan = log.planCleaning(2_000, -1, 0, Long.MAX_VALUE);
      PartitionLog.buildCleaned(plan, 1 << 20);
      for (String suffix : List.of(".index", ".timeindex", ".log")) {
        rename(0, suffix, PartitionLog.CLEANED_SUFFIX, PartitionLog.SWAP_SUFFIX);
      }
      rename(0, ".index", PartitionLog.SWAP_SUFFIX, "");
      rename(4, ".index", PartitionLog.CLEANED_SUFFIX, PartitionLog.SWAP_SUFFIX);
      log.closeUncleanly();
    }
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, fourPerSegment())) {
      assertNoCleanerFiles();
      assertEquals(end, log.endOffset());
      List<Record> left = records(log);
      assertEquals(latest, lastValues(left));
      assertTrue(log.sizeInBytes() < sizeBefore, "segment 0 is the cleaned one");
      // Segment 4 is the original: its four records are all there.
      assertEquals(4, left.stream().filter(r -> r.offset() >= 4 && r.offset() < 8).count());
      assertTrue(left.stream().noneMatch(r -> r.offset() < 3), "k0..k2 of round 0 are superseded");
      // Lookups through the swapped-in index land on the right batch.
      assertEquals(9, RecordBatch.validateAll(log.read(9, 1), 1 << 20).get(0).lastOffset());
      // A later pass finishes the job.
      log.compact(2_000, -1);
      assertEquals(latest, lastValues(records(log)));
      assertEquals(3, records(log).size(), "every older value is superseded");
    }
  }

  @Test
  void aCrashBeforeAnyLogFileWasStagedLeavesTheOriginalLog() throws IOException {
    List<String> before;
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, fourPerSegment())) {
      fill(log);
      before = records(log).stream().map(r -> r.offset() + "=" + new String(r.value(), StandardCharsets.UTF_8)).toList();
      PartitionLog.buildCleaned(log.planCleaning(2_000, -1, 0, Long.MAX_VALUE), 1 << 20);
      rename(0, ".index", PartitionLog.CLEANED_SUFFIX, PartitionLog.SWAP_SUFFIX);
      rename(0, ".timeindex", PartitionLog.CLEANED_SUFFIX, PartitionLog.SWAP_SUFFIX);
      log.closeUncleanly();
    }
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, fourPerSegment())) {
      assertNoCleanerFiles();
      assertEquals(before,
          records(log).stream().map(r -> r.offset() + "=" + new String(r.value(), StandardCharsets.UTF_8)).toList());
      assertEquals(2, RecordBatch.validateAll(log.read(2, 1), 1 << 20).get(0).baseOffset());
    }
  }

  @Test
  void aSmallKeyMapCleansIncrementallyAndStillKeepsTheLatestValues() throws IOException {
    try (PartitionLog log = PartitionLog.open(dir(), TOPIC, fourPerSegment())) {
      Map<String, String> latest = fill(log, 9, 3);
      // Room for about 5 keys: the pass stops where the map fills, the next one goes on from there.
      long mapBytes = 6L * OffsetMap.SLOT_BYTES;
      int passes = 0;
      PartitionLog.CleaningPlan plan;
      while ((plan = log.planCleaning(2_000, -1, 0.01, Long.MAX_VALUE)) != null && passes < 20) {
        log.swapIn(PartitionLog.buildCleaned(plan, mapBytes));
        passes++;
        assertEquals(latest, lastValues(records(log)));
      }
      assertTrue(passes > 1, "cleaned in " + passes + " passes");
      assertTrue(passes < 20, "the dirty range shrinks to nothing");
      assertNoCleanerFiles();
      // Everything below the active segment holds each key once at most.
      long activeBase = log.segmentBaseOffsets().get(log.segmentBaseOffsets().size() - 1);
      assertTrue(records(log).stream().filter(r -> r.offset() < activeBase).count() <= 9);
    }
  }
}
