package io.raftline.broker;

import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.PartitionData;
import io.raftline.protocol.client.PartitionFetch;
import io.raftline.protocol.records.RecordBatch;
import io.vertx.core.Future;
import io.vertx.core.streams.WriteStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One consumer's Subscribe stream: the broker fetches for it again and again (a long-poll Fetch, so
 * consumers read below the high watermark exactly as with Fetch) and pushes every answer that carries
 * records or an error, each partition continuing after the last batch sent.
 *
 * <p>Demand comes from the stream's HTTP/2 flow control: the next fetch is made only while the
 * response stream can take more ({@link WriteStream#writeQueueFull()} is false); otherwise the
 * subscription waits for the drain that the caller's window update brings. A caller that stops
 * reading therefore stops its log reads: the broker holds at most the flow-control window plus the
 * one answer in flight for it, however far behind it falls.
 *
 * <p>Everything runs on the broker's event loop; the fetches themselves do their IO on workers.
 */
final class ConsumerSubscription {
  private static final System.Logger LOG = System.getLogger(ConsumerSubscription.class.getName());
  /** How long each fetch waits at the broker for records when the caller did not say. */
  static final int DEFAULT_MAX_WAIT_MS = 500;

  /** Partition key to the fetch that continues it; a partition that answered an error is removed. */
  private final Map<String, PartitionFetch> positions = new LinkedHashMap<>();
  private final FetchRequest template;
  private final Function<FetchRequest, Future<FetchResponse>> fetch;
  private final WriteStream<FetchResponse> out;
  private final BrokerMetrics metrics;
  private boolean closed;
  private boolean counted;
  private boolean waitingForDemand;

  ConsumerSubscription(FetchRequest request, Function<FetchRequest, Future<FetchResponse>> fetch,
      WriteStream<FetchResponse> out, BrokerMetrics metrics) {
    this.template = request.toBuilder().clearPartitions().setReplicaId(-1)
        .setMaxWaitMs(request.getMaxWaitMs() > 0 ? request.getMaxWaitMs() : DEFAULT_MAX_WAIT_MS)
        .setMinBytes(Math.max(1, request.getMinBytes())).build();
    this.fetch = fetch;
    this.out = out;
    this.metrics = metrics;
    for (PartitionFetch p : request.getPartitionsList()) {
      positions.put(key(p.getTopic(), p.getPartition()), p);
    }
  }

  private static String key(String topic, int partition) {
    return topic + '\u0000' + partition;
  }

  /** Starts pushing; a request that is not a consumer's is answered once with INVALID_REQUEST. */
  void start(int replicaId) {
    out.exceptionHandler(t -> {
      LOG.log(System.Logger.Level.DEBUG, () -> "subscription stream closed: " + t);
      close();
    });
    if (replicaId >= 0 || positions.isEmpty()) {
      FetchResponse.Builder refused = FetchResponse.newBuilder();
      for (PartitionFetch p : positions.values()) {
        refused.addPartitions(PartitionData.newBuilder().setTopic(p.getTopic()).setPartition(p.getPartition())
            .setError(ErrorCode.INVALID_REQUEST).setErrorMessage(replicaId >= 0
                ? "Subscribe is for consumers; followers use Fetch" : "no partition to subscribe to"));
      }
      push(refused.build());
      end();
      return;
    }
    metrics.subscriptions.incrementAndGet();
    counted = true;
    next();
  }

  private void next() {
    if (closed) {
      return;
    }
    if (positions.isEmpty()) {
      end();
      return;
    }
    if (out.writeQueueFull()) {
      // The caller's window is full: no more reads for it until it takes what it has been sent.
      waitingForDemand = true;
      metrics.subscriptionsWaitingForDemand.incrementAndGet();
      out.drainHandler(v -> {
        out.drainHandler(null);
        waitingForDemand = false;
        metrics.subscriptionsWaitingForDemand.decrementAndGet();
        next();
      });
      return;
    }
    fetch.apply(template.toBuilder().addAllPartitions(positions.values()).build()).onComplete(ar -> {
      if (closed) {
        return;
      }
      if (ar.failed()) {
        LOG.log(System.Logger.Level.DEBUG, () -> "subscription fetch failed: " + ar.cause());
        fail(ar.cause());
        return;
      }
      FetchResponse pushed = advance(ar.result());
      if (pushed.getPartitionsCount() > 0) {
        push(pushed);
      }
      next();
    });
  }

  /** Moves each partition past what the answer carries; returns the part worth sending. */
  private FetchResponse advance(FetchResponse answer) {
    List<PartitionData> worth = new ArrayList<>();
    for (PartitionData d : answer.getPartitionsList()) {
      String k = key(d.getTopic(), d.getPartition());
      PartitionFetch at = positions.get(k);
      if (at == null) {
        continue;
      }
      if (d.getError() != ErrorCode.NONE) {
        positions.remove(k);
        worth.add(d);
        continue;
      }
      if (d.getRecords().isEmpty()) {
        continue;
      }
      List<RecordBatch> batches = RecordBatch.parse(d.getRecords().asReadOnlyByteBuffer());
      if (batches.isEmpty()) {
        continue;
      }
      long nextOffset = batches.get(batches.size() - 1).nextOffset();
      if (nextOffset > at.getFetchOffset()) {
        positions.put(k, at.toBuilder().setFetchOffset(nextOffset).build());
        worth.add(d);
      }
    }
    return FetchResponse.newBuilder().addAllPartitions(worth).build();
  }

  private void push(FetchResponse response) {
    try {
      out.write(response);
      metrics.subscriptionResponses.increment();
    } catch (RuntimeException callerGone) {
      // Writing to a stream the caller cancelled throws (see Answers); the subscription is over.
      close();
    }
  }

  private void end() {
    if (!closed) {
      close();
      try {
        out.end();
      } catch (RuntimeException callerGone) {
        // nothing left to tell
      }
    }
  }

  private void fail(Throwable cause) {
    close();
    if (out instanceof io.vertx.grpc.server.GrpcServerResponse<?, ?> grpc) {
      try {
        grpc.fail(cause);
      } catch (RuntimeException callerGone) {
        // nothing left to tell
      }
    }
  }

  /** Stops pushing; called when the caller cancels, the stream fails or the broker stops. */
  void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (waitingForDemand) {
      waitingForDemand = false;
      metrics.subscriptionsWaitingForDemand.decrementAndGet();
    }
    if (counted) {
      counted = false;
      metrics.subscriptions.decrementAndGet();
    }
  }

  boolean isClosed() {
    return closed;
  }
}
