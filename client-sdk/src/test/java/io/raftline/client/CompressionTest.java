package io.raftline.client;

import static io.raftline.client.Await.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.protocol.records.CompressionType;
import io.raftline.protocol.records.Header;
import io.raftline.protocol.records.RecordBatch;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code compression.type} end to end against an in-process fake broker: the producer compresses each
 * batch with the configured codec, the broker stores it as it came, and a subscription decodes it.
 */
class CompressionTest {
  private static final long TIMEOUT_MS = 30_000;
  private static final String TOPIC = "events";
  private static final int RECORDS = 600;

  private Vertx vertx;
  private FakeBroker broker;
  private RaftlineClient client;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    broker = await(FakeBroker.start(vertx, Map.of(TOPIC, 3)));
  }

  @AfterEach
  void stop() throws Exception {
    if (client != null) {
      await(client.close());
    }
    await(broker.close());
    await(vertx.close());
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static ProducerRecord record(int i) {
    byte[] key = i % 4 == 0 ? null : utf8("user-" + (i % 13));
    byte[] value = i % 11 == 0 ? null
        : utf8("{\"seq\":" + i + ",\"event\":\"page_view\",\"path\":\"/products/" + (i % 20) + "\",\"pad\":\""
            + "p".repeat(200) + "\"}");
    List<Header> headers = i % 3 == 0 ? List.of(new Header("trace-id", utf8("t-" + i)), new Header("none", null))
        : List.of();
    return new ProducerRecord(TOPIC, i % 3, key, value, 1_700_000_000_000L + i * 7L, headers);
  }

  @ParameterizedTest
  @ValueSource(strings = {"none", "gzip", "snappy", "lz4", "zstd"})
  void producesAndConsumesWithEachCompressionType(String codec) throws Exception {
    client = RaftlineClient.create(vertx, Map.of("bootstrap.servers", broker.bootstrap(), "compression.type", codec,
        "linger.ms", "20", "batch.size", "16384"));
    Producer producer = client.producer();
    List<Future<RecordMetadata>> sends = new ArrayList<>();
    for (int i = 0; i < RECORDS; i++) {
      sends.add(producer.send(record(i)));
    }
    await(Future.all(sends));
    await(producer.flush());

    CompressionType expected = CompressionType.forName(codec);
    List<RecordBatch> batches = broker.produced();
    assertFalse(batches.isEmpty());
    long bytes = 0;
    long uncompressed = 0;
    for (RecordBatch b : batches) {
      assertEquals(expected, b.compressionType());
      bytes += b.sizeInBytes();
      uncompressed += b.decompressed().sizeInBytes();
    }
    System.out.printf("compression.type=%-6s: %d records in %d batches, %d bytes stored (%d uncompressed)%n",
        codec, RECORDS, batches.size(), bytes, uncompressed);
    if (expected != CompressionType.NONE) {
      assertTrue(bytes * 4 < uncompressed, codec + ": " + uncompressed + " -> " + bytes + " bytes");
    }

    Map<Long, ConsumerRecord>[] byOffset = consumeAll();
    for (int i = 0; i < RECORDS; i++) {
      ProducerRecord sent = record(i);
      RecordMetadata md = sends.get(i).result();
      assertEquals(sent.partition(), md.partition());
      ConsumerRecord got = byOffset[md.partition()].get(md.offset());
      assertEquals(md.offset(), got.offset(), "record " + i);
      assertEquals(sent.timestamp(), got.timestamp(), "record " + i);
      assertArrayEquals(sent.key(), got.key(), "record " + i);
      if (sent.value() == null) {
        assertNull(got.value(), "record " + i);
      } else {
        assertArrayEquals(sent.value(), got.value(), "record " + i);
      }
      assertEquals(sent.headers(), got.headers(), "record " + i);
    }
  }

  /** Reads every partition from the start until all records arrived; checks each partition is in offset order. */
  @SuppressWarnings("unchecked")
  private Map<Long, ConsumerRecord>[] consumeAll() throws Exception {
    Map<Long, ConsumerRecord>[] byOffset = new Map[3];
    long[] last = {-1, -1, -1};
    List<String> problems = new ArrayList<>();
    CountDownLatch all = new CountDownLatch(RECORDS);
    for (int p = 0; p < 3; p++) {
      byOffset[p] = new HashMap<>();
    }
    TopicSubscription subscription = client.subscribeFromBeginning(TOPIC);
    subscription.exceptionHandler(t -> problems.add(String.valueOf(t)));
    subscription.handler(r -> {
      if (r.offset() <= last[r.partition()]) {
        problems.add("out of order: " + r.partition() + "@" + r.offset());
      }
      last[r.partition()] = r.offset();
      byOffset[r.partition()].put(r.offset(), r);
      all.countDown();
    });
    assertTrue(all.await(TIMEOUT_MS, TimeUnit.MILLISECONDS), "records left to consume: " + all.getCount()
        + "; problems: " + problems);
    subscription.close();
    assertEquals(List.of(), problems);
    return byOffset;
  }

  @Test
  void anInvalidCompressionTypeIsRefusedNamingTheKeyAndAllowedValues() {
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> RaftlineClient.create(vertx, Map.of("bootstrap.servers", broker.bootstrap(), "compression.type", "lzo")));
    assertTrue(e.getMessage().contains("compression.type") && e.getMessage().contains("lzo")
        && e.getMessage().contains("none, gzip, snappy, lz4, zstd"), e.getMessage());
  }
}
