package io.raftline.broker;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.raftline.protocol.ErrorCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The broker's meters, tagged with the node id: bytes and records produced, bytes served to consumers
 * and to followers, ISR shrinks and expands, how many partitions this broker leads, how many of those
 * are under-replicated (ISR smaller than the replica set) or under min.insync.replicas (acks=all
 * writes refused), how many the log cleaner is stuck on, the incremental fetch sessions it holds, and, per client API, how long requests take
 * from arrival to answer and which partition errors they are answered with (Kafka's RequestMetrics
 * TotalTimeMs and ErrorsPerSec). Counters and timers are thread-safe; the gauges read values the
 * event loop publishes.
 */
final class BrokerMetrics implements AutoCloseable {
  /** The client APIs whose requests are timed; a follower's Fetch is told apart from a consumer's. */
  enum Api {
    PRODUCE("Produce"), FETCH("Fetch"), FOLLOWER_FETCH("FollowerFetch"), LIST_OFFSETS("ListOffsets");

    final String tag;

    Api(String tag) {
      this.tag = tag;
    }
  }

  private final MeterRegistry registry;
  private final Tags tags;
  private final List<Meter> meters = new ArrayList<>();
  private final Map<Api, Timer> requestTime = new EnumMap<>(Api.class);
  /** By API and error; only the broker's event loop records answers, so a plain map. */
  private final Map<String, Counter> partitionErrors = new HashMap<>();
  final Counter bytesIn;
  final Counter messagesIn;
  final Counter bytesOut;
  final Counter replicationBytesOut;
  final Counter isrShrinks;
  final Counter isrExpands;
  final AtomicInteger leaderPartitions = new AtomicInteger();
  final AtomicInteger underReplicatedPartitions = new AtomicInteger();
  final AtomicInteger underMinIsrPartitions = new AtomicInteger();
  final AtomicInteger subscriptions = new AtomicInteger();
  final AtomicInteger subscriptionsWaitingForDemand = new AtomicInteger();
  final Counter subscriptionResponses;
  /** Incremental fetch sessions open on this broker, and the partitions they hold. */
  final AtomicInteger fetchSessions = new AtomicInteger();
  final AtomicInteger fetchSessionPartitions = new AtomicInteger();
  /** Hosted partitions whose cleaning stopped at a segment with more keys than the cleaner's map holds. */
  final AtomicInteger uncleanablePartitions = new AtomicInteger();

  BrokerMetrics(MeterRegistry registry, int nodeId) {
    this.registry = registry;
    tags = Tags.of("node.id", Integer.toString(nodeId));
    bytesIn = counter("raftline.broker.bytes.in", "bytes of record batches appended by produce", tags);
    messagesIn = counter("raftline.broker.messages.in", "records appended by produce", tags);
    bytesOut = counter("raftline.broker.bytes.out", "bytes of record batches sent to consumers", tags);
    replicationBytesOut = counter("raftline.broker.replication.bytes.out", "bytes of record batches sent to followers",
        tags);
    isrShrinks = counter("raftline.broker.isr.shrinks", "ISR shrinks this broker asked for and got", tags);
    isrExpands = counter("raftline.broker.isr.expands", "ISR expansions this broker asked for and got", tags);
    subscriptionResponses = counter("raftline.broker.subscription.responses",
        "answers pushed to consumers on Subscribe streams", tags);
    meters.add(Gauge.builder("raftline.broker.subscriptions", subscriptions, AtomicInteger::get)
        .description("open Subscribe streams").tags(tags).register(registry));
    meters.add(Gauge.builder("raftline.broker.subscriptions.waiting.for.demand", subscriptionsWaitingForDemand,
        AtomicInteger::get).description("Subscribe streams stopped by their caller's flow-control window")
        .tags(tags).register(registry));
    meters.add(Gauge.builder("raftline.broker.partitions.leader", leaderPartitions, AtomicInteger::get)
        .description("partitions this broker leads").tags(tags).register(registry));
    meters.add(Gauge.builder("raftline.broker.partitions.under.replicated", underReplicatedPartitions,
        AtomicInteger::get).description("led partitions whose ISR is smaller than their replica set").tags(tags)
        .register(registry));
    meters.add(Gauge.builder("raftline.broker.partitions.under.min.isr", underMinIsrPartitions, AtomicInteger::get)
        .description("led partitions whose ISR is smaller than min.insync.replicas: acks=all writes to them fail")
        .tags(tags).register(registry));
    meters.add(Gauge.builder("raftline.broker.fetch.sessions", fetchSessions, AtomicInteger::get)
        .description("incremental fetch sessions open on this broker (KIP-227)").tags(tags).register(registry));
    meters.add(Gauge.builder("raftline.broker.fetch.session.partitions", fetchSessionPartitions, AtomicInteger::get)
        .description("partitions held by this broker's incremental fetch sessions").tags(tags).register(registry));
    for (Api api : Api.values()) {
      // A histogram (Prometheus buckets) so percentiles can be taken across brokers and over time.
      Timer timer = Timer.builder("raftline.broker.request.time")
          .description("time from a request's arrival to its answer, a held fetch's or produce's wait included")
          .tags(tags).tag("api", api.tag).publishPercentileHistogram()
          .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60))
          .register(registry);
      meters.add(timer);
      requestTime.put(api, timer);
    }
    meters.add(Gauge.builder("raftline.broker.log.cleaner.uncleanable.partitions", uncleanablePartitions,
        AtomicInteger::get).description("compacted partitions the log cleaner cannot clean past a segment with more "
        + "keys than its map holds (raise log.cleaner.dedupe.buffer.size)").tags(tags).register(registry));
  }

  private Counter counter(String name, String description, Tags tags) {
    Counter c = Counter.builder(name).description(description).tags(tags).register(registry);
    meters.add(c);
    return c;
  }

  /**
   * Records one answered request of {@code api} that arrived at {@code startNanos} (System.nanoTime),
   * and the error of each partition answered with one. Called on the broker's event loop.
   */
  void answered(Api api, long startNanos, Iterable<ErrorCode> partitionResults) {
    requestTime.get(api).record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    for (ErrorCode error : partitionResults) {
      if (error != ErrorCode.NONE) {
        partitionErrors.computeIfAbsent(api.tag + "/" + error.name(), k -> {
          Counter c = Counter.builder("raftline.broker.partition.errors")
              .description("partitions answered with an error, by API and error code").tags(tags)
              .tag("api", api.tag).tag("error", error.name()).register(registry);
          meters.add(c);
          return c;
        }).increment();
      }
    }
  }

  /** Removes this broker's meters, so a broker restarted in the same process registers fresh ones. */
  @Override
  public void close() {
    meters.forEach(registry::remove);
    meters.clear();
    partitionErrors.clear();
  }

  /** Meter names, for tests and documentation. */
  static List<String> names() {
    return List.of("raftline.broker.bytes.in", "raftline.broker.messages.in", "raftline.broker.bytes.out",
        "raftline.broker.replication.bytes.out", "raftline.broker.isr.shrinks", "raftline.broker.isr.expands",
        "raftline.broker.partitions.leader", "raftline.broker.partitions.under.replicated",
        "raftline.broker.partitions.under.min.isr", "raftline.broker.request.time", "raftline.broker.partition.errors",
        "raftline.broker.subscription.responses", "raftline.broker.subscriptions",
        "raftline.broker.subscriptions.waiting.for.demand", "raftline.broker.log.cleaner.uncleanable.partitions");
  }
}
