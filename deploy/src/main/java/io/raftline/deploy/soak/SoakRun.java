package io.raftline.deploy.soak;

import io.raftline.broker.log.PartitionLog;
import io.raftline.client.RaftlineClient;
import io.raftline.deploy.soak.Evidence.MetadataEntry;
import io.raftline.deploy.soak.Evidence.MetadataLogView;
import io.raftline.deploy.soak.Evidence.ReplicaLogView;
import io.raftline.deploy.soak.SoakCluster.Node;
import io.raftline.protocol.quorum.DescribeQuorumResponse;
import io.raftline.protocol.records.Record;
import io.raftline.protocol.records.RecordBatch;
import io.raftline.quorum.log.MetadataLog;
import io.raftline.quorum.log.MetadataLogConfig;
import io.raftline.quorum.raft.LogEntry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.grpc.client.GrpcClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One soak run: start the cluster, create the topic (RF 3, min.insync.replicas 2), run the workload
 * while the {@link Nemesis} injects faults, heal, stop sending, read everything back, stop the cluster,
 * read every node's metadata log and every replica's partition log, and check the history.
 *
 * <p>Files in the run directory: {@code history.tsv} (see {@link History}), {@code summary.txt},
 * {@code node-N.properties}, {@code node-N/} (data), {@code node-N.log} (each start of the node's
 * output).
 */
public final class SoakRun {
  static final String TOPIC = "soak";
  static final String HISTORY_FILE = "history.tsv";
  static final String SUMMARY_FILE = "summary.txt";

  private SoakRun() {}

