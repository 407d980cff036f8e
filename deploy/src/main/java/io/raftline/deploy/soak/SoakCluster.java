package io.raftline.deploy.soak;

import io.raftline.protocol.LoopbackPorts;
import io.raftline.deploy.NodeConfig;
import io.raftline.deploy.RaftlineCli;
import io.raftline.deploy.Storage;
import io.raftline.deploy.soak.Topology.NodeSpec;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The soak's cluster: real {@code raftline node} processes on loopback, started from this JVM's class
 * path, on ports picked by the OS once and kept across restarts. Every process this class starts is a
 * child it holds a handle to; faults (kill -9, SIGSTOP/SIGCONT, a file-size limit) only ever target
 * those PIDs, and {@link #close()} kills any still running.
 */
final class SoakCluster implements AutoCloseable {
  static final long READY_TIMEOUT_MS = 90_000;
  static final long STOP_TIMEOUT_MS = 30_000;
  static final String METADATA_DIR = "__cluster_metadata-0";
  /** Short timeouts, so faults are noticed and healed within seconds. */
  static final Map<String, String> SOAK_SETTINGS = Map.of(
      "broker.session.timeout.ms", "2000",
      "broker.heartbeat.interval.ms", "500",
      "replica.lag.time.max.ms", "3000",
      "controller.quorum.election.timeout.ms", "1000",
      "controller.quorum.fetch.timeout.ms", "2000",
      "offsets.topic.num.partitions", "3",
      "http.listener", "none");

  /** One node: its fixed ports and files, and the process currently running it (if any). */
  static final class Node {
    final NodeSpec spec;
    final int brokerPort;
    final int controllerPort;
    final Path config;
    final Path dataDir;
    final Path log;
    volatile Process process;
    volatile CompletableFuture<String> ready = new CompletableFuture<>();
    volatile boolean paused;
    int starts;

    Node(NodeSpec spec, int brokerPort, int controllerPort, Path config, Path dataDir, Path log) {
      this.spec = spec;
      this.brokerPort = brokerPort;
      this.controllerPort = controllerPort;
      this.config = config;
      this.dataDir = dataDir;
      this.log = log;
    }

    int id() {
      return spec.id();
    }

    boolean running() {
      Process p = process;
      return p != null && p.isAlive();
    }

    long pid() {
      Process p = process;
      if (p == null || !p.isAlive()) {
        throw new IllegalStateException("node " + id() + " is not running");
      }
      return p.pid();
    }

    Path metadataLogDir() {
      return dataDir.resolve(METADATA_DIR);
    }
  }

  /** Lines of a starting node's output kept for the error when it exits before it is ready. */
  private static final int START_LINES_KEPT = 30;

  private final SoakConfig config;
  // Sorted by id; concurrent because the proxy's accept threads read it.
  private final Map<Integer, Node> nodes = new java.util.concurrent.ConcurrentSkipListMap<>();
  private final TcpProxy proxy;

  private SoakCluster(SoakConfig config, TcpProxy proxy) {
    this.config = config;
    this.proxy = proxy;
  }

  /** Picks ports, starts the quorum proxies, writes configs and formats every node's storage. */
  static SoakCluster prepare(SoakConfig config) throws IOException {
    Path dir = config.dir().toAbsolutePath().normalize();
    Files.createDirectories(dir);
    List<NodeSpec> specs = config.topology().nodes();
    List<Integer> free = LoopbackPorts.distinct(2 * specs.size());
    Map<Integer, int[]> ports = new TreeMap<>();
    for (int i = 0; i < specs.size(); i++) {
      ports.put(specs.get(i).id(), new int[] {free.get(2 * i), free.get(2 * i + 1)});
    }
    Map<Integer, Integer> voterPorts = new TreeMap<>();
    for (NodeSpec s : specs) {
      if (s.controller()) {
        voterPorts.put(s.id(), ports.get(s.id())[1]);
      }
    }
    Map<Integer, Integer> brokerPorts = new TreeMap<>();
    for (NodeSpec s : specs) {
      if (s.broker()) {
        brokerPorts.put(s.id(), ports.get(s.id())[0]);
      }
    }
    // The proxy asks the cluster for its nodes' pids when a broker link accepts; the cluster needs the
    // proxy to be built, hence the reference filled in just below.
    java.util.concurrent.atomic.AtomicReference<SoakCluster> built = new java.util.concurrent.atomic.AtomicReference<>();
    TcpProxy proxy = config.proxy() ? new TcpProxy(specs.stream().map(NodeSpec::id).toList(), voterPorts, brokerPorts,
        () -> built.get() == null ? Map.of() : built.get().nodePids()) : null;
    SoakCluster cluster = new SoakCluster(config, proxy);
    built.set(cluster);
    try {
      String clusterId = Storage.randomClusterId();
      for (NodeSpec s : specs) {
        int id = s.id();
        StringBuilder voters = new StringBuilder();
        for (Map.Entry<Integer, Integer> v : voterPorts.entrySet()) {
          int port = v.getKey() == id || proxy == null ? v.getValue() : proxy.port(id, v.getKey());
          voters.append(voters.length() == 0 ? "" : ",").append(v.getKey()).append("@127.0.0.1:").append(port);
        }
        Properties p = new Properties();
        p.setProperty("process.roles", s.roles());
        p.setProperty("node.id", Integer.toString(id));
        p.setProperty("controller.quorum.voters", voters.toString());
        List<String> listeners = new ArrayList<>();
        if (s.broker()) {
          listeners.add("PLAINTEXT://127.0.0.1:" + ports.get(id)[0]);
        }
        if (s.controller()) {
          listeners.add("CONTROLLER://127.0.0.1:" + ports.get(id)[1]);
        }
        p.setProperty("listeners", String.join(",", listeners));
        if (s.broker() && proxy != null) {
          // Clients and the other brokers reach this broker through its proxy link, so a network cut
          // covers replication and coordinator traffic too.
          p.setProperty("advertised.listeners", "PLAINTEXT://127.0.0.1:" + proxy.brokerPort(id));
        }
        p.setProperty("controller.listener.names", "CONTROLLER");
        Path data = dir.resolve("node-" + id);
        p.setProperty("log.dirs", data.toString());
        p.setProperty("num.partitions", Integer.toString(config.partitions()));
        SOAK_SETTINGS.forEach(p::setProperty);
        Path file = dir.resolve("node-" + id + ".properties");
        try (OutputStream out = Files.newOutputStream(file)) {
          p.store(out, "Node " + id + " of a raftline soak (" + config.topology().label() + ")");
        }
        Storage.format(NodeConfig.from(p), clusterId, false);
        cluster.nodes.put(id, new Node(s, s.broker() ? ports.get(id)[0] : -1, s.controller() ? ports.get(id)[1] : -1,
            file, data, dir.resolve("node-" + id + ".log")));
      }
    } catch (IOException | RuntimeException e) {
      cluster.close();
      throw e;
    }
    return cluster;
  }

  /** pid to node id of every node process running now. */
  Map<Long, Integer> nodePids() {
    Map<Long, Integer> pids = new java.util.HashMap<>();
    for (Node n : nodes.values()) {
      Process p = n.process;
      if (p != null && p.isAlive()) {
        pids.put(p.pid(), n.id());
      }
    }
    return pids;
  }

  List<Node> nodes() {
    return List.copyOf(nodes.values());
  }

  Node node(int id) {
    Node n = nodes.get(id);
    if (n == null) {
      throw new IllegalArgumentException("no node " + id);
    }
    return n;
  }

  List<Node> brokers() {
    return nodes.values().stream().filter(n -> n.spec.broker()).toList();
  }

  List<Node> controllers() {
    return nodes.values().stream().filter(n -> n.spec.controller()).toList();
  }

  String bootstrapServers() {
    List<String> out = new ArrayList<>();
    for (Node n : brokers()) {
      out.add("127.0.0.1:" + n.brokerPort);
    }
    return String.join(",", out);
  }

  TcpProxy proxy() {
    return proxy;
  }

  /** Starts every node and waits until each has printed its ready line. */
  void startAll() throws Exception {
    for (Node n : nodes.values()) {
      launch(n);
    }
    for (Node n : nodes.values()) {
      awaitReady(n);
    }
  }

  /** Starts a node that is not running (again, on the same directories and ports) and waits until ready. */
  void start(int id) throws Exception {
    Node n = node(id);
    if (n.running()) {
      throw new IllegalStateException("node " + id + " is already running");
    }
    launch(n);
    awaitReady(n);
  }

  private void launch(Node n) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(javaExecutable());
    command.addAll(config.javaOptions());
    command.addAll(List.of("-cp", absolute(config.classPath()), RaftlineCli.class.getName(), "node", "--config",
        n.config.toString(), "--stop-with-parent"));
    // stderr through the same pipe as stdout: the harness copies both into the node's log, so a
    // file-size limit on the node (full disk) does not silence its log.
    Process p = new ProcessBuilder(command).directory(config.dir().toFile()).redirectErrorStream(true).start();
    n.paused = false;
    n.ready = new CompletableFuture<>();
    n.process = p;
    n.starts++;
    CompletableFuture<String> ready = n.ready;
    Thread copier = new Thread(() -> copyOutput(n, p, ready), "raftline-soak-node-" + n.id() + "-output");
    copier.setDaemon(true);
    copier.start();
  }

  private static void copyOutput(Node n, Process p, CompletableFuture<String> ready) {
    ArrayDeque<String> startLines = new ArrayDeque<>();
    try (InputStream in = p.getInputStream();
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        Writer log = Files.newBufferedWriter(n.log, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
            StandardOpenOption.APPEND)) {
      log.write("==== raftline soak: start #" + n.starts + " of node " + n.id() + ", pid " + p.pid() + " ====\n");
      log.flush();
      String line;
      while ((line = reader.readLine()) != null) {
        log.write(line);
        log.write('\n');
        log.flush();
        if (line.contains(" ready: ")) {
          ready.complete(line);
        } else if (!ready.isDone()) {
          startLines.addLast(line);
          if (startLines.size() > START_LINES_KEPT) {
            startLines.removeFirst();
          }
        }
      }
    } catch (IOException e) {
      ready.completeExceptionally(e);
    }
    if (!ready.isDone()) {
      // The log file is gone with the run's temporary directory when this fails in CI: say why here.
      String exit;
      try {
        exit = p.waitFor(STOP_TIMEOUT_MS, TimeUnit.MILLISECONDS) ? "exit code " + p.exitValue() : "still running";
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        exit = "exit code unknown";
      }
      ready.completeExceptionally(new IllegalStateException("node " + n.id() + " exited before it was ready ("
          + exit + "); see " + n.log + "; its last lines:\n  " + String.join("\n  ", startLines)));
    }
  }

  private static void awaitReady(Node n) throws Exception {
    try {
      n.ready.get(READY_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new IllegalStateException("node " + n.id() + " was not ready within " + READY_TIMEOUT_MS + " ms; see "
          + n.log);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
    }
  }

  /** kill -9 of the node's process; returns once it is gone. */
  void kill(int id) throws InterruptedException {
    Node n = node(id);
    Process p = n.process;
    if (p != null) {
      p.destroyForcibly();
      if (!p.waitFor(STOP_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("node " + id + " (pid " + p.pid() + ") survived kill -9");
      }
    }
    n.paused = false;
  }

  /** SIGSTOP: the process is frozen, sockets open, as in a long GC pause or a hung VM. */
  void pause(int id) throws IOException, InterruptedException {
    Node n = node(id);
    signal(n.pid(), "-STOP");
    n.paused = true;
  }

  /** SIGCONT after {@link #pause}. */
  void resume(int id) throws IOException, InterruptedException {
    Node n = node(id);
    if (n.running()) {
      signal(n.pid(), "-CONT");
    }
    n.paused = false;
  }

  private static void signal(long pid, String signal) throws IOException, InterruptedException {
    run(List.of("kill", signal, Long.toString(pid)));
  }

  /**
   * Sets the soft RLIMIT_FSIZE of the node's running process with {@code prlimit}: with 0 every write
   * to a file fails with EFBIG ("File too large"), as a full disk fails it with ENOSPC.
   *
   * @return the soft limit before, to hand back to {@link #setFileSizeLimit} later
   */
  String setFileSizeLimit(int id, String soft) throws IOException, InterruptedException {
    long pid = node(id).pid();
    String before = run(List.of("prlimit", "--pid", Long.toString(pid), "--fsize", "--raw", "--noheadings",
        "--output=SOFT")).trim();
    run(List.of("prlimit", "--pid", Long.toString(pid), "--fsize=" + soft + ":"));
    return before.isEmpty() ? "unlimited" : before;
  }

  /** Whether {@code prlimit} can change a running process's limits here. */
  static boolean prlimitAvailable() {
    try {
      run(List.of("prlimit", "--pid", Long.toString(ProcessHandle.current().pid()), "--fsize", "--raw",
          "--noheadings"));
      return true;
    } catch (IOException | InterruptedException | RuntimeException e) {
      return false;
    }
  }

  private static String run(List<String> command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + out.trim());
    }
    return out;
  }

  /** SIGTERM to every running node (resumed first), waits, kills what is left; true if all stopped cleanly. */
  boolean stopAll() throws InterruptedException {
    for (Node n : nodes.values()) {
      if (n.paused) {
        try {
          resume(n.id());
        } catch (IOException e) {
          // it is killed below if it does not stop
        }
      }
    }
    for (Node n : nodes.values()) {
      if (n.running()) {
        n.process.destroy();
      }
    }
    boolean clean = true;
    long deadline = System.currentTimeMillis() + STOP_TIMEOUT_MS;
    for (Node n : nodes.values()) {
      Process p = n.process;
      if (p == null) {
        continue;
      }
      if (!p.waitFor(Math.max(1, deadline - System.currentTimeMillis()), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
        clean = false;
      } else if (p.exitValue() != 0 && p.exitValue() != 137) {
        clean = false;
      }
    }
    return clean;
  }

  /** Kills every process this cluster started that still runs (by handle; nothing else). */
  @Override
  public void close() {
    for (Node n : nodes.values()) {
      Process p = n.process;
      if (p != null && p.isAlive()) {
        if (n.paused) {
          try {
            signal(p.pid(), "-CONT");
          } catch (IOException | InterruptedException ignored) {
            // SIGKILL works on a stopped process too
          }
        }
        p.destroyForcibly();
        try {
          p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
    if (proxy != null) {
      proxy.close();
    }
  }

  /** The nodes run in the soak directory, so a relative class path entry is made absolute. */
  private static String absolute(String classPath) {
    List<String> out = new ArrayList<>();
    for (String entry : classPath.split(java.io.File.pathSeparator)) {
      if (!entry.isEmpty()) {
        out.add(Path.of(entry).toAbsolutePath().toString());
      }
    }
    return String.join(java.io.File.pathSeparator, out);
  }

  private static String javaExecutable() {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    return Files.isExecutable(java) ? java.toString() : ProcessHandle.current().info().command().orElse("java");
  }
}
