package io.raftline.client;

import io.raftline.client.ClientConfig.HostPort;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.FetcherSession;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.ListOffsetsRequest;
import io.raftline.protocol.client.PartitionData;
import io.raftline.protocol.client.PartitionFetch;
import io.raftline.protocol.client.PartitionOffset;
import io.raftline.protocol.client.PartitionTimestamp;
import io.raftline.protocol.records.InvalidRecordBatchException;
import io.raftline.protocol.records.RecordBatch;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.streams.ReadStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The records of every partition of one topic as a {@link ReadStream}. Fetching follows demand: it
 * stops while the subscriber is paused and at most {@code max.poll.records} records wait in the
 * buffer, so a slow subscriber slows the fetching instead of growing memory. The prefetch bound: a
 * fetch is sent to a broker only while fewer than {@code max.poll.records} records are buffered, and
 * one at a time per broker, so the buffer holds at most {@code max.poll.records - 1} records plus one
 * fetch answer per broker (each at most {@code fetch.max.bytes}, and per partition at most
 * {@code max.partition.fetch.bytes} or one batch); {@link #bufferedRecords()} and
 * {@link #bufferedBytes()} measure it. Records of one partition
 * arrive in offset order; partitions interleave. Fetching starts when a handler is set and ends with
 * {@link #close()}, which calls the end handler.
 *
 * <p>A {@link GroupConsumer} uses the same machinery over the partitions its group assigns it (of any
 * number of topics), each from an explicit start offset: see {@link #assign} and {@link #unassign}.
 */
public final class TopicSubscription implements ReadStream<ConsumerRecord> {
  private final RaftlineClient client;
  /** Consumer lag per partition read, as gauges (when the client has meters); updated with the buffer gauges. */
  private final ClientMetrics.ConsumerLag lagGauges;
  /** The whole topic this subscription reads, or null if it reads only the partitions assigned to it. */
  private final String topic;
  private final boolean fromBeginning;
  private final int maxBuffered;
  private final int maxWaitMs;
  private final int minBytes;
  private final int maxBytes;
  private final int partitionMaxBytes;
  private final ArrayDeque<ConsumerRecord> buffer = new ArrayDeque<>();
  /** Gauges of the buffer, written on the client's context only. */
  private volatile int bufferedRecords;
  private volatile long bufferedBytes;
  /** The high watermark of each partition read, from its latest fetch answer. */
  private final Map<TopicPartition, Long> highWatermarks = new HashMap<>();
  /** Where a partition without a position starts when it is not where auto.offset.reset says (-2 earliest, -1 latest). */
  private final Map<TopicPartition, Long> resets = new HashMap<>();
  private final Set<HostPort> fetching = new HashSet<>();
  /**
   * The incremental fetch session (KIP-227) with each leader fetched from: a fetch names only the
   * partitions whose position moved, and is answered only about partitions with something new.
   */
  private final Map<HostPort, FetcherSession<TopicPartition>> sessions = new HashMap<>();
  private Handler<ConsumerRecord> handler;
  private Handler<Throwable> exceptionHandler;
  private Handler<Void> endHandler;
  private long demand = Long.MAX_VALUE;
  /** Next offset to fetch per partition read; -1 until resolved. */
  private final Map<TopicPartition, Long> positions = new LinkedHashMap<>();
  /** Next offset to deliver per partition read: after the last delivered record, or where reading starts. */
  private final Map<TopicPartition, Long> consumed = new HashMap<>();
  /** True once the partitions to read are known (at once for an assigned subscription). */
  private boolean started;
  private boolean starting;
  private boolean resolving;
  private boolean refreshing;
  private boolean closed;
  private boolean delivering;

  /** A subscription to every partition of {@code topic}. */
  TopicSubscription(RaftlineClient client, String topic, boolean fromBeginning) {
    this.client = client;
    this.lagGauges = client.metrics().consumerLag();
    this.topic = topic;
    this.fromBeginning = fromBeginning;
    ClientConfig c = client.config();
    this.maxBuffered = c.positiveInt("max.poll.records");
    this.maxWaitMs = c.nonNegativeInt("fetch.max.wait.ms");
    this.minBytes = c.nonNegativeInt("fetch.min.bytes");
    this.maxBytes = c.positiveInt("fetch.max.bytes");
    this.partitionMaxBytes = c.positiveInt("max.partition.fetch.bytes");
    this.started = topic == null;
  }

  /**
   * A subscription that reads only the partitions {@link #assign assigned} to it; where a start
   * offset is unknown, from the first or the next offset as {@code fromBeginning} says.
   */
  static TopicSubscription ofAssignedPartitions(RaftlineClient client, boolean fromBeginning) {
    return new TopicSubscription(client, null, fromBeginning);
  }

  /** Records fetched and not yet handed to the handler: a gauge, safe to read from any thread. */
  public int bufferedRecords() {
    return bufferedRecords;
  }

  /** Key, value and header bytes of the records fetched and not yet handed to the handler (a gauge). */
  public long bufferedBytes() {
    return bufferedBytes;
  }

  private static long sizeOf(ConsumerRecord r) {
    long size = (r.key() == null ? 0 : r.key().length) + (r.value() == null ? 0 : r.value().length);
    for (io.raftline.protocol.records.Header h : r.headers()) {
      size += h.key().length() + (h.value() == null ? 0 : h.value().length);
    }
    return size;
  }

  /** Bytes of the buffered records; the volatile gauges copy it once per answer or delivery run, not per record. */
  private long bufferBytes;

  private void buffered(ConsumerRecord r) {
    buffer.add(r);
    bufferBytes += sizeOf(r);
  }

  private ConsumerRecord takeBuffered() {
    ConsumerRecord r = buffer.poll();
    bufferBytes -= sizeOf(r);
    return r;
  }

  private void publishGauges() {
    bufferedRecords = buffer.size();
    bufferedBytes = bufferBytes;
    if (client.metrics().enabled()) {
      lagGauges.update(closed ? Map.of() : lagNow());
    }
  }

  private void dropBuffered(Set<TopicPartition> partitions) {
    buffer.removeIf(r -> partitions.contains(new TopicPartition(r.topic(), r.partition())));
    long bytes = 0;
    for (ConsumerRecord r : buffer) {
      bytes += sizeOf(r);
    }
    bufferBytes = bytes;
    publishGauges();
  }

  /**
   * Moves the next record of {@code partition}, which this subscription must be reading, to
   * {@code offset}; -2 means its first offset, -1 the next new one. Records of it already buffered are
   * dropped. An offset beyond the partition's end is handled as {@code auto.offset.reset} says.
   */
  public Future<Void> seek(TopicPartition partition, long offset) {
    return client.call(() -> {
      if (offset < -2) {
        return Future.failedFuture(new IllegalArgumentException("offset " + offset + " of " + partition
            + ": seek to an offset, or -2 (beginning) or -1 (end)"));
      }
      if (!positions.containsKey(partition)) {
        return Future.failedFuture(new IllegalStateException(partition + " is not read by this consumer"
            + (started ? "" : " (yet)")));
      }
      dropBuffered(Set.of(partition));
      if (offset >= 0) {
        positions.put(partition, offset);
        consumed.put(partition, offset);
        resets.remove(partition);
      } else {
        positions.put(partition, -1L);
        consumed.remove(partition);
        resets.put(partition, offset);
      }
      pump();
      return Future.succeededFuture();
    });
  }

  /**
   * Moves every given partition to the first offset whose record's timestamp is at or after
   * {@code timestamp} (ListOffsets by time); a partition with no such record goes to its end. The
   * future completes once every position is known.
   */
  public Future<Void> seekToTimestamp(Collection<TopicPartition> partitions, long timestamp) {
    if (timestamp < 0) {
      return Future.failedFuture(new IllegalArgumentException("timestamp " + timestamp + " is negative"));
    }
    return seekTo(partitions, timestamp);
  }

  /**
   * Moves every given partition to the offset its leader answers for {@code timestamp} (-2 first,
   * -1 end, else by time, with the end where no record is that new), so the position is fixed before
   * the future completes: records appended afterwards are read.
   */
  Future<Void> seekTo(Collection<TopicPartition> partitions, long timestamp) {
    List<TopicPartition> list = List.copyOf(partitions);
    return client.call(() -> {
      for (TopicPartition tp : list) {
        if (!positions.containsKey(tp)) {
          return Future.failedFuture(new IllegalStateException(tp + " is not read by this consumer"));
        }
      }
      return client.listOffsets(list, timestamp).compose(found -> {
        List<TopicPartition> noneThatNew = new ArrayList<>();
        found.forEach((tp, offset) -> {
          if (offset < 0) {
            noneThatNew.add(tp);
          }
        });
        if (noneThatNew.isEmpty()) {
          return Future.succeededFuture(found);
        }
        return client.listOffsets(noneThatNew, -1).map(ends -> {
          Map<TopicPartition, Long> all = new HashMap<>(found);
          all.putAll(ends);
          return all;
        });
      }).compose(found -> {
        List<Future<Void>> moved = new ArrayList<>();
        for (TopicPartition tp : list) {
          Long offset = found.get(tp);
          if (offset == null || offset < 0) {
            return Future.failedFuture(new RaftlineException(ErrorCode.LEADER_NOT_AVAILABLE,
                "no offset for " + (timestamp == -2 ? "the beginning" : timestamp == -1 ? "the end"
                    : "timestamp " + timestamp) + " of " + tp + ": its leader did not answer"));
          }
          moved.add(seek(tp, offset));
        }
        return Future.all(moved).mapEmpty();
      });
    });
  }

  /**
   * Lag per partition read: its high watermark (from the latest fetch answer) minus the next offset to
   * hand to the handler, so buffered records count as lag. Partitions not yet fetched are missing.
   */
  public Future<Map<TopicPartition, Long>> lag() {
    return client.call(() -> Future.succeededFuture(lagNow()));
  }

  /** {@link #lag()}; call on the client's context. */
  Map<TopicPartition, Long> lagNow() {
    Map<TopicPartition, Long> out = new java.util.TreeMap<>();
    highWatermarks.forEach((tp, hw) -> {
      Long next = consumed.get(tp);
      if (next != null && positions.containsKey(tp)) {
        out.put(tp, Math.max(0, hw - next));
      }
    });
    return out;
  }

  /** The subscribed topic; null for a subscription to assigned partitions. */
  public String topic() {
    return topic;
  }

  /**
   * The next offset this subscription will fetch per partition of its topic, indexed by partition
   * (-1 while unknown; empty before it started or for a subscription to assigned partitions).
   */
  public Future<long[]> positions() {
    return client.call(() -> {
      if (topic == null || !started) {
        return Future.succeededFuture(new long[0]);
      }
      long[] out = new long[positions.size()];
      positions.forEach((tp, offset) -> out[tp.partition()] = offset);
      return Future.succeededFuture(out);
    });
  }

  /**
   * Starts reading {@code partitions}, each from its offset, or where {@code auto.offset.reset} says if
   * the offset is negative. Call on the client's context.
   */
  void assign(Map<TopicPartition, Long> partitions) {
    partitions.forEach((tp, offset) -> {
      // Taken back before the next fetch told a session it was gone: its lag is unknown again, so
      // the leader must answer it even if nothing changed there.
      sessions.values().forEach(session -> session.nameAgain(tp));
      resets.remove(tp);
      positions.put(tp, offset < 0 ? -1L : offset);
      if (offset >= 0) {
        consumed.put(tp, offset);
      } else {
        consumed.remove(tp);
      }
    });
    pump();
  }

  /**
   * Stops reading {@code partitions} and drops their buffered records. Call on the client's context.
   *
   * @return the next offset to deliver of each of them that has one (to commit)
   */
  Map<TopicPartition, Long> unassign(Collection<TopicPartition> partitions) {
    Set<TopicPartition> gone = new HashSet<>(partitions);
    Map<TopicPartition, Long> out = new HashMap<>();
    for (TopicPartition tp : gone) {
      positions.remove(tp);
      resets.remove(tp);
      highWatermarks.remove(tp);
      Long c = consumed.remove(tp);
      if (c != null) {
        out.put(tp, c);
      }
    }
    dropBuffered(gone);
    return out;
  }

  /** The next offset to deliver per partition read that has one. Call on the client's context. */
  Map<TopicPartition, Long> consumedPositions() {
    return new HashMap<>(consumed);
  }

  @Override
  public TopicSubscription handler(Handler<ConsumerRecord> h) {
    client.onContext(() -> {
      handler = h;
      if (h != null && !started && !starting) {
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
      bufferBytes = 0;
      publishGauges();
      // Best effort, as Kafka's consumer does: each leader frees this subscription's session now
      // rather than when it is evicted; a failure changes nothing.
      sessions.forEach((leader, session) -> {
        FetchRequest bye = session.closing(FetchRequest.newBuilder().setReplicaId(-1).setMaxWaitMs(0));
        if (bye != null) {
          client.fetch(leader, bye);
        }
      });
      sessions.clear();
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
      starting = false;
      started = true;
      for (int p = 0; p < ar.result().partitions().size(); p++) {
        positions.put(new TopicPartition(topic, p), -1L);
      }
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
    TopicPartition last = null;
    try {
      while (demand > 0 && !buffer.isEmpty() && handler != null && !closed) {
        if (demand != Long.MAX_VALUE) {
          demand--;
        }
        ConsumerRecord r = takeBuffered();
        if (last == null || last.partition() != r.partition() || !last.topic().equals(r.topic())) {
          last = new TopicPartition(r.topic(), r.partition());
        }
        consumed.put(last, r.offset() + 1);
        if (buffer.size() == maxBuffered - 1) {
          // Below the prefetch bound now: ask for the next answers before handing out the rest, so
          // the brokers read while the subscriber works (the bound is unchanged).
          publishGauges();
          requestFetches();
        }
        handler.handle(r);
      }
    } finally {
      delivering = false;
      publishGauges();
    }
    requestFetches();
  }

  /** Sends a fetch to each leader not already fetched from, if the buffer is below its bound. */
  private void requestFetches() {
    if (closed || !started || buffer.size() >= maxBuffered || handler == null) {
      return;
    }
    if (hasUnresolved()) {
      resolvePositions();
      return;
    }
    Map<HostPort, List<TopicPartition>> byLeader = new HashMap<>();
    Set<String> leaderless = new HashSet<>();
    for (TopicPartition tp : positions.keySet()) {
      HostPort leader = client.leaderOf(tp.topic(), tp.partition());
      if (leader != null) {
        byLeader.computeIfAbsent(leader, l -> new ArrayList<>()).add(tp);
      } else {
        leaderless.add(tp.topic());
      }
    }
    if (!leaderless.isEmpty()) {
      refreshAndRetry(leaderless);
    }
    byLeader.forEach((leader, partitions) -> {
      if (fetching.add(leader)) {
        fetchFrom(leader, partitions);
      }
    });
  }

  private boolean hasUnresolved() {
    for (long p : positions.values()) {
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
    Set<String> leaderless = new HashSet<>();
    positions.forEach((tp, position) -> {
      if (position >= 0) {
        return;
      }
      HostPort leader = client.leaderOf(tp.topic(), tp.partition());
      if (leader == null) {
        leaderless.add(tp.topic());
      } else {
        requests.computeIfAbsent(leader, l -> ListOffsetsRequest.newBuilder()).addPartitions(PartitionTimestamp
            .newBuilder().setTopic(tp.topic()).setPartition(tp.partition())
            .setTimestamp(resets.getOrDefault(tp, fromBeginning ? -2L : -1L)));
      }
    });
    List<Future<?>> answers = new ArrayList<>();
    boolean[] trouble = {!leaderless.isEmpty()};
    requests.forEach((leader, request) -> answers.add(client.records(leader).listOffsets(request.build())
        .onSuccess(r -> {
          for (PartitionOffset po : r.getPartitionsList()) {
            TopicPartition tp = new TopicPartition(po.getTopic(), po.getPartition());
            Long position = positions.get(tp);
            if (position == null || position >= 0) {
              continue; // no longer read, or placed meanwhile
            }
            if (po.getError() == ErrorCode.NONE) {
              resets.remove(tp);
              positions.put(tp, po.getOffset());
              if (!hasBuffered(tp)) {
                consumed.put(tp, po.getOffset());
              }
            } else {
              leaderless.add(tp.topic());
              trouble[0] = true;
            }
          }
        })
        .onFailure(t -> trouble[0] = true)));
    Future.join(answers).onComplete(ar -> {
      resolving = false;
      if (trouble[0]) {
        Set<String> refresh = new HashSet<>(leaderless);
        positions.forEach((tp, position) -> {
          if (position < 0) {
            refresh.add(tp.topic());
          }
        });
        refreshAndRetry(refresh);
      } else {
        pump();
      }
    });
  }

  private boolean hasBuffered(TopicPartition tp) {
    for (ConsumerRecord r : buffer) {
      if (r.partition() == tp.partition() && r.topic().equals(tp.topic())) {
        return true;
      }
    }
    return false;
  }

  /** Fetches the metadata of {@code topics} again after a pause, then goes on. */
  private void refreshAndRetry(Set<String> topics) {
    if (refreshing) {
      return;
    }
    refreshing = true;
    Set<String> names = topics.isEmpty() && topic != null ? Set.of(topic) : Set.copyOf(topics);
    client.vertx().setTimer(100, id -> {
      List<Future<TopicInfo>> refreshed = new ArrayList<>();
      names.forEach(t -> refreshed.add(client.topic(t, true)));
      Future.join(refreshed).onComplete(ar -> {
        refreshing = false;
        pump();
      });
    });
  }

  private void fetchFrom(HostPort leader, List<TopicPartition> partitions) {
    FetchRequest.Builder request = FetchRequest.newBuilder().setReplicaId(-1).setMaxWaitMs(maxWaitMs)
        .setMinBytes(minBytes).setMaxBytes(maxBytes);
    Map<TopicPartition, PartitionFetch> wanted = new LinkedHashMap<>();
    for (TopicPartition tp : partitions) {
      wanted.put(tp, PartitionFetch.newBuilder().setTopic(tp.topic()).setPartition(tp.partition())
          .setFetchOffset(positions.get(tp)).setPartitionMaxBytes(partitionMaxBytes).build());
    }
    FetcherSession<TopicPartition> session = sessions.computeIfAbsent(leader, l -> new FetcherSession<>());
    client.fetch(leader, session.request(request, wanted)).onComplete(ar -> {
      fetching.remove(leader);
      if (closed) {
        return;
      }
      if (ar.failed()) {
        session.failed();
        refreshAndRetry(topicsOf(partitions));
        return;
      }
      session.answered(ar.result());
      if (ar.result().getError() != ErrorCode.NONE) {
        // The broker lost the session (a restart, an eviction): the next fetch opens another.
        pump();
        return;
      }
      if (accept(ar.result(), wanted)) {
        pump();
      }
    });
  }

  private static Set<String> topicsOf(List<TopicPartition> partitions) {
    Set<String> out = new HashSet<>();
    partitions.forEach(tp -> out.add(tp.topic()));
    return out;
  }

  /**
   * Buffers fetched records of partitions still read from where they were fetched; false if the
   * subscription must wait (retry scheduled) or stopped.
   */
  private boolean accept(FetchResponse response, Map<TopicPartition, PartitionFetch> asked) {
    Set<String> refresh = new HashSet<>();
    for (PartitionData d : response.getPartitionsList()) {
      TopicPartition tp = new TopicPartition(d.getTopic(), d.getPartition());
      Long position = positions.get(tp);
      PartitionFetch fetched = asked.get(tp);
      if (position == null || fetched == null || position != fetched.getFetchOffset()) {
        continue; // unassigned or moved while the fetch was out
      }
      switch (d.getError()) {
        case NONE -> {
          highWatermarks.put(tp, d.getHighWatermark());
          long next = position;
          try {
            for (RecordBatch batch : RecordBatch.parse(d.getRecords().asReadOnlyByteBuffer())) {
              batch.checkIntegrity();
              long from = next;
              batch.forEachRecord((offset, timestamp, key, value, headers) -> {
                if (offset >= from) {
                  buffered(new ConsumerRecord(tp.topic(), tp.partition(), offset, timestamp, key, value, headers));
                }
              });
              next = Math.max(next, batch.nextOffset());
            }
          } catch (InvalidRecordBatchException e) {
            publishGauges();
            failed(new RaftlineException(e.errorCode(), tp + " at offset " + next + ": " + e.getMessage()));
            close();
            return false;
          }
          positions.put(tp, next);
        }
        case OFFSET_OUT_OF_RANGE -> positions.put(tp, -1L);
        case NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION, KAFKA_STORAGE_ERROR ->
            refresh.add(tp.topic());
        default -> {
          failed(new RaftlineException(d.getError(), d.getErrorMessage()));
          refresh.add(tp.topic());
        }
      }
    }
    publishGauges();
    if (!refresh.isEmpty()) {
      refreshAndRetry(refresh);
      return false;
    }
    return true;
  }
}
