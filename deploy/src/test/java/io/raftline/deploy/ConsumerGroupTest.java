package io.raftline.deploy;

import static io.raftline.deploy.Await.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.client.ConsumerGroupDescription;
import io.raftline.client.GroupConsumer;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Consumer groups against a real node: the broker creates __consumer_offsets on the first coordinator
 * lookup, two members share a topic's partitions, commits land in the offsets topic, and a new member
 * resumes from the committed offsets, also after the node restarts (offsets loaded from the log).
 */
class ConsumerGroupTest {

  @TempDir Path dir;
  private Vertx vertx;
  private RaftlineNode node;
  private NodeConfig config;

  @BeforeEach
  void start() throws Exception {
    Properties p = TestNodes.combined(dir, TestNodes.freePort(), TestNodes.freePort());
    p.setProperty("offsets.topic.num.partitions", "3");
    config = NodeConfig.from(p);
    Storage.format(config, Storage.randomClusterId(), false);
    vertx = Vertx.vertx();
    node = Await.await(RaftlineNode.start(vertx, config, Storage.check(config)));
  }

  @AfterEach
  void stop() throws Exception {
    if (node != null) {
      Await.await(node.stop());
    }
    Await.await(vertx.close());
  }

  private RaftlineClient client() {
    return RaftlineClient.create(vertx, Map.of("bootstrap.servers", "127.0.0.1:" + node.brokerPort(),
        "auto.offset.reset", "earliest", "enable.auto.commit", "false"));
  }

  private void produce(RaftlineClient client, int from, int count) throws Exception {
    List<Future<?>> sends = new ArrayList<>();
    for (int i = from; i < from + count; i++) {
      sends.add(client.producer().send(ProducerRecord.of("orders", ("k" + i).getBytes(StandardCharsets.UTF_8),
          ("v" + i).getBytes(StandardCharsets.UTF_8))));
    }
    for (Future<?> f : sends) {
      Await.await(f);
    }
  }

  @Test
  void membersShareTheTopicAndANewMemberResumesFromCommittedOffsets() throws Exception {
    RaftlineClient client = client();
    Await.await(client.admin().createTopic("orders", 4, 1));
    produce(client, 0, 100);

    Set<String> seen = ConcurrentHashMap.newKeySet();
    GroupConsumer a = client.subscribe("billing", List.of("orders"));
    GroupConsumer b = client.subscribe("billing", List.of("orders"));
    a.handler(r -> seen.add(new String(r.value(), StandardCharsets.UTF_8)));
    b.handler(r -> seen.add(new String(r.value(), StandardCharsets.UTF_8)));
    waitFor("both members to hold two partitions each", () -> {
      try {
        return Await.await(a.assignment()).size() == 2 && Await.await(b.assignment()).size() == 2;
      } catch (Exception e) {
        return false;
      }
    });
    waitFor("all 100 records", () -> seen.size() == 100);
    // A partition the first member read before the second joined is read again by the second from the
    // last commit (none yet): every record may be seen before the second member's position reaches the
    // end. So commit until the committed offsets cover everything.
    waitFor("commits covering every partition", () -> {
      try {
        Await.await(a.commit());
        Await.await(b.commit());
        return Await.await(client.admin().describeGroup("billing")).totalLag() == 0;
      } catch (Exception e) {
        return false;
      }
    });
    ConsumerGroupDescription described = Await.await(client.admin().describeGroup("billing"));
    assertEquals(2, described.members().size());
    assertEquals(0, described.totalLag());
    Await.await(a.close());
    Await.await(b.close());

    // The CLI sees the same: an empty group with no lag; resetting to the start gives 100 records of lag.
    String bootstrap = "127.0.0.1:" + node.brokerPort();
    CliTest.Result listed = CliTest.cli("", "groups", "list", "--bootstrap-server", bootstrap);
    assertEquals(0, listed.exit(), listed.err());
    assertEquals(List.of("billing\tEMPTY"), listed.lines());
    CliTest.Result reset = CliTest.cli("", "groups", "reset-offsets", "--bootstrap-server", bootstrap, "--group",
        "billing", "--topic", "orders", "--to-earliest");
    assertEquals(0, reset.exit(), reset.err());
    CliTest.Result lagging = CliTest.cli("", "groups", "describe", "--bootstrap-server", bootstrap, "--group", "billing");
    assertTrue(lagging.lines().get(0).contains("TotalLag: 100"), lagging.out());
    assertEquals(1, CliTest.cli("", "groups", "reset-offsets", "--bootstrap-server", bootstrap, "--group", "billing",
        "--topic", "orders").exit(), "no target given");
    // Back to the end, so the resumed member below starts after the first 100.
    assertEquals(0, CliTest.cli("", "groups", "reset-offsets", "--bootstrap-server", bootstrap, "--group", "billing",
        "--topic", "orders", "--to-latest").exit());

    // Restart: the coordinator reloads the committed offsets from __consumer_offsets.
    Await.await(node.stop());
    node = Await.await(RaftlineNode.start(vertx, config, Storage.check(config)));
    RaftlineClient again = client();
    produce(again, 100, 10);
    List<String> resumed = new ArrayList<>();
    GroupConsumer c = again.subscribe("billing", List.of("orders"));
    c.handler(r -> {
      synchronized (resumed) {
        resumed.add(new String(r.value(), StandardCharsets.UTF_8));
      }
    });
    waitFor("the 10 new records", () -> {
      synchronized (resumed) {
        return resumed.size() >= 10;
      }
    });
    synchronized (resumed) {
      // Had the commits been lost, the member would start at the log start and see v0.. first.
      assertTrue(resumed.subList(0, 10).stream().allMatch(v -> Integer.parseInt(v.substring(1)) >= 100),
          "only records after the committed offsets: " + resumed);
    }
    Await.await(c.close());
  }
}
