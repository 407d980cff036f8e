package io.raftline.deploy.soak;

import io.raftline.deploy.soak.SoakCluster.Node;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Injects faults one at a time on a schedule drawn from {@code new Random(seed)}: a quiet spell, a
 * fault (kinds cycle in shuffled rounds, so each enabled kind comes up once per round), the fault
 * lifted, then a wait until the cluster has recovered (every node up, quorum caught up, every ISR
 * full) before the next quiet spell. Waiting for recovery keeps the faults within what RF 3 and
 * min.insync.replicas 2 promise to survive: one replica down at a time. If the cluster does not
 * recover within the heal timeout, that is recorded and the nemesis stops injecting.
 *
 * <p>Every fault is undone in a {@code finally}: a killed node is restarted, a paused one resumed, a
 * file-size limit lifted, a cut healed.
 */
final class Nemesis {
  /** Pause: this much longer than broker.session.timeout.ms at least. */
  static final long SESSION_TIMEOUT_MS = Long.parseLong(SoakCluster.SOAK_SETTINGS.get("broker.session.timeout.ms"));

  private final SoakConfig config;
  private final SoakCluster cluster;
  private final ClusterProbe probe;
  private final History history;
  private final PrintWriter progress;
  private final String topic;
  private final Random random;
  private final List<FaultKind> round = new ArrayList<>();
  private final Set<FaultKind> injected = EnumSet.noneOf(FaultKind.class);
  private final boolean prlimit;
  private volatile boolean stopped;
  private boolean gaveUp;

  Nemesis(SoakConfig config, SoakCluster cluster, ClusterProbe probe, History history, PrintWriter progress,
      String topic) {
    this.config = config;
    this.cluster = cluster;
    this.probe = probe;
    this.history = history;
    this.progress = progress;
    this.topic = topic;
    this.random = new Random(config.seed());
    this.prlimit = SoakCluster.prlimitAvailable();
  }

  /** Whether a full-disk fault can be simulated here (prlimit present and allowed). */
  boolean fullDiskAvailable() {
    return prlimit;
  }

  boolean gaveUp() {
    return gaveUp;
  }

  void stop() {
    stopped = true;
  }

  private Set<FaultKind> enabled() {
    Set<FaultKind> kinds = EnumSet.noneOf(FaultKind.class);
    kinds.addAll(config.faults());
    if (!prlimit) {
      kinds.remove(FaultKind.FULL_DISK);
    }
    if (cluster.proxy() == null) {
      kinds.remove(FaultKind.NETWORK_CUT);
    }
    return kinds;
  }

  private FaultKind next() {
    if (round.isEmpty()) {
      round.addAll(enabled());
      Collections.shuffle(round, random);
    }
    return round.remove(0);
  }

  private boolean done(long endAt) {
    if (stopped || gaveUp) {
      return true;
    }
    if (System.currentTimeMillis() < endAt) {
      return false;
    }
    return !config.everyFaultOnce() || injected.containsAll(enabled());
  }

  /** Runs faults until {@code endAt} (epoch ms) and, if asked, until every kind came up once. */
  void run(long endAt) throws Exception {
    if (enabled().isEmpty()) {
      while (!stopped && System.currentTimeMillis() < endAt) {
        Thread.sleep(200);
      }
      return;
    }
    while (!done(endAt)) {
      long quiet = config.quietMinMs() + (config.quietMaxMs() > config.quietMinMs()
          ? (long) (random.nextDouble() * (config.quietMaxMs() - config.quietMinMs())) : 0);
      Thread.sleep(quiet);
      if (done(endAt)) {
        break;
      }
      FaultKind kind = next();
      long t0 = System.currentTimeMillis();
      int node = inject(kind);
      injected.add(kind);
      String problem = probe.awaitHealthy(config.healTimeout().toMillis());
      long took = System.currentTimeMillis() - t0;
      if (problem == null) {
        history.fault(kind.label() + " recovered node=" + node + " after=" + took + "ms");
        say(kind.label() + " on node " + node + ": recovered " + took + " ms after the fault began");
      } else {
        history.fault(kind.label() + " heal-timeout node=" + node + " problem=" + problem.replace(' ', '_'));
        say(kind.label() + " on node " + node + ": NOT recovered after " + took + " ms: " + problem
            + "; no more faults");
        gaveUp = true;
      }
    }
  }

  private void say(String line) {
    if (progress != null) {
      progress.println("[" + history.now() / 1000 + " s] " + line);
      progress.flush();
    }
  }

  private <T> T pick(List<T> from) {
    return from.get(random.nextInt(from.size()));
  }

  /** The leader of a random partition, or a random broker if there is none. */
  private int partitionLeader() {
    Map<Integer, Integer> leaders = probe.leaders();
    int p = random.nextInt(config.partitions());
    Integer leader = leaders.get(p);
    return leader != null && leader >= 0 ? leader : pick(cluster.brokers()).id();
  }

  private int randomNode() {
    return pick(cluster.nodes()).id();
  }

