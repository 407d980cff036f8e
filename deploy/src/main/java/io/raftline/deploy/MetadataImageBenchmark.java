package io.raftline.deploy;

import io.raftline.metadata.image.MetadataDelta;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.record.BrokerEndpoint;
import io.raftline.metadata.record.PartitionRecord;
import io.raftline.metadata.record.RegisterBrokerRecord;
import io.raftline.metadata.record.TopicRecord;
import io.raftline.metadata.snapshot.MetadataSnapshot;
import io.raftline.metadata.snapshot.SnapshotId;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

/**
 * Metadata at scale: builds an image of {@code topics × partitions} with replicas spread over
 * {@code brokers}, writes it as a snapshot, loads it back, and reports times, file size and the heap
 * the loaded image holds (measured after full GCs, so run it in a JVM doing nothing else).
 */
final class MetadataImageBenchmark {
  private MetadataImageBenchmark() {}

  static void run(int topics, int partitionsPerTopic, int replicationFactor, int brokers, Path dir, PrintWriter out)
      throws Exception {
    long buildStart = System.nanoTime();
    MetadataDelta delta = new MetadataDelta(MetadataImage.EMPTY);
    long offset = 0;
    for (int b = 0; b < brokers; b++) {
      delta.replay(offset++, new RegisterBrokerRecord(b, "inc-" + b, offset, List.of(new BrokerEndpoint("PLAINTEXT",
          "broker-" + b, 9092)), "rack-" + (b % 3), false));
    }
    for (int t = 0; t < topics; t++) {
      UUID id = new UUID(t, 42);
      delta.replay(offset++, new TopicRecord("topic-" + t, id));
      for (int p = 0; p < partitionsPerTopic; p++) {
        Integer[] replicas = new Integer[replicationFactor];
        for (int r = 0; r < replicationFactor; r++) {
          replicas[r] = (t + p + r) % brokers;
        }
        List<Integer> list = List.of(replicas);
        delta.replay(offset++, new PartitionRecord(id, p, list, list, replicas[0], 0, 0));
      }
    }
    MetadataImage image = delta.apply();
    double buildSeconds = (System.nanoTime() - buildStart) / 1e9;
    long partitions = (long) topics * partitionsPerTopic;
    out.printf("built an image of %d topics, %d partitions (RF %d over %d brokers) by replay in %.2f s%n", topics,
        partitions, replicationFactor, brokers, buildSeconds);
    out.flush();

    Path snapshotDir = dir != null ? dir : Files.createTempDirectory("raftline-perf-image");
    long writeStart = System.nanoTime();
    Path file = MetadataSnapshot.write(snapshotDir, new SnapshotId(offset, 1), image);
    double writeSeconds = (System.nanoTime() - writeStart) / 1e9;
    long size = Files.size(file);
    out.printf("wrote snapshot %s: %.1f MiB in %.2f s%n", file.getFileName(), size / 1048576.0, writeSeconds);
    out.flush();
    image = null;
    delta = null;

    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    long before = usedAfterGc(memory);
    long loadStart = System.nanoTime();
    MetadataImage loaded = MetadataSnapshot.load(file);
    double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
    long after = usedAfterGc(memory);
    out.printf("%d partitions: snapshot load %.2f s, image heap %.1f MiB, snapshot file %.1f MiB (topics: %d)%n",
        partitions, loadSeconds, (after - before) / 1048576.0, size / 1048576.0, loaded.topicsById().size());
    out.flush();
    if (dir == null) {
      Files.deleteIfExists(file);
      Files.deleteIfExists(snapshotDir);
    }
  }

  private static long usedAfterGc(MemoryMXBean memory) throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return memory.getHeapMemoryUsage().getUsed();
  }
}
