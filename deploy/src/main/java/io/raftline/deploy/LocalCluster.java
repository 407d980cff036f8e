package io.raftline.deploy;

import io.raftline.protocol.LoopbackPorts;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A development cluster of N combined nodes on loopback, each a child {@code raftline node} process
 * of this JVM (same java, same class path). The directory holds {@code node-N.properties},
 * {@code node-N/} (data) and {@code node-N.log} (the node's output) for each node, and
 * {@code cluster.properties} (cluster id, node count), so a second run on the same directory restarts
 * the same cluster instead of formatting a new one.
 *
 * <p>Children run with {@code --stop-with-parent}: they ignore SIGINT (a terminal's Ctrl-C reaches the
 * whole process group; this process forwards one SIGTERM each instead, so a node never sees the second
 * signal that would make it halt), and they stop by themselves if this process dies without stopping
 * them (kill -9).
 */
final class LocalCluster {
  static final String CLUSTER_PROPERTIES = "cluster.properties";
  private static final long READY_TIMEOUT_MS = 120_000;
  private static final long STOP_TIMEOUT_MS = 30_000;

  /** One child node: its id, process, files, and the ready line once it has printed it. */
  record Node(int id, Process process, Path config, Path log, CompletableFuture<String> ready) {}

  private final Path dir;
  private final int size;
  private final List<Node> nodes = new ArrayList<>();
  private volatile boolean stopping;
  /** Completed by a stop request, so a Ctrl-C during start-up need not wait for the nodes to be ready. */
  private final CompletableFuture<Void> stopRequested = new CompletableFuture<>();
  /** Processes killed on purpose (a benchmark's kill -9), whose exit is no news. */
  private final java.util.Set<Long> expectedExits = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private LocalCluster(Path dir, int size) {
    this.dir = dir;
    this.size = size;
  }

  /**
   * Writes the node configs and formats storage with one new cluster id, or, when {@code dir} already
   * holds a cluster of {@code size} nodes, keeps it. Nothing is started yet.
   */
  static LocalCluster prepare(Path dir, int size, PrintWriter out) throws IOException {
    if (size < 1) {
      throw new IllegalArgumentException("--nodes must be at least 1, got " + size);
    }
    Files.createDirectories(dir);
    LocalCluster cluster = new LocalCluster(dir.toAbsolutePath().normalize(), size);
    Path meta = cluster.dir.resolve(CLUSTER_PROPERTIES);
    if (Files.exists(meta)) {
      Properties p = load(meta);
      int existing = Integer.parseInt(p.getProperty("nodes", "-1"));
      if (existing != size) {
        throw new ConfigException(cluster.dir + " holds a cluster of " + existing + " nodes; run with --nodes "
            + existing + " or choose another --dir");
      }
      out.println("Restarting cluster " + p.getProperty("cluster.id") + " in " + cluster.dir);
      return cluster;
    }
    cluster.format();
    out.println("Formatted a new cluster of " + size + " node" + (size == 1 ? "" : "s") + " in " + cluster.dir);
    return cluster;
  }

  private void format() throws IOException {
    List<Integer> free = LoopbackPorts.distinct(3 * size);
    int[][] ports = new int[size][3];
    for (int i = 0; i < size; i++) {
      for (int k = 0; k < 3; k++) {
        ports[i][k] = free.get(3 * i + k);
      }
    }
    StringBuilder voters = new StringBuilder();
    for (int i = 0; i < size; i++) {
      voters.append(i == 0 ? "" : ",").append(i + 1).append("@127.0.0.1:").append(ports[i][1]);
    }
    String clusterId = Storage.randomClusterId();
    for (int i = 0; i < size; i++) {
      int id = i + 1;
      Properties p = new Properties();
      p.setProperty("process.roles", "broker,controller");
      p.setProperty("node.id", Integer.toString(id));
      p.setProperty("controller.quorum.voters", voters.toString());
      p.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + ports[i][0] + ",CONTROLLER://127.0.0.1:" + ports[i][1]);
      p.setProperty("controller.listener.names", "CONTROLLER");
      p.setProperty("log.dirs", dir.resolve("node-" + id).toString());
      p.setProperty("http.listener", "127.0.0.1:" + ports[i][2]);
      store(p, configFile(id), "Node " + id + " of a local cluster made by 'raftline cluster'");
      Storage.format(NodeConfig.from(p), clusterId, false);
    }
    Properties meta = new Properties();
    meta.setProperty("cluster.id", clusterId);
    meta.setProperty("nodes", Integer.toString(size));
    // Written last: it marks a complete cluster that a later run may restart as it is.
    store(meta, dir.resolve(CLUSTER_PROPERTIES), "A local cluster made by 'raftline cluster'");
  }

  private Path configFile(int id) {
    return dir.resolve("node-" + id + ".properties");
  }

  /** Starts every node as a child process; returns once each has printed its ready line. */
  void start(PrintWriter out) throws Exception {
    for (int id = 1; id <= size; id++) {
      nodes.add(launch(id));
    }
    long deadline = System.currentTimeMillis() + READY_TIMEOUT_MS;
    for (Node n : nodes) {
      try {
        CompletableFuture.anyOf(n.ready(), stopRequested)
            .get(Math.max(1, deadline - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        throw new IllegalStateException("node " + n.id() + " was not ready within " + READY_TIMEOUT_MS + " ms; see "
            + n.log());
      } catch (ExecutionException e) {
        throw new IllegalStateException(e.getCause().getMessage());
      }
      if (!n.ready().isDone()) {
        throw new IllegalStateException("stopped before every node was ready");
      }
      String line = n.ready().join();
      out.println(line);
      out.println("  node " + n.id() + ": pid " + n.process().pid() + ", config " + n.config() + ", log " + n.log());
      out.flush();
    }
    for (Node n : nodes) {
      n.process().onExit().thenAccept(p -> {
        if (!stopping && !expectedExits.contains(p.pid())) {
          System.err.println("raftline cluster: node " + n.id() + " (pid " + p.pid() + ") exited with code "
              + p.exitValue() + "; see " + n.log());
        }
      });
    }
  }

  /** Kills one node with SIGKILL (no shutdown of any kind) and waits until it is gone. */
  void killNode(int id) throws InterruptedException {
    Node n = nodeById(id);
    expectedExits.add(n.process().pid());
    n.process().destroyForcibly();
    n.process().waitFor(STOP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
  }

  /** Stops one node with SIGTERM (a clean stop) and waits until it is gone. */
  void stopNode(int id) throws InterruptedException {
    Node n = nodeById(id);
    expectedExits.add(n.process().pid());
    n.process().destroy();
    if (!n.process().waitFor(STOP_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
      n.process().destroyForcibly();
      n.process().waitFor(STOP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }
  }

  /** Starts a killed node again on its directories and waits for its ready line. */
  void restartNode(int id) throws Exception {
    Node n = launch(id);
    nodes.set(nodes.indexOf(nodeById(id)), n);
    n.ready().get(READY_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    n.process().onExit().thenAccept(this::reportUnexpectedExit);
  }

  private Node nodeById(int id) {
    return nodes.stream().filter(x -> x.id() == id).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no node " + id));
  }

  private void reportUnexpectedExit(Process p) {
    if (!stopping && !expectedExits.contains(p.pid())) {
      System.err.println("raftline cluster: pid " + p.pid() + " exited with code " + p.exitValue());
    }
  }

  private Node launch(int id) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(javaExecutable());
    command.addAll(NodeJvmOptions.forNodeHere());
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), RaftlineCli.class.getName(),
        "node", "--config", configFile(id).toString(), "--stop-with-parent"));
    Path log = dir.resolve("node-" + id + ".log");
    Process process = new ProcessBuilder(command).directory(dir.toFile())
        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
    CompletableFuture<String> ready = new CompletableFuture<>();
    Node node = new Node(id, process, configFile(id), log, ready);
    Thread reader = new Thread(() -> copyStdout(node), "raftline-cluster-node-" + id + "-stdout");
    reader.setDaemon(true);
    reader.start();
    return node;
  }

  /**
   * Copies a node's stdout into its log (so the pipe never fills) and completes its ready future with
   * the ready line, or fails it with the end of the log if the node exits first.
   */
  private void copyStdout(Node node) {
    try (InputStream in = node.process().getInputStream();
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        Writer log = Files.newBufferedWriter(node.log(), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
            StandardOpenOption.APPEND)) {
      String line;
      while ((line = reader.readLine()) != null) {
        log.write(line);
        log.write('\n');
        log.flush();
        if (line.contains(" ready: ")) {
          node.ready().complete(line);
        }
      }
    } catch (IOException e) {
      node.ready().completeExceptionally(e);
    }
    if (!node.ready().isDone()) {
      int code;
      try {
        code = node.process().waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        code = -1;
      }
      node.ready().completeExceptionally(new IllegalStateException("node " + node.id() + " exited with code " + code
          + " before it was ready: " + lastLine(node.log()) + " (see " + node.log() + ")"));
    }
  }

  private static String lastLine(Path file) {
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      for (int i = lines.size() - 1; i >= 0; i--) {
        if (!lines.get(i).isBlank()) {
          return lines.get(i).strip();
        }
      }
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
    return "(empty log)";
  }

  /** Makes a {@link #start} in progress give up waiting; safe from a signal handler. */
  void requestStop() {
    stopRequested.complete(null);
  }

  /**
   * Sends each running node one SIGTERM (a clean stop: controlled shutdown, leadership handed over),
   * waits for all, and kills those still running after the timeout.
   *
   * @return true if every node stopped cleanly (exit code 0)
   */
  boolean stop() throws InterruptedException {
    stopping = true;
    for (Node n : nodes) {
      if (n.process().isAlive()) {
        n.process().destroy();
      }
    }
    boolean clean = true;
    long deadline = System.currentTimeMillis() + STOP_TIMEOUT_MS;
    for (Node n : nodes) {
      if (!n.process().waitFor(Math.max(1, deadline - System.currentTimeMillis()), TimeUnit.MILLISECONDS)) {
        n.process().destroyForcibly();
        n.process().waitFor(10, TimeUnit.SECONDS);
        clean = false;
      } else if (n.process().exitValue() != 0) {
        clean = false;
      }
    }
    return clean;
  }

  /** Kills every node still running at once (SIGKILL): for a second signal, or an unexpected exit. */
  void kill() {
    stopping = true;
    for (Node n : nodes) {
      n.process().destroyForcibly();
    }
  }

  /** The nodes' client addresses, comma-separated, for --bootstrap-server. */
  String bootstrapServers() throws IOException {
    List<String> out = new ArrayList<>();
    for (int id = 1; id <= size; id++) {
      NodeConfig.Listener l = NodeConfig.from(load(configFile(id))).brokerListener();
      out.add(l.host() + ":" + l.port());
    }
    return String.join(",", out);
  }

  /** Each node's controller listener, by node id. */
  java.util.Map<Integer, NodeConfig.Listener> controllerListeners() throws IOException {
    java.util.Map<Integer, NodeConfig.Listener> out = new java.util.TreeMap<>();
    for (int id = 1; id <= size; id++) {
      out.put(id, NodeConfig.from(load(configFile(id))).controllerListener());
    }
    return out;
  }

  List<Node> nodes() {
    return List.copyOf(nodes);
  }

  Path dir() {
    return dir;
  }

  private static String javaExecutable() {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    if (Files.isExecutable(java)) {
      return java.toString();
    }
    // Unusual layouts: ask the OS what this process runs.
    return ProcessHandle.current().info().command().orElse("java");
  }

  private static Properties load(Path file) throws IOException {
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(file)) {
      p.load(in);
    }
    return p;
  }

  private static void store(Properties p, Path file, String comment) throws IOException {
    try (OutputStream out = Files.newOutputStream(file)) {
      p.store(out, comment);
    }
  }
}
