package io.raftline.deploy;

import static io.raftline.deploy.Await.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.client.ConsumerRecord;
import io.raftline.client.Producer;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.raftline.client.RaftlineException;
import io.raftline.client.RecordMetadata;
import io.raftline.client.TopicInfo;
import io.raftline.client.TopicSubscription;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.PartitionData;
import io.raftline.protocol.client.PartitionFetch;
import io.raftline.protocol.client.RecordsGrpcClient;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
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
 * Partition replication across three combined nodes in one JVM (each with its own Vert.x): followers
 * copy the leader's log, acks=all waits for the in-sync replicas, a lagging replica leaves the ISR
 * and rejoins, min.insync.replicas refuses writes the ISR cannot hold, and acknowledged records
 * survive the leader going away.
 */
class ReplicationTest {
  private static final int NODES = 3;

  @TempDir Path dir;
  private final Map<Integer, Vertx> vertxes = new HashMap<>();
  private final Map<Integer, RaftlineNode> nodes = new HashMap<>();
  private final Map<Integer, NodeConfig> configs = new HashMap<>();
  private String clusterId;
  private Vertx clientVertx;

  @BeforeEach
  void start() throws Exception {
    int[] brokerPorts = new int[NODES + 1];
    int[] controllerPorts = new int[NODES + 1];
    StringBuilder voters = new StringBuilder();
    for (int id = 1; id <= NODES; id++) {
      brokerPorts[id] = TestNodes.freePort();
      controllerPorts[id] = TestNodes.freePort();
      voters.append(voters.length() == 0 ? "" : ",").append(id).append("@127.0.0.1:").append(controllerPorts[id]);
    }
    clusterId = Storage.randomClusterId();
    for (int id = 1; id <= NODES; id++) {
      Properties p = TestNodes.combined(dir.resolve("node-" + id), brokerPorts[id], controllerPorts[id]);
      p.setProperty("node.id", Integer.toString(id));
      p.setProperty("controller.quorum.voters", voters.toString());
      p.setProperty("replica.lag.time.max.ms", "1000");
      p.setProperty("broker.session.timeout.ms", "3000");
      p.setProperty("broker.heartbeat.interval.ms", "300");
      NodeConfig config = NodeConfig.from(p);
      Storage.format(config, clusterId, false);
      configs.put(id, config);
    }
    List<Future<RaftlineNode>> starting = new ArrayList<>();
    for (int id = 1; id <= NODES; id++) {
      starting.add(startNode(id));
    }
    for (Future<RaftlineNode> f : starting) {
      Await.await(f);
    }
    clientVertx = Vertx.vertx();
  }

  private Future<RaftlineNode> startNode(int id) throws Exception {
    Vertx vertx = Vertx.vertx();
    vertxes.put(id, vertx);
    return RaftlineNode.start(vertx, configs.get(id), Storage.check(configs.get(id))).onSuccess(n -> nodes.put(id, n));
  }

  private void stopNode(int id) throws Exception {
    RaftlineNode node = nodes.remove(id);
    if (node != null) {
      Await.await(node.stop());
    }
    Await.await(vertxes.remove(id).close());
  }

  @AfterEach
  void stop() throws Exception {
    for (int id : List.copyOf(nodes.keySet())) {
      stopNode(id);
    }
    for (Vertx v : vertxes.values()) {
      Await.await(v.close());
    }
    if (clientVertx != null) {
      Await.await(clientVertx.close());
    }
  }

  private RaftlineClient client(Map<String, String> extra) {
    StringBuilder servers = new StringBuilder();
    nodes.values().forEach(n -> servers.append(servers.length() == 0 ? "" : ",").append("127.0.0.1:").append(n.brokerPort()));
    Map<String, String> settings = new HashMap<>(extra);
    settings.put("bootstrap.servers", servers.toString());
    return RaftlineClient.create(clientVertx, settings);
  }

  private TopicInfo.PartitionInfo partition(RaftlineClient client, String topic) throws Exception {
    return Await.await(client.admin().describeTopics(List.of(topic))).get(0).partitions().get(0);
  }

  /** Waits until partition 0 of {@code topic} has a leader other than {@code old}. */
  private void awaitNewLeader(RaftlineClient client, String topic, int old) throws Exception {
    waitFor("a leader of " + topic + " other than " + old, () -> {
      try {
        TopicInfo.PartitionInfo p = partition(client, topic);
        return p.leader() != old && p.leader() >= 0;
      } catch (Exception e) {
        return false; // no metadata while the leader changes: not yet
      }
    });
  }

  private List<RecordMetadata> produce(Producer producer, String topic, int from, int count) throws Exception {
    List<Future<RecordMetadata>> sends = new ArrayList<>();
    for (int i = from; i < from + count; i++) {
      sends.add(producer.send(ProducerRecord.of(topic, null, ("v" + i).getBytes(StandardCharsets.UTF_8))));
    }
    List<RecordMetadata> acks = new ArrayList<>();
    for (Future<RecordMetadata> f : sends) {
      acks.add(Await.await(f));
    }
    return acks;
  }

