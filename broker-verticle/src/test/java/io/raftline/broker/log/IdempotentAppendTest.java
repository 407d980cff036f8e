package io.raftline.broker.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.broker.log.ProducerStateTable.ProducerStateException;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.records.RecordBatch;
import io.raftline.protocol.records.RecordBatchBuilder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The idempotent producer rules of a leader's append, and the producer table surviving restarts. */
class IdempotentAppendTest {
  private static final int MAX_BATCH = 1 << 20;
  private static final UUID TOPIC = new UUID(5, 6);

  @TempDir
  Path tmp;

  /** A fresh copy of an idempotent batch of {@code records} records. */
  private static List<RecordBatch> batch(long producerId, int epoch, int sequence, int records) {
    RecordBatchBuilder b = new RecordBatchBuilder().producer(producerId, (short) epoch, sequence);
    for (int i = 0; i < records; i++) {
      b.append(1000, null, ("p" + producerId + "-s" + (sequence + i)).getBytes(StandardCharsets.UTF_8), List.of());
    }
    return RecordBatch.validateAll(b.build(), MAX_BATCH);
  }

  private static ErrorCode refusal(PartitionLog log, List<RecordBatch> batches) {
    return assertThrows(ProducerStateException.class, () -> log.appendAsLeader(batches, 0, 0)).errorCode();
  }

  @Test
  void aRetriedBatchIsAnsweredWithItsOriginalOffsetsAndNotWrittenAgain() throws IOException {
    try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), TOPIC)) {
      assertEquals(new PartitionLog.LeaderAppend(0, 3, false), log.appendAsLeader(batch(7, 0, 0, 3), 0, 0));
      assertEquals(new PartitionLog.LeaderAppend(3, 5, false), log.appendAsLeader(batch(7, 0, 3, 2), 0, 0));
      assertEquals(new PartitionLog.LeaderAppend(0, 3, true), log.appendAsLeader(batch(7, 0, 0, 3), 0, 0));
      assertEquals(new PartitionLog.LeaderAppend(3, 5, true), log.appendAsLeader(batch(7, 0, 3, 2), 0, 0));
      assertEquals(5, log.endOffset());
      // Another producer has its own sequence.
      assertEquals(new PartitionLog.LeaderAppend(5, 6, false), log.appendAsLeader(batch(8, 0, 0, 1), 0, 0));
    }
  }

  @Test
  void gapsOldEpochsAndMixedRequestsAreRefusedWithoutWriting() throws IOException {
    try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), TOPIC)) {
      log.appendAsLeader(batch(7, 1, 0, 2), 0, 0);
      assertEquals(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, refusal(log, batch(7, 1, 5, 1)));
      assertEquals(ErrorCode.INVALID_PRODUCER_EPOCH, refusal(log, batch(7, 0, 2, 1)));
      assertEquals(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, refusal(log, batch(7, 2, 3, 1)), "a new epoch starts at 0");
      List<RecordBatch> two = new java.util.ArrayList<>(batch(9, 0, 0, 1));
      two.addAll(batch(9, 0, 1, 1));
      assertEquals(ErrorCode.INVALID_REQUEST, refusal(log, two));
      assertEquals(2, log.endOffset());
      // A new epoch from 0 is accepted and resets the sequence.
      assertFalse(log.appendAsLeader(batch(7, 2, 0, 1), 0, 0).duplicate());
      assertEquals(3, log.endOffset());
    }
  }

  @Test
  void sequencesWrapAroundAfterIntegerMax() throws IOException {
    try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), TOPIC)) {
      log.appendAsLeader(batch(7, 0, Integer.MAX_VALUE - 1, 2), 0, 0);
      assertFalse(log.appendAsLeader(batch(7, 0, 0, 1), 0, 0).duplicate());
      assertTrue(log.appendAsLeader(batch(7, 0, 0, 1), 0, 0).duplicate());
    }
  }

  @Test
  void theTableSurvivesCleanAndUncleanRestartsAndFollowerAppends() throws IOException {
    Path dir = tmp.resolve("t-0");
    try (PartitionLog log = PartitionLog.open(dir, TOPIC)) {
      log.appendAsLeader(batch(7, 0, 0, 2), 0, 0);
    }
    assertTrue(Files.exists(dir.resolve(ProducerStateTable.CHECKPOINT)));
    PartitionLog reopened = PartitionLog.open(dir, TOPIC);
    assertTrue(reopened.appendAsLeader(batch(7, 0, 0, 2), 0, 0).duplicate(), "from the checkpoint");
    reopened.appendAsLeader(batch(7, 0, 2, 1), 0, 0);
    reopened.closeUncleanly();
    try (PartitionLog log = PartitionLog.open(dir, TOPIC)) {
      assertTrue(log.appendAsLeader(batch(7, 0, 2, 1), 0, 0).duplicate(), "rebuilt from the batch headers");
      assertEquals(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, refusal(log, batch(7, 0, 4, 1)));
    }

    // A follower that copied the log knows the same, so it can take over as leader.
    ByteBuffer copied;
    try (PartitionLog log = PartitionLog.open(dir, TOPIC)) {
      copied = log.read(0, MAX_BATCH);
    }
    try (PartitionLog follower = PartitionLog.open(tmp.resolve("follower"), TOPIC)) {
      follower.appendAsFollower(RecordBatch.validateAll(copied, MAX_BATCH), 0);
      assertTrue(follower.appendAsLeader(batch(7, 0, 2, 1), 1, 0).duplicate());
      // After truncating a batch away, its retry is new again.
      follower.truncateTo(2);
      assertFalse(follower.appendAsLeader(batch(7, 0, 2, 1), 1, 0).duplicate());
    }
  }
}
