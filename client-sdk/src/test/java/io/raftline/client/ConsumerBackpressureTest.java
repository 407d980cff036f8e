package io.raftline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.client.rx.RxRaftline;
import io.reactivex.rxjava3.core.Flowable;
import io.reactivex.rxjava3.subscribers.TestSubscriber;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A slow subscriber that asks for one record at a time holds the consumer's buffer within its
 * prefetch bound while a producer writes 100,000 records: measured by sampling the subscription's
 * gauges during the run.
 */
class ConsumerBackpressureTest {
  private static final long TIMEOUT_MS = 120_000;
  private static final int RECORDS = 100_000;
  private static final int PARTITIONS = 3;
  private static final int VALUE_BYTES = 100;
  private static final int MAX_POLL_RECORDS = 200;
  private static final int MAX_PARTITION_FETCH_BYTES = 16 * 1024;
  private static final int BATCH_SIZE = 16 * 1024;

  private Vertx vertx;
  private FakeBroker broker;
  private RaftlineClient client;
  private ScheduledExecutorService subscriberThread;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    broker = await(FakeBroker.start(vertx, Map.of("stream", PARTITIONS)));
    subscriberThread = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterEach
  void stop() throws Exception {
    subscriberThread.shutdownNow();
    if (client != null) {
      await(client.close());
    }
    await(broker.close());
    await(vertx.close());
  }

  private static <T> T await(Future<T> f) throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    f.onComplete(ar -> done.countDown());
    assertTrue(done.await(TIMEOUT_MS, TimeUnit.MILLISECONDS), "no outcome within " + TIMEOUT_MS + " ms");
    if (f.failed()) {
      throw new AssertionError("future failed: " + f.cause(), f.cause());
    }
    return f.result();
  }

  @Test
  void aSlowOneAtATimeSubscriberKeepsTheBufferWithinItsPrefetchBound() throws Exception {
    client = RaftlineClient.create(vertx, new HashMap<>(Map.of("bootstrap.servers", broker.bootstrap(),
        "max.poll.records", String.valueOf(MAX_POLL_RECORDS),
        "max.partition.fetch.bytes", String.valueOf(MAX_PARTITION_FETCH_BYTES),
        "batch.size", String.valueOf(BATCH_SIZE), "fetch.max.wait.ms", "50", "linger.ms", "2")));
    TopicSubscription subscription = client.subscribeFromBeginning("stream");

    AtomicLong received = new AtomicLong();
    AtomicLong maxRecords = new AtomicLong();
    AtomicLong maxBytes = new AtomicLong();
    AtomicLong samples = new AtomicLong();
    AtomicReference<String> disorder = new AtomicReference<>();
    long[] nextOffset = new long[PARTITIONS];
    CountDownLatch all = new CountDownLatch(1);
    long sampler = vertx.setPeriodic(1, id -> {
      samples.incrementAndGet();
      maxRecords.accumulateAndGet(subscription.bufferedRecords(), Math::max);
      maxBytes.accumulateAndGet(subscription.bufferedBytes(), Math::max);
    });
    subscription.pause();
    subscription.exceptionHandler(t -> disorder.compareAndSet(null, "error: " + t));
    subscription.handler(r -> {
      if (r.offset() != nextOffset[r.partition()]++ && disorder.get() == null) {
        disorder.set("partition " + r.partition() + " offset " + r.offset());
      }
      long n = received.incrementAndGet();
      if (n == RECORDS) {
        all.countDown();
        return;
      }
      // The subscriber is slow (a pause every 500 records) and asks for one record at a time.
      subscriberThread.schedule(() -> subscription.fetch(1), n % 500 == 0 ? 20 : 0, TimeUnit.MILLISECONDS);
    });
    subscription.fetch(1);

    TestSubscriber<RecordMetadata> produced = new RxRaftline(client).send(client.producer(),
        Flowable.range(0, RECORDS).map(i -> {
          byte[] value = new byte[VALUE_BYTES];
          ByteBuffer.wrap(value).putInt(i);
          return new ProducerRecord("stream", i % PARTITIONS, null, value, null, List.of());
        })).test();

    assertTrue(produced.await(TIMEOUT_MS, TimeUnit.MILLISECONDS), "the producer did not finish");
    produced.assertNoErrors().assertValueCount(RECORDS);
    long consumedWhenProduced = received.get();
    assertTrue(all.await(TIMEOUT_MS, TimeUnit.MILLISECONDS), "received only " + received.get() + " records");
    vertx.cancelTimer(sampler);

    assertEquals(null, disorder.get());
    assertTrue(consumedWhenProduced < RECORDS, "the subscriber was not slower than the producer");
    assertTrue(samples.get() > 100, "too few samples: " + samples.get());
    // One fetch answer per broker (here one) on top of fewer than max.poll.records buffered records; an
    // answer holds per partition at most max.partition.fetch.bytes, or one batch (at most batch.size
    // of records plus its header).
    long answerBytes = (long) PARTITIONS * Math.max(MAX_PARTITION_FETCH_BYTES, BATCH_SIZE + 61);
    long boundBytes = (long) (MAX_POLL_RECORDS - 1) * VALUE_BYTES + answerBytes;
    long boundRecords = MAX_POLL_RECORDS - 1 + answerBytes / VALUE_BYTES;
    assertTrue(maxBytes.get() <= boundBytes, "buffered " + maxBytes.get() + " bytes, bound " + boundBytes);
    assertTrue(maxRecords.get() <= boundRecords, "buffered " + maxRecords.get() + " records, bound " + boundRecords);
    assertTrue(maxRecords.get() >= MAX_POLL_RECORDS / 2, "the buffer never filled: " + maxRecords.get());
    System.out.printf("consumer buffer peak: %d records, %d bytes (bound %d records, %d bytes); %d samples%n",
        maxRecords.get(), maxBytes.get(), boundRecords, boundBytes, samples.get());
  }
}
