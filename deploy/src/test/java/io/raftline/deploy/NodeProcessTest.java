package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real {@code raftline node} processes: the configured path refuses unformatted storage, the dev
 * path formats itself, a port in use is a clean error, records survive a restart, and SIGTERM stops
 * the node with exit code 0. Each test kills only the processes it started.
 */
class NodeProcessTest {
  @TempDir Path dir;
  private NodeProcesses processes;

  @BeforeEach
  void setUp() {
    processes = new NodeProcesses(dir);
  }

  @AfterEach
  void killLeftovers() throws InterruptedException {
    processes.close();
  }

  private Process launch(String... args) throws IOException {
    return processes.launch(args);
  }

  private String stderrOf(int index) throws IOException {
    return processes.stderr(index);
  }

  private static String awaitReadyLine(Process p) throws Exception {
    return NodeProcesses.awaitReadyLine(p);
  }

  private Path writeConfig(int brokerPort, int controllerPort) throws IOException {
    return processes.writeConfig("node.properties", TestNodes.combined(dir, brokerPort, controllerPort));
  }

  @Test
  void configuredNodeRefusesUnformattedStorageThenRunsAndStopsOnSigterm() throws Exception {
    int brokerPort = TestNodes.freePort();
    int controllerPort = TestNodes.freePort();
    Path config = writeConfig(brokerPort, controllerPort);

    Process refused = launch("node", "--config", config.toString());
    assertTrue(refused.waitFor(60, TimeUnit.SECONDS));
    assertEquals(1, refused.exitValue());
    assertTrue(stderrOf(0).contains("not formatted") && stderrOf(0).contains("raftline storage format"), stderrOf(0));

    assertEquals(0, CliTest.cli("", "storage", "format", "--config", config.toString(), "--cluster-id",
        Storage.randomClusterId()).exit());
    Process node = launch("node", "--config", config.toString());
    String ready = awaitReadyLine(node);
    assertTrue(ready.contains("127.0.0.1:" + brokerPort) && ready.contains("127.0.0.1:" + controllerPort), ready);
    HttpProbe.awaitStatus(HttpProbe.httpAddress(ready), "/health/ready", 200);

    Process clash = launch("node", "--config", config.toString());
    assertTrue(clash.waitFor(60, TimeUnit.SECONDS));
    assertEquals(1, clash.exitValue());
    assertTrue(stderrOf(2).contains("cannot listen"), stderrOf(2));

    String bootstrap = "127.0.0.1:" + brokerPort;
    assertEquals(0, CliTest.cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "t").exit());
    String input = IntStream.range(0, 200).mapToObj(i -> "r" + i).collect(Collectors.joining("\n")) + "\n";
    assertEquals(0, CliTest.cli(input, "produce", "--bootstrap-server", bootstrap, "--topic", "t").exit());

    node.destroy(); // SIGTERM
    assertTrue(node.waitFor(30, TimeUnit.SECONDS), "node stops on SIGTERM");
    assertEquals(0, node.exitValue());
    assertTrue(stderrOf(1).contains("stopped"), stderrOf(1));

    Process again = launch("node", "--config", config.toString());
    awaitReadyLine(again);
    CliTest.Result read = CliTest.cli("", "consume", "--bootstrap-server", bootstrap, "--topic", "t",
        "--from-beginning", "--max-messages", "200");
    assertEquals(0, read.exit(), read.err());
    assertEquals(IntStream.range(0, 200).mapToObj(i -> "r" + i).toList(), read.lines());
    again.destroy();
    assertTrue(again.waitFor(30, TimeUnit.SECONDS));
  }

  @Test
  void devNodeFormatsItsOwnStorage() throws Exception {
    int brokerPort = TestNodes.freePort();
    int controllerPort = TestNodes.freePort();
    Process node = launch("node",
        "--override", "listeners=PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort,
        "--override", "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
        "--override", "http.listener=127.0.0.1:0");
    String ready = awaitReadyLine(node);
    assertTrue(ready.contains("node 1 ready"), ready);
    assertTrue(Files.exists(dir.resolve("data").resolve(Storage.META_PROPERTIES)), "dev data lives in ./data");
    node.destroy();
    assertTrue(node.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, node.exitValue());
  }

  @Test
  void nodeWhoseMetadataLogFailsExits() throws Exception {
    Assumptions.assumeTrue(prlimitWorks(), "prlimit cannot read or change process limits here");
    int brokerPort = TestNodes.freePort();
    int controllerPort = TestNodes.freePort();
    Path config = writeConfig(brokerPort, controllerPort);
    assertEquals(0, CliTest.cli("", "storage", "format", "--config", config.toString(), "--cluster-id",
        Storage.randomClusterId()).exit());
    Process node = launch("node", "--config", config.toString());
    awaitReadyLine(node);

    // RLIMIT_FSIZE 0: every file write of the node fails (EFBIG), as on a full disk. Creating a topic
    // makes the quorum leader append to its metadata log; the failed append must end the process
    // rather than leave a leader that can no longer write answering in its old epoch.
    Process limit = new ProcessBuilder("prlimit", "--pid", Long.toString(node.pid()), "--fsize=0:")
        .redirectErrorStream(true).start();
    assertTrue(limit.waitFor(10, TimeUnit.SECONDS) && limit.exitValue() == 0, "prlimit failed");
    CliTest.Result create = CliTest.cli("", "topics", "create", "--bootstrap-server", "127.0.0.1:" + brokerPort,
        "--topic", "t");
    assertEquals(1, create.exit(), create.out() + create.err());
    assertTrue(node.waitFor(30, TimeUnit.SECONDS), "the node exits after its metadata log failed");
    assertEquals(RaftlineCli.EXIT_HALTED, node.exitValue());
  }

  private static boolean prlimitWorks() throws InterruptedException {
    try {
      Process p = new ProcessBuilder("prlimit", "--pid", Long.toString(ProcessHandle.current().pid()), "--fsize")
          .redirectErrorStream(true).start();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    }
  }
}
