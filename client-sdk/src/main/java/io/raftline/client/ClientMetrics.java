package io.raftline.client;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.raftline.protocol.ErrorCode;
import io.vertx.core.AsyncResult;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A client's meters, on the Micrometer registry given to {@link RaftlineClient#create(io.vertx.core.Vertx,
 * Map, MeterRegistry)}, each tagged with {@code client.id}:
 * <ul>
 *   <li>{@code raftline.client.producer.send.latency}: each record's time from {@code send} to its
 *       acknowledgement (a timer with a percentile histogram);</li>
 *   <li>{@code raftline.client.producer.send.errors}: records whose send failed, tagged with the
 *       error code;</li>
 *   <li>{@code raftline.client.producer.buffered.bytes}: what the client's producers hold (at most
 *       {@code buffer.memory} each);</li>
 *   <li>{@code raftline.client.consumer.lag}: per partition read, its high watermark minus the next
 *       offset to hand to the application, tagged with topic and partition (Kafka's
 *       {@code records-lag}); it goes when the partition is no longer read.</li>
 * </ul>
 * Without a registry there are no meters and the producer does not time its records. Meters are
 * identified by name and tags, so two consumers of one client reading the same partition share one
 * lag gauge (the first one's), and two clients with one {@code client.id} share their meters.
 */
final class ClientMetrics {
  static final String SEND_LATENCY = "raftline.client.producer.send.latency";
  static final String SEND_ERRORS = "raftline.client.producer.send.errors";
  static final String BUFFERED_BYTES = "raftline.client.producer.buffered.bytes";
  static final String CONSUMER_LAG = "raftline.client.consumer.lag";

  static final ClientMetrics NONE = new ClientMetrics(null, "");

  private final MeterRegistry registry;
  private final Tags tags;
  private final Timer sendLatency;
  private final Map<ErrorCode, Counter> sendErrors = new ConcurrentHashMap<>();
  private final List<Producer> producers = new CopyOnWriteArrayList<>();
  /** The client-wide meters, removed when the client closes (the lag gauges go with their consumers). */
  private final List<Meter> meters = new CopyOnWriteArrayList<>();

  ClientMetrics(MeterRegistry registry, String clientId) {
    this.registry = registry;
    this.tags = Tags.of("client.id", clientId);
    if (registry == null) {
      sendLatency = null;
      return;
    }
    sendLatency = Timer.builder(SEND_LATENCY).description("a record's time from send to its acknowledgement")
        .tags(tags).publishPercentileHistogram().register(registry);
    meters.add(sendLatency);
    meters.add(Gauge.builder(BUFFERED_BYTES, producers, ps -> {
      long sum = 0;
      for (Producer p : ps) {
        sum += p.bufferedBytes();
      }
      return sum;
    }).description("bytes of records the client's producers hold (batched, in flight or retried)").tags(tags)
        .register(registry));
  }

  /** Removes the client-wide meters (the client closed). */
  void close() {
    if (registry != null) {
      meters.forEach(registry::remove);
      sendErrors.values().forEach(registry::remove);
    }
    meters.clear();
    sendErrors.clear();
  }

  boolean enabled() {
    return registry != null;
  }

  void sendCompleted(long startedNanos, AsyncResult<?> outcome) {
    if (registry == null) {
      return;
    }
    if (outcome.succeeded()) {
      sendLatency.record(System.nanoTime() - startedNanos, TimeUnit.NANOSECONDS);
      return;
    }
    ErrorCode code = outcome.cause() instanceof RaftlineException e ? e.errorCode() : ErrorCode.UNKNOWN_SERVER_ERROR;
    sendErrors.computeIfAbsent(code, c -> Counter.builder(SEND_ERRORS).description("records whose send failed")
        .tags(tags).tag("error", c.name()).register(registry)).increment();
  }

  void producerOpened(Producer producer) {
    producers.add(producer);
  }

  void producerClosed(Producer producer) {
    producers.remove(producer);
  }

  /** The lag gauges of one consumer's partitions; owned by the consumer's context, read by any thread. */
  ConsumerLag consumerLag() {
    return new ConsumerLag();
  }

  final class ConsumerLag {
    private final Map<TopicPartition, AtomicLong> values = new HashMap<>();
    private final Map<TopicPartition, Gauge> gauges = new HashMap<>();

    /** Sets the gauges to {@code lag}; partitions missing from it lose theirs. */
    void update(Map<TopicPartition, Long> lag) {
      if (registry == null) {
        return;
      }
      lag.forEach((tp, l) -> values.computeIfAbsent(tp, t -> {
        AtomicLong value = new AtomicLong();
        gauges.put(t, Gauge.builder(CONSUMER_LAG, value, AtomicLong::doubleValue)
            .description("a partition's high watermark minus the next offset to hand to the application")
            .tags(tags).tag("topic", t.topic()).tag("partition", Integer.toString(t.partition()))
            .register(registry));
        return value;
      }).set(l));
      values.keySet().removeIf(tp -> {
        if (lag.containsKey(tp)) {
          return false;
        }
        registry.remove(gauges.remove(tp));
        return true;
      });
    }

    void close() {
      update(Map.of());
    }
  }
}
