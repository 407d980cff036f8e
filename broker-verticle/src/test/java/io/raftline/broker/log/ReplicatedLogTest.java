package io.raftline.broker.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.protocol.records.InvalidRecordBatchException;
import io.raftline.protocol.records.RecordBatch;
import io.raftline.protocol.records.RecordBatchBuilder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What replication needs from a partition log: leader-epoch history that survives restarts, follower
 * appends that keep the leader's offsets, truncation of a divergent tail, and reads bounded by the
 * high watermark.
 */
class ReplicatedLogTest {
  private static final int MAX_BATCH = 1 << 20;
  private static final UUID TOPIC = new UUID(3, 4);

  @TempDir
  Path tmp;

  /** A batch of {@code records} records whose values name {@code tag}. */
  private static List<RecordBatch> batch(String tag, int records) {
    RecordBatchBuilder b = new RecordBatchBuilder();
    for (int i = 0; i < records; i++) {
      b.append(1000 + i, null, (tag + "-" + i).getBytes(StandardCharsets.UTF_8), List.of());
    }
    return RecordBatch.validateAll(b.build(), MAX_BATCH);
  }

  private static List<RecordBatch> parse(ByteBuffer bytes) {
    return RecordBatch.validateAll(bytes, MAX_BATCH);
  }

  @Test
  void leaderAppendsRecordEpochStartsThatSurviveARestart() throws IOException {
    Path dir = tmp.resolve("t-0");
    try (PartitionLog log = PartitionLog.open(dir, TOPIC)) {
      log.append(batch("a", 2), 0);
      log.append(batch("b", 3), 0);
      log.append(batch("c", 1), 2);
      assertEquals(Map.of(0, 0L, 2, 5L), log.leaderEpochs());
      assertEquals(2, log.latestEpoch());
      assertEquals(new LeaderEpochCache.EpochEndOffset(0, 5), log.endOffsetForEpoch(0));
      assertEquals(new LeaderEpochCache.EpochEndOffset(0, 5), log.endOffsetForEpoch(1));
      assertEquals(new LeaderEpochCache.EpochEndOffset(2, 6), log.endOffsetForEpoch(2));
      assertEquals(new LeaderEpochCache.EpochEndOffset(2, 6), log.endOffsetForEpoch(7));
    }
    try (PartitionLog log = PartitionLog.open(dir, TOPIC)) {
      assertEquals(Map.of(0, 0L, 2, 5L), log.leaderEpochs());
    }
  }

  @Test
  void historyIsRebuiltFromBatchHeadersWhenTheCheckpointIsMissing() throws IOException {
    Path dir = tmp.resolve("t-0");
    try (PartitionLog log = PartitionLog.open(dir, TOPIC)) {
      log.append(batch("a", 2), 1);
      log.append(batch("b", 2), 4);
    }
    Files.delete(dir.resolve(LeaderEpochCache.CHECKPOINT));
    try (PartitionLog log = PartitionLog.open(dir, TOPIC)) {
      assertEquals(Map.of(1, 0L, 4, 2L), log.leaderEpochs());
    }
  }

  @Test
  void anEpochThatWroteNothingIsTrimmedAtOpenWithoutRewritingTheCheckpoint() throws IOException {
    Path dir = tmp.resolve("t-0");
    try (PartitionLog log = PartitionLog.open(dir, TOPIC)) {
      log.append(batch("a", 4), 0);
      log.assignEpochStart(3); // a leadership that appended nothing, then a stop
    }
    Path checkpoint = dir.resolve(LeaderEpochCache.CHECKPOINT);
    byte[] written = Files.readAllBytes(checkpoint);
    for (int open = 0; open < 2; open++) {
      try (PartitionLog log = PartitionLog.open(dir, TOPIC)) {
        // The same trim at every open: epoch 3 started at the end and holds nothing.
        assertEquals(Map.of(0, 0L), log.leaderEpochs());
        assertEquals(0, log.latestEpoch());
      }
      // Opening 10,000 such logs must not cost 10,000 checkpoint writes and fsyncs.
      assertEquals(new String(written, StandardCharsets.UTF_8),
          new String(Files.readAllBytes(checkpoint), StandardCharsets.UTF_8));
    }
    try (PartitionLog log = PartitionLog.open(dir, TOPIC)) {
      log.append(batch("b", 1), 4);
      assertEquals(Map.of(0, 0L, 4, 4L), log.leaderEpochs());
    }
    try (PartitionLog log = PartitionLog.open(dir, TOPIC)) {
      assertEquals(Map.of(0, 0L, 4, 4L), log.leaderEpochs(), "the next change wrote the trimmed history");
    }
  }