  /** Waits for a future from a non-Vert.x thread. */
  static <T> T await(Future<T> future, long timeoutMs) throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    future.onComplete(ar -> done.countDown());
    if (!done.await(timeoutMs, TimeUnit.MILLISECONDS)) {
      throw new TimeoutException("no answer within " + timeoutMs + " ms");
    }
    if (future.failed()) {
      Throwable cause = future.cause();
      throw cause instanceof Exception ? (Exception) cause : new RuntimeException(cause);
    }
    return future.result();
  }

  /** Runs a soak; progress lines go to {@code progress} (may be null). Never leaves a node running. */
  public static SoakSummary run(SoakConfig config, PrintWriter progress) throws Exception {
    quietLogs();
    long started = System.currentTimeMillis();
    Files.createDirectories(config.dir());
    Path historyFile = config.dir().resolve(HISTORY_FILE);
    History history = History.create(historyFile, "seed=" + config.seed() + " topology=" + config.topology().label());
    Vertx vertx = Vertx.vertx();
    Map<Integer, Long> ends = null;
    boolean finalComplete = false;
    List<MetadataLogView> metadataLogs = new ArrayList<>();
    List<ReplicaLogView> replicaLogs = new ArrayList<>();
    long metadataHighWatermark = -1;
    String problem = null;
    List<String> notes = new ArrayList<>();
    SoakCluster cluster = SoakCluster.prepare(config);
    Workload workload = null;
    try {
      say(progress, history, "starting " + cluster.nodes().size() + " nodes (" + config.topology().label() + ") in "
          + config.dir());
      cluster.startAll();
      workload = new Workload(vertx, history, cluster.bootstrapServers(), TOPIC, config.producers(),
          config.recordsPerSecond(), config.groupMembers());
      RaftlineClient admin = workload.client(Map.of("request.timeout.ms", "3000", "metadata.max.age.ms", "1000"));
      ClusterProbe probe = new ClusterProbe(cluster, GrpcClient.client(vertx), admin, TOPIC);
      createTopic(admin, config.partitions());
      String unhealthy = probe.awaitHealthy(config.healTimeout().toMillis());
      if (unhealthy != null) {
        throw new IllegalStateException("the new cluster did not become healthy: " + unhealthy);
      }
      say(progress, history, "cluster ready, topic " + TOPIC + " created; workload and faults for "
          + config.duration().toSeconds() + " s (seed " + config.seed() + ")");
      Nemesis nemesis = new Nemesis(config, cluster, probe, history, progress, TOPIC);
      notes.addAll(SoakSummary.simulationNotes(nemesis.fullDiskAvailable(), cluster.proxy() != null));
      workload.start();
      nemesis.run(System.currentTimeMillis() + config.duration().toMillis());
      String lastProblem = probe.awaitHealthy(config.healTimeout().toMillis());
      if (lastProblem != null) {
        notes.add("the cluster was not healthy at the end: " + lastProblem);
      }
      say(progress, history, "faults over; stopping the producers (" + workload.outstanding() + " sends pending)");
      if (!workload.stopSending(60_000)) {
        notes.add(workload.outstanding() + " sends neither acknowledged nor failed 60 s after the producers stopped");
      }
      if (workload.skipped() > 0) {
        notes.add(workload.skipped() + " sends skipped while too many were outstanding");
      }
      ends = stableEndOffsets(probe);
      say(progress, history, "end offsets " + ends + "; reading everything back");
      if (!workload.stopLive(ends, 60_000)) {
        notes.add("the live consumer did not reach the end offsets");
      }
      try {
        workload.closeGroupMembers();
      } catch (Exception e) {
        notes.add("the group members did not leave cleanly: " + e);
      }
      finalComplete = workload.finalRead(ends, 120_000);
      DescribeQuorumResponse q = probe.quorum();
      metadataHighWatermark = q == null ? -1 : q.getHighWatermark();
      workload.close();
      workload = null;
      history.flush();
      say(progress, history, "stopping the cluster");
      if (!cluster.stopAll()) {
        notes.add("some nodes did not stop cleanly on SIGTERM; see their logs");
      }
      for (Node n : cluster.nodes()) {
        metadataLogs.add(readMetadataLog(n));
        if (n.spec.broker()) {
          for (int p = 0; p < config.partitions(); p++) {
            ReplicaLogView replica = readReplica(n.id(), p, n.dataDir.resolve(TOPIC + "-" + p), ends.getOrDefault(p, 0L));
            if (replica != null) {
              replicaLogs.add(replica);
            }
          }
        }
      }
    } catch (Exception | AssertionError e) {
      StringWriter trace = new StringWriter();
      e.printStackTrace(new PrintWriter(trace));
      problem = e.toString();
      history.fault("run-problem " + e.toString().replace(' ', '_'));
      if (progress != null) {
        progress.println("soak run broke off: " + trace);
        progress.flush();
      }
    } finally {
      if (workload != null) {
        try {
          workload.close();
        } catch (Exception ignored) {
          // the cluster goes next anyway
        }
      }
      cluster.close();
      history.close();
      await(vertx.close(), 30_000);
    }
    Evidence evidence = Evidence.fromHistory(historyFile).withFinalRead(ends, finalComplete)
        .withMetadataLogs(metadataLogs, metadataHighWatermark).withReplicaLogs(replicaLogs);
    List<Check.Result> results = Checks.runAll(Checks.standard(), evidence);
    SoakSummary summary = new SoakSummary(config, evidence, results, Availability.of(evidence), notes,
        System.currentTimeMillis() - started, problem);
    try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(config.dir().resolve(SUMMARY_FILE),
        StandardCharsets.UTF_8))) {
      summary.print(out);
    }
    return summary;
  }

  private static void say(PrintWriter progress, History history, String line) {
    if (progress != null) {
      progress.println("[" + history.now() / 1000 + " s] " + line);
      progress.flush();
    }
  }

  /** Held, because java.util.logging forgets the level of a logger nobody references. */
  private static final List<Logger> QUIETED = List.of(Logger.getLogger("io.vertx"), Logger.getLogger("io.netty"),
      Logger.getLogger("io.grpc"), Logger.getLogger("io.raftline"));

  /** The nodes' own logs go to their files; the harness prints its summary, not client chatter. */
  private static void quietLogs() {
    QUIETED.forEach(l -> l.setLevel(Level.SEVERE));
  }

  private static void createTopic(RaftlineClient admin, int partitions) throws Exception {
    long deadline = System.currentTimeMillis() + 60_000;
    Exception last = null;
    while (System.currentTimeMillis() < deadline) {
      try {
        await(admin.admin().createTopic(TOPIC, partitions, 3, Map.of("min.insync.replicas", "2")), 10_000);
        return;
      } catch (Exception e) {
        last = e;
        if (String.valueOf(e.getMessage()).contains("already exists")) {
          return;
        }
        Thread.sleep(500);
      }
    }
    throw new IllegalStateException("could not create topic " + TOPIC + ": " + last, last);
  }

  /** End offsets asked until two answers a second apart agree (nothing is being written any more). */
  private static Map<Integer, Long> stableEndOffsets(ClusterProbe probe) throws Exception {
    long deadline = System.currentTimeMillis() + 60_000;
    Map<Integer, Long> before = null;
    Exception last = null;
    while (System.currentTimeMillis() < deadline) {
      try {
        Map<Integer, Long> now = probe.endOffsets();
        if (now.equals(before)) {
          return now;
        }
        before = now;
      } catch (Exception e) {
        last = e;
      }
      Thread.sleep(1_000);
    }
    if (before != null) {
      return before;
    }
    throw new IllegalStateException("no end offsets: " + last, last);
  }

  /** A stopped node's metadata log (opening it runs the same recovery the node would). */
  static MetadataLogView readMetadataLog(Node n) throws IOException {
    List<MetadataEntry> entries = new ArrayList<>();
    try (MetadataLog log = MetadataLog.open(n.metadataLogDir(), MetadataLogConfig.defaults())) {
      for (LogEntry e : log.readAll()) {
        entries.add(new MetadataEntry(e.offset(), e.epoch(), e.payload()));
      }
      return new MetadataLogView(n.id(), n.spec.controller(), log.startOffset(), log.endOffset(), entries);
    }
  }

  /**
   * A stopped broker's replica of one partition, below {@code end}: offset to value. Null if the
   * node holds no replica of it. Opening the log runs the broker's own recovery.
   */
  static ReplicaLogView readReplica(int node, int partition, Path dir, long end) throws IOException {
    Path meta = dir.resolve(PartitionLog.PARTITION_METADATA);
    if (!Files.exists(meta)) {
      return null;
    }
    Optional<UUID> topicId = Files.readAllLines(meta, StandardCharsets.UTF_8).stream()
        .filter(l -> l.startsWith("topic_id:")).map(l -> UUID.fromString(l.substring("topic_id:".length()).trim()))
        .findFirst();
    if (topicId.isEmpty()) {
      return null;
    }
    TreeMap<Long, String> out = new TreeMap<>();
    try (PartitionLog log = PartitionLog.open(dir, topicId.get())) {
      long offset = log.startOffset();
      long stop = Math.min(end, log.endOffset());
      while (offset < stop) {
        ByteBuffer batches = log.read(offset, 1 << 20);
        long next = offset;
        for (RecordBatch b : RecordBatch.parse(batches)) {
          for (Record r : b.records()) {
            if (r.offset() >= offset && r.offset() < stop) {
              out.put(r.offset(), r.value() == null ? "(null)" : new String(r.value(), StandardCharsets.UTF_8));
            }
          }
          next = Math.max(next, b.nextOffset());
        }
        if (next <= offset) {
          break;
        }
        offset = next;
      }
      return new ReplicaLogView(node, partition, log.startOffset(), log.endOffset(), out);
    }
  }
}
