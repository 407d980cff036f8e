package io.raftline.broker;

import io.raftline.broker.log.LeaderEpochCache;
import io.raftline.broker.log.PartitionLog;
import io.raftline.metadata.TopicPartition;
import io.raftline.protocol.FetcherSession;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.PartitionData;
import io.raftline.protocol.client.PartitionFetch;
import io.raftline.protocol.UnaryGrpcCall;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.RecordsGrpcService;
import io.raftline.protocol.records.RecordBatch;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Copies the partitions this broker follows from one leader broker: a loop of long-poll Fetch
 * requests (replica id = this broker) covering all of them, each answer appended as-is to the local
 * logs before the next fetch, so the fetch offset a follower sends is always its true log end and
 * tells the leader exactly what it holds.
 *
 * <p>When the leader answers with a diverging epoch the follower truncates to where the two logs
 * agree (the end of the last common epoch, KIP-279 style) and fetches again; an offset outside the
 * leader's log restarts the local log at the leader's log start, or cuts it back to the leader's high
 * watermark. A partition the leader refuses (not leader, wrong epoch) waits for the metadata image
 * to move it. Runs on the broker's event loop; log work goes through each partition's worker chain.
 */
final class ReplicaFetcher {
  private static final System.Logger LOG = System.getLogger(ReplicaFetcher.class.getName());
  private static final long RETRY_BACKOFF_MS = 100;
  private static final long NOT_READY_POLL_MS = 20;
  private static final int RESPONSE_MAX_BYTES = 16 * 1024 * 1024;

  private final Vertx vertx;
  /** Fetch as a client calls it; the answer's records arrive as views of the received bytes. */
  private final UnaryGrpcCall calls;
  private final int selfId;
  private final int leaderId;
  private final BrokerConfig config;
  private final Supplier<Optional<SocketAddress>> leaderAddress;
  private final Function<TopicPartition, HostedPartition> hosted;
  private final Runnable onLocalChange;
  /** The partitions fetched, with the leader epoch each is followed in. */
  private final Map<TopicPartition, Integer> epochs = new LinkedHashMap<>();
  /** Partitions the leader refused, with the time to try again. */
  private final Map<TopicPartition, Long> backoffUntil = new HashMap<>();
  /** This loop's incremental fetch session with the leader. */
  private final FetcherSession<TopicPartition> session = new FetcherSession<>();
  private boolean running;
  private boolean stopped;

  /**
   * @param leaderAddress the leader's client listener as the current image says (it may move when
   *     the leader restarts)
   * @param hosted this broker's replica of a partition, or null if no longer hosted
   * @param onLocalChange told after each answer is applied (for metrics and tests)
   */
  ReplicaFetcher(Vertx vertx, UnaryGrpcCall calls, int selfId, int leaderId, BrokerConfig config,
      Supplier<Optional<SocketAddress>> leaderAddress, Function<TopicPartition, HostedPartition> hosted,
      Runnable onLocalChange) {
    this.vertx = vertx;
    this.calls = calls;
    this.selfId = selfId;
    this.leaderId = leaderId;
    this.config = config;
    this.leaderAddress = leaderAddress;
    this.hosted = hosted;
    this.onLocalChange = onLocalChange;
  }

  int leaderId() {
    return leaderId;
  }

  /** Starts (or goes on) following {@code tp} in {@code leaderEpoch}. */
  void add(TopicPartition tp, int leaderEpoch) {
    epochs.put(tp, leaderEpoch);
    backoffUntil.remove(tp);
    if (!running && !stopped) {
      running = true;
      fetchNext();
    }
  }

  void remove(TopicPartition tp) {
    epochs.remove(tp);
    backoffUntil.remove(tp);
  }

  boolean follows(TopicPartition tp, int leaderEpoch) {
    Integer e = epochs.get(tp);
    return e != null && e == leaderEpoch;
  }

  boolean isEmpty() {
    return epochs.isEmpty();
  }

  /** Ends the loop after the fetch in flight; its answer is dropped. */
  void stop() {
    stopped = true;
    epochs.clear();
  }

