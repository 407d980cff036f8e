package io.raftline.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.broker.log.LogConfig;
import io.raftline.broker.log.PartitionLog;
import io.raftline.metadata.TopicPartition;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.protocol.records.Record;
import io.raftline.protocol.records.RecordBatch;
import io.raftline.protocol.records.RecordBatchBuilder;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cleaning (cleanup.policy=compact) builds its segments off the partition's chain: produce and fetch
 * on the partition complete while a pass is held mid-build by a hook, and the swap afterwards keeps
 * the latest value of every key, or gives up if the log was truncated meanwhile.
 */
class BackgroundCleaningTest {
  private static final long TIMEOUT_MS = 10_000;
  private static final UUID TOPIC_ID = new UUID(9, 9);

  @TempDir Path dir;
  private Vertx vertx;
  private Context loop;
  private WorkerExecutor cleaner;
  private HostedPartition partition;
  /** The value last written per key. */
  private final Map<String, String> latest = new HashMap<>();

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    loop = vertx.getOrCreateContext();
    cleaner = vertx.createSharedWorkerExecutor("test-cleaner", 1);
    int batchSize = batch("k00", "v-0000").get(0).sizeInBytes();
    LogConfig config = LogConfig.DEFAULT.withSegmentBytes(4L * batchSize).withIndexIntervalBytes(1);
    onLoop(() -> {
      partition = new HostedPartition(vertx, new TopicPartition("compacted", 0), TOPIC_ID,
          new PartitionRegistration(List.of(1), List.of(1), 1, 0, 0), Future.succeededFuture(),
          () -> dir.resolve("compacted-0"), config);
      return partition.submit(PartitionLog::endOffset);
    });
  }

  @AfterEach
  void stop() throws Exception {
    onLoop(() -> partition.close(false));
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

  private static List<RecordBatch> batch(String key, String value) {
    RecordBatchBuilder b = new RecordBatchBuilder();
    b.append(1_000L, key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8), List.of());
    return RecordBatch.validateAll(b.build(), 1 << 20);
  }

  /** Appends {@code rounds} values of 10 keys, one record per batch, and commits them (high watermark). */
  private void produce(int fromRound, int rounds) throws Exception {
    for (int round = fromRound; round < fromRound + rounds; round++) {
      for (int k = 0; k < 10; k++) {
        String key = String.format("k%02d", k);
        String value = String.format("v-%04d", round);
        List<RecordBatch> batches = batch(key, value);
        long end = onLoop(() -> partition.submit(log -> {
          log.append(batches, 1);
          return log.endOffset();
        }));
        onLoop(() -> {
          partition.highWatermark = end;
          return Future.succeededFuture();
        });
        latest.put(key, value);
      }
    }
  }

  private List<Record> readAll() throws Exception {
    return onLoop(() -> partition.submit(log -> {
      List<Record> out = new ArrayList<>();
      RecordBatch.validateAll(log.read(log.startOffset(), Integer.MAX_VALUE), 1 << 20)
          .forEach(b -> out.addAll(b.records()));
      return out;
    }));
  }

  private static String str(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  /** The last value per key as read back. */
  private static Map<String, String> lastValues(List<Record> records) {
    Map<String, String> out = new HashMap<>();
    long previous = -1;
    for (Record r : records) {
      assertTrue(r.offset() > previous, "offsets ascend");
      previous = r.offset();
      out.put(str(r.key()), str(r.value()));
    }
    return out;
  }

  /** A hook that tells when the pass is built and holds it until released. */
  private static final class Gate implements HostedPartition.CleanerHook {
    final CountDownLatch built = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public void built(PartitionLog.CleaningPlan plan) throws Exception {
      built.countDown();
      if (!release.await(TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("the test never released the cleaner");
      }
    }
  }

  private Future<PartitionLog.CompactionResult> startCleaning(Gate gate) throws Exception {
    CompletableFuture<Future<PartitionLog.CompactionResult>> started = new CompletableFuture<>();
    loop.runOnContext(v -> started.complete(partition.clean(cleaner,
        new HostedPartition.CleaningSettings(System.currentTimeMillis(), 86_400_000L, 0.5, 1 << 20), gate)));
    Future<PartitionLog.CompactionResult> pass = started.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
    assertTrue(gate.built.await(TIMEOUT_MS, TimeUnit.MILLISECONDS), "the pass reached its hook");
    return pass;
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
  }

  @Test
  void produceAndFetchCompleteWhileAPassIsBuildingAndTheSwapKeepsTheLatestValues() throws Exception {
    produce(0, 8);
    int before = readAll().size();
    Gate gate = new Gate();
    Future<PartitionLog.CompactionResult> pass = startCleaning(gate);

    // The pass is held on the cleaner's thread: the partition's chain must not be waiting for it.
    produce(8, 3);
    assertEquals(before + 30, readAll().size(), "fetch is served while the pass is held");
    assertFalse(pass.isComplete());

    gate.release.countDown();
    PartitionLog.CompactionResult result = await(pass);
    assertTrue(result.segmentsRewritten() > 0, result.toString());
    assertTrue(result.recordsRemoved() > 0, result.toString());
    List<Record> after = readAll();
    assertEquals(latest, lastValues(after));
    assertEquals(before + 30 - result.recordsRemoved(), after.size());
    try (Stream<Path> files = Files.list(dir.resolve("compacted-0"))) {
      assertFalse(files.anyMatch(p -> p.toString().endsWith(".cleaned") || p.toString().endsWith(".swap")));
    }
  }

  @Test
  void aTruncationWhileThePassIsBuildingDiscardsIt() throws Exception {
    produce(0, 8);
    Gate gate = new Gate();
    Future<PartitionLog.CompactionResult> pass = startCleaning(gate);
    // A follower meeting a new leader cuts its tail: what superseded older values may be gone.
    long cut = onLoop(() -> partition.submit(log -> log.truncateTo(log.endOffset() - 25)));
    List<Record> truncated = readAll();
    assertEquals(cut, truncated.size());

    gate.release.countDown();
    assertEquals(PartitionLog.CompactionResult.NONE, await(pass));
    assertEquals(describe(truncated), describe(readAll()), "nothing was swapped in");
    try (Stream<Path> files = Files.list(dir.resolve("compacted-0"))) {
      assertFalse(files.anyMatch(p -> p.toString().endsWith(".cleaned") || p.toString().endsWith(".swap")));
    }
  }

  /** One pass with the hook that does nothing, as the broker runs them; waits for it. */
  private PartitionLog.CompactionResult clean(double minCleanableDirtyRatio, long mapBytes) throws Exception {
    return onLoop(() -> partition.clean(cleaner, new HostedPartition.CleaningSettings(System.currentTimeMillis(),
        86_400_000L, minCleanableDirtyRatio, mapBytes), HostedPartition.CleanerHook.NONE));
  }

  /** The ratio the broker would use for a topic with {@code topicConfigs}, on a node whose default is {@code nodeRatio}. */
  private static double ratioFor(Map<String, String> topicConfigs, double nodeRatio) {
    return BrokerVerticle.minCleanableDirtyRatio(topicConfigs, Map.of(),
        new BrokerConfig.Cleaner(true, 1, 1 << 20, nodeRatio, 15_000));
  }

  @Test
  void theTopicsMinCleanableDirtyRatioDecidesWhetherAPassRuns() throws Exception {
    produce(0, 8);
    assertTrue(clean(0.5, 1 << 20).recordsRemoved() > 0, "a first pass over an all-dirty log runs");
    produce(8, 1);
    long highWatermark = partition.highWatermark;
    double dirty = onLoop(() -> partition.submit(log -> log.planCleaning(System.currentTimeMillis(), 86_400_000L, 0,
        highWatermark).dirtyRatio));
    assertTrue(dirty > 0.1 && dirty < 0.9, "a dirty share between the two thresholds: " + dirty);
    List<String> before = describe(readAll());

    // A node default that would clean, overridden by the topic: no pass, nothing changes.
    double strict = ratioFor(Map.of("min.cleanable.dirty.ratio", Double.toString(dirty + 0.05)), 0.0);
    assertEquals(dirty + 0.05, strict, 1e-9);
    assertEquals(PartitionLog.CompactionResult.NONE, clean(strict, 1 << 20));
    assertEquals(before, describe(readAll()));
    // The node default alone (above the dirty share): no pass either.
    assertEquals(PartitionLog.CompactionResult.NONE, clean(ratioFor(Map.of(), 0.95), 1 << 20));
    assertEquals(before, describe(readAll()));

    // The same node default, overridden below the dirty share: the pass runs.
    double eager = ratioFor(Map.of("min.cleanable.dirty.ratio", Double.toString(dirty - 0.05)), 0.95);
    PartitionLog.CompactionResult result = clean(eager, 1 << 20);
    assertTrue(result.recordsRemoved() > 0, result.toString());
    assertEquals(latest, lastValues(readAll()));
  }

  @Test
  void aSegmentWithMoreKeysThanTheKeyMapHoldsIsReportedOnceAndTheLogStaysIntact() throws Exception {
    java.util.logging.Logger jul = java.util.logging.Logger.getLogger(HostedPartition.class.getName());
    List<java.util.logging.LogRecord> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Handler capture = new java.util.logging.Handler() {
      @Override
      public void publish(java.util.logging.LogRecord r) {
        if (r.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue()) {
          warnings.add(r);
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    jul.addHandler(capture);
    try {
      produce(0, 8);
      List<String> before = describe(readAll());
      // 3 slots of 24 bytes hold 2 keys; every segment here has 4.
      long tinyMap = 3 * 24;
      assertEquals(PartitionLog.CompactionResult.NONE, clean(0.5, tinyMap));
      assertTrue(partition.uncleanable());
      assertEquals(before, describe(readAll()), "nothing was removed or changed");
      assertEquals(1, warnings.size(), warnings.toString());
      assertTrue(warnings.get(0).getMessage().contains("log.cleaner.dedupe.buffer.size"), warnings.get(0).getMessage());
      assertTrue(warnings.get(0).getMessage().contains(partition.topicPartition.toString()));

      // Later passes stop at the same segment: they do not run, and do not warn again.
      produce(8, 2);
      assertEquals(PartitionLog.CompactionResult.NONE, clean(0.5, tinyMap));
      assertEquals(PartitionLog.CompactionResult.NONE, clean(0.5, 1 << 20));
      assertEquals(1, warnings.size(), warnings.toString());
      assertEquals(before.size() + 20, readAll().size());
      try (Stream<Path> files = Files.list(dir.resolve("compacted-0"))) {
        assertFalse(files.anyMatch(p -> p.toString().endsWith(".cleaned") || p.toString().endsWith(".swap")));
      }
    } finally {
      jul.removeHandler(capture);
    }

    // A restart with a big enough map cleans the log, keeping the latest value of every key.
    onLoop(() -> partition.close(false));
    int batchSize = batch("k00", "v-0000").get(0).sizeInBytes();
    onLoop(() -> {
      partition = new HostedPartition(vertx, new TopicPartition("compacted", 0), TOPIC_ID,
          new PartitionRegistration(List.of(1), List.of(1), 1, 0, 0), Future.succeededFuture(),
          () -> dir.resolve("compacted-0"), LogConfig.DEFAULT.withSegmentBytes(4L * batchSize).withIndexIntervalBytes(1));
      return partition.submit(PartitionLog::endOffset);
    });
    onLoop(() -> {
      partition.highWatermark = 100;
      return Future.succeededFuture();
    });
    assertFalse(partition.uncleanable());
    assertTrue(clean(0.5, 1 << 20).recordsRemoved() > 0);
    assertEquals(latest, lastValues(readAll()));
  }

  private static List<String> describe(List<Record> records) {
    return records.stream().map(r -> r.offset() + ":" + str(r.key()) + "=" + str(r.value())).toList();
  }
}
