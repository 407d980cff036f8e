package io.raftline.quorum;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.raftline.metadata.image.BrokerRegistration;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.metadata.image.TopicImage;
import io.raftline.quorum.raft.RaftRole;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The controller's meters read the image they are given, and leave with the controller. */
class ControllerMetricsTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  private double gauge(String name) {
    return registry.find(name).tag("node.id", "1").gauge().value();
  }

  private static QuorumStatus status(RaftRole role) {
    return new QuorumStatus(role, 3, 1, 10, 10, 9, 1, false);
  }

  @Test
  void countsTheImageAndSaysWhetherThisNodeIsActive() {
    BrokerRegistration live = new BrokerRegistration(1, "a", 1, List.of(), null, false);
    BrokerRegistration fenced = new BrokerRegistration(2, "b", 1, List.of(), null, true);
    TopicImage t = TopicImage.create(UUID.randomUUID(), "t")
        .withPartition(0, new PartitionRegistration(List.of(1, 2), List.of(1, 2), 1, 0, 0))
        .withPartition(1, new PartitionRegistration(List.of(1, 2), List.of(1), 1, 0, 0))
        .withPartition(2, new PartitionRegistration(List.of(2), List.of(2), PartitionRegistration.NO_LEADER, 0, 0));
    TopicImage u = TopicImage.create(UUID.randomUUID(), "u")
        .withPartition(0, new PartitionRegistration(List.of(1), List.of(1), 1, 0, 0));
    MetadataImage empty = MetadataImage.EMPTY;
    MetadataImage image = new MetadataImage(10, empty.brokers().plus(1, live).plus(2, fenced),
        empty.topicsById().plus(t.id(), t).plus(u.id(), u), empty.topicIdsByName().plus("t", t.id()).plus("u", u.id()),
        empty.configs(), 0, empty.features(), empty.acls(), empty.quotas());
    AtomicReference<MetadataImage> current = new AtomicReference<>(empty);
    AtomicReference<QuorumStatus> quorum = new AtomicReference<>(status(RaftRole.FOLLOWER));
    ControllerMetrics metrics = new ControllerMetrics(registry, 1, quorum::get, current::get);

    assertEquals(0, gauge("raftline.controller.active"));
    assertEquals(0, gauge("raftline.controller.partitions"));
    quorum.set(status(RaftRole.LEADER));
    current.set(image);
    assertEquals(1, gauge("raftline.controller.active"));
    assertEquals(2, gauge("raftline.controller.brokers"));
    assertEquals(1, gauge("raftline.controller.fenced.brokers"));
    assertEquals(2, gauge("raftline.controller.topics"));
    assertEquals(4, gauge("raftline.controller.partitions"));
    assertEquals(1, gauge("raftline.controller.offline.partitions"), "t-2 has no leader");
    assertEquals(1, gauge("raftline.controller.under.replicated.partitions"), "t-1's ISR lacks broker 2");

    metrics.close();
    for (String name : ControllerMetrics.names()) {
      assertNull(registry.find(name).gauge(), name + " removed");
    }
  }
}
