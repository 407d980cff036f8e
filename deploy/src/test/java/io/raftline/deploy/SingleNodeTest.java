package io.raftline.deploy;

import static io.raftline.deploy.Await.await;
import static io.raftline.deploy.Await.failureOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.client.ConsumerRecord;
import io.raftline.client.Producer;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.raftline.client.RaftlineException;
import io.raftline.client.RecordMetadata;
import io.raftline.client.TopicInfo;
import io.raftline.client.TopicSubscription;
import io.raftline.client.rx.RxRaftline;
import io.raftline.protocol.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole path in one process: a combined node on random loopback ports, the client SDK creating
 * a topic (through the controller and the metadata log), producing and consuming, and the data
 * surviving a restart of the node on the same directories.
 */
class SingleNodeTest {
  private static final long TIMEOUT_MS = 30_000;

  @TempDir Path dir;
  private Vertx vertx;
  private RaftlineNode node;
  private NodeConfig config;
  private String clusterId;

  @BeforeEach
  void start() throws Exception {
    config = NodeConfig.from(TestNodes.combined(dir, 0, 0));
    clusterId = Storage.randomClusterId();
    Storage.format(config, clusterId, false);
    vertx = Vertx.vertx();
    node = await(RaftlineNode.start(vertx, config, Storage.check(config)));
  }

  @AfterEach
  void stop() throws Exception {
    if (node != null) {
      await(node.stop());
    }
    await(vertx.close());
  }

  private RaftlineClient client() {
    return RaftlineClient.create(vertx, Map.of("bootstrap.servers", "127.0.0.1:" + node.brokerPort()));
  }

  /** Reads {@code count} records from the start of every partition. */
  private List<ConsumerRecord> readFromBeginning(RaftlineClient client, String topic, int count) throws Exception {
    List<ConsumerRecord> records = new ArrayList<>();
    Promise<Void> done = Promise.promise();
    TopicSubscription s = client.subscribeFromBeginning(topic);
    s.exceptionHandler(done::tryFail);
    s.handler(r -> {
      records.add(r);
      if (records.size() == count) {
        s.close();
        done.tryComplete();
      }
    });
    await(done.future());
    return records;
  }

