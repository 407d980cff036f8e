package io.raftline.client;

import static io.raftline.client.Await.await;
import static io.raftline.client.Await.awaitFailure;
import static io.raftline.client.Await.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.raftline.protocol.ErrorCode;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The client's meters against a fake broker: send latency and errors, buffered bytes, consumer lag. */
class ClientMetricsTest {
  private Vertx vertx;
  private FakeBroker broker;
  private RaftlineClient client;
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    broker = await(FakeBroker.start(vertx, Map.of("two", 2)));
    client = RaftlineClient.create(vertx, new HashMap<>(Map.of("bootstrap.servers", broker.bootstrap(),
        "client.id", "billing", "retry.backoff.ms", "20", "fetch.max.wait.ms", "50",
        "auto.offset.reset", "earliest", "max.block.ms", "500")), registry);
  }

  @AfterEach
  void stop() throws Exception {
    await(client.close());
    await(broker.close());
    await(vertx.close());
  }

  private Gauge lagGauge(int partition) {
    return registry.find(ClientMetrics.CONSUMER_LAG).tag("client.id", "billing").tag("topic", "two")
        .tag("partition", Integer.toString(partition)).gauge();
  }

  @Test
  void sendsAreTimedAndFailuresCountedByError() throws Exception {
    Producer producer = client.producer();
    for (int i = 0; i < 30; i++) {
      producer.send(ProducerRecord.of("two", ("k" + i).getBytes(StandardCharsets.UTF_8),
          ("v" + i).getBytes(StandardCharsets.UTF_8)));
    }
    await(producer.flush());
    Timer latency = registry.find(ClientMetrics.SEND_LATENCY).tag("client.id", "billing").timer();
    waitFor("30 acknowledged sends timed", () -> latency.count() == 30);
    assertTrue(latency.totalTime(java.util.concurrent.TimeUnit.NANOSECONDS) > 0);
    Gauge held = registry.find(ClientMetrics.BUFFERED_BYTES).tag("client.id", "billing").gauge();
    waitFor("nothing held once every send is acknowledged", () -> held.value() == 0);

    Throwable failed = awaitFailure(producer.send(ProducerRecord.of("missing", null, new byte[] {1})));
    assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ((RaftlineException) failed).errorCode());
    // Looked up while waiting: the test's own listener on the failed send may run before the meter's
    // (the send fails on the client's event loop while the test thread adds its listener).
    waitFor("the failed send counted", () -> {
      Counter errors = registry.find(ClientMetrics.SEND_ERRORS).tag("client.id", "billing")
          .tag("error", "UNKNOWN_TOPIC_OR_PARTITION").counter();
      return errors != null && errors.count() == 1;
    });
    assertEquals(30, latency.count(), "a failed send is not timed as a success");

    await(client.close());
    assertNull(registry.find(ClientMetrics.SEND_LATENCY).timer(), "the client's meters go with it");
    assertNull(registry.find(ClientMetrics.BUFFERED_BYTES).gauge());
    assertNull(registry.find(ClientMetrics.SEND_ERRORS).counter());
  }

  @Test
  void consumerLagIsAGaugePerPartitionThatGoesWhenTheSubscriptionCloses() throws Exception {
    broker.append("two", 0, 10);
    broker.append("two", 1, 4);
    TopicSubscription subscription = client.subscribe("two");
    List<ConsumerRecord> records = new CopyOnWriteArrayList<>();
    subscription.pause();
    subscription.handler(records::add);
    waitFor("lag gauges for both partitions", () -> lagGauge(0) != null && lagGauge(1) != null
        && lagGauge(0).value() == 10 && lagGauge(1).value() == 4);
    subscription.resume();
    waitFor("every record handed out", () -> records.size() == 14);
    waitFor("no lag left", () -> lagGauge(0).value() == 0 && lagGauge(1).value() == 0);
    subscription.pause();
    broker.append("two", 1, 3);
    waitFor("new records show as lag while none is handed out", () -> lagGauge(1).value() == 3);
    assertEquals(14, records.size());

    subscription.close();
    waitFor("the gauges removed", () -> lagGauge(0) == null && lagGauge(1) == null);
    assertNull(lagGauge(0));
  }
}
