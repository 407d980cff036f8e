package io.raftline.client;

import static io.raftline.client.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.client.rx.RxRaftline;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.records.Record;
import io.raftline.protocol.records.RecordBatch;
import io.reactivex.rxjava3.core.Flowable;
import io.reactivex.rxjava3.subscribers.TestSubscriber;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * buffer.memory bounds what a producer holds: measured by sampling {@link Producer#bufferedBytes()}
 * while a broker that answers slowly is fed faster than it accepts.
 */
class ProducerBufferMemoryTest {
  private static final long TIMEOUT_MS = 30_000;
  private static final int BUFFER_MEMORY = 32 * 1024;
  private static final int VALUE_BYTES = 1000;

  private Vertx vertx;
  private FakeBroker broker;
  private RaftlineClient client;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    broker = await(FakeBroker.start(vertx, Map.of("flow", 2)));
  }

  @AfterEach
  void stop() throws Exception {
    if (client != null) {
      await(client.close());
    }
    await(broker.close());
    await(vertx.close());
  }

  private RaftlineClient client(String... settings) {
    Map<String, String> s = new HashMap<>(Map.of("bootstrap.servers", broker.bootstrap(), "linger.ms", "0",
        "batch.size", "4096", "buffer.memory", String.valueOf(BUFFER_MEMORY)));
    for (int i = 0; i < settings.length; i += 2) {
      s.put(settings[i], settings[i + 1]);
    }
    client = RaftlineClient.create(vertx, s);
    return client;
  }

  private static ProducerRecord record(int i) {
    byte[] value = new byte[VALUE_BYTES];
    ByteBuffer.wrap(value).putInt(i);
    return new ProducerRecord("flow", i % 2, null, value, null, List.of());
  }

  /**
   * The record numbers stored in a partition, in offset order (batches arrive in offset order per
   * partition; record i was sent to partition i % 2).
   */
  private List<Integer> stored(int partition) {
    List<Integer> out = new ArrayList<>();
    for (RecordBatch b : broker.produced()) {
      for (Record r : b.records()) {
        int i = ByteBuffer.wrap(r.value()).getInt();
        if (i % 2 == partition) {
          out.add(i);
        }
      }
    }
    return out;
  }

  @Test
  void aFastFlowableIsSlowedToBufferMemoryAndAcknowledgedInOrder() throws Exception {
    RaftlineClient c = client();
    Producer producer = c.producer();
    broker.produceDelay(5);
    int n = 1500;
    AtomicLong emitted = new AtomicLong();
    AtomicLong acknowledged = new AtomicLong();
    AtomicLong maxBuffered = new AtomicLong();
    AtomicLong maxHeldRecords = new AtomicLong();
    AtomicLong samples = new AtomicLong();
    long sampler = vertx.setPeriodic(1, id -> {
      samples.incrementAndGet();
      maxBuffered.accumulateAndGet(producer.bufferedBytes(), Math::max);
      maxHeldRecords.accumulateAndGet(emitted.get() - acknowledged.get(), Math::max);
    });
    TestSubscriber<RecordMetadata> results = new RxRaftline(c)
        .send(producer, Flowable.range(0, n).map(ProducerBufferMemoryTest::record).doOnNext(r -> emitted.incrementAndGet()))
        .doOnNext(md -> acknowledged.incrementAndGet())
        .test();
    assertTrue(results.await(TIMEOUT_MS, TimeUnit.MILLISECONDS), "the flow did not finish");
    vertx.cancelTimer(sampler);
    results.assertNoErrors().assertComplete();

    List<RecordMetadata> metadata = results.values();
    assertEquals(n, metadata.size());
    long[] nextOffset = new long[2];
    for (int i = 0; i < n; i++) {
      RecordMetadata md = metadata.get(i);
      assertEquals(i % 2, md.partition(), "result " + i + " is out of order");
      assertEquals(nextOffset[i % 2]++, md.offset(), "result " + i + " is out of order");
    }
    for (int p = 0; p < 2; p++) {
      List<Integer> expected = new ArrayList<>();
      for (int i = p; i < n; i += 2) {
        expected.add(i);
      }
      assertEquals(expected, stored(p), "partition " + p + " holds the records out of order");
    }

    assertTrue(samples.get() > 50, "too few samples: " + samples.get());
    assertTrue(maxBuffered.get() <= BUFFER_MEMORY, "buffered " + maxBuffered.get() + " bytes > buffer.memory");
    // The buffer was actually the limit (the broker is slower than the upstream)...
    assertTrue(maxBuffered.get() > BUFFER_MEMORY / 2, "the buffer never filled: " + maxBuffered.get());
    // ...and upstream was held back: records taken from it and not yet acknowledged stay within what
    // the buffer holds, plus the one waiting for room and one batch whose results are being emitted.
    long bound = BUFFER_MEMORY / VALUE_BYTES + 1 + 4096 / VALUE_BYTES + 1;
    assertTrue(maxHeldRecords.get() <= bound, "upstream ran ahead: " + maxHeldRecords.get() + " records held, bound "
        + bound);
    assertEquals(0, producer.bufferedBytes());
  }

  @Test
  void aSendWithoutRoomWaitsAtMostMaxBlockMsAndFailsNamingTheSettings() throws Exception {
    RaftlineClient c = client("max.block.ms", "100", "buffer.memory", "8192");
    Producer producer = c.producer();
    broker.produceDelay(1500);
    List<Future<RecordMetadata>> sends = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      sends.add(producer.send(new ProducerRecord("flow", 0, null, new byte[VALUE_BYTES], null, List.of())));
    }
    List<Throwable> failures = new ArrayList<>();
    int acknowledgedCount = 0;
    for (Future<RecordMetadata> f : sends) {
      CountDownLatch done = new CountDownLatch(1);
      f.onComplete(ar -> done.countDown());
      assertTrue(done.await(TIMEOUT_MS, TimeUnit.MILLISECONDS));
      if (f.succeeded()) {
        assertEquals(0, failures.size(), "a send after a timed-out one succeeded: order broken");
        assertEquals(acknowledgedCount++, f.result().offset());
      } else {
        failures.add(f.cause());
      }
      assertTrue(producer.bufferedBytes() <= 8192);
    }
    // 1000-byte values are about 1 KiB serialised: 7 fit in 8 KiB, the rest wait and time out.
    assertEquals(7, acknowledgedCount);
    assertEquals(23, failures.size());
    RaftlineException e = (RaftlineException) failures.get(0);
    assertEquals(ErrorCode.REQUEST_TIMED_OUT, e.errorCode());
    assertTrue(e.getMessage().contains("buffer.memory") && e.getMessage().contains("max.block.ms"), e.getMessage());
  }

  @Test
  void eachWaitingSendGetsItsWholeMaxBlockMs() throws Exception {
    RaftlineClient c = client("max.block.ms", "400", "buffer.memory", "8192");
    Producer producer = c.producer();
    broker.produceDelay(2000);
    for (int i = 0; i < 7; i++) {
      producer.send(new ProducerRecord("flow", 0, null, new byte[VALUE_BYTES], null, List.of()));
    }
    long firstSent = System.nanoTime();
    Future<RecordMetadata> first = producer.send(new ProducerRecord("flow", 0, null, new byte[VALUE_BYTES], null,
        List.of()));
    // Spaces the two waiting sends (the scenario, not a wait for a result): one timer serves both, so
    // the second must not be failed when the first one's time runs out.
    Thread.sleep(200);
    long secondSent = System.nanoTime();
    Future<RecordMetadata> second = producer.send(new ProducerRecord("flow", 0, null, new byte[VALUE_BYTES], null,
        List.of()));
    long[] failedAt = new long[2];
    CountDownLatch done = new CountDownLatch(2);
    first.onFailure(t -> {
      failedAt[0] = System.nanoTime();
      done.countDown();
    });
    second.onFailure(t -> {
      failedAt[1] = System.nanoTime();
      done.countDown();
    });
    assertTrue(done.await(TIMEOUT_MS, TimeUnit.MILLISECONDS), "both waiting sends time out");
    assertTrue(TimeUnit.NANOSECONDS.toMillis(failedAt[0] - firstSent) >= 400);
    long secondWaitedMs = TimeUnit.NANOSECONDS.toMillis(failedAt[1] - secondSent);
    assertTrue(secondWaitedMs >= 400, "the second send failed after " + secondWaitedMs + " ms");
  }

  @Test
  void sendsWaitingForRoomGoOutInOrderOnceAcknowledgementsFreeIt() throws Exception {
    RaftlineClient c = client("buffer.memory", "8192");
    Producer producer = c.producer();
    broker.produceDelay(20);
    List<Future<RecordMetadata>> sends = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      sends.add(producer.send(new ProducerRecord("flow", 1, null, new byte[VALUE_BYTES], null, List.of())));
      assertTrue(producer.bufferedBytes() <= 8192);
    }
    for (int i = 0; i < sends.size(); i++) {
      assertEquals(i, await(sends.get(i)).offset());
    }
    assertEquals(0, producer.bufferedBytes());
  }

  @Test
  void aRecordLargerThanBufferMemoryFailsAloneAtOnce() throws Exception {
    RaftlineClient c = client("buffer.memory", "4096");
    Producer producer = c.producer();
    Future<RecordMetadata> big = producer.send(new ProducerRecord("flow", 0, null, new byte[5000], null, List.of()));
    Future<RecordMetadata> small = producer.send(new ProducerRecord("flow", 0, null, new byte[10], null, List.of()));
    assertEquals(0, await(small).offset());
    CountDownLatch done = new CountDownLatch(1);
    big.onComplete(ar -> done.countDown());
    assertTrue(done.await(TIMEOUT_MS, TimeUnit.MILLISECONDS));
    assertTrue(big.failed());
    assertEquals(ErrorCode.RECORD_TOO_LARGE, ((RaftlineException) big.cause()).errorCode());
    assertTrue(big.cause().getMessage().contains("buffer.memory"), big.cause().getMessage());
  }
}
