package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node's HTTP listener against in-process nodes on OS-chosen loopback ports: Prometheus scrape
 * content, liveness, readiness (200 on a healthy combined node, 503 naming what is missing on a
 * controller without a quorum), the ready line, and {@code http.listener=none}.
 */
class NodeHttpTest {
  @TempDir Path dir;
  private Vertx vertx;
  private RaftlineNode node;

  @BeforeEach
  void createVertx() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void stopAll() throws Exception {
    if (node != null) {
      Await.await(node.stop());
    }
    Await.await(vertx.close());
  }

  private RaftlineNode start(Properties props) throws Exception {
    NodeConfig config = NodeConfig.from(props);
    Storage.format(config, Storage.randomClusterId(), false);
    node = Await.await(RaftlineNode.start(vertx, config, Storage.check(config)));
    return node;
  }

  private HttpResponse<String> get(String path, String... headers) throws Exception {
    return HttpProbe.get("127.0.0.1:" + node.httpPort(), path, headers);
  }

  @Test
  void combinedNodeServesMetricsLivenessAndReadiness() throws Exception {
    start(TestNodes.combined(dir, 0, 0));
    assertTrue(node.httpPort() > 0);
    assertTrue(node.describe().contains(", http at 127.0.0.1:" + node.httpPort() + " "), node.describe());

    HttpResponse<String> ready = HttpProbe.awaitStatus("127.0.0.1:" + node.httpPort(), "/health/ready", 200);
    JsonObject body = new JsonObject(ready.body());
    assertEquals("ready", body.getString("status"), ready.body());
    assertEquals(1, body.getInteger("node.id"));
    assertEquals(1, body.getJsonObject("quorum").getInteger("leader"));
    assertTrue(body.getLong("broker.epoch") >= 0, ready.body());
    assertEquals(false, body.getBoolean("broker.fenced"), ready.body());
    assertTrue(ready.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));

    HttpResponse<String> metrics = get("/metrics");
    assertEquals(200, metrics.statusCode());
    assertEquals(NodeHttpVerticle.PROMETHEUS_TEXT, metrics.headers().firstValue("Content-Type").orElse(""));
    String text = metrics.body();
    assertTrue(text.contains("# TYPE raftline_quorum_high_watermark gauge"), text);
    // The single voter leads: the leader gauge says node 1, and its own election entry is committed.
    assertEquals(1.0, sample(text, "raftline_quorum_leader"), text);
    assertTrue(sample(text, "raftline_quorum_high_watermark") >= 1.0, text);
    assertTrue(text.contains("jvm_memory_used_bytes"), "JVM meters are bound too");
    // The controller's view: it is active, and its image holds the one (unfenced) broker.
    assertEquals(1.0, sample(text, "raftline_controller_active"), text);
    Await.waitFor("the controller's meters to count the registered broker", () -> {
      String now = get("/metrics").body();
      return sample(now, "raftline_controller_brokers") == 1.0
          && sample(now, "raftline_controller_fenced_brokers") == 0.0
          && sample(now, "raftline_controller_offline_partitions") == 0.0;
    });
    // Request times are histograms a scraper can take percentiles of, per API.
    assertTrue(text.contains("# TYPE raftline_broker_request_time_seconds histogram"), text);
    assertTrue(text.contains("raftline_broker_request_time_seconds_bucket{api=\"Produce\""), text);

    HttpResponse<String> open = get("/metrics", "Accept", "application/openmetrics-text; version=1.0.0");
    assertEquals(NodeHttpVerticle.OPENMETRICS_TEXT, open.headers().firstValue("Content-Type").orElse(""));
    assertTrue(open.body().strip().endsWith("# EOF"), "OpenMetrics ends with # EOF");

    HttpResponse<String> live = get("/health/live");
    assertEquals(200, live.statusCode());
    assertEquals("live", new JsonObject(live.body()).getString("status"));

    assertEquals(404, get("/nope").statusCode());
    HttpResponse<String> post = HttpProbe.post("127.0.0.1:" + node.httpPort(), "/metrics");
    assertEquals(405, post.statusCode());
    assertEquals("GET", post.headers().firstValue("Allow").orElse(""));
  }

  /** The value of the first sample of {@code metric} (any tags). */
  private static double sample(String text, String metric) {
    Matcher m = Pattern.compile("(?m)^" + metric + "\\{[^}]*\\} (\\S+)$").matcher(text);
    assertTrue(m.find(), "no sample of " + metric);
    return Double.parseDouble(m.group(1));
  }

  @Test
  void controllerWithoutAQuorumIsLiveButNotReady() throws Exception {
    // Voter 2 never starts, so node 1 can never win an election: no leader, never ready.
    int controllerPort = TestNodes.freePort();
    int absentPort = TestNodes.freePort();
    Properties p = new Properties();
    p.setProperty("process.roles", "controller");
    p.setProperty("node.id", "1");
    p.setProperty("controller.quorum.voters", "1@127.0.0.1:" + controllerPort + ",2@127.0.0.1:" + absentPort);
    p.setProperty("listeners", "CONTROLLER://127.0.0.1:" + controllerPort);
    p.setProperty("log.dirs", dir.resolve("data").toString());
    p.setProperty("http.listener", "127.0.0.1:0");
    start(p);

    assertEquals(200, get("/health/live").statusCode());
    HttpResponse<String> ready = get("/health/ready");
    assertEquals(503, ready.statusCode(), ready.body());
    JsonObject body = new JsonObject(ready.body());
    assertEquals("not ready", body.getString("status"));
    assertTrue(body.getJsonArray("missing").encode().contains("no quorum leader"), ready.body());
    assertFalse(body.containsKey("broker.epoch"), "a controller has no broker epoch");
    String metrics = get("/metrics").body();
    assertEquals(-1.0, sample(metrics, "raftline_quorum_leader"), metrics);
  }

  @Test
  void noneDisablesTheListener() throws Exception {
    Properties p = TestNodes.combined(dir, 0, 0);
    p.setProperty("http.listener", "none");
    start(p);
    assertEquals(-1, node.httpPort());
    assertFalse(node.describe().contains("http"), node.describe());
    assertTrue(node.meterRegistry().find("raftline.quorum.leader").gauge() != null,
        "meters are still kept for an embedding application to export");
  }
}
