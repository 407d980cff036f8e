package io.raftline.deploy;

import io.raftline.protocol.LoopbackPorts;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.raftline.metadata.QuorumVoter;
import io.raftline.metadata.record.MetadataRecord;
import io.raftline.metadata.record.RegisterBrokerRecord;
import io.raftline.quorum.QuorumConfig;
import io.raftline.quorum.QuorumVerticle;
import io.raftline.quorum.controller.ControllerConfig;
import io.raftline.quorum.raft.RaftRole;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * Commit throughput and latency of the metadata quorum: N voters in this process (each on its own
 * Vert.x instance, talking gRPC over loopback, fsyncing to disk), with a client keeping many appends
 * in flight so group commit can batch them. Prints one summary line in the style of Kafka's perf tools.
 */
final class QuorumBenchmark {
  private QuorumBenchmark() {}

  static void run(int voterCount, long records, int recordsPerAppend, int inFlight, Path baseDir, PrintWriter out)
      throws Exception {
    Path dir = baseDir != null ? baseDir : Files.createTempDirectory("raftline-perf-quorum");
    List<QuorumVoter> voters = new ArrayList<>();
    for (int id = 1; id <= voterCount; id++) {
      voters.add(new QuorumVoter(id, "127.0.0.1", LoopbackPorts.one()));
    }
    String clusterId = Storage.randomClusterId();
    List<Vertx> vertxes = new ArrayList<>();
    List<QuorumVerticle> members = new ArrayList<>();
    try {
      for (QuorumVoter v : voters) {
        Vertx vertx = Vertx.vertx();
        vertxes.add(vertx);
        QuorumVerticle member = new QuorumVerticle(new QuorumConfig(v.id(), voters, v.host(), v.port(),
            dir.resolve("node-" + v.id()).resolve("__cluster_metadata-0"), clusterId,
            "perf." + v.id() + ".metadata", 1000, 2000, ControllerConfig.defaults()), new SimpleMeterRegistry());
        RaftlineCli.await(vertx.deployVerticle(member), 30_000);
        members.add(member);
      }
      QuorumVerticle leader = awaitLeader(members);
      long appends = (records + recordsPerAppend - 1) / recordsPerAppend;
      long[] latencies = new long[(int) appends];
      Semaphore permits = new Semaphore(inFlight);
      AtomicInteger done = new AtomicInteger();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      long start = System.nanoTime();
      long cpuStart = processCpuNanos();
      long allocatedStart = allocatedBytes();
      long nextReport = start + TimeUnit.SECONDS.toNanos(5);
      for (int a = 0; a < appends && failure.get() == null; a++) {
        permits.acquire();
        List<MetadataRecord> batch = new ArrayList<>(recordsPerAppend);
        for (int r = 0; r < recordsPerAppend; r++) {
          int brokerId = (a * recordsPerAppend + r) % 10_000;
          batch.add(new RegisterBrokerRecord(brokerId, "perf-" + brokerId, 0, List.of(), "", false));
        }
        int index = a;
        long sent = System.nanoTime();
        leader.append(batch).onComplete(ar -> {
          latencies[index] = System.nanoTime() - sent;
          if (ar.failed()) {
            failure.compareAndSet(null, ar.cause());
          }
          done.incrementAndGet();
          permits.release();
        });
        if (System.nanoTime() > nextReport) {
          long committed = (long) done.get() * recordsPerAppend;
          out.printf("%d records committed, %.1f records/sec.%n", committed,
              committed / ((System.nanoTime() - start) / 1e9));
          out.flush();
          nextReport += TimeUnit.SECONDS.toNanos(5);
        }
      }
      permits.acquire(inFlight);
      long elapsed = System.nanoTime() - start;
      long cpu = processCpuNanos() - cpuStart;
      long allocated = allocatedBytes() - allocatedStart;
      if (failure.get() != null) {
        throw new IllegalStateException("an append failed: " + failure.get().getMessage(), failure.get());
      }
      Arrays.sort(latencies);
      double seconds = elapsed / 1e9;
      out.printf("%d records committed on %d voters, %.1f records/sec, %d records per append, %d appends in flight, "
              + "%.2f ms avg commit latency, %.2f ms max latency, %.2f ms 50th, %.2f ms 95th, %.2f ms 99th, %.2f ms 99.9th, "
              + "%.1f us CPU and %d B allocated per record.%n",
          appends * recordsPerAppend, voterCount, appends * recordsPerAppend / seconds, recordsPerAppend, inFlight,
          Arrays.stream(latencies).average().orElse(0) / 1e6, latencies[latencies.length - 1] / 1e6,
          percentile(latencies, 0.5), percentile(latencies, 0.95), percentile(latencies, 0.99),
          percentile(latencies, 0.999), cpu / 1e3 / (appends * recordsPerAppend),
          allocated / (appends * recordsPerAppend));
    } finally {
      for (Vertx v : vertxes) {
        RaftlineCli.await(v.close(), 30_000);
      }
      if (baseDir == null) {
        deleteTree(dir);
      }
    }
  }

  /**
   * CPU time of the whole process (all voters, the client, GC and JIT): on a shared machine it says
   * more about the cost per record than the rate does, which other load bends.
   */
  private static long processCpuNanos() {
    return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
        ? os.getProcessCpuTime() : 0;
  }

  /**
   * Heap allocated so far by the live threads (the voters' event loops and workers, the client): unlike
   * time, other load on the machine does not bend it.
   */
  private static long allocatedBytes() {
    if (!(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean threads)) {
      return 0;
    }
    long sum = 0;
    for (long bytes : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) {
      sum += Math.max(0, bytes);
    }
    return sum;
  }

  private static double percentile(long[] sorted, double p) {
    return sorted[Math.min(sorted.length - 1, (int) (sorted.length * p))] / 1e6;
  }

  private static QuorumVerticle awaitLeader(List<QuorumVerticle> members) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 30_000;
    while (System.currentTimeMillis() < deadline) {
      for (QuorumVerticle m : members) {
        if (m.status().role() == RaftRole.LEADER) {
          return m;
        }
      }
      Thread.sleep(10);
    }
    throw new IllegalStateException("no leader elected within 30 s");
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
