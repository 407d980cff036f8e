package io.raftline.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.raftline.broker.log.FlushPolicy;
import io.raftline.broker.log.LogConfig;
import io.raftline.broker.log.PartitionLog;
import io.raftline.metadata.TopicPartition;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.protocol.records.RecordBatch;
import io.raftline.protocol.records.RecordBatchBuilder;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A hosted partition's first high watermark: min(checkpoint, log end), never below the log start. */
class CheckpointedHighWatermarkTest {
  private static final long TIMEOUT_MS = 10_000;
  private static final UUID TOPIC_ID = new UUID(9, 9);

  @TempDir Path logDir;
  private Vertx vertx;
  private Context loop;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    loop = vertx.getOrCreateContext();
    // A log of offsets 0..9 whose first 4 were deleted by retention: start 4, end 10.
    try (PartitionLog log = PartitionLog.open(logDir.resolve("orders-0"), TOPIC_ID,
        LogConfig.DEFAULT.withSegmentBytes(100))) {
      for (int i = 0; i < 10; i++) {
        RecordBatchBuilder b = new RecordBatchBuilder();
        b.append(1_000L + i, null, new byte[40], List.of());
        log.append(RecordBatch.validateAll(b.build(), 1 << 20), 0);
      }
      log.deleteExpiredSegments(0, -1, 0, 4);
      assertEquals(4, log.startOffset());
      assertEquals(10, log.endOffset());
    }
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
  }

  /** The high watermark of the partition opened with {@code checkpointed} as its log dir's entry. */
  private long openedWith(long checkpointed) throws Exception {
    List<Path> askedFor = new ArrayList<>();
    CompletableFuture<Long> result = new CompletableFuture<>();
    loop.runOnContext(v -> {
      HostedPartition hp = new HostedPartition(vertx, new TopicPartition("orders", 0), TOPIC_ID,
          new PartitionRegistration(List.of(1), List.of(1), 1, 0, 0), Future.succeededFuture(),
          () -> logDir.resolve("orders-0"), LogConfig.DEFAULT, () -> FlushPolicy.NEVER, dir -> {
            askedFor.add(dir);
            return checkpointed;
          });
      hp.submit(PartitionLog::endOffset).compose(end -> {
        long hw = hp.highWatermark;
        return hp.close(false).map(hw);
      }).onComplete(ar -> {
        if (ar.succeeded()) {
          result.complete(ar.result());
        } else {
          result.completeExceptionally(ar.cause());
        }
      });
    });
    long hw = result.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
    assertEquals(List.of(logDir.toAbsolutePath().normalize()), askedFor, "looked up once, in the partition's log dir");
    return hw;
  }

  @Test
  void startsAtTheCheckpointBoundedByTheLog() throws Exception {
    assertEquals(7, openedWith(7), "a checkpoint inside the log is taken as it is");
    assertEquals(10, openedWith(25), "a log cut shorter than the checkpoint bounds it");
    assertEquals(4, openedWith(2), "never below the log start");
    assertEquals(4, openedWith(-1), "no checkpoint: the log start, as before");
  }
}