  /**
   * A topic's max.message.bytes is the broker's limit for its batches (not only the node's
   * message.max.bytes), and an idempotent producer whose batch.size is above it still delivers every
   * record that fits, in order: refused batches go out again in halves under their sequence numbers.
   */
  @Test
  void aTopicsMaxMessageBytesHoldsAndLargerProducerBatchesAreSplitToFit() throws Exception {
    RaftlineClient admin = client();
    await(admin.admin().createTopic("small-batches", 1, 1, Map.of("max.message.bytes", "8192")));
    RaftlineClient batching = RaftlineClient.create(vertx, Map.of("bootstrap.servers", "127.0.0.1:" + node.brokerPort(),
        "batch.size", "65536", "linger.ms", "20", "acks", "all"));
    try {
      Producer producer = batching.producer();
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        byte[] value = new byte[500];
        byte[] label = Integer.toString(i).getBytes(StandardCharsets.UTF_8);
        System.arraycopy(label, 0, value, 0, label.length);
        sent.add(producer.send(new ProducerRecord("small-batches", 0, null, value, null, List.of())));
      }
      Throwable tooLarge = failureOf(producer.send(
          new ProducerRecord("small-batches", 0, null, new byte[10_000], null, List.of())));
      assertEquals(ErrorCode.RECORD_TOO_LARGE, ((RaftlineException) tooLarge).errorCode(), tooLarge.getMessage());
      for (int i = 0; i < sent.size(); i++) {
        assertEquals(i, await(sent.get(i)).offset(), "record " + i);
      }
      List<ConsumerRecord> read = readFromBeginning(admin, "small-batches", 300);
      for (int i = 0; i < 300; i++) {
        assertTrue(new String(read.get(i).value(), StandardCharsets.UTF_8).startsWith(i + "\0"),
            "record at offset " + i + " is the " + i + "th sent");
      }
    } finally {
      await(batching.close());
      await(admin.close());
    }
  }

  /**
   * The broker's HTTP/2 server lets a client send a 1 MiB batch without waiting for window updates
   * and in large frames (the defaults, 64 KiB windows and 16 KiB frames, cost 8% of replicated
   * produce throughput; see BrokerVerticle). Read from the SETTINGS the server sends a new connection.
   */
  @Test
  void theBrokerLetsAOneMebibyteBatchCrossWithoutWaitingForWindowUpdates() throws Exception {
    io.vertx.core.http.HttpClient http = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions()
        .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    try {
      Promise<io.vertx.core.http.Http2Settings> settings = Promise.promise();
      await(http.request(io.vertx.core.http.HttpMethod.GET, node.brokerPort(), "127.0.0.1", "/")
          .onSuccess(request -> {
            io.vertx.core.http.HttpConnection connection = request.connection();
            // The server's SETTINGS frame may arrive just after the connection is handed out.
            connection.remoteSettingsHandler(settings::tryComplete);
            if (connection.remoteSettings().getInitialWindowSize() != io.vertx.core.http.Http2Settings.DEFAULT_INITIAL_WINDOW_SIZE) {
              settings.tryComplete(connection.remoteSettings());
            }
          }));
      // Waited for with a deadline: a server that keeps the defaults sends nothing that differs.
      long timer = vertx.setTimer(5_000, id -> settings.tryFail("no non-default SETTINGS within 5 s"));
      io.vertx.core.http.Http2Settings announced = await(settings.future().otherwiseEmpty());
      vertx.cancelTimer(timer);
      assertTrue(announced != null, "the broker announced only HTTP/2's default settings (64 KiB windows, 16 KiB frames)");
      assertTrue(announced.getInitialWindowSize() >= 1 << 20,
          "stream receive window " + announced.getInitialWindowSize() + " is below one 1 MiB batch");
      assertTrue(announced.getMaxFrameSize() >= 1 << 20, "max frame size " + announced.getMaxFrameSize());
      // Bounded, as Vert.x's own default: each open stream may hold a request the broker gathers.
      assertEquals(100, announced.getMaxConcurrentStreams(), "max concurrent streams");
    } finally {
      await(http.close());
    }
  }

  @Test
  void createProduceConsumeAndSurviveARestart() throws Exception {
    RaftlineClient client = client();
    await(client.admin().createTopic("events", 1, 1));
    assertEquals(List.of("events"), await(client.admin().listTopics(false)));
    TopicInfo info = await(client.admin().describeTopics(List.of("events"))).get(0);
    assertEquals(1, info.partitions().size());
    assertEquals(1, info.partitions().get(0).leader());

    Producer producer = client.producer();
    List<Future<RecordMetadata>> sends = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      sends.add(producer.send(ProducerRecord.of("events", null, ("value-" + i).getBytes(StandardCharsets.UTF_8))));
    }
    await(producer.flush());
    for (int i = 0; i < 1000; i++) {
      assertEquals(i, await(sends.get(i)).offset(), "offsets follow send order");
    }
    assertValues(readFromBeginning(client, "events", 1000));
    await(client.close());

    await(node.stop());
    node = await(RaftlineNode.start(vertx, config, clusterId));
    RaftlineClient again = client();
    assertValues(readFromBeginning(again, "events", 1000));
    assertEquals(List.of("events"), await(again.admin().listTopics(false)), "the topic came back from the metadata log");
    await(again.close());
  }

  private static void assertValues(List<ConsumerRecord> records) {
    assertEquals(1000, records.size());
    for (int i = 0; i < 1000; i++) {
      assertEquals(i, records.get(i).offset());
      assertEquals("value-" + i, new String(records.get(i).value(), StandardCharsets.UTF_8));
    }
  }

  @Test
  void keyedRecordsLandOnTheirKafkaPartitionAndRxStreamsWork() throws Exception {
    RaftlineClient client = client();
    await(client.admin().createTopic("keyed", 6, 1));
    Producer producer = client.producer();
    byte[] key = "customer-42".getBytes(StandardCharsets.UTF_8);
    RecordMetadata md = await(producer.send(ProducerRecord.of("keyed", key, "a".getBytes(StandardCharsets.UTF_8))));
    assertEquals(io.raftline.client.Partitioner.partitionForKey(key, 6), md.partition());

    RxRaftline rx = new RxRaftline(client);
    RecordMetadata second = rx.send(producer, ProducerRecord.of("keyed", key, "b".getBytes(StandardCharsets.UTF_8)))
        .blockingGet();
    assertEquals(md.partition(), second.partition());
    assertEquals(md.offset() + 1, second.offset());
    List<ConsumerRecord> read = rx.recordsFromBeginning("keyed").take(2).toList()
        .timeout(TIMEOUT_MS, TimeUnit.MILLISECONDS).blockingGet();
    assertEquals(List.of("a", "b"), read.stream().map(r -> new String(r.value(), StandardCharsets.UTF_8)).toList());
    await(client.close());
  }

  @Test
  void badRequestsGetKafkaErrorCodesAndHarmNothing() throws Exception {
    RaftlineClient client = client();
    await(client.admin().createTopic("kept", 1, 1));
    RecordMetadata stored = await(client.producer().send(ProducerRecord.of("kept", null, "x".getBytes())));

    assertCode(ErrorCode.INVALID_TOPIC_EXCEPTION, client.admin().createTopic("no spaces", 1, 1));
    assertCode(ErrorCode.INVALID_TOPIC_EXCEPTION, client.admin().createTopic("..", 1, 1));
    assertCode(ErrorCode.INVALID_TOPIC_EXCEPTION, client.admin().createTopic("x".repeat(250), 1, 1));
    assertCode(ErrorCode.INVALID_PARTITIONS, client.admin().createTopic("zero", 0, 1));
    assertCode(ErrorCode.INVALID_REPLICATION_FACTOR, client.admin().createTopic("wide", 1, 2));
    assertCode(ErrorCode.TOPIC_ALREADY_EXISTS, client.admin().createTopic("kept", 1, 1));
    assertCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, client.admin().deleteTopic("missing"));
    assertCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, client.admin().describeTopics(List.of("missing")));
    assertCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, client.producer().send(ProducerRecord.of("missing", null, "x".getBytes())));
    assertCode(ErrorCode.RECORD_TOO_LARGE, client.producer().send(ProducerRecord.of("kept", null, new byte[2 * 1024 * 1024])));

    assertEquals(List.of("kept"), await(client.admin().listTopics(false)));
    List<ConsumerRecord> read = readFromBeginning(client, "kept", 1);
    assertEquals(stored.offset(), read.get(0).offset());
    assertEquals("x", new String(read.get(0).value(), StandardCharsets.UTF_8));
    await(client.close());
  }

  private static void assertCode(ErrorCode expected, Future<?> f) throws Exception {
    Throwable t = failureOf(f);
    RaftlineException e = assertInstanceOf(RaftlineException.class, t);
    assertEquals(expected, e.errorCode(), e.getMessage());
  }

  @Test
  void deletingATopicRemovesItsDataAndARecreatedTopicStartsEmpty() throws Exception {
    RaftlineClient client = client();
    await(client.admin().createTopic("gone", 1, 1));
    await(client.producer().send(ProducerRecord.of("gone", null, "old".getBytes())));
    Path partitionDir = config.logDirs().get(0).resolve("gone-0");
    assertTrue(Files.isDirectory(partitionDir));
    await(client.admin().deleteTopic("gone"));
    assertEquals(List.of(), await(client.admin().listTopics(false)));
    await(client.admin().createTopic("gone", 1, 1));
    RecordMetadata md = await(client.producer().send(ProducerRecord.of("gone", null, "new".getBytes())));
    assertEquals(0, md.offset(), "the recreated topic does not see the deleted one's records");
    await(client.close());
  }

  @Test
  void topicConfigsAndAddedPartitions() throws Exception {
    RaftlineClient client = client();
    await(client.admin().createTopic("configured", 1, 1, Map.of("cleanup.policy", "compact", "retention.ms", "1000")));
    Map<String, io.raftline.client.ConfigEntry> configs = await(client.admin().describeConfigs("TOPIC", "configured"));
    assertEquals("compact", configs.get("cleanup.policy").value());
    assertEquals("DYNAMIC_TOPIC_CONFIG", configs.get("cleanup.policy").source());
    assertEquals("1048588", configs.get("max.message.bytes").value());
    assertEquals("DEFAULT_CONFIG", configs.get("max.message.bytes").source());

    await(client.admin().incrementalAlterConfigs("BROKER", "", Map.of("log.retention.ms", "5000"), List.of()));
    await(client.admin().incrementalAlterConfigs("TOPIC", "configured", Map.of("min.insync.replicas", "1"),
        List.of("retention.ms")));
    configs = await(client.admin().describeConfigs("TOPIC", "configured"));
    assertEquals("5000", configs.get("retention.ms").value(), "back to the cluster-wide default");
    assertEquals("DYNAMIC_DEFAULT_BROKER_CONFIG", configs.get("retention.ms").source());
    assertEquals("1", configs.get("min.insync.replicas").value());

    assertCode(ErrorCode.INVALID_CONFIG, client.admin().incrementalAlterConfigs("TOPIC", "configured",
        Map.of("cleanup.policy", "shred", "retention.ms", "7"), List.of()));
    assertEquals("5000", await(client.admin().describeConfigs("TOPIC", "configured")).get("retention.ms").value(),
        "a refused alteration changes nothing, not even its valid ops");
    assertCode(ErrorCode.INVALID_CONFIG, client.admin().createTopic("bad", 1, 1, Map.of("colour", "blue")));
    assertCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, client.admin().describeConfigs("TOPIC", "nope"));

    await(client.producer().send(ProducerRecord.of("configured", null, "first".getBytes())));
    await(client.admin().createPartitions("configured", 3));
    assertEquals(3, await(client.admin().describeTopics(List.of("configured"))).get(0).partitions().size());
    assertCode(ErrorCode.INVALID_PARTITIONS, client.admin().createPartitions("configured", 2));
    RecordMetadata md = await(client.producer().send(new ProducerRecord("configured", 2, null, "new".getBytes(), null, null)));
    assertEquals(2, md.partition());
    assertEquals("first", new String(readFromBeginning(client, "configured", 2).stream()
        .filter(r -> r.partition() == 0).findFirst().orElseThrow().value(), StandardCharsets.UTF_8));
    await(client.close());
  }
}
