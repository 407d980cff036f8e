package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real {@code raftline node} processes: the configured path refuses unformatted storage, the dev
 * path formats itself, a port in use is a clean error, records survive a restart, and SIGTERM stops
 * the node with exit code 0. Each test kills only the processes it started.
 */
class NodeProcessTest {
  private static final long READY_TIMEOUT_MS = 60_000;

  @TempDir Path dir;
  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void killLeftovers() throws InterruptedException {
    for (Process p : started) {
      if (p.isAlive()) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private Process launch(String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
        RaftlineCli.class.getName()));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectError(dir.resolve("node-" + started.size()
        + ".err").toFile()).start();
    started.add(p);
    return p;
  }

  private String stderrOf(int index) throws IOException {
    return Files.readString(dir.resolve("node-" + index + ".err"));
  }

  /** Reads stdout until the ready line, or fails if the process exits or the deadline passes. */
  private static String awaitReadyLine(Process p) throws Exception {
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    long deadline = System.currentTimeMillis() + READY_TIMEOUT_MS;
    StringBuilder seen = new StringBuilder();
    while (System.currentTimeMillis() < deadline) {
      if (out.ready()) {
        String line = out.readLine();
        if (line == null) {
          break;
        }
        seen.append(line).append('\n');
        if (line.contains(" ready: ")) {
          return line;
        }
      } else if (!p.isAlive()) {
        break;
      } else {
        Thread.sleep(20);
      }
    }
    throw new AssertionError("no ready line; exit=" + (p.isAlive() ? "running" : p.exitValue()) + " stdout=" + seen);
  }

  private Path writeConfig(int brokerPort, int controllerPort) throws IOException {
    Properties props = TestNodes.combined(dir, brokerPort, controllerPort);
    Path file = dir.resolve("node.properties");
    try (OutputStream out = Files.newOutputStream(file)) {
      props.store(out, null);
    }
    return file;
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
        "--override", "controller.quorum.voters=1@127.0.0.1:" + controllerPort);
    String ready = awaitReadyLine(node);
    assertTrue(ready.contains("node 1 ready"), ready);
    assertTrue(Files.exists(dir.resolve("data").resolve(Storage.META_PROPERTIES)), "dev data lives in ./data");
    node.destroy();
    assertTrue(node.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, node.exitValue());
  }
}
