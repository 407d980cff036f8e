package io.raftline.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
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
 * The fsync policy of a hosted partition (flush.messages / flush.ms): appends go through
 * {@link HostedPartition#submit} on one event loop as the broker's do, and the recovery point (what
 * a restart after a crash would not have to check) shows what was flushed.
 */
class FlushPolicyTest {
  private static final long TIMEOUT_MS = 10_000;
  private static final UUID TOPIC_ID = new UUID(7, 7);

  @TempDir Path dir;
  private Vertx vertx;
  private Context loop;
  private HostedPartition partition;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    loop = vertx.getOrCreateContext();
  }

  @AfterEach
  void stop() throws Exception {
    if (partition != null) {
      onLoop(() -> partition.close(false));
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
  }

  /** Runs {@code action} on the partition's event loop and waits for the future it returns. */
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

  private void host(FlushPolicy policy) throws Exception {
    onLoop(() -> {
      partition = new HostedPartition(vertx, new TopicPartition("orders", 0), TOPIC_ID,
          new PartitionRegistration(List.of(1), List.of(1), 1, 0, 0), Future.succeededFuture(),
          () -> dir.resolve("orders-0"), LogConfig.DEFAULT, () -> policy);
      return partition.submit(PartitionLog::endOffset);
    });
  }

  private static List<RecordBatch> records(int count) {
    RecordBatchBuilder b = new RecordBatchBuilder();
    for (int i = 0; i < count; i++) {
      b.append(1_000L + i, null, ("v" + i).getBytes(StandardCharsets.UTF_8), List.of());
    }
    return RecordBatch.validateAll(b.build(), 1 << 20);
  }

  private Future<Long> append(int count) {
    List<RecordBatch> batches = records(count);
    return partition.submit(log -> log.append(batches, 0));
  }

  private long recoveryPoint() throws Exception {
    return onLoop(() -> partition.submit(PartitionLog::recoveryPoint));
  }

  @Test
  void afterTheMessageIntervalTheLogIsFlushedAndTheRecoveryPointAdvances() throws Exception {
    host(new FlushPolicy(5, FlushPolicy.OFF));
    onLoop(() -> append(2));
    onLoop(() -> append(2));
    assertEquals(0, recoveryPoint(), "4 messages are below flush.messages=5");
    // The append that reaches the interval completes only once a flush covers it.
    onLoop(() -> append(1));
    assertEquals(5, recoveryPoint());
    assertEquals(1, partition.policyFlushes);
    onLoop(() -> append(4));
    assertEquals(5, recoveryPoint(), "the count starts again after a flush");
    onLoop(() -> append(3));
    assertEquals(12, recoveryPoint());
    assertEquals(2, partition.policyFlushes);
  }

  @Test
  void appendsQueuedTogetherShareOneFlush() throws Exception {
    host(new FlushPolicy(1, FlushPolicy.OFF));
    int appends = 50;
    // Submitted in one event-loop turn, as a burst of produce requests would be: the flush the first
    // append asks for queues behind all of them.
    onLoop(() -> {
      List<Future<Long>> all = new ArrayList<>();
      for (int i = 0; i < appends; i++) {
        all.add(append(1));
      }
      return Future.all(all);
    });
    assertEquals(appends, recoveryPoint(), "every acknowledged append is flushed");
    assertEquals(1, partition.policyFlushes, "one fsync covers the whole burst (group commit)");
  }

  @Test
  void anAppendOlderThanTheTimeIntervalIsFlushed() throws Exception {
    host(new FlushPolicy(FlushPolicy.OFF, 50));
    onLoop(() -> append(3));
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (recoveryPoint() < 3) {
      assertTrue(System.currentTimeMillis() < deadline, "flush.ms=50 never flushed the append");
    }
    assertEquals(1, partition.policyFlushes);
    onLoop(() -> append(2));
    deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (recoveryPoint() < 5) {
      assertTrue(System.currentTimeMillis() < deadline, "a later append was not flushed by time");
    }
  }

  @Test
  void byDefaultNothingIsFlushedBeyondClose() throws Exception {
    host(FlushPolicy.NEVER);
    for (int i = 0; i < 20; i++) {
      onLoop(() -> append(10));
    }
    // A timer or a count would have flushed by now if the policy were on; the recovery point stays.
    assertEquals(0, recoveryPoint());
    assertEquals(0, partition.policyFlushes);
    onLoop(() -> partition.close(false));
    partition = null;
    try (PartitionLog reopened = PartitionLog.open(dir.resolve("orders-0"), TOPIC_ID)) {
      assertEquals(200, reopened.recoveryPoint(), "a clean close still flushes and checkpoints");
    }
  }
}
