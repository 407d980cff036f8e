package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code raftline cluster --nodes 3} as a real process: three child nodes print their ready lines, a
 * topic created through node 2's broker is seen by node 3, each node serves readiness and metrics, and
 * one SIGTERM to the cluster process stops every child (checked by PID).
 */
class ClusterProcessTest {
  private static final long DEADLINE_MS = 150_000;
  private static final Pattern READY = Pattern.compile("Raftline node (\\d+) ready: broker at (\\S+:\\d+),");
  private static final Pattern PID = Pattern.compile("^  node (\\d+): pid (\\d+),");

  @TempDir Path dir;
  private NodeProcesses processes;
  private final List<ProcessHandle> children = new ArrayList<>();

  @BeforeEach
  void setUp() {
    processes = new NodeProcesses(dir);
  }

  @AfterEach
  void killLeftovers() throws InterruptedException {
    // Children first: killing the cluster process with SIGKILL cannot pass the stop on to them.
    children.forEach(ProcessHandle::destroyForcibly);
    processes.close();
  }

  /** Reads the cluster's stdout up to its "cluster ... ready" line; fails if it exits or the deadline passes. */
  private static List<String> awaitClusterReady(Process p) throws Exception {
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    long deadline = System.currentTimeMillis() + DEADLINE_MS;
    List<String> seen = new ArrayList<>();
    while (System.currentTimeMillis() < deadline) {
      if (out.ready()) {
        String line = out.readLine();
        if (line == null) {
          break;
        }
        seen.add(line);
        if (line.startsWith("Raftline cluster of ")) {
          return seen;
        }
      } else if (!p.isAlive()) {
        break;
      } else {
        Thread.sleep(20);
      }
    }
    throw new AssertionError("no cluster ready line; exit=" + (p.isAlive() ? "running" : p.exitValue()) + " stdout="
        + seen);
  }

  @Test
  void threeNodesComeUpServeATopicAndStopTogetherOnSigterm() throws Exception {
    Path clusterDir = dir.resolve("cluster");
    Process cluster = processes.launch("cluster", "--nodes", "3", "--dir", clusterDir.toString());
    List<String> lines = awaitClusterReady(cluster);

    Map<Integer, String> brokers = new TreeMap<>();
    Map<Integer, String> http = new TreeMap<>();
    Map<Integer, Long> pids = new TreeMap<>();
    for (String line : lines) {
      Matcher ready = READY.matcher(line);
      if (ready.find()) {
        brokers.put(Integer.parseInt(ready.group(1)), ready.group(2));
        http.put(Integer.parseInt(ready.group(1)), HttpProbe.httpAddress(line));
      }
      Matcher pid = PID.matcher(line);
      if (pid.find()) {
        pids.put(Integer.parseInt(pid.group(1)), Long.parseLong(pid.group(2)));
      }
    }
    assertEquals(Set.of(1, 2, 3), brokers.keySet(), "three ready lines: " + lines);
    assertEquals(Set.of(1, 2, 3), pids.keySet(), "three pids: " + lines);
    children.addAll(cluster.toHandle().children().toList());
    assertEquals(Set.copyOf(pids.values()), children.stream().map(ProcessHandle::pid).collect(Collectors.toSet()),
        "the printed pids are the cluster process's children");
    for (ProcessHandle child : children) {
      // From /proc: ProcessHandle.Info leaves out arguments as long as a class path.
      List<String> args = List.of(Files.readString(Path.of("/proc", String.valueOf(child.pid()), "cmdline"))
          .split("\0"));
      List<String> jvmOptions = args.subList(0, args.indexOf("-cp"));
      assertTrue(jvmOptions.containsAll(NodeJvmOptions.defaults(Runtime.getRuntime().availableProcessors())),
          "node " + child.pid() + " starts with this machine's node JVM defaults: " + jvmOptions);
    }
    assertEquals(3, Set.copyOf(brokers.values()).size(), "distinct broker addresses: " + brokers);
    String last = lines.get(lines.size() - 1);
    assertTrue(last.contains(String.join(",", brokers.values())), "bootstrap servers listed: " + last);

    CliTest.Result created = CliTest.cli("", "topics", "create", "--bootstrap-server", brokers.get(2), "--topic",
        "through-node-2");
    assertEquals(0, created.exit(), created.err());
    CliTest.Result listed = CliTest.cli("", "topics", "list", "--bootstrap-server", brokers.get(3));
    assertEquals(0, listed.exit(), listed.err());
    assertTrue(listed.lines().contains("through-node-2"), listed.out());
    for (String address : http.values()) {
      HttpProbe.awaitStatus(address, "/health/ready", 200);
    }
    assertTrue(HttpProbe.get(http.get(1), "/metrics").body().contains("raftline_quorum_leader{"));
    for (int id = 1; id <= 3; id++) {
      assertTrue(Files.exists(clusterDir.resolve("node-" + id + ".properties")));
      assertTrue(Files.exists(clusterDir.resolve("node-" + id).resolve(Storage.META_PROPERTIES)));
    }

    cluster.destroy(); // SIGTERM to the cluster process only
    assertTrue(cluster.waitFor(90, TimeUnit.SECONDS), "the cluster process stops on SIGTERM");
    assertEquals(0, cluster.exitValue(), processes.stderr(0));
    for (ProcessHandle child : children) {
      child.onExit().get(30, TimeUnit.SECONDS);
      assertFalse(child.isAlive(), "node pid " + child.pid() + " is gone");
    }
    for (long pid : pids.values()) {
      assertTrue(ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true), "pid " + pid + " is gone");
    }
    assertTrue(processes.stderr(0).contains("Raftline cluster stopped"), processes.stderr(0));
    for (int id = 1; id <= 3; id++) {
      String log = Files.readString(clusterDir.resolve("node-" + id + ".log"));
      assertTrue(log.contains("Raftline node " + id + " stopped"), "node " + id + " stopped cleanly: " + log);
    }
  }

  @Test
  void aDirectoryFromAnotherClusterSizeIsRefused() throws Exception {
    Path clusterDir = dir.resolve("c");
    Files.createDirectories(clusterDir);
    Files.writeString(clusterDir.resolve(LocalCluster.CLUSTER_PROPERTIES), "cluster.id=x\nnodes=2\n");
    CliTest.Result r = CliTest.cli("", "cluster", "--nodes", "3", "--dir", clusterDir.toString());
    assertEquals(1, r.exit());
    assertTrue(r.err().contains("cluster of 2 nodes") && r.err().contains("--nodes 2"), r.err());
    assertEquals(1, CliTest.cli("", "cluster", "--nodes", "0", "--dir", dir.resolve("z").toString()).exit());
  }
}