  private void fetchNext() {
    if (stopped || epochs.isEmpty()) {
      running = false;
      return;
    }
    Optional<SocketAddress> address = leaderAddress.get();
    if (address.isEmpty()) {
      vertx.setTimer(RETRY_BACKOFF_MS, id -> fetchNext());
      return;
    }
    long now = System.currentTimeMillis();
    FetchRequest.Builder request = FetchRequest.newBuilder().setReplicaId(selfId)
        .setMaxWaitMs((int) config.replicaFetchWaitMaxMs()).setMinBytes(1).setMaxBytes(RESPONSE_MAX_BYTES);
    // What this fetch asks for each partition, whether or not the request names it (see FetcherSession).
    Map<TopicPartition, PartitionFetch> wanted = new LinkedHashMap<>();
    epochs.forEach((tp, epoch) -> {
      HostedPartition hp = hosted.apply(tp);
      Long until = backoffUntil.get(tp);
      if (hp == null || !hp.isOpen() || (until != null && until > now)) {
        return;
      }
      PartitionFetch previous = session.held(tp);
      // The fetch of a partition that did not move is the one the session holds: compared by
      // reference below, and left out of the request.
      if (previous != null && previous.getFetchOffset() == hp.endOffset && previous.getCurrentLeaderEpoch() == epoch
          && previous.getLastFetchedEpoch() == hp.latestEpoch
          && previous.getPartitionMaxBytes() == config.replicaFetchMaxBytes()) {
        wanted.put(tp, previous);
      } else {
        wanted.put(tp, PartitionFetch.newBuilder().setTopic(tp.topic()).setPartition(tp.partition())
            .setFetchOffset(hp.endOffset).setPartitionMaxBytes(config.replicaFetchMaxBytes())
            .setCurrentLeaderEpoch(epoch).setLastFetchedEpoch(hp.latestEpoch).build());
      }
    });
    if (wanted.isEmpty()) {
      vertx.setTimer(NOT_READY_POLL_MS, id -> fetchNext());
      return;
    }
    // Only partitions whose fetch changed are named once the leader holds a session for this loop.
    FetchRequest fetch = session.request(request, wanted);
    // The records go to the log as they came: a copy of them would only be thrown away. The leader may
    // hold the fetch for its max wait: the answer's deadline starts after it.
    calls.call(address.get().host(), address.get().port(), RecordsGrpcService.SERVICE_NAME, "Fetch", fetch,
            FetchResponse.parser(), fetch.getMaxWaitMs())
        .onComplete(ar -> {
      if (stopped) {
        running = false;
        return;
      }
      if (ar.failed()) {
        LOG.log(System.Logger.Level.DEBUG, "broker {0}: fetch from leader {1} failed: {2}", selfId, leaderId,
            ar.cause().getMessage());
        session.failed();
        vertx.setTimer(RETRY_BACKOFF_MS, id -> fetchNext());
        return;
      }
      session.answered(ar.result());
      if (ar.result().getError() != ErrorCode.NONE) {
        // The leader lost the session (a restart, an eviction): the next fetch opens a new one.
        LOG.log(System.Logger.Level.DEBUG, "broker {0}: leader {1} refused fetch session: {2} {3}", selfId,
            leaderId, ar.result().getError(), ar.result().getErrorMessage());
        fetchNext();
        return;
      }
      List<Future<?>> applied = new ArrayList<>();
      for (PartitionData data : ar.result().getPartitionsList()) {
        TopicPartition tp = new TopicPartition(data.getTopic(), data.getPartition());
        PartitionFetch asked = wanted.get(tp);
        HostedPartition hp = hosted.apply(tp);
        // A partition that moved (another leader or epoch) or went away since the fetch was sent.
        if (asked == null || hp == null || !follows(tp, asked.getCurrentLeaderEpoch())) {
          continue;
        }
        applied.add(apply(tp, hp, data).onFailure(t -> {
          LOG.log(System.Logger.Level.WARNING, "broker {0}: replicating {1} from {2} failed: {3}", selfId, tp,
              leaderId, t.getMessage());
          backoffUntil.put(tp, System.currentTimeMillis() + RETRY_BACKOFF_MS);
        }));
      }
      Future.join(applied).onComplete(x -> {
        onLocalChange.run();
        fetchNext();
      });
    });
  }

