package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.PartitionData;
import io.raftline.protocol.client.PartitionFetch;
import io.raftline.protocol.client.RecordsGrpcClient;
import io.raftline.protocol.records.RecordBatch;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Incremental fetch sessions (KIP-227) on a real broker, over the wire: a session's fetch names only
 * what changed, is answered only about what changed, and a record written to a partition it did not
 * name still wakes it.
 */
class FetchSessionTest {
  @TempDir Path dir;
  private Vertx vertx;
  private RaftlineNode node;
  private RaftlineClient client;
  private RecordsGrpcClient broker;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    start(dir.resolve("default"), Map.of());
  }

  private void start(Path nodeDir, Map<String, String> overrides) throws Exception {
    java.util.Properties props = TestNodes.combined(nodeDir, 0, 0);
    props.putAll(overrides);
    NodeConfig config = NodeConfig.from(props);
    Storage.format(config, Storage.randomClusterId(), false);
    node = Await.await(RaftlineNode.start(vertx, config, Storage.check(config)));
    client = RaftlineClient.create(vertx, Map.of("bootstrap.servers", "127.0.0.1:" + node.brokerPort(),
        "acks", "all", "linger.ms", "0"));
    broker = RecordsGrpcClient.create(GrpcClient.client(vertx),
        SocketAddress.inetSocketAddress(node.brokerPort(), "127.0.0.1"));
  }

  @AfterEach
  void stop() throws Exception {
    stopNode();
    Await.await(vertx.close());
  }

  private void stopNode() throws Exception {
    Await.await(client.close());
    Await.await(node.stop());
  }

  private void write(int partition, String value) throws Exception {
    Await.await(client.producer().send(new ProducerRecord("sessions", partition, null,
        value.getBytes(StandardCharsets.UTF_8), null, List.of())));
  }

  private static PartitionFetch at(int partition, long offset) {
    return PartitionFetch.newBuilder().setTopic("sessions").setPartition(partition).setFetchOffset(offset)
        .setPartitionMaxBytes(1 << 20).build();
  }

  private static List<Integer> partitions(FetchResponse answer) {
    return answer.getPartitionsList().stream().map(PartitionData::getPartition).toList();
  }

  private static long records(PartitionData data) {
    return RecordBatch.parse(data.getRecords().asReadOnlyByteBuffer()).stream()
        .mapToLong(b -> b.lastOffset() - b.baseOffset() + 1).sum();
  }

  @Test
  void aSessionIsAnsweredOnlyAboutWhatChanged() throws Exception {
    Await.await(client.admin().createTopic("sessions", 2, 1));
    for (int i = 0; i < 3; i++) {
      write(0, "p0-" + i);
    }
    FetchRequest.Builder consumer = FetchRequest.newBuilder().setReplicaId(-1).setMinBytes(1).setMaxWaitMs(0);

    // Opening: a full fetch, answered in full, with the session's id.
    FetchResponse opened = Await.await(broker.fetch(consumer.clone().setSessionEpoch(0)
        .addPartitions(at(0, 0)).addPartitions(at(1, 0)).build()));
    assertEquals(ErrorCode.NONE, opened.getError(), opened.getErrorMessage());
    int session = opened.getSessionId();
    assertNotEquals(0, session);
    assertEquals(List.of(0, 1), partitions(opened));
    assertEquals(3, records(opened.getPartitions(0)));

    // Partition 0 moved to 3 and is named; partition 1 is not named and has nothing new.
    FetchResponse second = Await.await(broker.fetch(consumer.clone().setSessionId(session).setSessionEpoch(1)
        .addPartitions(at(0, 3)).build()));
    assertEquals(session, second.getSessionId());
    assertEquals(List.of(0), partitions(second), "partition 1 is left out: nothing changed");
    assertEquals(0, records(second.getPartitions(0)));

    // Naming nothing, the fetch waits on both partitions; a write to partition 1 wakes it.
    long asked = System.nanoTime();
    Future<FetchResponse> held = broker.fetch(consumer.clone().setSessionId(session).setSessionEpoch(2)
        .setMaxWaitMs(20_000).build());
    write(1, "p1-0");
    FetchResponse woken = Await.await(held);
    long waitedMs = (System.nanoTime() - asked) / 1_000_000;
    assertEquals(List.of(1), partitions(woken));
    assertEquals(1, records(woken.getPartitions(0)));
    assertEquals(1, woken.getPartitions(0).getHighWatermark());
    assertTrue(waitedMs < 10_000, "woken by the write, not by its 20 s wait: " + waitedMs + " ms");

    // The same epoch again (a duplicate or a fetcher gone astray) is refused as a whole.
    FetchResponse stale = Await.await(broker.fetch(consumer.clone().setSessionId(session).setSessionEpoch(2)
        .build()));
    assertEquals(ErrorCode.INVALID_FETCH_SESSION_EPOCH, stale.getError());
    assertEquals(0, stale.getPartitionsCount());
    FetchResponse unknown = Await.await(broker.fetch(consumer.clone().setSessionId(session + 1)
        .setSessionEpoch(1).build()));
    assertEquals(ErrorCode.FETCH_SESSION_ID_NOT_FOUND, unknown.getError());
  }

  @Test
  void withoutSessionSlotsAFetchThatWouldOpenOneIsAnsweredInFull() throws Exception {
    stopNode();
    start(dir.resolve("no-slots"), Map.of("max.incremental.fetch.session.cache.slots", "0"));
    Await.await(client.admin().createTopic("sessions", 2, 1));
    write(0, "p0-0");
    FetchRequest.Builder consumer = FetchRequest.newBuilder().setReplicaId(-1).setMinBytes(1).setMaxWaitMs(0);
    for (int i = 0; i < 2; i++) {
      FetchResponse full = Await.await(broker.fetch(consumer.clone().setSessionEpoch(0)
          .addPartitions(at(0, 1)).addPartitions(at(1, 0)).build()));
      assertEquals(ErrorCode.NONE, full.getError(), full.getErrorMessage());
      assertEquals(0, full.getSessionId(), "no session was opened");
      assertEquals(List.of(0, 1), partitions(full), "every partition answered, changed or not");
    }
  }

  @Test
  void aConsumerReadsInASessionAndMissesNothing() throws Exception {
    Await.await(client.admin().createTopic("sessions", 3, 1));
    List<String> received = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    io.raftline.client.TopicSubscription subscription = client.subscribeFromBeginning("sessions");
    subscription.handler(r -> received.add(r.partition() + ":" + new String(r.value(), StandardCharsets.UTF_8)));
    io.micrometer.core.instrument.MeterRegistry meters = node.meterRegistry();
    Await.waitFor("the consumer to fetch in a session",
        () -> meters.get("raftline.broker.fetch.sessions").gauge().value() == 1.0);
    // Written one partition at a time, so most fetches carry partitions with nothing new.
    List<String> sent = new java.util.ArrayList<>();
    for (int i = 0; i < 30; i++) {
      write(i % 3, "v" + i);
      sent.add((i % 3) + ":v" + i);
    }
    Await.waitFor("every record to arrive", () -> received.size() >= sent.size());
    assertEquals(new java.util.HashSet<>(sent), new java.util.HashSet<>(received));
    assertEquals(sent.size(), received.size(), "nothing twice");
    for (int p = 0; p < 3; p++) {
      int partition = p;
      assertEquals(sent.stream().filter(v -> v.startsWith(partition + ":")).toList(),
          received.stream().filter(v -> v.startsWith(partition + ":")).toList(), "partition " + p + " in order");
    }
    Await.waitFor("the lag to reach 0 on every partition", () -> Await.await(subscription.lag()).size() == 3
        && Await.await(subscription.lag()).values().stream().allMatch(l -> l == 0L));
    // Closing the subscription closes its session on the broker.
    subscription.close();
    Await.waitFor("the session to be closed", () -> meters.get("raftline.broker.fetch.sessions").gauge().value() == 0.0);
  }
}
