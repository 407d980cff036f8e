package io.raftline.quorum;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.raftline.quorum.raft.RaftNode;
import io.raftline.quorum.raft.ReplicaState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The quorum's meters, tagged with the node id: current leader, epoch, high watermark, log end offset,
 * applied offset, elections won, the commit latency of controller writes (propose to commit), and on
 * the leader each other voter's lag ({@code raftline.quorum.voter.lag}, tagged {@code voter.id}: the
 * leader's log end minus the end the voter has fetched to). Gauges read the latest
 * {@link QuorumStatus} or values the event loop published, never the event loop's own state.
 */
final class QuorumMetrics implements AutoCloseable {
  private final MeterRegistry registry;
  private final List<Meter> meters = new ArrayList<>();
  private final Timer commitLatency;
  private final Tags tags;
  /** The voter lag gauges, present only while this node leads; owned by the event loop. */
  private final Map<Integer, AtomicLong> voterLag = new HashMap<>();
  private final Map<Integer, Gauge> voterLagGauges = new HashMap<>();
  private boolean closed;

  QuorumMetrics(MeterRegistry registry, int nodeId, Supplier<QuorumStatus> status) {
    this.registry = registry;
    Tags tags = Tags.of("node.id", Integer.toString(nodeId));
    this.tags = tags;
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

  /**
   * Publishes the leader's view of the other voters ({@link RaftNode#replicaStates()}, empty when not
   * leading): a lag gauge per voter while this node leads, none otherwise. Call on the event loop.
   */
  void voterLag(List<ReplicaState> replicas, long logEndOffset, int self) {
    if (closed || (replicas.isEmpty() && voterLag.isEmpty())) {
      return; // a member stopping still drains (its meters are gone); a follower has nothing to say
    }
    Map<Integer, Long> now = new HashMap<>();
    for (ReplicaState r : replicas) {
      if (r.voter() && r.replicaId() != self) {
        now.put(r.replicaId(), Math.max(0, logEndOffset - r.endOffset()));
      }
    }
    now.forEach((voter, lag) -> voterLag.computeIfAbsent(voter, v -> {
      AtomicLong value = new AtomicLong();
      voterLagGauges.put(v, Gauge.builder(VOTER_LAG, value, AtomicLong::doubleValue)
          .description("entries this leader's log holds beyond what the voter has fetched").tags(tags)
          .tag("voter.id", Integer.toString(v)).register(registry));
      return value;
    }).set(lag));
    voterLag.keySet().removeIf(voter -> {
      if (now.containsKey(voter)) {
        return false;
      }
      registry.remove(voterLagGauges.remove(voter));
      return true;
    });
  }

  /** Removes this member's meters, so a member restarted in the same process registers fresh ones. */
  @Override
  public void close() {
    closed = true;
    meters.forEach(registry::remove);
    meters.clear();
    voterLagGauges.values().forEach(registry::remove);
    voterLagGauges.clear();
    voterLag.clear();
  }

  void recordCommit(long nanos) {
    commitLatency.record(nanos, TimeUnit.NANOSECONDS);
  }

  static final String VOTER_LAG = "raftline.quorum.voter.lag";

  /** Meter names, for tests and documentation (the voter lag gauges exist only on the leader). */
  static List<String> names() {
    return List.of("raftline.quorum.leader", "raftline.quorum.epoch", "raftline.quorum.high.watermark",
        "raftline.quorum.log.end.offset", "raftline.quorum.applied.offset", "raftline.quorum.elections.won",
        "raftline.quorum.halted", "raftline.quorum.commit.latency");
  }
}
