package io.raftline.deploy;

import io.raftline.client.ConsumerRecord;
import io.raftline.client.GroupConsumer;
import io.raftline.client.RaftlineClient;
import io.raftline.client.TopicSubscription;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.streams.ReadStream;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.text.SimpleDateFormat;
import java.util.Date;
import java.util.List;

/**
 * Consumer throughput from the beginning of a topic, printed like Kafka's consumer performance tool:
 * a CSV header and one line (start and end time, MB and records consumed, and their rates).
 */
final class ConsumerPerformance {
  private ConsumerPerformance() {}

  /** CPU time of the whole client process: its event loop, GC and JIT. */
  private static long processCpuNanos() {
    return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
        ? os.getProcessCpuTime() : 0;
  }

  /** Heap allocated so far by the live threads of the client process. */
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

  static void run(RaftlineClient client, String topic, long messages, long timeoutMs, PrintWriter out)
      throws Exception {
    Vertx vertx = client.vertx();
    RaftlineCli.await(client.admin().describeTopics(List.of(topic)), 60_000);
    long[] count = {0};
    long[] bytes = {0};
    long[] lastRecordAt = {System.currentTimeMillis()};
    Promise<Void> finished = Promise.promise();
    long startMs = System.currentTimeMillis();
    long start = System.nanoTime();
    long cpuStart = processCpuNanos();
    long allocatedStart = allocatedBytes();
    // With group.id set (--consumer-props group.id=G,auto.offset.reset=earliest) the time includes
    // joining the group and being assigned every partition, as in Kafka's tool; else every partition
    // is read directly from its first offset.
    ReadStream<ConsumerRecord> s;
    Runnable close;
    if (client.config().groupId().isEmpty()) {
      TopicSubscription subscription = client.subscribeFromBeginning(topic);
      s = subscription;
      close = subscription::close;
    } else {
      GroupConsumer member = client.subscribe(List.of(topic));
      s = member;
      close = () -> member.close().onComplete(ar -> finished.tryComplete());
    }
    s.exceptionHandler(finished::tryFail);
    s.endHandler(v -> finished.tryComplete());
    s.handler(r -> {
      count[0]++;
      bytes[0] += (r.value() == null ? 0 : r.value().length) + (r.key() == null ? 0 : r.key().length);
      lastRecordAt[0] = System.currentTimeMillis();
      if (count[0] == messages) {
        finished.tryComplete(); // timed to the last record, not to leaving the group
        close.run();
      }
    });
    vertx.setPeriodic(100, id -> {
      if (System.currentTimeMillis() - lastRecordAt[0] > timeoutMs) {
        vertx.cancelTimer(id);
        close.run();
      }
    });
    RaftlineCli.await(finished.future(), Long.MAX_VALUE);
    double seconds = (System.nanoTime() - start) / 1e9;
    long cpu = processCpuNanos() - cpuStart;
    long allocated = allocatedBytes() - allocatedStart;
    long endMs = System.currentTimeMillis();
    SimpleDateFormat f = new SimpleDateFormat("yyyy-MM-dd HH:mm:ss:SSS");
    double mb = bytes[0] / 1048576.0;
    out.println("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec");
    out.printf("%s, %s, %.4f, %.4f, %d, %.4f%n", f.format(new Date(startMs)), f.format(new Date(endMs)), mb,
        mb / seconds, count[0], count[0] / seconds);
    // Steadier than the rate on a shared machine: other load stretches time, not CPU or allocation.
    out.printf("consumer process: %.1f ms CPU per MB, %d B allocated per record (%.1f s CPU in all)%n",
        mb == 0 ? 0.0 : cpu / 1e6 / mb, count[0] == 0 ? 0 : allocated / count[0], cpu / 1e9);
    out.flush();
    if (count[0] < messages) {
      throw new IllegalStateException("only " + count[0] + " of " + messages + " records arrived before a "
          + timeoutMs + " ms pause");
    }
  }
}
