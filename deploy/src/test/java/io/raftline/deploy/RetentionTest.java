package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.client.ConsumerRecord;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.raftline.client.TopicSubscription;
import io.raftline.protocol.client.ListOffsetsRequest;
import io.raftline.protocol.client.PartitionTimestamp;
import io.raftline.protocol.client.RecordsGrpcClient;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Storage features through a running node: retention by time and size deletes old segments (the log
 * start moves), compaction keeps the latest value per key, and ListOffsets finds offsets by timestamp.
 * Retention and the log cleaner run every 100 ms here; tests wait for their effect with a deadline.
 */
class RetentionTest {
  @TempDir Path dir;
  private Vertx vertx;
  private RaftlineNode node;
  private RaftlineClient client;

  @BeforeEach
  void start() throws Exception {
    start(dir, Map.of());
  }

  private void start(Path nodeDir, Map<String, String> settings) throws Exception {
    Properties p = TestNodes.combined(nodeDir, 0, 0);
    p.setProperty("log.retention.check.interval.ms", "100");
    p.setProperty("log.cleaner.backoff.ms", "100");
    p.putAll(settings);
    NodeConfig config = NodeConfig.from(p);
    Storage.format(config, Storage.randomClusterId(), false);
    vertx = Vertx.vertx();
    node = Await.await(RaftlineNode.start(vertx, config, Storage.check(config)));
    client = RaftlineClient.create(vertx, Map.of("bootstrap.servers", "127.0.0.1:" + node.brokerPort(),
        "linger.ms", "0", "batch.size", "200"));
  }

  @AfterEach
  void stop() throws Exception {
    Await.await(client.close());
    Await.await(node.stop());
    Await.await(vertx.close());
  }

  private long listOffset(String topic, long timestamp) throws Exception {
    RecordsGrpcClient records = RecordsGrpcClient.create(GrpcClient.client(vertx),
        SocketAddress.inetSocketAddress(node.brokerPort(), "127.0.0.1"));
    return Await.await(records.listOffsets(ListOffsetsRequest.newBuilder().addPartitions(
        PartitionTimestamp.newBuilder().setTopic(topic).setPartition(0).setTimestamp(timestamp)).build()))
        .getPartitions(0).getOffset();
  }

  private void send(String topic, String key, String value, long timestamp) throws Exception {
    Await.await(client.producer().send(new ProducerRecord(topic, 0,
        key == null ? null : key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8), timestamp,
        null)));
  }

  @Test
  void segmentsOlderThanRetentionGo() throws Exception {
    Await.await(client.admin().createTopic("aged", 1, 1,
        Map.of("segment.bytes", "1024", "retention.ms", "3600000")));
    long now = System.currentTimeMillis();
    long dayAgo = now - 86_400_000L;
    for (int i = 0; i < 20; i++) {
      send("aged", null, "old-" + i + "-" + "x".repeat(100), dayAgo + i);
    }
    for (int i = 0; i < 20; i++) {
      send("aged", null, "new-" + i + "-" + "x".repeat(100), now + i);
    }
    Await.waitFor("the day-old segments are deleted", () -> listOffset("aged", -2) > 0);
    long start = listOffset("aged", -2);
    assertTrue(start <= 20, "no new record is deleted: log start " + start);
  }

  @Test
  void listOffsetsFindsTheFirstRecordAtOrAfterATimestamp() throws Exception {
    // Default retention (7 days): the day-old records stay, whatever the retention checks do.
    Await.await(client.admin().createTopic("stamped", 1, 1, Map.of("segment.bytes", "1024")));
    long now = System.currentTimeMillis();
    long dayAgo = now - 86_400_000L;
    for (int i = 0; i < 20; i++) {
      send("stamped", null, "old-" + i + "-" + "x".repeat(100), dayAgo + i);
    }
    for (int i = 0; i < 20; i++) {
      send("stamped", null, "new-" + i + "-" + "x".repeat(100), now + i);
    }
    assertEquals(20, listOffset("stamped", now), "the first record at or after 'now'");
    assertEquals(5, listOffset("stamped", dayAgo + 5));
    assertEquals(0, listOffset("stamped", 0));
    assertEquals(-1, listOffset("stamped", now + 3_600_000), "nothing that late");
  }

  @Test
  void sizeRetentionKeepsTheLogWithinItsLimit() throws Exception {
    Await.await(client.admin().createTopic("sized", 1, 1,
        Map.of("segment.bytes", "1024", "retention.bytes", "3000")));
    for (int i = 0; i < 60; i++) {
      send("sized", null, "v" + i + "-" + "x".repeat(100), System.currentTimeMillis());
    }
    Await.waitFor("old segments are deleted by size", () -> listOffset("sized", -2) > 20);
    assertEquals(60, listOffset("sized", -1));
  }

  @Test
  void compactionKeepsTheLatestValuePerKey() throws Exception {
    Await.await(client.admin().createTopic("compacted", 1, 1,
        Map.of("cleanup.policy", "compact", "segment.bytes", "512")));
    for (int round = 0; round < 10; round++) {
      for (String key : List.of("a", "b", "c")) {
        send("compacted", key, key + "-" + round + "-" + "y".repeat(60), System.currentTimeMillis());
      }
    }
    Await.waitFor("compaction drops old values", () -> readAll("compacted").size() < 30);
    Map<String, String> latest = new HashMap<>();
    for (ConsumerRecord r : readAll("compacted")) {
      latest.put(new String(r.key(), StandardCharsets.UTF_8), new String(r.value(), StandardCharsets.UTF_8));
    }
    for (String key : List.of("a", "b", "c")) {
      assertTrue(latest.get(key).startsWith(key + "-9-"), "latest value of " + key + ": " + latest.get(key));
    }
    assertEquals(0, node.meterRegistry().get("raftline.broker.log.cleaner.uncleanable.partitions").gauge().value());
  }

  @Test
  void withTheCleanerDisabledACompactedTopicKeepsEveryRecord() throws Exception {
    stop();
    start(dir.resolve("disabled"), Map.of("log.cleaner.enable", "false", "log.cleaner.backoff.ms", "20"));
    Await.await(client.admin().createTopic("kept", 1, 1,
        Map.of("cleanup.policy", "compact", "segment.bytes", "512", "min.cleanable.dirty.ratio", "0")));
    for (int round = 0; round < 10; round++) {
      for (String key : List.of("a", "b", "c")) {
        send("kept", key, key + "-" + round + "-" + "y".repeat(60), System.currentTimeMillis());
      }
    }
    // Enabled, the cleaner would have looked 50 times by now (compactionKeepsTheLatestValuePerKey).
    Thread.sleep(1_000);
    assertEquals(30, readAll("kept").size());
    try (var files = java.nio.file.Files.list(dir.resolve("disabled").resolve("data").resolve("kept-0"))) {
      assertTrue(files.noneMatch(f -> f.getFileName().toString().equals("cleaner-offset-checkpoint")),
          "no pass ever ran");
    }
  }

  /** Everything in partition 0 from the start to the current end. */
  private List<ConsumerRecord> readAll(String topic) throws Exception {
    long end = listOffset(topic, -1);
    List<ConsumerRecord> out = new ArrayList<>();
    Promise<Void> done = Promise.promise();
    TopicSubscription s = client.subscribeFromBeginning(topic);
    s.exceptionHandler(done::tryFail);
    s.handler(r -> {
      out.add(r);
      if (r.offset() >= end - 1) {
        s.close();
        done.tryComplete();
      }
    });
    Await.await(done.future());
    return out;
  }
}