  private List<String> readFromBeginning(RaftlineClient client, String topic, int count) throws Exception {
    List<String> values = new ArrayList<>();
    Promise<Void> done = Promise.promise();
    TopicSubscription s = client.subscribeFromBeginning(topic);
    s.exceptionHandler(done::tryFail);
    s.handler((ConsumerRecord r) -> {
      values.add(r.offset() + ":" + new String(r.value(), StandardCharsets.UTF_8));
      if (values.size() == count) {
        s.close();
        done.tryComplete();
      }
    });
    Await.await(done.future());
    return values;
  }

  private static List<String> expected(int count) {
    List<String> values = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      values.add(i + ":v" + i);
    }
    return values;
  }

  @Test
  void acknowledgedRecordsSurviveTheLeaderGoingAway() throws Exception {
    RaftlineClient client = client(Map.of("acks", "all"));
    Await.await(client.admin().createTopic("replicated", 1, 3, Map.of("min.insync.replicas", "2")));
    TopicInfo.PartitionInfo before = partition(client, "replicated");
    assertEquals(3, before.replicas().size());
    assertEquals(3, before.isr().size());

    List<RecordMetadata> acks = produce(client.producer(), "replicated", 0, 500);
    for (int i = 0; i < acks.size(); i++) {
      assertEquals(i, acks.get(i).offset());
    }
    io.micrometer.core.instrument.MeterRegistry meters = nodes.get(before.leader()).meterRegistry();
    assertTrue(meters.get("raftline.broker.bytes.in").counter().count() > 0);
    assertEquals(500.0, meters.get("raftline.broker.messages.in").counter().count());
    assertTrue(meters.get("raftline.broker.replication.bytes.out").counter().count()
        >= 2 * meters.get("raftline.broker.bytes.in").counter().count(), "both followers copied every byte");
    assertEquals(1.0, meters.get("raftline.broker.partitions.leader").gauge().value());
    assertEquals(0.0, meters.get("raftline.broker.partitions.under.min.isr").gauge().value());
    assertTrue(meters.get("raftline.broker.request.time").tag("api", "Produce").timer().count() > 0);
    assertTrue(meters.get("raftline.broker.request.time").tag("api", "FollowerFetch").timer().count() > 0,
        "the followers' fetches are timed apart from consumers'");
    assertEquals(0, meters.get("raftline.broker.request.time").tag("api", "Fetch").timer().count(), "no consumer yet");
    stopNode(before.leader());

    RaftlineClient survivor = client(Map.of("acks", "all"));
    awaitNewLeader(survivor, "replicated", before.leader());
    TopicInfo.PartitionInfo after = partition(survivor, "replicated");
    assertNotEquals(before.leader(), after.leader());
    assertTrue(after.leaderEpoch() > before.leaderEpoch());
    // Every acknowledged record is on the new leader, at the offset the acknowledgement gave.
    assertEquals(expected(500), readFromBeginning(survivor, "replicated", 500));
    // And the partition takes writes again, continuing the same offsets.
    List<RecordMetadata> more = produce(survivor.producer(), "replicated", 500, 10);
    assertEquals(500, more.get(0).offset());
  }

  @Test
  void aStoppedFollowerLeavesTheIsrAndRejoinsAfterCatchingUp() throws Exception {
    RaftlineClient client = client(Map.of("acks", "all"));
    Await.await(client.admin().createTopic("isr", 1, 3, Map.of("min.insync.replicas", "2")));
    TopicInfo.PartitionInfo initial = partition(client, "isr");
    produce(client.producer(), "isr", 0, 100);
    // Each follower fetches from the leader in one incremental fetch session (KIP-227).
    io.micrometer.core.instrument.MeterRegistry leaderMeters = nodes.get(initial.leader()).meterRegistry();
    waitFor("both followers to fetch from the leader in sessions",
        () -> leaderMeters.get("raftline.broker.fetch.sessions").gauge().value() == 2.0
            && leaderMeters.get("raftline.broker.fetch.session.partitions").gauge().value() >= 2.0);
    int follower = initial.replicas().stream().filter(r -> r != initial.leader()).findFirst().orElseThrow();
    stopNode(follower);

    RaftlineClient survivor = client(Map.of("acks", "all"));
    waitFor("the stopped follower to leave the ISR", () -> {
      try {
        return !partition(survivor, "isr").isr().contains(follower);
      } catch (Exception e) {
        return false;
      }
    });
    // Two in-sync replicas satisfy min.insync.replicas=2: acks=all writes go on.
    produce(survivor.producer(), "isr", 100, 100);

    // Requiring three makes the leader refuse before writing anything.
    Await.await(survivor.admin().incrementalAlterConfigs("TOPIC", "isr", Map.of("min.insync.replicas", "3"),
        List.of()));
    RaftlineClient impatient = client(Map.of("acks", "all", "delivery.timeout.ms", "1500", "request.timeout.ms", "1000",
        "linger.ms", "0"));
    waitFor("the leader to count the partition under min.insync.replicas",
        () -> leaderMeters.get("raftline.broker.partitions.under.min.isr").gauge().value() == 1.0);
    Throwable refused = Await.failureOf(
        impatient.producer().send(ProducerRecord.of("isr", null, "refused".getBytes(StandardCharsets.UTF_8))));
    assertEquals(ErrorCode.NOT_ENOUGH_REPLICAS, assertInstanceOf(RaftlineException.class, refused).errorCode());
    assertTrue(leaderMeters.get("raftline.broker.partition.errors").tag("api", "Produce")
        .tag("error", "NOT_ENOUGH_REPLICAS").counter().count() >= 1, "the refusal is counted by its error code");

    // The follower comes back, catches up from its own log onwards, and is let back in.
    Await.await(startNode(follower));
    waitFor("the follower to rejoin the ISR", () -> {
      try {
        return partition(survivor, "isr").isr().contains(follower);
      } catch (Exception e) {
        return false;
      }
    });
    waitFor("the leader to count the partition back at min.insync.replicas",
        () -> leaderMeters.get("raftline.broker.partitions.under.min.isr").gauge().value() == 0.0);
    RaftlineClient full = client(Map.of("acks", "all"));
    produce(full.producer(), "isr", 200, 10);
    assertEquals(expected(210), readFromBeginning(full, "isr", 210));
  }

  /**
   * A follower whose fetch offset is the leader's end is answered by its epoch: in an older epoch
   * that ended earlier on the leader it is told where to truncate, in the leader's latest it waits
   * for the next record and gets it as soon as it is written.
   */
  @Test
  void aFollowerAtTheLeadersEndIsAnsweredByItsLastEpoch() throws Exception {
    RaftlineClient client = client(Map.of("acks", "all"));
    Await.await(client.admin().createTopic("ends", 1, 3, Map.of("min.insync.replicas", "2")));
    produce(client.producer(), "ends", 0, 10);
    TopicInfo.PartitionInfo before = partition(client, "ends");
    stopNode(before.leader());
    RaftlineClient survivor = client(Map.of("acks", "all"));
    awaitNewLeader(survivor, "ends", before.leader());
    produce(survivor.producer(), "ends", 10, 5);
    TopicInfo.PartitionInfo after = partition(survivor, "ends");
    RecordsGrpcClient leader = RecordsGrpcClient.create(GrpcClient.client(clientVertx),
        SocketAddress.inetSocketAddress(nodes.get(after.leader()).brokerPort(), "127.0.0.1"));
    // Fetches as the stopped replica would make them, at the leader's end of 15.
    PartitionFetch atTheEnd = PartitionFetch.newBuilder().setTopic("ends").setPartition(0).setFetchOffset(15)
        .setPartitionMaxBytes(1 << 20).setCurrentLeaderEpoch(after.leaderEpoch()).build();

    PartitionData older = Await.await(leader.fetch(FetchRequest.newBuilder().setReplicaId(before.leader())
        .setMinBytes(1).addPartitions(atTheEnd.toBuilder().setLastFetchedEpoch(before.leaderEpoch()))
        .build())).getPartitions(0);
    assertEquals(ErrorCode.NONE, older.getError(), older.getErrorMessage());
    assertTrue(older.hasDivergingEpoch(), "epoch " + before.leaderEpoch() + " ended at 10 on the new leader");
    assertEquals(before.leaderEpoch(), older.getDivergingEpoch().getEpoch());
    assertEquals(10, older.getDivergingEpoch().getEndOffset());
    assertTrue(older.getRecords().isEmpty());

    long asked = System.nanoTime();
    Future<PartitionData> latest = leader.fetch(FetchRequest.newBuilder().setReplicaId(before.leader())
        .setMinBytes(1).setMaxWaitMs(20_000)
        .addPartitions(atTheEnd.toBuilder().setLastFetchedEpoch(after.leaderEpoch())).build())
        .map(answer -> answer.getPartitions(0));
    // acks=1: the fetch above may count the stopped replica as caught up for a moment.
    produce(client(Map.of("acks", "1")).producer(), "ends", 15, 1);
    PartitionData next = Await.await(latest);
    long waitedMs = (System.nanoTime() - asked) / 1_000_000;
    assertEquals(ErrorCode.NONE, next.getError(), next.getErrorMessage());
    assertTrue(!next.hasDivergingEpoch());
    assertTrue(!next.getRecords().isEmpty(), "the record written while the fetch waited");
    assertTrue(waitedMs < 10_000, "woken by the write, not by its 20 s wait: " + waitedMs + " ms");
  }
}
