package io.raftline.client;

import static io.raftline.client.Await.await;
import static io.raftline.client.Await.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.protocol.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The bad input at the client (misconfiguration is in ClientConfigTest): a record over
 * max.request.size fails its send alone; a record that cannot be deserialised is an error naming its
 * topic, partition and offset, and the records around it still arrive.
 */
class BadInputTest {
  private static final long TIMEOUT_MS = 20_000;

  private Vertx vertx;
  private FakeBroker broker;
  private RaftlineClient client;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    broker = await(FakeBroker.start(vertx, Map.of("bad", 2)));
    client = RaftlineClient.create(vertx, Map.of("bootstrap.servers", broker.bootstrap(), "max.request.size", "2000",
        "fetch.max.wait.ms", "50"));
  }

  @AfterEach
  void stop() throws Exception {
    await(client.close());
    await(broker.close());
    await(vertx.close());
  }

  @Test
  void partitionsForAnswersFromMetadataAndRefusesAnUnknownTopic() throws Exception {
    Producer producer = client.producer();
    TopicInfo bad = await(producer.partitionsFor("bad"));
    assertEquals(2, bad.partitions().size());
    Future<TopicInfo> missing = producer.partitionsFor("missing");
    CountDownLatch done = new CountDownLatch(1);
    missing.onComplete(ar -> done.countDown());
    assertTrue(done.await(TIMEOUT_MS, TimeUnit.MILLISECONDS));
    assertTrue(missing.failed());
    assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ((RaftlineException) missing.cause()).errorCode());
  }

  /**
   * A broker that refuses the producer's batches as too large (a topic's max.message.bytes below
   * batch.size) gets them again in halves until they fit: every record is stored, in the order sent,
   * in batches under the limit. A single record over the limit fails alone.
   */
  @Test
  void batchesRefusedAsTooLargeAreSplitUntilTheyFitAndKeepTheirOrder() throws Exception {
    broker.maxBatchBytes(3000);
    RaftlineClient batching = RaftlineClient.create(vertx, Map.of("bootstrap.servers", broker.bootstrap(),
        "batch.size", "20000", "linger.ms", "50"));
    try {
      Producer producer = batching.producer();
      List<Future<RecordMetadata>> sent = new java.util.ArrayList<>();
      for (int i = 0; i < 60; i++) {
        byte[] value = new byte[200];
        value[0] = (byte) i;
        sent.add(producer.send(new ProducerRecord("bad", 1, null, value, null, List.of())));
        if (i == 30) {
          sent.add(producer.send(new ProducerRecord("bad", 1, null, new byte[3500], null, List.of())));
        }
      }
      Future<RecordMetadata> tooLarge = sent.remove(31);
      for (int i = 0; i < sent.size(); i++) {
        assertEquals(i, await(sent.get(i)).offset(), "record " + i);
      }
      CountDownLatch done = new CountDownLatch(1);
      tooLarge.onComplete(ar -> done.countDown());
      assertTrue(done.await(TIMEOUT_MS, TimeUnit.MILLISECONDS));
      assertTrue(tooLarge.failed());
      assertEquals(ErrorCode.RECORD_TOO_LARGE, ((RaftlineException) tooLarge.cause()).errorCode());
      List<io.raftline.protocol.records.RecordBatch> stored = broker.produced();
      assertTrue(stored.size() > 3, "split into several batches: " + stored.size());
      int expected = 0;
      for (io.raftline.protocol.records.RecordBatch b : stored) {
        assertTrue(b.sizeInBytes() <= 3000, "a stored batch of " + b.sizeInBytes() + " bytes");
        for (io.raftline.protocol.records.Record r : b.records()) {
          assertEquals(expected++, r.value()[0], "records stored in the order sent");
        }
      }
      assertEquals(60, expected);
    } finally {
      await(batching.close());
    }
  }

  @Test
  void aRecordOverMaxRequestSizeFailsItsSendAlone() throws Exception {
    Producer producer = client.producer();
    Future<RecordMetadata> before = producer.send(new ProducerRecord("bad", 0, null, new byte[100], null, List.of()));
    Future<RecordMetadata> big = producer.send(new ProducerRecord("bad", 0, null, new byte[3000], null, List.of()));
    Future<RecordMetadata> after = producer.send(new ProducerRecord("bad", 0, null, new byte[100], null, List.of()));
    assertEquals(0, await(before).offset());
    assertEquals(1, await(after).offset());
    CountDownLatch done = new CountDownLatch(1);
    big.onComplete(ar -> done.countDown());
    assertTrue(done.await(TIMEOUT_MS, TimeUnit.MILLISECONDS));
    assertTrue(big.failed());
    assertEquals(ErrorCode.RECORD_TOO_LARGE, ((RaftlineException) big.cause()).errorCode());
    assertTrue(big.cause().getMessage().contains("max.request.size"), big.cause().getMessage());
  }

  @Test
  void aDeserialiserExceptionIsAnErrorForThatRecordWithTopicPartitionAndOffset() throws Exception {
    broker.append("bad", 1, 6); // values "bad-1@0" .. "bad-1@5"
    Deserializer<Integer> offsetOfValue = (topic, data) -> {
      String s = Deserializer.STRING.deserialize(topic, data);
      if (s.endsWith("@3")) {
        throw new NumberFormatException("not for this record");
      }
      return Integer.parseInt(s.substring(s.indexOf('@') + 1));
    };
    List<TypedRecord<String, Integer>> records = new CopyOnWriteArrayList<>();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    TopicSubscription subscription = client.subscribeFromBeginning("bad");
    DeserializingStream<String, Integer> typed = new DeserializingStream<>(subscription, Deserializer.STRING, offsetOfValue);
    typed.exceptionHandler(errors::add);
    typed.pause();
    // One record at a time: the bad one must not swallow the subscriber's demand.
    typed.handler(r -> {
      records.add(r);
      typed.fetch(1);
    });
    typed.fetch(1);
    waitFor("the five good records", () -> records.size() == 5);
    assertEquals(List.of(0, 1, 2, 4, 5), records.stream().map(TypedRecord::value).toList());
    assertEquals(1, errors.size(), errors.toString());
    RecordDeserializationException e = (RecordDeserializationException) errors.get(0);
    assertEquals("bad", e.topic());
    assertEquals(1, e.partition());
    assertEquals(3, e.offset());
    assertTrue(e.getMessage().contains("offset 3 of bad-1") && e.getCause() instanceof NumberFormatException,
        e.getMessage());
  }
}
