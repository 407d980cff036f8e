package io.raftline.deploy;

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

/**
 * Real {@code raftline node} processes for tests: started from the test class path, stderr kept in a
 * file per process, and killed by the test that started them (only those, by handle) when it ends.
 */
final class NodeProcesses implements AutoCloseable {
  static final long READY_TIMEOUT_MS = 60_000;

  private final Path dir;
  private final List<Process> started = new ArrayList<>();

  NodeProcesses(Path dir) {
    this.dir = dir;
  }

  /** Starts {@code raftline ARGS...} in {@code dir}; returns its index for {@link #stderr(int)}. */
  Process launch(String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
        RaftlineCli.class.getName()));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).directory(dir.toFile())
        .redirectError(dir.resolve("process-" + started.size() + ".err").toFile()).start();
    started.add(p);
    return p;
  }

  String stderr(int index) throws IOException {
    return Files.readString(dir.resolve("process-" + index + ".err"));
  }

  /** Reads stdout until the ready line; fails if the process exits or the deadline passes. */
  static String awaitReadyLine(Process p) throws Exception {
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

  /** Writes {@code props} to {@code name} in the test directory. */
  Path writeConfig(String name, Properties props) throws IOException {
    Path file = dir.resolve(name);
    try (OutputStream out = Files.newOutputStream(file)) {
      props.store(out, null);
    }
    return file;
  }

  @Override
  public void close() throws InterruptedException {
    for (Process p : started) {
      if (p.isAlive()) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
