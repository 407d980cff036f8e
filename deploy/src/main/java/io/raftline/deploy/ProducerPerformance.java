package io.raftline.deploy;

import io.raftline.client.Producer;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Producer throughput and latency, printed in the format of Kafka's producer performance tool so the
 * figures compare line for line: a progress line every five seconds and a final summary line.
 */
final class ProducerPerformance {
  private ProducerPerformance() {}

  /**
   * @param throughput records per second to offer, or -1 for as fast as the producer accepts
   * @param settings client settings (bootstrap.servers, acks, linger.ms, batch.size, ...)
   */
  static void run(RaftlineClient client, String topic, long records, int recordSize, long throughput,
      int maxInFlightRecords, long warmupRecords, PrintWriter out) throws Exception {
    Producer producer = client.producer();
    byte[] payload = new byte[recordSize];
    new SplittableRandom(42).nextBytes(payload);
    int[] latencies = new int[(int) Math.min(records, Integer.MAX_VALUE - 8)];
    Semaphore window = new Semaphore(maxInFlightRecords);
    AtomicLong done = new AtomicLong();
    AtomicLong windowCount = new AtomicLong();
    AtomicLong windowLatency = new AtomicLong();
    AtomicLong windowMax = new AtomicLong();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    // Kafka's send blocks while the topic's metadata is unknown, so its tool's first record waits for
    // the cold client (connection, metadata) alone while the pacing waits with it. This send does not
    // block; fetching the metadata before the clock starts keeps that one wait from queueing a
    // backlog of records behind it, which would count the client's start-up in thousands of latencies.
    RaftlineCli.await(producer.partitionsFor(topic), 60_000);
    long start = System.nanoTime();
    long windowStart = start;
    long steadyStart = start;
    AtomicLong steadyDone = new AtomicLong();
    for (long i = 0; i < records && failure.get() == null; i++) {
      if (throughput > 0) {
        long due = start + (long) (i * 1e9 / throughput);
        long wait = due - System.nanoTime();
        if (wait > 0) {
          TimeUnit.NANOSECONDS.sleep(wait);
        }
      }
      window.acquire();
      long sent = System.nanoTime();
      if (i == warmupRecords) {
        steadyStart = sent;
      }
      boolean steady = i >= warmupRecords;
      int index = (int) i;
      producer.send(ProducerRecord.of(topic, null, payload)).onComplete(ar -> {
        int ms = (int) ((System.nanoTime() - sent) / 1_000_000);
        if (ar.failed()) {
          failure.compareAndSet(null, ar.cause());
        }
        if (index < latencies.length) {
          latencies[index] = ms;
        }
        windowCount.incrementAndGet();
        windowLatency.addAndGet(ms);
        windowMax.accumulateAndGet(ms, Math::max);
        done.incrementAndGet();
        if (steady) {
          steadyDone.incrementAndGet();
        }
        window.release();
      });
      long now = System.nanoTime();
      if (now - windowStart >= TimeUnit.SECONDS.toNanos(5)) {
        long n = windowCount.getAndSet(0);
        double seconds = (now - windowStart) / 1e9;
        out.printf("%d records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.%n",
            n, n / seconds, n * (double) recordSize / seconds / 1048576.0,
            n == 0 ? 0.0 : windowLatency.getAndSet(0) / (double) n, (double) windowMax.getAndSet(0));
        out.flush();
        windowStart = now;
      }
    }
    window.acquire(maxInFlightRecords);
    RaftlineCli.await(producer.flush(), 60_000);
    long end = System.nanoTime();
    if (failure.get() != null) {
      throw new IllegalStateException("a send failed: " + failure.get().getMessage(), failure.get());
    }
    int n = (int) Math.min(done.get(), latencies.length);
    summary(out, Arrays.copyOf(latencies, n), done.get(), (end - start) / 1e9, recordSize, "");
    if (warmupRecords > 0) {
      int from = (int) Math.min(warmupRecords, n);
      summary(out, Arrays.copyOfRange(latencies, from, n), steadyDone.get(), (end - steadyStart) / 1e9, recordSize,
          " (steady state: after " + warmupRecords + " warm-up records)");
    }
  }

  /** One summary line in the format of Kafka's producer perf tool; sorts {@code latencies}. */
  private static void summary(PrintWriter out, int[] latencies, long count, double seconds, int recordSize,
      String suffix) {
    int[] sorted = latencies;
    Arrays.sort(sorted);
    int n = sorted.length;
    double avg = Arrays.stream(sorted).average().orElse(0);
    out.printf("%d records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, "
            + "%d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th.%s%n",
        count, count / seconds, count * (double) recordSize / seconds / 1048576.0, avg,
        (double) (n == 0 ? 0 : sorted[n - 1]), pct(sorted, 0.5), pct(sorted, 0.95), pct(sorted, 0.99),
        pct(sorted, 0.999), suffix);
    out.flush();
  }

  private static int pct(int[] sorted, double p) {
    return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) (sorted.length * p))];
  }
}
