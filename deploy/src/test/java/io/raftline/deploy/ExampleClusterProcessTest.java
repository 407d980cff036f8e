package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's path end to end with real processes: three nodes from the shipped example configs
 * ({@code config/cluster-N.properties}, with the test's own free ports and directories swapped in)
 * become ready, serve quorum and broker metrics, take a short {@code perf produce}, and a SIGTERM to a
 * partition leader moves its leaderships away (controlled shutdown) before the process exits 0.
 */
class ExampleClusterProcessTest {
  private static final long DEADLINE_MS = 60_000;
  private static final Pattern LEADER = Pattern.compile("Partition: (\\d+)\\s+Leader: (-?\\d+)");

  @TempDir Path dir;
  private NodeProcesses launcher;

  @AfterEach
  void killLeftovers() throws InterruptedException {
    if (launcher != null) {
      launcher.close();
    }
  }

  /** The example config of node {@code id} with this test's ports and data directory. */
  private Path exampleConfig(int id, int[] brokerPorts, int[] controllerPorts) throws Exception {
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(Path.of("config", "cluster-" + id + ".properties"))) {
      p.load(in);
    }
    StringBuilder voters = new StringBuilder();
    for (int i = 0; i < 3; i++) {
      voters.append(i == 0 ? "" : ",").append(i + 1).append("@127.0.0.1:").append(controllerPorts[i]);
    }
    p.setProperty("controller.quorum.voters", voters.toString());
    p.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + brokerPorts[id - 1] + ",CONTROLLER://127.0.0.1:"
        + controllerPorts[id - 1]);
    p.setProperty("log.dirs", dir.resolve("data-" + id).toString());
    p.setProperty("http.listener", "127.0.0.1:0");
    return launcher.writeConfig("cluster-" + id + ".properties", p);
  }

  private static long metric(String metrics, String name) {
    long total = 0;
    boolean seen = false;
    for (String line : metrics.split("\n")) {
      if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
        total += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        seen = true;
      }
    }
    assertTrue(seen, name + " missing from /metrics");
    return total;
  }

  /** How many samples of {@code name} (any tags) the scrape holds. */
  private static int samples(String metrics, String name) {
    int n = 0;
    for (String line : metrics.split("\n")) {
      if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
        n++;
      }
    }
    return n;
  }

  /** Partition -> leader, as {@code topics describe} prints it. */
  private static List<Integer> leaders(String bootstrap, String topic) {
    CliTest.Result r = CliTest.cli("", "topics", "describe", "--bootstrap-server", bootstrap, "--topic", topic);
    assertEquals(0, r.exit(), r.err());
    List<Integer> leaders = new ArrayList<>();
    Matcher m = LEADER.matcher(r.out());
    while (m.find()) {
      leaders.add(Integer.parseInt(m.group(2)));
    }
    return leaders;
  }

  @Test
  void exampleClusterServesMetricsAndMovesLeadershipOnSigterm() throws Exception {
    launcher = new NodeProcesses(dir);
    int[] brokerPorts = new int[3];
    int[] controllerPorts = new int[3];
    for (int i = 0; i < 3; i++) {
      brokerPorts[i] = TestNodes.freePort();
      controllerPorts[i] = TestNodes.freePort();
    }
    String clusterId = Storage.randomClusterId();
    List<Process> nodes = new ArrayList<>();
    for (int id = 1; id <= 3; id++) {
      Path config = exampleConfig(id, brokerPorts, controllerPorts);
      assertEquals(0, CliTest.cli("", "storage", "format", "--config", config.toString(), "--cluster-id", clusterId)
          .exit());
      nodes.add(launcher.launch("node", "--config", config.toString()));
    }
    String[] http = new String[3];
    for (int i = 0; i < 3; i++) {
      http[i] = HttpProbe.httpAddress(NodeProcesses.awaitReadyLine(nodes.get(i)));
    }
    for (String h : http) {
      HttpProbe.awaitStatus(h, "/health/ready", 200);
      String metrics = HttpProbe.get(h, "/metrics").body();
      long leader = metric(metrics, "raftline_quorum_leader");
      assertTrue(leader >= 1 && leader <= 3, "a quorum leader is known: " + leader);
      assertTrue(metric(metrics, "raftline_quorum_high_watermark") > 0, "metadata committed");
    }

    String bootstrap = "127.0.0.1:" + brokerPorts[0];
    assertEquals(0, CliTest.cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "perf",
        "--partitions", "3", "--replication-factor", "3").exit());
    CliTest.Result perf = CliTest.cli("", "perf", "produce", "--bootstrap-server", bootstrap, "--topic", "perf",
        "--num-records", "5000", "--record-size", "100", "--throughput", "-1", "--acks", "all",
        "--warmup-records", "1000");
    assertEquals(0, perf.exit(), perf.err());
    assertTrue(perf.out().contains("5000 records sent"), perf.out());
    assertTrue(perf.out().contains("4000 records sent") && perf.out().contains("(steady state: after 1000 warm-up"),
        perf.out());
    long bytesIn = 0;
    for (String h : http) {
      bytesIn += metric(HttpProbe.get(h, "/metrics").body(), "raftline_broker_bytes_in_total");
    }
    assertTrue(bytesIn >= 5000 * 100, "leaders counted the produced bytes: " + bytesIn);
    int active = 0;
    for (String h : http) {
      String metrics = HttpProbe.get(h, "/metrics").body();
      if (metric(metrics, "raftline_controller_active") == 1) {
        active++;
        assertEquals(2, samples(metrics, "raftline_quorum_voter_lag"), "the leader reports both other voters' lag");
        assertEquals(3, metric(metrics, "raftline_controller_brokers"), metrics);
        assertTrue(metric(metrics, "raftline_controller_partitions") >= 3, metrics);
      } else {
        assertEquals(0, samples(metrics, "raftline_quorum_voter_lag"), "only the leader knows the voters' lag");
      }
    }
    assertEquals(1, active, "one active controller");

    int stopped = leaders(bootstrap, "perf").get(0);
    int survivor = stopped == 1 ? 2 : 1;
    String survivorBootstrap = "127.0.0.1:" + brokerPorts[survivor - 1];
    Process leaderProcess = nodes.get(stopped - 1);
    leaderProcess.destroy(); // SIGTERM
    assertTrue(leaderProcess.waitFor(DEADLINE_MS, TimeUnit.MILLISECONDS), "node " + stopped + " stops on SIGTERM");
    assertEquals(0, leaderProcess.exitValue());
    // The broker logs this only after the controller committed the moves it asked for.
    String log = launcher.stderr(stopped - 1);
    assertTrue(log.contains("controlled shutdown done"), log);
    List<Integer> after = leaders(survivorBootstrap, "perf");
    assertEquals(3, after.size(), after.toString());
    assertFalse(after.contains(stopped), "node " + stopped + " leads nothing after it stopped: " + after);
    assertFalse(after.contains(-1), "every partition has a leader: " + after);
  }
}