  /** Injects one fault and lifts it again; returns the node it hit. */
  private int inject(FaultKind kind) throws Exception {
    switch (kind) {
      case KILL_CONTROLLER: {
        int leader = probe.activeController();
        return killAndRestart(kind, leader >= 0 ? leader : pick(cluster.controllers()).id(), false);
      }
      case KILL_LEADER:
        return killAndRestart(kind, partitionLeader(), false);
      case KILL_RANDOM:
        return killAndRestart(kind, randomNode(), false);
      case TORN_TAIL:
        return killAndRestart(kind, random.nextBoolean() ? partitionLeader() : randomNode(), true);
      case PAUSE:
        return pause(random.nextBoolean() ? partitionLeader() : randomNode());
      case FULL_DISK:
        return fullDisk(random.nextBoolean() ? partitionLeader() : pick(cluster.brokers()).id());
      case NETWORK_CUT: {
        int leader = probe.activeController();
        return networkCut(random.nextBoolean() && leader >= 0 ? leader : randomNode());
      }
      default:
        throw new IllegalStateException("unknown fault " + kind);
    }
  }

  private int killAndRestart(FaultKind kind, int node, boolean tear) throws Exception {
    long downMs = 500 + random.nextInt(2_500);
    String led = probe.ledBy(node);
    cluster.kill(node);
    try {
      String cut = tear ? " cut=" + tearTails(cluster.node(node)) : "";
      history.fault(kind.label() + " start node=" + node + " led=" + led + " down=" + downMs + "ms" + cut);
      say(kind.label() + ": kill -9 of node " + node + " (led partitions " + led + ")" + cut);
      Thread.sleep(downMs);
    } finally {
      cluster.start(node);
    }
    history.fault(kind.label() + " end node=" + node + " restarted");
    return node;
  }

  /**
   * Cuts 1-32 bytes (drawn per file) off the end of the newest segment of each soak partition the node
   * holds and of its newest metadata log segment (only non-empty ones, never more than the file holds).
   */
  private String tearTails(Node node) throws IOException {
    List<String> cut = new ArrayList<>();
    for (int p = 0; p < config.partitions(); p++) {
      int bytes = 1 + random.nextInt(32);
      newestSegment(node.dataDir.resolve(topic + "-" + p)).ifPresent(f -> cut.add(tear(f, bytes, node)));
    }
    int bytes = 1 + random.nextInt(32);
    newestSegment(node.metadataLogDir()).ifPresent(f -> cut.add(tear(f, bytes, node)));
    cut.removeIf(String::isEmpty);
    return cut.isEmpty() ? "-" : String.join(",", cut);
  }

  private static Optional<Path> newestSegment(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return Optional.empty();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.getFileName().toString().matches("\\d{20}\\.log")).max(Path::compareTo);
    }
  }

  private static String tear(Path file, int bytes, Node node) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      long size = ch.size();
      if (size == 0) {
        return "";
      }
      long cut = Math.min(bytes, size);
      ch.truncate(size - cut);
      ch.force(true);
      return node.dataDir.relativize(file) + ":" + cut;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private int pause(int node) throws Exception {
    long pauseMs = SESSION_TIMEOUT_MS + 1_000 + random.nextInt(2_000);
    String led = probe.ledBy(node);
    cluster.pause(node);
    try {
      history.fault("pause start node=" + node + " paused=" + pauseMs + "ms" + " leading=" + led);
      say("pause: SIGSTOP of node " + node + " (led partitions " + led + ") for " + pauseMs + " ms");
      Thread.sleep(pauseMs);
    } finally {
      cluster.resume(node);
    }
    history.fault("pause end node=" + node + " resumed");
    return node;
  }

  private int fullDisk(int node) throws Exception {
    long fullMs = 2_000 + random.nextInt(3_000);
    String led = probe.ledBy(node);
    String before = cluster.setFileSizeLimit(node, "0");
    boolean restarted = false;
    try {
      history.fault("full-disk start node=" + node + " leading=" + led + " for=" + fullMs
          + "ms sim=prlimit_fsize_0_EFBIG");
      say("full-disk: every file write of node " + node + " fails (RLIMIT_FSIZE 0) for " + fullMs + " ms");
      Thread.sleep(fullMs);
    } finally {
      // A node whose metadata log write failed has exited by design (as Kafka halts); nothing to lift.
      if (cluster.node(node).running()) {
        cluster.setFileSizeLimit(node, before);
      }
    }
    // Space is back. A node that exited, or does not come back by itself within a few seconds, is
    // restarted, as an operator would after freeing space (Kafka needs that too once a log dir failed).
    String problem = cluster.node(node).running() ? probe.awaitHealthy(5_000)
        : "node " + node + " exited on the write error";
    if (problem != null) {
      cluster.kill(node);
      cluster.start(node);
      restarted = true;
    }
    history.fault("full-disk end node=" + node + " restarted=" + restarted
        + (problem == null ? "" : " because=" + problem.replace(' ', '_')));
    say("full-disk on node " + node + " lifted; " + (restarted ? "restarted it (" + problem + ")"
        : "it recovered without a restart"));
    return node;
  }

  private int networkCut(int node) throws Exception {
    long cutMs = SESSION_TIMEOUT_MS + 1_000 + random.nextInt(2_000);
    int controller = probe.activeController();
    cluster.proxy().isolate(node);
    try {
      history.fault("network-cut start node=" + node + " active_controller=" + controller + " for=" + cutMs
          + "ms sim=tcp_proxy_quorum_and_broker_links");
      say("network-cut: node " + node + " cut off from the other nodes, quorum and broker links (active controller was "
          + controller + ") for "
          + cutMs + " ms");
      Thread.sleep(cutMs);
    } finally {
      cluster.proxy().heal(node);
    }
    history.fault("network-cut end node=" + node + " healed");
    return node;
  }
}