  /** What a log task reports back to the event loop. */
  private record LogState(long startOffset, long endOffset, int latestEpoch) {
    static LogState of(PartitionLog log) {
      return new LogState(log.startOffset(), log.endOffset(), log.latestEpoch());
    }
  }

  private Future<?> apply(TopicPartition tp, HostedPartition hp, PartitionData data) {
    ErrorCode error = data.getError();
    if (error == ErrorCode.NONE && data.hasDivergingEpoch()) {
      int leaderEpoch = data.getDivergingEpoch().getEpoch();
      long leaderEnd = data.getDivergingEpoch().getEndOffset();
      return hp.submit(log -> {
        log.truncateTo(truncationOffset(log, leaderEpoch, leaderEnd));
        return LogState.of(log);
      }).onSuccess(s -> update(hp, s, data.getHighWatermark()));
    }
    if (error == ErrorCode.NONE) {
      if (data.getRecords().isEmpty()) {
        hp.highWatermark = Math.max(hp.highWatermark, Math.min(data.getHighWatermark(), hp.endOffset));
        return Future.succeededFuture();
      }
      // Appended as they came: a read-only view of the response's bytes, no copy.
      List<RecordBatch> batches = RecordBatch.parse(data.getRecords().asReadOnlyByteBuffer());
      long now = System.currentTimeMillis();
      return hp.submit(log -> {
        log.appendAsFollower(batches, now);
        return LogState.of(log);
      }).onSuccess(s -> update(hp, s, data.getHighWatermark()));
    }
    if (error == ErrorCode.OFFSET_OUT_OF_RANGE) {
      long leaderStart = data.getLogStartOffset();
      long leaderHighWatermark = data.getHighWatermark();
      return hp.submit(log -> {
        if (log.endOffset() < leaderStart || log.startOffset() > leaderStart) {
          log.truncateFullyAndStartAt(leaderStart);
        } else {
          log.truncateTo(leaderHighWatermark);
        }
        return LogState.of(log);
      }).onSuccess(s -> update(hp, s, leaderHighWatermark));
    }
    // NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, LEADER_NOT_AVAILABLE...:
    // the leader or this broker is behind on metadata; the image will settle it.
    LOG.log(System.Logger.Level.DEBUG, "broker {0}: leader {1} refused {2}: {3} {4}", selfId, leaderId, tp, error,
        data.getErrorMessage());
    backoffUntil.put(tp, System.currentTimeMillis() + RETRY_BACKOFF_MS);
    return Future.succeededFuture();
  }

  /**
   * Where to cut this log after the leader said its epoch {@code leaderEpoch} ends at
   * {@code leaderEnd}: at the end of the largest epoch both logs share, and never past the leader's
   * end of it. A log whose epochs the leader does not know is cut back to its start.
   */
  static long truncationOffset(PartitionLog log, int leaderEpoch, long leaderEnd) {
    if (leaderEpoch == LeaderEpochCache.UNDEFINED_EPOCH) {
      return Math.min(Math.max(leaderEnd, log.startOffset()), log.endOffset());
    }
    LeaderEpochCache.EpochEndOffset mine = log.endOffsetForEpoch(leaderEpoch);
    if (mine.epoch() == LeaderEpochCache.UNDEFINED_EPOCH) {
      return log.startOffset();
    }
    long target = mine.epoch() == leaderEpoch ? Math.min(leaderEnd, mine.endOffset()) : mine.endOffset();
    return Math.min(target, log.endOffset());
  }

  private void update(HostedPartition hp, LogState s, long leaderHighWatermark) {
    hp.endOffset = s.endOffset();
    hp.logStartOffset = s.startOffset();
    hp.latestEpoch = s.latestEpoch();
    // A follower's high watermark is the leader's, as far as its own log reaches.
    hp.highWatermark = Math.min(Math.max(hp.highWatermark, leaderHighWatermark), s.endOffset());
  }
}
