package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.client.ConsumerGroupDescription;
import io.raftline.client.GroupConsumer;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.raftline.client.TopicPartition;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Group failover against a real node: three members share twelve partitions four each; one crashes
 * (its Vert.x instance closed: no LeaveGroup, its heartbeats just stop) and the coordinator moves its
 * partitions to the other two once its session expires; then the node itself restarts and the members
 * rejoin. Every record produced is processed at least once, and an observer polling the group's
 * committed offsets throughout never sees one go backwards.
 */
class GroupFailoverTest {
  private static final long TIMEOUT_MS = 60_000;
  private static final int PARTITIONS = 12;
  private static final int PER_ROUND = 600;
  /** The coordinator's lower bound (GroupCoordinator.Config.DEFAULT), so the shortest session a member gets. */
  private static final int SESSION_TIMEOUT_MS = 6_000;
  private static final String GROUP = "workers";

  @TempDir Path dir;
  private Vertx vertx;
  private Vertx crashing;
  private RaftlineNode node;
  private NodeConfig config;
  private final List<RaftlineClient> clients = new ArrayList<>();
  private final Set<String> processed = ConcurrentHashMap.newKeySet();
  private final List<String> backwards = new CopyOnWriteArrayList<>();
  private final Map<TopicPartition, Long> highestCommitted = new ConcurrentHashMap<>();
  private long observer = -1;

  @BeforeEach
  void start() throws Exception {
    Properties p = TestNodes.combined(dir, TestNodes.freePort(), TestNodes.freePort());
    p.setProperty("offsets.topic.num.partitions", "3");
    config = NodeConfig.from(p);
    Storage.format(config, Storage.randomClusterId(), false);
    vertx = Vertx.vertx();
    crashing = Vertx.vertx();
    node = Await.await(RaftlineNode.start(vertx, config, Storage.check(config)));
  }

  @AfterEach
  void stop() throws Exception {
    if (observer >= 0) {
      vertx.cancelTimer(observer);
    }
    for (RaftlineClient c : clients) {
      Await.await(c.close().recover(t -> Future.succeededFuture()));
    }
    if (node != null) {
      Await.await(node.stop());
    }
    Await.await(crashing.close());
    Await.await(vertx.close());
  }

  private RaftlineClient client(Vertx on) {
    RaftlineClient c = RaftlineClient.create(on, Map.of("bootstrap.servers", "127.0.0.1:" + node.brokerPort(),
        "auto.offset.reset", "earliest", "enable.auto.commit", "true", "auto.commit.interval.ms", "200",
        "session.timeout.ms", String.valueOf(SESSION_TIMEOUT_MS), "retry.backoff.ms", "50"));
    if (on == vertx) {
      clients.add(c);
    }
    return c;
  }

  private GroupConsumer member(RaftlineClient client) {
    GroupConsumer m = client.subscribe(GROUP, List.of("work"));
    m.handler(r -> processed.add(new String(r.value(), StandardCharsets.UTF_8)));
    return m;
  }

  private static void waitFor(String what, Await.Condition condition) throws Exception {
    Await.waitFor(what, TIMEOUT_MS, condition, () -> "");
  }

  private static int assigned(GroupConsumer m) {
    try {
      return Await.await(m.assignment()).size();
    } catch (Exception e) {
      return -1;
    }
  }

  private void produce(RaftlineClient client, int round) throws Exception {
    List<Future<?>> sends = new ArrayList<>();
    for (int i = 0; i < PER_ROUND; i++) {
      sends.add(client.producer().send(new ProducerRecord("work", i % PARTITIONS, null,
          ("r" + round + "-" + i).getBytes(StandardCharsets.UTF_8), null, List.of())));
    }
    for (Future<?> f : sends) {
      Await.await(f);
    }
  }

  private boolean processedRounds(int rounds) {
    for (int round = 0; round < rounds; round++) {
      for (int i = 0; i < PER_ROUND; i++) {
        if (!processed.contains("r" + round + "-" + i)) {
          return false;
        }
      }
    }
    return true;
  }

  /** Every 100 ms: the group's committed offsets, each checked against the highest seen before. */
  private void observeCommits(RaftlineClient admin) {
    observer = vertx.setPeriodic(100, id -> admin.admin().describeGroup(GROUP).onSuccess(d -> {
      d.offsets().forEach((tp, lag) -> {
        long now = lag.committedOffset();
        if (now < 0) {
          return;
        }
        Long before = highestCommitted.put(tp, Math.max(now, highestCommitted.getOrDefault(tp, -1L)));
        if (before != null && now < before) {
          backwards.add(tp + ": " + before + " -> " + now);
        }
      });
    }));
  }

  @Test
  void aCrashedMembersPartitionsMoveWithinTheSessionAndNothingIsLostOrUncommitted() throws Exception {
    RaftlineClient a = client(vertx);
    RaftlineClient b = client(vertx);
    RaftlineClient c = client(crashing);
    Await.await(a.admin().createTopic("work", PARTITIONS, 1));
    observeCommits(a);
    produce(a, 0);

    GroupConsumer first = member(a);
    GroupConsumer second = member(b);
    GroupConsumer doomed = member(c);
    waitFor("4 partitions each", () -> assigned(first) == 4 && assigned(second) == 4 && assigned(doomed) == 4);
    waitFor("round 0 processed", () -> processedRounds(1));

    // Crash: the member's Vert.x goes away without leaving the group.
    Await.await(crashing.close());
    long crashedAt = System.currentTimeMillis();
    waitFor("the survivors to hold all 12 partitions", () -> assigned(first) == 6 && assigned(second) == 6);
    long movedAfterMs = System.currentTimeMillis() - crashedAt;
    // Session expiry, then at most one heartbeat interval (a third of the session) for each survivor to
    // take its share, and a little for the revocation round trip.
    assertTrue(movedAfterMs < SESSION_TIMEOUT_MS + SESSION_TIMEOUT_MS / 3 + 2_000,
        "the partitions moved " + movedAfterMs + " ms after the crash");
    ConsumerGroupDescription d = Await.await(a.admin().describeGroup(GROUP));
    assertEquals(2, d.members().size());
    produce(a, 1);
    waitFor("round 1 processed", () -> processedRounds(2));

    // Restart the node: the coordinator reloads the commits; the members rejoin.
    Await.await(node.stop());
    node = Await.await(RaftlineNode.start(vertx, config, Storage.check(config)));
    produce(a, 2);
    waitFor("round 2 processed", () -> processedRounds(3));
    waitFor("6 partitions each again", () -> assigned(first) == 6 && assigned(second) == 6);

    // A restarted third member rejoins and the work is shared three ways again.
    RaftlineClient c2 = client(vertx);
    GroupConsumer third = member(c2);
    waitFor("4 partitions each after the restart",
        () -> assigned(first) == 4 && assigned(second) == 4 && assigned(third) == 4);
    produce(a, 3);
    waitFor("round 3 processed", () -> processedRounds(4));
    waitFor("every partition committed to its end", () -> {
      Map<TopicPartition, Long> ends = new HashMap<>(highestCommitted);
      return ends.size() == PARTITIONS && ends.values().stream().allMatch(o -> o == 4L * PER_ROUND / PARTITIONS);
    });
    assertEquals(List.of(), backwards, "committed offsets went backwards");
    System.out.println("partitions of the crashed member moved after " + movedAfterMs + " ms");
  }
}
