package io.raftline.quorum;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The quorum's meters, tagged with the node id: current leader, epoch, high watermark, log end offset,
 * applied offset, elections won, and the commit latency of controller writes (propose to commit).
 * Gauges read the latest {@link QuorumStatus}, never the event loop's own state.
 */
final class QuorumMetrics implements AutoCloseable {
  private final MeterRegistry registry;
  private final List<Meter> meters = new ArrayList<>();
  private final Timer commitLatency;

  QuorumMetrics(MeterRegistry registry, int nodeId, Supplier<QuorumStatus> status) {
    this.registry = registry;
    Tags tags = Tags.of("node.id", Integer.toString(nodeId));
    gauge("raftline.quorum.leader", "the leader this node knows, -1 if none", tags, status,
        QuorumStatus::leaderId);
    gauge("raftline.quorum.epoch", "the current Raft epoch", tags, status, QuorumStatus::epoch);
    gauge("raftline.quorum.high.watermark", "committed offset of the metadata log (exclusive)", tags, status,
        QuorumStatus::highWatermark);
    gauge("raftline.quorum.log.end.offset", "end offset of the local metadata log", tags, status,
        QuorumStatus::logEndOffset);
    gauge("raftline.quorum.applied.offset", "last metadata offset applied to the image", tags, status,
        QuorumStatus::appliedOffset);
    gauge("raftline.quorum.elections.won", "times this node became leader", tags, status,
        QuorumStatus::elections);
    gauge("raftline.quorum.halted", "1 if a disk error stopped this quorum member", tags, status,
        s -> s.halted() ? 1 : 0);
    commitLatency = Timer.builder("raftline.quorum.commit.latency")
        .description("time from proposing controller records to their commit")
        .tags(tags).publishPercentiles(0.5, 0.99).register(registry);
    meters.add(commitLatency);
  }

  private void gauge(String name, String description, Tags tags, Supplier<QuorumStatus> status,
      ToDoubleFunction<QuorumStatus> value) {
    // Strong reference: the supplier is a lambda nothing else holds, and a weakly held one reads NaN.
    meters.add(Gauge.builder(name, status, s -> value.applyAsDouble(s.get())).description(description).tags(tags)
        .strongReference(true).register(registry));
  }

  /** Removes this member's meters, so a member restarted in the same process registers fresh ones. */
  @Override
  public void close() {
    meters.forEach(registry::remove);
    meters.clear();
  }

  void recordCommit(long nanos) {
    commitLatency.record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Meter names, for tests and documentation. */
  static List<String> names() {
    return List.of("raftline.quorum.leader", "raftline.quorum.epoch", "raftline.quorum.high.watermark",
        "raftline.quorum.log.end.offset", "raftline.quorum.applied.offset", "raftline.quorum.elections.won",
        "raftline.quorum.halted", "raftline.quorum.commit.latency");
  }
}