  /**
   * A replica that led an epoch without appending anything, then follows a leader that never saw that
   * epoch: the leader's answer (its epoch 0 ends at this log's end) cuts nothing, but must drop the
   * empty epoch, or the follower keeps sending it as its last fetched epoch and gets the same answer
   * forever.
   */
  @Test
  void truncatingAtTheEndDropsAnEpochThatHoldsNoRecords() throws IOException {
    try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), TOPIC)) {
      log.append(batch("a", 4), 0);
      log.assignEpochStart(1);
      assertEquals(1, log.latestEpoch());
      assertEquals(4, log.truncateTo(4));
      assertEquals(0, log.latestEpoch(), "the empty epoch 1 is gone");
      assertEquals(Map.of(0, 0L), log.leaderEpochs());
      assertEquals(4, log.truncateTo(9), "an offset past the end cuts nothing");
      assertEquals(4, log.endOffset());
    }
    try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), TOPIC)) {
      assertEquals(Map.of(0, 0L), log.leaderEpochs(), "and stays gone");
    }
  }

  @Test
  void aNewLeaderEpochWithoutWritesStillEndsThePreviousOne() throws IOException {
    try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), TOPIC)) {
      log.append(batch("a", 4), 0);
      log.assignEpochStart(3);
      assertEquals(new LeaderEpochCache.EpochEndOffset(0, 4), log.endOffsetForEpoch(0));
      assertEquals(3, log.latestEpoch());
      assertEquals(4, log.latestEpochStartOffset());
      // A later epoch starting at the same offset replaces the one that wrote nothing.
      log.assignEpochStart(5);
      assertEquals(Map.of(0, 0L, 5, 4L), log.leaderEpochs());
    }
  }

  @Test
  void followerAppendKeepsLeaderOffsetsAndSkipsWhatItHas() throws IOException {
    ByteBuffer fromLeader;
    try (PartitionLog leader = PartitionLog.open(tmp.resolve("leader"), TOPIC)) {
      leader.append(batch("a", 3), 0);
      leader.append(batch("b", 2), 1);
      fromLeader = leader.read(0, MAX_BATCH);
    }
    try (PartitionLog follower = PartitionLog.open(tmp.resolve("follower"), TOPIC)) {
      assertEquals(2, follower.appendAsFollower(parse(fromLeader.duplicate()), 0));
      assertEquals(5, follower.endOffset());
      assertEquals(Map.of(0, 0L, 1, 3L), follower.leaderEpochs());
      // The same fetch answered twice appends nothing the second time.
      assertEquals(0, follower.appendAsFollower(parse(fromLeader.duplicate()), 0));
      assertEquals(fromLeader.duplicate(), follower.read(0, MAX_BATCH));
    }
  }

  @Test
  void followerAppendRefusesAGapAndACorruptBatch() throws IOException {
    List<RecordBatch> far = batch("x", 1);
    far.get(0).setBaseOffset(10);
    try (PartitionLog follower = PartitionLog.open(tmp.resolve("follower"), TOPIC)) {
      assertThrows(IOException.class, () -> follower.appendAsFollower(far, 0));
      ByteBuffer source = batch("y", 1).get(0).buffer();
      ByteBuffer bytes = ByteBuffer.allocate(source.remaining()).put(source.duplicate()).flip();
      bytes.put(bytes.limit() - 1, (byte) (bytes.get(bytes.limit() - 1) ^ 0x5a));
      List<RecordBatch> corrupt = RecordBatch.parse(bytes);
      assertThrows(InvalidRecordBatchException.class, () -> follower.appendAsFollower(corrupt, 0));
      assertEquals(0, follower.endOffset());
    }
  }

  @Test
  void truncationDropsADivergentTailAcrossSegmentsAndItsEpochs() throws IOException {
    Path dir = tmp.resolve("t-0");
    int batchBytes = batch("a0", 2).get(0).sizeInBytes();
    LogConfig small = LogConfig.DEFAULT.withSegmentBytes(2L * batchBytes);
    try (PartitionLog log = PartitionLog.open(dir, TOPIC, small)) {
      for (int i = 0; i < 5; i++) {
        log.append(batch("a" + i, 2), i < 3 ? 1 : 2);
      }
      assertEquals(10, log.endOffset());
      assertEquals(List.of(0L, 4L, 8L), log.segmentBaseOffsets());
      log.flush();
      // Offset 5 lies inside the batch [4, 6): the whole batch goes.
      assertEquals(4, log.truncateTo(5));
      assertEquals(4, log.endOffset());
      assertEquals(List.of(0L, 4L), log.segmentBaseOffsets());
      assertEquals(Map.of(1, 0L), log.leaderEpochs());
      assertTrue(log.recoveryPoint() <= 4);
      assertEquals(List.of(0L, 2L), parse(log.read(0, MAX_BATCH)).stream().map(RecordBatch::baseOffset).toList());
      // The log goes on from the cut, with a new epoch.
      log.append(batch("n", 1), 3);
      assertEquals(5, log.endOffset());
    }
    try (PartitionLog log = PartitionLog.open(dir, TOPIC, small)) {
      assertEquals(5, log.endOffset());
      assertEquals(Map.of(1, 0L, 3, 4L), log.leaderEpochs());
    }
  }

  @Test
  void truncatingFullyRestartsTheLogAtAnOffset() throws IOException {
    Path dir = tmp.resolve("t-0");
    try (PartitionLog log = PartitionLog.open(dir, TOPIC)) {
      log.append(batch("a", 3), 0);
      log.truncateFullyAndStartAt(100);
      assertEquals(100, log.startOffset());
      assertEquals(100, log.endOffset());
      assertEquals(Map.of(), log.leaderEpochs());
      List<RecordBatch> next = batch("b", 1);
      next.get(0).setBaseOffset(100);
      assertEquals(1, log.appendAsFollower(next, 0));
    }
    try (PartitionLog log = PartitionLog.open(dir, TOPIC)) {
      assertEquals(100, log.startOffset());
      assertEquals(101, log.endOffset());
    }
  }

  @Test
  void readsStopAtTheHighWatermark() throws IOException {
    try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), TOPIC)) {
      log.append(batch("a", 2), 0);
      log.append(batch("b", 2), 0);
      log.append(batch("c", 2), 0);
      assertEquals(List.of(0L, 2L), parse(log.read(0, MAX_BATCH, 4)).stream().map(RecordBatch::baseOffset).toList());
      // A batch that straddles the bound is not served.
      assertEquals(List.of(0L), parse(log.read(0, MAX_BATCH, 3)).stream().map(RecordBatch::baseOffset).toList());
      assertEquals(0, log.read(4, MAX_BATCH, 4).remaining());
      assertEquals(0, log.read(5, MAX_BATCH, 4).remaining());
      assertThrows(OffsetOutOfRangeException.class, () -> log.read(7, MAX_BATCH, 4));
    }
  }
}
