package io.raftline.quorum;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.quorum.raft.RaftRole;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * A controller's meters, tagged with the node id (Kafka's controller metrics in spirit):
 * {@code raftline.controller.active} (1 on the active controller, the quorum leader), and from the
 * metadata image the controller has applied: {@code .brokers} and {@code .fenced.brokers}
 * (registered), {@code .topics}, {@code .partitions}, {@code .offline.partitions} (no leader) and
 * {@code .under.replicated.partitions} (an ISR smaller than the replica set).
 *
 * <p>The counts walk the image's partitions, so they are taken on the scraper's thread, once per image
 * a scrape sees, never on the event loop; the image is immutable, so reading it there is safe.
 */
final class ControllerMetrics implements AutoCloseable {
  /** What the image holds, counted once. */
  record ClusterCounts(long brokers, long fencedBrokers, long topics, long partitions, long offlinePartitions,
      long underReplicatedPartitions) {
    static ClusterCounts of(MetadataImage image) {
      long[] fenced = {0};
      image.brokers().forEach((id, b) -> fenced[0] += b.fenced() ? 1 : 0);
      long[] partitions = {0, 0, 0};
      image.topicsById().forEach((id, topic) -> topic.partitions().forEach((index, p) -> {
        partitions[0]++;
        if (p.leader() == PartitionRegistration.NO_LEADER) {
          partitions[1]++;
        }
        if (p.isr().size() < p.replicas().size()) {
          partitions[2]++;
        }
      }));
      return new ClusterCounts(image.brokers().size(), fenced[0], image.topicsById().size(), partitions[0],
          partitions[1], partitions[2]);
    }
  }

  private final MeterRegistry registry;
  private final Supplier<MetadataImage> image;
  private final List<Meter> meters = new ArrayList<>();
  private MetadataImage counted;
  private ClusterCounts counts;

  ControllerMetrics(MeterRegistry registry, int nodeId, Supplier<QuorumStatus> status, Supplier<MetadataImage> image) {
    this.registry = registry;
    this.image = image;
    Tags tags = Tags.of("node.id", Integer.toString(nodeId));
    meters.add(Gauge.builder("raftline.controller.active", status, s -> s.get().role() == RaftRole.LEADER ? 1 : 0)
        .description("1 if this node is the active controller").tags(tags).strongReference(true).register(registry));
    gauge("raftline.controller.brokers", "brokers registered", tags, ClusterCounts::brokers);
    gauge("raftline.controller.fenced.brokers", "registered brokers that are fenced", tags,
        ClusterCounts::fencedBrokers);
    gauge("raftline.controller.topics", "topics", tags, ClusterCounts::topics);
    gauge("raftline.controller.partitions", "partitions", tags, ClusterCounts::partitions);
    gauge("raftline.controller.offline.partitions", "partitions without a leader", tags,
        ClusterCounts::offlinePartitions);
    gauge("raftline.controller.under.replicated.partitions", "partitions whose ISR is smaller than their replicas",
        tags, ClusterCounts::underReplicatedPartitions);
  }

  private void gauge(String name, String description, Tags tags, ToDoubleFunction<ClusterCounts> value) {
    meters.add(Gauge.builder(name, this, m -> value.applyAsDouble(m.counts())).description(description).tags(tags)
        .strongReference(true).register(registry));
  }

  /**
   * The counts of the latest image; a scrape reads seven gauges, and only the first one counts. Locked
   * because scrapes run on the scrapers' threads, possibly two at once, not on the event loop.
   */
  synchronized ClusterCounts counts() {
    MetadataImage now = image.get();
    if (now != counted) {
      counts = ClusterCounts.of(now);
      counted = now;
    }
    return counts;
  }

  @Override
  public void close() {
    meters.forEach(registry::remove);
    meters.clear();
  }

  /** Meter names, for tests and documentation. */
  static List<String> names() {
    return List.of("raftline.controller.active", "raftline.controller.brokers", "raftline.controller.fenced.brokers",
        "raftline.controller.topics", "raftline.controller.partitions", "raftline.controller.offline.partitions",
        "raftline.controller.under.replicated.partitions");
  }
}
