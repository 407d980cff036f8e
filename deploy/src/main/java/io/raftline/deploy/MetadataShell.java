package io.raftline.deploy;

import io.raftline.metadata.image.BrokerRegistration;
import io.raftline.metadata.image.MetadataDelta;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.metadata.image.TopicImage;
import io.raftline.metadata.record.MetadataRecordCodec;
import io.raftline.metadata.snapshot.MetadataSnapshot;
import io.raftline.metadata.snapshot.SnapshotId;
import io.raftline.quorum.log.MetadataLog;
import io.raftline.quorum.log.MetadataLogConfig;
import io.raftline.quorum.raft.LogEntry;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Reads cluster metadata offline, from a snapshot file or a metadata log directory (its newest
 * snapshot plus the log after it), and prints the image: brokers, topics with each partition's
 * leader, replicas and ISR, configs, producer ids, features, ACLs and quotas.
 */
final class MetadataShell {
  private MetadataShell() {}

  /** The image in a snapshot file. */
  static MetadataImage fromSnapshot(Path file) throws IOException {
    return MetadataSnapshot.load(file);
  }

  /**
   * The image in a {@code __cluster_metadata-0} directory: the newest snapshot there, then every log
   * entry after it. Opening the log recovers it as a node would (a torn tail is cut), so point it at a
   * stopped node's directory or a copy.
   */
  static MetadataImage fromLogDirectory(Path dir) throws IOException {
    Optional<Path> newest;
    try (Stream<Path> files = Files.list(dir)) {
      newest = files.filter(f -> SnapshotId.parse(f.getFileName().toString()).isPresent())
          .max(Comparator.comparing(f -> SnapshotId.parse(f.getFileName().toString()).orElseThrow()));
    }
    MetadataImage base = newest.isPresent() ? MetadataSnapshot.load(newest.get()) : MetadataImage.EMPTY;
    MetadataDelta delta = new MetadataDelta(base);
    try (MetadataLog log = MetadataLog.open(dir, MetadataLogConfig.defaults())) {
      for (LogEntry e : log.readAll()) {
        if (e.offset() > base.offset()) {
          delta.replay(e.offset(), MetadataRecordCodec.decode(e.payload()));
        }
      }
    }
    return delta.apply();
  }

  static void print(MetadataImage image, PrintWriter out) {
    out.println("Metadata image at offset " + image.offset());
    out.println("Brokers:");
    image.brokers().values().stream().sorted(Comparator.comparingInt(BrokerRegistration::id)).forEach(b ->
        out.printf("  %d\tepoch %d\t%s\track '%s'\t%s%n", b.id(), b.epoch(), b.fenced() ? "fenced" : "unfenced",
            b.rack(), b.listeners().stream().map(l -> l.listenerName() + "://" + l.host() + ":" + l.port())
                .collect(Collectors.joining(","))));
    out.println("Topics:");
    image.topicsById().values().stream().sorted(Comparator.comparing(TopicImage::name)).forEach(t -> {
      out.printf("  %s\tid %s\tpartitions %d%n", t.name(), t.id(), t.partitions().size());
      t.partitions().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
        PartitionRegistration p = e.getValue();
        out.printf("    partition %d\tleader %d\tleaderEpoch %d\tpartitionEpoch %d\treplicas %s\tisr %s%n", e.getKey(),
            p.leader(), p.leaderEpoch(), p.partitionEpoch(), p.replicas(), p.isr());
      });
    });
    out.println("Configs:");
    image.configs().entrySet().stream()
        .sorted(Comparator.comparing((Map.Entry<io.raftline.metadata.record.ConfigResource, ?> e) -> e.getKey().type())
            .thenComparing(e -> e.getKey().name()))
        .forEach(e -> out.printf("  %s '%s'\t%s%n", e.getKey().type(), e.getKey().name(),
            new java.util.TreeMap<>(e.getValue())));
    out.println("Next producer id: " + image.nextProducerId());
    out.println("Features: " + new java.util.TreeMap<>(image.features()));
    out.println("ACLs: " + image.acls().size());
    image.acls().values().forEach(a -> out.printf("  %s %s %s on %s %s:%s (%s)%n", a.permissionType(), a.principal(),
        a.operation(), a.resourceType(), a.patternType(), a.resourceName(), a.host()));
    out.println("Client quotas: " + image.quotas().size());
    image.quotas().forEach((entity, values) -> out.printf("  %s\t%s%n", entity, new java.util.TreeMap<>(values)));
  }
}
