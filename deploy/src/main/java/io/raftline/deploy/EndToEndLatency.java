package io.raftline.deploy;

import io.raftline.client.Producer;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.raftline.client.TopicSubscription;
import io.vertx.core.Promise;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * End-to-end latency, as Kafka's end-to-end latency tool measures it: one record at a time, from the
 * send to its arrival at a consumer subscribed to the topic. Each record carries its sequence number
 * so the arrival is matched to its send.
 */
final class EndToEndLatency {
  private static final long PER_RECORD_TIMEOUT_MS = 10_000;

  private EndToEndLatency() {}

  static void run(RaftlineClient client, String topic, int messages, int recordSize, PrintWriter out)
      throws Exception {
    RaftlineCli.await(client.admin().describeTopics(List.of(topic)), 60_000);
    Map<Long, Promise<Long>> waiting = new ConcurrentHashMap<>();
    TopicSubscription subscription = client.subscribe(topic);
    subscription.handler(r -> {
      if (r.value() != null && r.value().length >= 8) {
        Promise<Long> p = waiting.remove(ByteBuffer.wrap(r.value()).getLong());
        if (p != null) {
          p.tryComplete(System.nanoTime());
        }
      }
    });
    Producer producer = client.producer();
    // Warm-up: the subscription positions itself at the end, so wait until one record gets through.
    long warm = -1;
    long warmDeadline = System.currentTimeMillis() + 60_000;
    while (true) {
      Promise<Long> seen = Promise.promise();
      waiting.put(warm, seen);
      RaftlineCli.await(producer.send(ProducerRecord.of(topic, null, payload(warm, recordSize))), 60_000);
      try {
        RaftlineCli.await(seen.future(), 1_000);
        break;
      } catch (java.util.concurrent.TimeoutException e) {
        waiting.remove(warm);
        if (System.currentTimeMillis() > warmDeadline) {
          throw new IllegalStateException("no record made it to the consumer within 60 s");
        }
        warm--;
      }
    }
    long[] latenciesNs = new long[messages];
    for (int i = 0; i < messages; i++) {
      Promise<Long> arrived = Promise.promise();
      waiting.put((long) i, arrived);
      long sent = System.nanoTime();
      producer.send(ProducerRecord.of(topic, null, payload(i, recordSize)));
      try {
        latenciesNs[i] = RaftlineCli.await(arrived.future(), PER_RECORD_TIMEOUT_MS) - sent;
      } catch (java.util.concurrent.TimeoutException e) {
        throw new IllegalStateException("record " + i + " did not reach the consumer within " + PER_RECORD_TIMEOUT_MS
            + " ms; consumer positions " + Arrays.toString(RaftlineCli.await(subscription.positions(), 5_000)));
      }
      if (i > 0 && i % 1000 == 0) {
        out.printf("%d records, last latency %.2f ms%n", i, latenciesNs[i] / 1e6);
        out.flush();
      }
    }
    subscription.close();
    Arrays.sort(latenciesNs);
    double avgMs = Arrays.stream(latenciesNs).average().orElse(0) / 1e6;
    out.printf("Avg latency: %.4f ms%n", avgMs);
    out.printf("Percentiles: 50th = %.2f, 99th = %.2f, 99.9th = %.2f%n", pct(latenciesNs, 0.5),
        pct(latenciesNs, 0.99), pct(latenciesNs, 0.999));
    out.flush();
  }

  private static byte[] payload(long sequence, int size) {
    ByteBuffer b = ByteBuffer.allocate(Math.max(8, size));
    b.putLong(sequence);
    return b.array();
  }

  private static double pct(long[] sortedNs, double p) {
    return sortedNs[Math.min(sortedNs.length - 1, (int) (sortedNs.length * p))] / 1e6;
  }
}
