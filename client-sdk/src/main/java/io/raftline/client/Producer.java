package io.raftline.client;

import com.google.protobuf.UnsafeByteOperations;
import io.raftline.client.ClientConfig.HostPort;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.PartitionProduceResult;
import io.raftline.protocol.client.PartitionRecords;
import io.raftline.protocol.client.ProduceRequest;
import io.raftline.protocol.records.CompressionType;
import io.raftline.protocol.records.RecordBatch;
import io.raftline.protocol.records.RecordBatchBuilder;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Sends records in per-partition batches. Each partition has at most one request in flight, and a
 * failed batch is retried before any later one is sent, so records of a partition are stored in the
 * order they were sent. While a request is in flight, new records gather into the next batch (up to
 * {@code batch.size}); an idle partition waits up to {@code linger.ms} for a batch to fill.
 *
 * <p>Records without a key or partition go to a "sticky" partition that changes after each batch, as
 * in Kafka, so small unkeyed records still form large batches.
 *
 * <p>With {@code enable.idempotence} (the default with acks=all) the producer gets a producer id from
 * a broker and numbers each partition's batches; the leader drops a retried batch it already holds
 * (answering with the original offsets) and refuses a gap, so retries never duplicate or reorder
 * records, across leader changes too (followers keep the same producer state). A batch that fails for
 * good leaves a hole in the numbering: the producer then takes a new producer id, as Kafka's bumps
 * its epoch, so later batches are not refused.
 *
 * <p>A batch the partition leader refuses as larger than its topic's {@code max.message.bytes} is
 * split in two and sent again (each half split again if need be), so a topic whose limit is below
 * {@code batch.size} still takes every record that fits it; a single record over the limit fails with
 * RECORD_TOO_LARGE.
 *
 * <p>With {@code compression.type} set, each batch's records are compressed as one block when the batch
 * is sent. {@code batch.size} counts uncompressed bytes, so a compressed request is smaller than it
 * (Kafka instead estimates the compressed size and fills batches further).
 *
 * <p><b>Bounded memory.</b> A record counts against {@code buffer.memory} (its serialised size) from
 * the moment it enters a batch until it is acknowledged or fails; {@link #bufferedBytes()} is that sum
 * and never exceeds {@code buffer.memory}. A {@link #send} that finds no room waits, behind earlier
 * waiting sends (so order is kept), for at most {@code max.block.ms}, then fails with
 * REQUEST_TIMED_OUT naming both settings: the asynchronous counterpart of Kafka's send blocking the
 * caller. Waiting sends hold only the caller's record object; a caller that wants its own pace limited
 * instead waits on {@link Send#buffered()} of {@link #offer} before handing over the next record, which is
 * what the RxJava face ({@code RxRaftline.send(Producer, Flowable)}) does. A record larger than
 * {@code buffer.memory} fails at once.
 */
public final class Producer {
  private final RaftlineClient client;
  private final int acks;
  private final int batchSize;
  private final int lingerMs;
  private final int maxRequestSize;
  private final int requestTimeoutMs;
  private final int deliveryTimeoutMs;
  private final int retryBackoffMs;
  private final CompressionType compression;
  private final boolean idempotence;
  private final long bufferMemory;
  private final int maxBlockMs;
  /** Bytes of records in batches, not yet acknowledged or failed; written on the client's context only. */
  private volatile long bufferedBytes;
  /** Sends waiting for room under buffer.memory, first come first served. */
  private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
  /** Sends made off the client's context, in the order they were made (see {@link #handOver}). */
  private final ConcurrentLinkedQueue<Handoff> handoffs = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean handoffScheduled = new AtomicBoolean();
  /** The max.block.ms timer of the waiting sends (see {@link #armBlockTimer}); -1 when none is armed. */
  private long blockTimer = -1;
  /** The producer id and epoch for idempotent batches; null until obtained, or after a reset. */
  private ProducerIdentity identity;
  private Future<ProducerIdentity> identityRequest;
  private final Map<String, Map<Integer, PartitionQueue>> queues = new HashMap<>();
  private final Map<String, Integer> stickyPartition = new HashMap<>();
  private final List<Promise<Void>> flushWaiters = new ArrayList<>();
  private int unfinished;
  private boolean closed;

  private static final class Batch {
    final RecordBatchBuilder builder;
    final List<Promise<RecordMetadata>> promises = new ArrayList<>();
    final List<Long> timestamps = new ArrayList<>();
    /** When the batch's delivery.timeout.ms ends; set when it is first sent. */
    long deadline = -1;
    /** The identity and first sequence it was numbered with (idempotent batches, once sent). */
    ProducerIdentity numberedBy;
    int baseSequence;

    Batch(CompressionType compression) {
      builder = new RecordBatchBuilder(compression);
    }
  }

  private record ProducerIdentity(long producerId, short epoch) {}

  /**
   * A record handed to {@link #offer}: {@code buffered} completes once the record is in the producer's
   * buffer (room under {@code buffer.memory} permitting), {@code acknowledged} as {@link #send}'s future.
   */
  public record Send(Future<Void> buffered, Future<RecordMetadata> acknowledged) {}

  /** A send not yet in a batch (waiting for room, or for its topic's metadata). */
  private static final class Waiting {
    final ProducerRecord record;
    final int bytes;
    final Promise<Void> buffered;
    final Promise<RecordMetadata> acknowledged;
    /** When max.block.ms runs out for it (System.nanoTime), or Long.MAX_VALUE if it may wait without limit. */
    long deadlineNanos = Long.MAX_VALUE;

    Waiting(ProducerRecord record, int bytes, Promise<Void> buffered, Promise<RecordMetadata> acknowledged) {
      this.record = record;
      this.bytes = bytes;
      this.buffered = buffered;
      this.acknowledged = acknowledged;
    }
  }

  private final class PartitionQueue {
    final String topic;
    final int partition;
    /** The sequence of the next idempotent batch, and the identity it counts for. */
    int nextSequence;
    ProducerIdentity sequenceOwner;
    final ArrayDeque<Batch> ready = new ArrayDeque<>();
    Batch building;
    boolean inFlight;
    long lingerTimer = -1;

    PartitionQueue(String topic, int partition) {
      this.topic = topic;
      this.partition = partition;
    }
  }

  Producer(RaftlineClient client) {
    this.client = client;
    ClientConfig c = client.config();
    this.acks = c.acks();
    this.batchSize = c.positiveInt("batch.size");
    this.lingerMs = c.nonNegativeInt("linger.ms");
    this.maxRequestSize = c.positiveInt("max.request.size");
    this.requestTimeoutMs = c.positiveInt("request.timeout.ms");
    this.deliveryTimeoutMs = c.positiveInt("delivery.timeout.ms");
    this.retryBackoffMs = c.nonNegativeInt("retry.backoff.ms");
    this.compression = c.compressionType();
    this.idempotence = c.idempotence();
    this.bufferMemory = c.positiveInt("buffer.memory");
    this.maxBlockMs = c.nonNegativeInt("max.block.ms");
    client.metrics().producerOpened(this);
    if (idempotence) {
      // Asked at once, as Kafka's sender does when it starts, so the first batch does not wait a round
      // trip to the controller for it; a failure here is asked again on first use.
      client.onContext(this::identity);
    }
  }

  /** {@code buffer.memory}: the most bytes {@link #bufferedBytes()} may reach. */
  public long bufferMemory() {
    return bufferMemory;
  }

  /**
   * Serialised bytes of the records this producer holds now (batched, in flight or being retried):
   * a gauge, safe to read from any thread; at most {@code buffer.memory}.
   */
  public long bufferedBytes() {
    return bufferedBytes;
  }

  /** The producer identity, asked of any broker on first use (and again after a reset). */
  private Future<ProducerIdentity> identity() {
    if (identity != null) {
      return Future.succeededFuture(identity);
    }
    if (identityRequest == null) {
      identityRequest = client.anyBroker(b -> client.records(b).initProducerId(
              io.raftline.protocol.client.InitProducerIdRequest.getDefaultInstance()))
          .compose(r -> r.getError() == ErrorCode.NONE
              ? Future.succeededFuture(new ProducerIdentity(r.getProducerId(), (short) r.getProducerEpoch()))
              : Future.failedFuture(new RaftlineException(r.getError(), r.getErrorMessage())))
          .onComplete(ar -> {
            identityRequest = null;
            if (ar.succeeded()) {
              identity = ar.result();
            }
          });
    }
    return identityRequest;
  }

  /**
   * Sends a record; the future completes when the broker acknowledged it (per {@code acks}), or fails
   * with a {@link RaftlineException} once retries are exhausted or the error cannot be retried, or if
   * no room came free under {@code buffer.memory} within {@code max.block.ms}.
   */
  public Future<RecordMetadata> send(ProducerRecord record) {
    return handOver(record, true).acknowledged();
  }

  /**
   * Sends a record like {@link #send}, but waits for room under {@code buffer.memory} as long as it
   * takes (no {@code max.block.ms}), and tells when the record entered the buffer, so a caller can hand
   * over the next record only then and keep its own pace bounded by the buffer.
   */
  public Send offer(ProducerRecord record) {
    return handOver(record, false);
  }

  /**
   * The partitions of {@code topic}, from the producer's metadata cache (fetched if absent), as Kafka's
   * {@code partitionsFor}. Fails with UNKNOWN_TOPIC_OR_PARTITION for a topic the cluster does not have.
   */
  public Future<TopicInfo> partitionsFor(String topic) {
    return client.call(() -> client.topic(topic, false));
  }

  private Send handOver(ProducerRecord record, boolean blockLimit) {
    Promise<Void> buffered = Promise.promise();
    Promise<RecordMetadata> acknowledged = Promise.promise();
    ClientMetrics metrics = client.metrics();
    if (metrics.enabled()) {
      long started = System.nanoTime();
      acknowledged.future().onComplete(ar -> metrics.sendCompleted(started, ar));
    }
    if (client.onOwnContext()) {
      enqueue(record, blockLimit, buffered, acknowledged);
    } else {
      // Sends from other threads meet in one queue that a single task on the client's context drains:
      // a task per record cost more than the record's own work at high rates.
      handoffs.add(new Handoff(record, blockLimit, buffered, acknowledged));
      if (handoffScheduled.compareAndSet(false, true)) {
        client.onContext(this::drainHandoffs);
      }
    }
    return new Send(buffered.future(), acknowledged.future());
  }

  /** A send made off the client's context, waiting to be taken in order by {@link #drainHandoffs}. */
  private record Handoff(ProducerRecord record, boolean blockLimit, Promise<Void> buffered,
      Promise<RecordMetadata> acknowledged) {}

  private void drainHandoffs() {
    while (true) {
      Handoff h;
      while ((h = handoffs.poll()) != null) {
        enqueue(h.record(), h.blockLimit(), h.buffered(), h.acknowledged());
      }
      handoffScheduled.set(false);
      // A send added after the last poll but before the flag was cleared saw it set and scheduled nothing.
      if (handoffs.isEmpty() || !handoffScheduled.compareAndSet(false, true)) {
        return;
      }
    }
  }

  /** Sends everything buffered now, and completes when every send made so far has finished. */
  public Future<Void> flush() {
    return client.call(() -> {
      Promise<Void> done = Promise.promise();
      flushWaiters.add(done);
      queues.values().forEach(byPartition -> byPartition.values().forEach(q -> {
        if (q.building != null) {
          q.ready.add(q.building);
          q.building = null;
        }
        trySend(q);
      }));
      completeFlushesIfIdle();
      return done.future();
    });
  }

  /** Flushes, then refuses further sends. */
  public Future<Void> close() {
    return flush().andThen(ar -> {
      closed = true;
      client.metrics().producerClosed(this);
    });
  }

  private void enqueue(ProducerRecord record, boolean blockLimit, Promise<Void> buffered,
      Promise<RecordMetadata> acknowledged) {
    acknowledged.future().onFailure(buffered::tryFail);
    if (closed || client.isClosed()) {
      acknowledged.fail(new IllegalStateException("the producer is closed"));
      return;
    }
    int bytes = RecordBatchBuilder.estimateRecordSize(record.key(), record.value(), record.headers());
    int size = RecordBatch.HEADER_SIZE + bytes;
    if (size > maxRequestSize) {
      acknowledged.fail(new RaftlineException(ErrorCode.RECORD_TOO_LARGE,
          "the record is " + size + " bytes when serialised, more than max.request.size (" + maxRequestSize + ")"));
      return;
    }
    if (bytes > bufferMemory) {
      acknowledged.fail(new RaftlineException(ErrorCode.RECORD_TOO_LARGE,
          "the record is " + bytes + " bytes when serialised, more than buffer.memory (" + bufferMemory + ")"));
      return;
    }
    unfinished++;
    acknowledged.future().onComplete(ar -> {
      unfinished--;
      completeFlushesIfIdle();
    });
    Waiting w = new Waiting(record, bytes, buffered, acknowledged);
    if (waiting.isEmpty() && bufferedBytes + bytes <= bufferMemory) {
      admit(w);
      return;
    }
    waiting.add(w);
    if (blockLimit) {
      w.deadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(maxBlockMs);
      if (blockTimer < 0) {
        armBlockTimer(w.deadlineNanos);
      }
    }
  }

  /**
   * One timer for every waiting send, armed for the earliest max.block.ms deadline: the deadlines of
   * limited sends grow in queue order, so that is the first limited one. (A timer per waiting record
   * cost the producer a tenth of its CPU when the buffer is full, the usual state of a fast sender.)
   */
  private void armBlockTimer(long deadlineNanos) {
    long delayMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime() + 999_999));
    blockTimer = client.vertx().setTimer(delayMs, id -> {
      blockTimer = -1;
      failBlockedPastDeadline();
    });
  }

  private void failBlockedPastDeadline() {
    long now = System.nanoTime();
    boolean failedAny = false;
    long next = Long.MAX_VALUE;
    for (Iterator<Waiting> it = waiting.iterator(); it.hasNext(); ) {
      Waiting w = it.next();
      if (w.deadlineNanos == Long.MAX_VALUE) {
        continue;
      }
      if (w.deadlineNanos - now > 0) {
        next = w.deadlineNanos;
        break;
      }
      it.remove();
      failedAny = true;
      w.acknowledged.tryFail(new RaftlineException(ErrorCode.REQUEST_TIMED_OUT, "no room for a record of " + w.bytes
          + " bytes under buffer.memory (" + bufferMemory + " bytes, " + bufferedBytes
          + " held by unacknowledged records) within max.block.ms (" + maxBlockMs + " ms)"));
    }
    if (next != Long.MAX_VALUE && blockTimer < 0) {
      armBlockTimer(next);
    }
    if (failedAny) {
      admitWaiting(); // the ones that timed out may have been blocking smaller ones
    }
  }

  /** Takes a send into the buffer: its bytes count until it is acknowledged or fails. */
  private void admit(Waiting w) {
    bufferedBytes += w.bytes;
    w.acknowledged.future().onComplete(ar -> {
      bufferedBytes -= w.bytes;
      admitWaiting();
    });
    w.buffered.tryComplete();
    route(w.record, w.acknowledged);
  }

  private void admitWaiting() {
    while (!waiting.isEmpty() && bufferedBytes + waiting.peek().bytes <= bufferMemory) {
      admit(waiting.poll());
    }
  }

  /** Picks the record's partition (fetching the topic's metadata if needed) and adds it to that queue. */
  private void route(ProducerRecord record, Promise<RecordMetadata> promise) {
    TopicInfo fresh = client.freshTopic(record.topic());
    if (fresh != null && (record.partition() == null || record.partition() < fresh.partitions().size())) {
      // The common case, without a future per record.
      routeTo(fresh, record, promise);
      return;
    }
    client.topic(record.topic(), false)
        .compose(info -> record.partition() != null && record.partition() >= info.partitions().size()
            // Partitions may have been added since the cache was filled: ask once more.
            ? client.topic(record.topic(), true) : Future.succeededFuture(info))
        .onComplete(ar -> {
      if (ar.failed()) {
        promise.fail(ar.cause());
        return;
      }
      routeTo(ar.result(), record, promise);
    });
  }

  private void routeTo(TopicInfo topic, ProducerRecord record, Promise<RecordMetadata> promise) {
    int partitions = topic.partitions().size();
    int partition;
    if (record.partition() != null) {
      if (record.partition() < 0 || record.partition() >= partitions) {
        promise.fail(new RaftlineException(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "topic " + record.topic()
            + " has partitions 0 to " + (partitions - 1) + ", not " + record.partition()));
        return;
      }
      partition = record.partition();
    } else if (record.key() != null) {
      partition = Partitioner.partitionForKey(record.key(), partitions);
    } else {
      partition = stickyPartition.computeIfAbsent(record.topic(), t -> ThreadLocalRandom.current().nextInt(partitions));
    }
    add(queue(record.topic(), partition), record, promise);
  }

  private PartitionQueue queue(String topic, int partition) {
    return queues.computeIfAbsent(topic, t -> new HashMap<>())
        .computeIfAbsent(partition, p -> new PartitionQueue(topic, p));
  }

  private void add(PartitionQueue q, ProducerRecord record, Promise<RecordMetadata> promise) {
    int size = RecordBatchBuilder.estimateRecordSize(record.key(), record.value(), record.headers());
    if (q.building != null && q.building.builder.sizeInBytes() + size > batchSize) {
      seal(q);
    }
    if (q.building == null) {
      q.building = new Batch(compression);
    }
    long timestamp = record.timestamp() != null ? record.timestamp() : System.currentTimeMillis();
    q.building.builder.append(timestamp, record.key(), record.value(), record.headers());
    q.building.promises.add(promise);
    q.building.timestamps.add(timestamp);
    if (q.building.builder.sizeInBytes() >= batchSize) {
      seal(q);
    }
    trySend(q);
  }

  /** Closes the batch being built; unkeyed records move to another partition from now on. */
  private void seal(PartitionQueue q) {
    if (q.building != null) {
      q.ready.add(q.building);
      q.building = null;
      if (Integer.valueOf(q.partition).equals(stickyPartition.get(q.topic))) {
        stickyPartition.remove(q.topic);
      }
    }
  }

  private void trySend(PartitionQueue q) {
    if (q.inFlight) {
      return;
    }
    if (q.ready.isEmpty() && q.building != null) {
      if (lingerMs > 0 && q.lingerTimer < 0 && flushWaiters.isEmpty()) {
        q.lingerTimer = client.vertx().setTimer(lingerMs, id -> {
          q.lingerTimer = -1;
          if (!q.inFlight) {
            seal(q);
            trySend(q);
          }
        });
        return;
      }
      if (lingerMs > 0 && q.lingerTimer >= 0 && flushWaiters.isEmpty()) {
        return;
      }
      seal(q);
    }
    Batch batch = q.ready.poll();
    if (batch == null) {
      return;
    }
    if (q.lingerTimer >= 0) {
      client.vertx().cancelTimer(q.lingerTimer);
      q.lingerTimer = -1;
    }
    q.inFlight = true;
    if (batch.deadline < 0) {
      batch.deadline = System.currentTimeMillis() + deliveryTimeoutMs;
    }
    if (idempotence) {
      identity().onComplete(ar -> {
        if (ar.failed() && System.currentTimeMillis() + retryBackoffMs >= batch.deadline) {
          fail(q, batch, new RaftlineException(ErrorCode.REQUEST_TIMED_OUT, "gave up after delivery.timeout.ms ("
              + deliveryTimeoutMs + " ms): no producer id for the idempotent producer: " + ar.cause().getMessage()));
          return;
        }
        if (ar.failed()) {
          // Without an identity nothing can be sent safely; the batch waits for the next attempt.
          client.vertx().setTimer(Math.max(1, retryBackoffMs), id -> {
            q.ready.addFirst(batch);
            q.inFlight = false;
            trySend(q);
          });
          return;
        }
        ProducerIdentity id = ar.result();
        if (!id.equals(q.sequenceOwner)) {
          q.sequenceOwner = id;
          q.nextSequence = 0;
        }
        batch.builder.producer(id.producerId(), id.epoch(), q.nextSequence);
        batch.numberedBy = id;
        batch.baseSequence = q.nextSequence;
        q.nextSequence = (int) ((q.nextSequence + (long) batch.promises.size()) % ((long) Integer.MAX_VALUE + 1));
        send(q, batch);
      });
      return;
    }
    send(q, batch);
  }

  private void send(PartitionQueue q, Batch batch) {
    ProduceRequest request = ProduceRequest.newBuilder().setAcks(acks).setTimeoutMs(requestTimeoutMs)
        .addPartitions(PartitionRecords.newBuilder().setTopic(q.topic).setPartition(q.partition)
            // The built buffer is this request's alone and never written again: wrapped, not copied.
            .setRecords(UnsafeByteOperations.unsafeWrap(batch.builder.build())))
        .build();
    attempt(q, batch, request, batch.deadline, null);
  }

  private void attempt(PartitionQueue q, Batch batch, ProduceRequest request, long deadline, String lastProblem) {
    HostPort leader = client.leaderOf(q.topic, q.partition);
    if (leader == null) {
      retryLater(q, batch, request, deadline, new RaftlineException(ErrorCode.LEADER_NOT_AVAILABLE,
          "no known leader for " + q.topic + "-" + q.partition + (lastProblem == null ? "" : "; " + lastProblem)));
      return;
    }
    client.records(leader).produce(request).onComplete(ar -> {
      RaftlineException problem;
      if (ar.succeeded()) {
        PartitionProduceResult r = ar.result().getResults(0);
        if (r.getError() == ErrorCode.NONE) {
          for (int i = 0; i < batch.promises.size(); i++) {
            batch.promises.get(i).tryComplete(
                new RecordMetadata(q.topic, q.partition, r.getBaseOffset() + i, batch.timestamps.get(i)));
          }
          finished(q);
          return;
        }
        problem = new RaftlineException(r.getError(), r.getErrorMessage());
      } else {
        problem = new RaftlineException(ErrorCode.REQUEST_TIMED_OUT,
            "request to " + leader + " failed: " + ar.cause().getMessage());
      }
      if (problem.errorCode() == ErrorCode.RECORD_TOO_LARGE && batch.promises.size() > 1
          && resendInHalves(q, batch, request)) {
        return;
      }
      if (!RaftlineException.isRetriable(problem.errorCode())) {
        fail(q, batch, problem);
        return;
      }
      retryLater(q, batch, request, deadline, problem);
    });
  }

  /**
   * A batch of several records that the leader refused as too large (its topic's max.message.bytes is
   * below this producer's batch.size) goes out again as two batches of half the records each, first
   * half first, as Kafka's producer splits one; a half still too large is split again, down to single
   * records. The leader checks the size before the sequence numbers, so nothing of the refused batch
   * was stored and the halves take over its sequence numbers.
   *
   * @return false if the batch's own bytes could not be read back (then it fails as refused)
   */
  private boolean resendInHalves(PartitionQueue q, Batch batch, ProduceRequest request) {
    List<io.raftline.protocol.records.Record> records = new ArrayList<>(batch.promises.size());
    try {
      for (RecordBatch sent : RecordBatch.parse(request.getPartitions(0).getRecords().asReadOnlyByteBuffer())) {
        records.addAll(sent.records());
      }
    } catch (RuntimeException e) {
      return false;
    }
    if (records.size() != batch.promises.size()) {
      return false;
    }
    Batch first = new Batch(compression);
    Batch second = new Batch(compression);
    for (int i = 0; i < records.size(); i++) {
      Batch half = i < records.size() / 2 ? first : second;
      io.raftline.protocol.records.Record r = records.get(i);
      half.builder.append(r.timestamp(), r.key(), r.value(), r.headers());
      half.promises.add(batch.promises.get(i));
      half.timestamps.add(batch.timestamps.get(i));
    }
    first.deadline = batch.deadline;
    second.deadline = batch.deadline;
    if (batch.numberedBy != null && batch.numberedBy.equals(q.sequenceOwner)) {
      q.nextSequence = batch.baseSequence;
    }
    q.ready.addFirst(second);
    q.ready.addFirst(first);
    q.inFlight = false;
    trySend(q);
    return true;
  }

  private void retryLater(PartitionQueue q, Batch batch, ProduceRequest request, long deadline,
      RaftlineException problem) {
    if (System.currentTimeMillis() + retryBackoffMs >= deadline) {
      fail(q, batch, new RaftlineException(problem.errorCode(),
          "gave up after delivery.timeout.ms (" + deliveryTimeoutMs + " ms): " + problem.getMessage()));
      return;
    }
    client.vertx().setTimer(Math.max(1, retryBackoffMs), id -> client.topic(q.topic, true)
        .onComplete(ar -> attempt(q, batch, request, deadline, problem.getMessage())));
  }

  private void fail(PartitionQueue q, Batch batch, Throwable cause) {
    if (idempotence && q.sequenceOwner != null && q.sequenceOwner.equals(identity)) {
      // The broker may or may not hold this batch: its sequence can be neither reused nor skipped
      // under this identity, so the next batch goes out under a new one.
      identity = null;
    }
    batch.promises.forEach(p -> p.tryFail(cause));
    finished(q);
  }

  private void finished(PartitionQueue q) {
    q.inFlight = false;
    if (q.ready.isEmpty() && q.building != null) {
      // Records gathered while the request was in flight have waited long enough.
      seal(q);
    }
    trySend(q);
  }

  private void completeFlushesIfIdle() {
    if (unfinished == 0 && !flushWaiters.isEmpty()) {
      List<Promise<Void>> done = new ArrayList<>(flushWaiters);
      flushWaiters.clear();
      done.forEach(Promise::tryComplete);
    }
  }
}
