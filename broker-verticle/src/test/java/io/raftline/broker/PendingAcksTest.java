package io.raftline.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.raftline.broker.log.LogConfig;
import io.raftline.broker.log.PartitionLog;
import io.raftline.metadata.TopicPartition;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.protocol.ErrorCode;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * acks=all waits belong to the leadership the records were appended under. A soak run (seed 2, split
 * topology) acknowledged records that were never stored: a leader took a produce just after a pause,
 * lost the lead while the append ran on its worker, truncated the records away as a follower, and
 * when it led again its high watermark passed their offsets, now holding other records, and
 * completed the wait registered after the leadership ended.
 */
class PendingAcksTest {
  private static final long TIMEOUT_MS = 10_000;
  private static final PartitionRegistration REGISTRATION = new PartitionRegistration(List.of(1, 2), List.of(1, 2),
      1, 0, 0);

  @TempDir Path dir;
  private Vertx vertx;
  private Context loop;
  private HostedPartition partition;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    loop = vertx.getOrCreateContext();
    onLoop(() -> {
      partition = new HostedPartition(vertx, new TopicPartition("t", 0), new UUID(1, 1), REGISTRATION,
          Future.succeededFuture(), () -> dir.resolve("t-0"), LogConfig.DEFAULT);
      return partition.submit(PartitionLog::endOffset);
    });
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
  }

  private <T> T onLoop(Supplier<Future<T>> action) throws Exception {
    CompletableFuture<T> result = new CompletableFuture<>();
    loop.runOnContext(v -> action.get().onComplete(ar -> {
      if (ar.succeeded()) {
        result.complete(ar.result());
      } else {
        result.completeExceptionally(ar.cause());
      }
    }));
    return result.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
  }

  private static InSyncReplicas leading() {
    return new InSyncReplicas(1, REGISTRATION, 0, 0, 0, 0);
  }

  @Test
  void anAckWaitsForTheHighWatermarkUnderItsLeadership() throws Exception {
    InSyncReplicas leadership = leading();
    CompletableFuture<ErrorCode> acked = new CompletableFuture<>();
    onLoop(() -> {
      partition.leadership = leadership;
      partition.awaitHighWatermark(leadership, 10, 60_000).onSuccess(acked::complete);
      partition.highWatermark = 9;
      partition.completeAcksBelowHighWatermark();
      return Future.succeededFuture();
    });
    assertFalse(acked.isDone(), "offset 9 is below the records");
    onLoop(() -> {
      partition.highWatermark = 10;
      partition.completeAcksBelowHighWatermark();
      return Future.succeededFuture();
    });
    assertEquals(ErrorCode.NONE, acked.get(TIMEOUT_MS, TimeUnit.MILLISECONDS));
  }

  @Test
  void anAckWhoseLeadershipEndedDuringTheAppendIsNeverCompletedByALaterHighWatermark() throws Exception {
    InSyncReplicas before = leading();
    CompletableFuture<ErrorCode> acked = new CompletableFuture<>();
    onLoop(() -> {
      // The append was submitted under `before`; meanwhile the broker followed (failing the acks
      // that were waiting then) and leads again.
      partition.leadership = null;
      partition.failPendingAcks(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      partition.leadership = leading();
      partition.awaitHighWatermark(before, 30, 60_000).onSuccess(acked::complete);
      partition.highWatermark = 40;
      partition.completeAcksBelowHighWatermark();
      return Future.succeededFuture();
    });
    assertEquals(ErrorCode.NOT_LEADER_OR_FOLLOWER, acked.get(TIMEOUT_MS, TimeUnit.MILLISECONDS));
  }

  @Test
  void waitingAcksFailWhenTheLeadershipEndsAndTimeOut() throws Exception {
    InSyncReplicas leadership = leading();
    CompletableFuture<ErrorCode> failed = new CompletableFuture<>();
    CompletableFuture<ErrorCode> timedOut = new CompletableFuture<>();
    onLoop(() -> {
      partition.leadership = leadership;
      partition.awaitHighWatermark(leadership, 10, 60_000).onSuccess(failed::complete);
      partition.failPendingAcks(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      partition.awaitHighWatermark(leadership, 10, 50).onSuccess(timedOut::complete);
      return Future.succeededFuture();
    });
    assertEquals(ErrorCode.NOT_LEADER_OR_FOLLOWER, failed.get(TIMEOUT_MS, TimeUnit.MILLISECONDS));
    assertEquals(ErrorCode.REQUEST_TIMED_OUT, timedOut.get(TIMEOUT_MS, TimeUnit.MILLISECONDS));
  }
}
