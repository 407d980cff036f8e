package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tarball {@code mvn package} makes (run by failsafe after the package phase): its layout, and
 * that a node started from the unpacked {@code bin/raftline} alone (no Maven class path) formats,
 * serves, and stops. Uses the system's {@code tar}, as an operator would.
 */
class DistributionIT {
  private static final String VERSION = System.getProperty("raftline.version");
  private static final Path TARBALL = Path.of(System.getProperty("raftline.tarball", "missing"));
  private static final String TOP = "raftline-" + VERSION + "/";

  @TempDir Path dir;
  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void killLeftovers() throws InterruptedException {
    for (Process p : started) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static String run(Path workDir, String... command) throws Exception {
    Process p = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "finished: " + String.join(" ", command));
    assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + out);
    return out;
  }

  /** Runs the unpacked bin/raftline with this JVM's java first on the PATH. */
  private ProcessBuilder raftline(Path home, String... args) {
    List<String> command = new ArrayList<>(List.of(home.resolve("bin/raftline").toString()));
    command.addAll(List.of(args));
    ProcessBuilder b = new ProcessBuilder(command).directory(dir.toFile());
    Map<String, String> env = b.environment();
    env.put("PATH", Path.of(System.getProperty("java.home"), "bin") + ":" + env.getOrDefault("PATH", "/usr/bin:/bin"));
    return b;
  }

  @Test
  void tarballHoldsBinLibAndConfigUnderOneVersionedDirectory() throws Exception {
    assertTrue(Files.isRegularFile(TARBALL), "no tarball at " + TARBALL);
    Set<String> entries = new TreeSet<>(run(dir, "tar", "-tzf", TARBALL.toString()).lines().toList());
    Set<String> tops = new TreeSet<>();
    for (String e : entries) {
      assertTrue(e.startsWith(TOP), "outside " + TOP + ": " + e);
      String rest = e.substring(TOP.length());
      if (!rest.isEmpty()) {
        tops.add(rest.split("/")[0]);
      }
    }
    assertEquals(Set.of("bin", "lib", "config"), tops);
    for (String must : List.of("bin/raftline", "config/dev.properties", "config/cluster-3.properties",
        "config/controller-1.properties", "config/broker-6.properties", "lib/raftline-deploy-" + VERSION + "-dist.jar",
        "lib/raftline-quorum-verticle-" + VERSION + ".jar", "lib/micrometer-registry-prometheus-1.15.7.jar")) {
      assertTrue(entries.contains(TOP + must), "missing " + must + " in " + entries);
    }
  }

  @Test
  void anUnpackedDistributionRunsANode() throws Exception {
    run(dir, "tar", "-xzf", TARBALL.toString());
    Path home = dir.resolve(TOP);
    assertTrue(Files.isExecutable(home.resolve("bin/raftline")), "bin/raftline keeps its executable bit");

    Process uuid = raftline(home, "storage", "random-uuid").start();
    started.add(uuid);
    String clusterId = new String(uuid.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertTrue(uuid.waitFor(60, TimeUnit.SECONDS));
    Storage.checkClusterId(clusterId);

    int brokerPort = TestNodes.freePort();
    int controllerPort = TestNodes.freePort();
    // The shipped dev config, moved to free ports and this test's directory.
    Path config = writeDevConfig(home, brokerPort, controllerPort);
    Process format = raftline(home, "storage", "format", "--config", config.toString(), "--cluster-id", clusterId)
        .redirectErrorStream(true).start();
    started.add(format);
    String formatted = new String(format.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(format.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, format.exitValue(), formatted);

    Process node = raftline(home, "node", "--config", config.toString())
        .redirectError(dir.resolve("node.err").toFile()).start();
    started.add(node);
    String ready = NodeProcesses.awaitReadyLine(node);
    String metrics = HttpProbe.get(HttpProbe.httpAddress(ready), "/metrics").body();
    assertTrue(metrics.contains("raftline_quorum_leader{"), metrics);
    assertTrue(ready.contains("127.0.0.1:" + brokerPort), ready);
    node.destroy();
    assertTrue(node.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, node.exitValue(), Files.readString(dir.resolve("node.err")));
  }

  /**
   * Every command, not only a node, compiles with C1 only on a machine of two or fewer CPUs (the JVM
   * prints the flags it was given), and RAFTLINE_JAVA_OPTS still come after.
   */
  @Test
  void commandsCompileWithC1OnlyOnSmallMachines() throws Exception {
    run(dir, "tar", "-xzf", TARBALL.toString());
    Path home = dir.resolve(TOP);
    ProcessBuilder b = raftline(home, "--version").redirectErrorStream(true);
    b.environment().put("RAFTLINE_JAVA_OPTS", "-XX:+PrintCommandLineFlags");
    Process version = b.start();
    started.add(version);
    String out = new String(version.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(version.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, version.exitValue(), out);
    assertTrue(out.contains("raftline "), out);
    assertTrue(out.lines().noneMatch(l -> l.contains("bin/raftline:")), "the script itself complained: " + out);
    boolean small = Runtime.getRuntime().availableProcessors() <= NodeJvmOptions.SMALL_MACHINE_CPUS;
    assertEquals(small, out.contains("-XX:TieredStopAtLevel=1"), out);
  }

  private Path writeDevConfig(Path home, int brokerPort, int controllerPort) throws IOException {
    String dev = Files.readString(home.resolve("config/dev.properties"))
        .replace("127.0.0.1:9092", "127.0.0.1:" + brokerPort)
        .replace("127.0.0.1:9093", "127.0.0.1:" + controllerPort)
        .replace("http.listener=127.0.0.1:9644", "http.listener=127.0.0.1:0")
        .replace("log.dirs=data/dev", "log.dirs=" + dir.resolve("data"));
    Path file = dir.resolve("dev-here.properties");
    Files.writeString(file, dev);
    return file;
  }
}
