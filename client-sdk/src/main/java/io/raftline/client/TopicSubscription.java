package io.raftline.client;

import io.raftline.client.ClientConfig.HostPort;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.ListOffsetsRequest;
import io.raftline.protocol.client.PartitionData;
import io.raftline.protocol.client.PartitionFetch;
import io.raftline.protocol.client.PartitionOffset;
import io.raftline.protocol.client.PartitionTimestamp;
import io.raftline.protocol.records.InvalidRecordBatchException;
import io.raftline.protocol.records.Record;
import io.raftline.protocol.records.RecordBatch;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.streams.ReadStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The records of every partition of one topic as a {@link ReadStream}. Fetching follows demand: it
 * stops while the subscriber is paused and at most {@code max.poll.records} records wait in the
 * buffer, so a slow subscriber slows the fetching instead of growing memory. Records of one partition
 * arrive in offset order; partitions interleave. Fetching starts when a handler is set and ends with
 * {@link #close()}, which calls the end handler.
 */
public final class TopicSubscription implements ReadStream<ConsumerRecord> {
  private final RaftlineClient client;
  private final String topic;
  private final boolean fromBeginning;
  private final int maxBuffered;
  private final int maxWaitMs;
  private final int minBytes;
  private final int maxBytes;
  private final int partitionMaxBytes;
  private final ArrayDeque<ConsumerRecord> buffer = new ArrayDeque<>();
  private final Set<HostPort> fetching = new HashSet<>();
  private Handler<ConsumerRecord> handler;
  private Handler<Throwable> exceptionHandler;
  private Handler<Void> endHandler;
  private long demand = Long.MAX_VALUE;
  /** Next offset to fetch per partition; -1 until resolved. */
  private long[] positions;
  private boolean starting;
  private boolean resolving;
  private boolean closed;
  private boolean delivering;

  TopicSubscription(RaftlineClient client, String topic, boolean fromBeginning) {
    this.client = client;
    this.topic = topic;
    this.fromBeginning = fromBeginning;
    ClientConfig c = client.config();
    this.maxBuffered = c.positiveInt("max.poll.records");
    this.maxWaitMs = c.nonNegativeInt("fetch.max.wait.ms");
    this.minBytes = c.nonNegativeInt("fetch.min.bytes");
    this.maxBytes = c.positiveInt("fetch.max.bytes");
    this.partitionMaxBytes = c.positiveInt("max.partition.fetch.bytes");
  }

  public String topic() {
    return topic;
  }

  /** The next offset this subscription will fetch per partition (-1 while unknown). */
  public Future<long[]> positions() {
    return client.call(() -> Future.succeededFuture(positions == null ? new long[0] : positions.clone()));
  }

  @Override
  public TopicSubscription handler(Handler<ConsumerRecord> h) {
    client.onContext(() -> {
      handler = h;
      if (h != null && positions == null && !starting) {
        start();
      } else {
        pump();
      }
    });
    return this;
  }

  @Override
  public TopicSubscription exceptionHandler(Handler<Throwable> h) {
    client.onContext(() -> exceptionHandler = h);
    return this;
  }

  @Override
  public TopicSubscription endHandler(Handler<Void> h) {
    client.onContext(() -> endHandler = h);
    return this;
  }

  @Override
  public TopicSubscription pause() {
    client.onContext(() -> demand = 0);
    return this;
  }

  @Override
  public TopicSubscription resume() {
    client.onContext(() -> {
      demand = Long.MAX_VALUE;
      pump();
    });
    return this;
  }

  @Override
  public TopicSubscription fetch(long amount) {
    client.onContext(() -> {
      demand = demand + amount < 0 ? Long.MAX_VALUE : demand + amount;
      pump();
    });
    return this;
  }

  /** Stops fetching and ends the stream; buffered records are dropped. */
  public void close() {
    client.onContext(() -> {
      if (closed) {
        return;
      }
      closed = true;
      buffer.clear();
      if (endHandler != null) {
        endHandler.handle(null);
      }
    });
  }

  private void start() {
    starting = true;
    client.topic(topic, false).onComplete(ar -> {
      if (ar.failed()) {
        starting = false;
        failed(ar.cause());
        return;
      }
      positions = new long[ar.result().partitions().size()];
      java.util.Arrays.fill(positions, -1);
      pump();
    });
  }

  private void failed(Throwable t) {
    if (exceptionHandler != null) {
      exceptionHandler.handle(t);
    }
  }

  private void pump() {
    if (closed || delivering) {
      return;
    }
    delivering = true;
    try {
      while (demand > 0 && !buffer.isEmpty() && handler != null && !closed) {
        if (demand != Long.MAX_VALUE) {
          demand--;
        }
        handler.handle(buffer.poll());
      }
    } finally {
      delivering = false;
    }
    if (closed || positions == null || buffer.size() >= maxBuffered || handler == null) {
      return;
    }
    if (hasUnresolved()) {
      resolvePositions();
      return;
    }
    Map<HostPort, List<Integer>> byLeader = new HashMap<>();
    for (int p = 0; p < positions.length; p++) {
      HostPort leader = client.leaderOf(topic, p);
      if (leader != null) {
        byLeader.computeIfAbsent(leader, l -> new ArrayList<>()).add(p);
      }
    }
    if (byLeader.isEmpty()) {
      refreshAndRetry();
    }
    byLeader.forEach((leader, partitions) -> {
      if (fetching.add(leader)) {
        fetchFrom(leader, partitions);
      }
    });
  }

  private boolean hasUnresolved() {
    for (long p : positions) {
      if (p < 0) {
        return true;
      }
    }
    return false;
  }

  /** Asks each leader for the first or last offset of partitions without a position. */
  private void resolvePositions() {
    if (resolving) {
      return;
    }
    resolving = true;
    Map<HostPort, ListOffsetsRequest.Builder> requests = new HashMap<>();
    for (int p = 0; p < positions.length; p++) {
      HostPort leader = client.leaderOf(topic, p);
      if (positions[p] < 0 && leader != null) {
        requests.computeIfAbsent(leader, l -> ListOffsetsRequest.newBuilder()).addPartitions(
            PartitionTimestamp.newBuilder().setTopic(topic).setPartition(p).setTimestamp(fromBeginning ? -2 : -1));
      }
    }
    List<Future<?>> answers = new ArrayList<>();
    boolean[] trouble = {requests.isEmpty()};
    requests.forEach((leader, request) -> answers.add(client.records(leader).listOffsets(request.build())
        .onSuccess(r -> {
          for (PartitionOffset po : r.getPartitionsList()) {
            if (po.getError() == ErrorCode.NONE) {
              positions[po.getPartition()] = po.getOffset();
            } else {
              trouble[0] = true;
            }
          }
        })
        .onFailure(t -> trouble[0] = true)));
    Future.join(answers).onComplete(ar -> {
      resolving = false;
      if (trouble[0] || hasUnresolved()) {
        refreshAndRetry();
      } else {
        pump();
      }
    });
  }

  private void refreshAndRetry() {
    client.vertx().setTimer(100, id -> client.topic(topic, true).onComplete(ar -> pump()));
  }

  private void fetchFrom(HostPort leader, List<Integer> partitions) {
    FetchRequest.Builder request = FetchRequest.newBuilder().setReplicaId(-1).setMaxWaitMs(maxWaitMs)
        .setMinBytes(minBytes).setMaxBytes(maxBytes);
    for (int p : partitions) {
      request.addPartitions(PartitionFetch.newBuilder().setTopic(topic).setPartition(p).setFetchOffset(positions[p])
          .setPartitionMaxBytes(partitionMaxBytes));
    }
    client.records(leader).fetch(request.build()).onComplete(ar -> {
      fetching.remove(leader);
      if (closed) {
        return;
      }
      if (ar.failed()) {
        refreshAndRetry();
        return;
      }
      if (accept(ar.result())) {
        pump();
      }
    });
  }

  /** Buffers fetched records; false if the subscription must wait (retry scheduled) or stopped. */
  private boolean accept(FetchResponse response) {
    boolean refresh = false;
    for (PartitionData d : response.getPartitionsList()) {
      int p = d.getPartition();
      switch (d.getError()) {
        case NONE -> {
          try {
            for (RecordBatch batch : RecordBatch.parse(d.getRecords().asReadOnlyByteBuffer())) {
              batch.checkIntegrity();
              for (Record r : batch.records()) {
                if (r.offset() >= positions[p]) {
                  buffer.add(new ConsumerRecord(topic, p, r.offset(), r.timestamp(), r.key(), r.value(), r.headers()));
                }
              }
              positions[p] = Math.max(positions[p], batch.nextOffset());
            }
          } catch (InvalidRecordBatchException e) {
            failed(new RaftlineException(e.errorCode(), topic + "-" + p + " at offset " + positions[p] + ": "
                + e.getMessage()));
            close();
            return false;
          }
        }
        case OFFSET_OUT_OF_RANGE -> positions[p] = -1;
        case NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION, KAFKA_STORAGE_ERROR ->
            refresh = true;
        default -> {
          failed(new RaftlineException(d.getError(), d.getErrorMessage()));
          refresh = true;
        }
      }
    }
    if (refresh) {
      refreshAndRetry();
      return false;
    }
    return true;
  }
}
