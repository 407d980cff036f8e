package io.raftline.broker;

import io.raftline.metadata.TopicPartition;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.FetcherSession;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.PartitionData;
import io.raftline.protocol.client.PartitionFetch;
import io.raftline.protocol.client.PartitionRef;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The leader's incremental fetch sessions (KIP-227). A fetcher that follows a thousand partitions
 * from this broker would otherwise name all of them in every fetch, and be answered about all of
 * them, though most have nothing new. In a session the broker keeps what the fetcher last asked for
 * each partition; later fetches name only the partitions that changed, and the answer leaves out
 * the partitions with nothing new to say (no records, no error, the same high watermark and log
 * start).
 *
 * <p>A fetch is resolved here into the whole request the session stands for, which the broker
 * serves as it serves any fetch, skipping the partitions it finds {@link Session#answeredAlready};
 * the answer is then cut down by {@link Session#answer}. A partition the fetch names is always
 * answered; only the ones it carries over are left out when unchanged.
 *
 * <p>A plain state machine with no clock or randomness of its own: time comes in with each call and
 * session ids from the injected random source. One owner, the broker's event loop.
 */
final class FetchSessionCache {
  private final int maxSessions;
  private final long evictableAfterMs;
  private final Random random;
  /** By id, least recently used first. */
  private final LinkedHashMap<Integer, Session> sessions = new LinkedHashMap<>(16, 0.75f, true);

  /**
   * @param maxSessions sessions kept at most (Kafka's max.incremental.fetch.session.cache.slots)
   * @param evictableAfterMs how long a session must go unused before a new one may take its place
   *     when the cache is full (Kafka's min.incremental.fetch.session.eviction.ms)
   */
  FetchSessionCache(int maxSessions, long evictableAfterMs, Random random) {
    if (maxSessions < 0 || evictableAfterMs < 0) {
      throw new IllegalArgumentException("maxSessions and evictableAfterMs must not be negative");
    }
    this.maxSessions = maxSessions;
    this.evictableAfterMs = evictableAfterMs;
    this.random = random;
  }

  int size() {
    return sessions.size();
  }

  /** The partitions all sessions hold together. */
  int partitionCount() {
    int count = 0;
    for (Session s : sessions.values()) {
      count += s.partitions.size();
    }
    return count;
  }

  /** What a fetch turns out to be once its session fields are read. */
  sealed interface Resolution permits Sessionless, Refused, InSession {}

  /** Outside any session: served and answered as it came. */
  record Sessionless(FetchRequest request) implements Resolution {}

  /** The session fields do not fit any session here: answered with {@code error} alone. */
  record Refused(ErrorCode error, String message) implements Resolution {
    FetchResponse answer() {
      return FetchResponse.newBuilder().setError(error).setErrorMessage(message).build();
    }
  }

  /** A fetch in {@code session}; {@code request} is everything the session stands for. */
  record InSession(Session session, FetchRequest request) implements Resolution {
    /** The answer to send for {@code served}, the answer to {@link #request}. */
    FetchResponse answer(FetchResponse served) {
      return session.answer(served);
    }
  }

  /** Reads {@code request}'s session fields and brings its session up to date with it. */
  Resolution resolve(FetchRequest request, long nowMs) {
    if (!request.hasSessionEpoch()) {
      return new Sessionless(request);
    }
    int epoch = request.getSessionEpoch();
    int id = request.getSessionId();
    if (epoch == FetcherSession.CLOSE_EPOCH || epoch == FetcherSession.OPEN_EPOCH) {
      Session closed = id == 0 ? null : sessions.get(id);
      if (closed != null && closed.replicaId == request.getReplicaId()) {
        sessions.remove(id);
      }
      if (epoch == FetcherSession.CLOSE_EPOCH) {
        return new Sessionless(withoutSessionFields(request));
      }
      Session opened = open(request.getReplicaId(), nowMs);
      if (opened == null) {
        // No room: a full fetch outside any session, answered with session id 0 so the fetcher
        // knows none was opened.
        return new Sessionless(withoutSessionFields(request));
      }
      for (PartitionFetch pf : request.getPartitionsList()) {
        opened.partitions.put(new TopicPartition(pf.getTopic(), pf.getPartition()), new Entry(pf));
      }
      return new InSession(opened, withoutSessionFields(request));
    }
    if (epoch < FetcherSession.CLOSE_EPOCH) {
      return new Refused(ErrorCode.INVALID_FETCH_SESSION_EPOCH, "fetch session epoch " + epoch + " is not valid");
    }
    Session session = sessions.get(id);
    if (session == null || session.replicaId != request.getReplicaId()) {
      return new Refused(ErrorCode.FETCH_SESSION_ID_NOT_FOUND, "no fetch session " + id + " for replica "
          + request.getReplicaId() + " on this broker");
    }
    if (epoch != session.nextEpoch) {
      return new Refused(ErrorCode.INVALID_FETCH_SESSION_EPOCH, "fetch session " + id + " expects epoch "
          + session.nextEpoch + ", not " + epoch);
    }
    session.nextEpoch = FetcherSession.nextEpoch(epoch);
    session.lastUsedMs = nowMs;
    for (PartitionRef gone : request.getForgottenList()) {
      session.partitions.remove(new TopicPartition(gone.getTopic(), gone.getPartition()));
    }
    for (PartitionFetch pf : request.getPartitionsList()) {
      // A named partition is answered whatever it holds: as if nothing had been answered yet.
      session.partitions.put(new TopicPartition(pf.getTopic(), pf.getPartition()), new Entry(pf));
    }
    List<PartitionFetch> all = new ArrayList<>(session.partitions.size());
    for (Entry e : session.partitions.values()) {
      all.add(e.fetch);
    }
    FetchRequest whole = request.toBuilder().clearSessionId().clearSessionEpoch().clearForgotten().clearPartitions()
        .addAllPartitions(all).build();
    return new InSession(session, whole);
  }

  private static FetchRequest withoutSessionFields(FetchRequest request) {
    return request.toBuilder().clearSessionId().clearSessionEpoch().clearForgotten().build();
  }

  /** A new session for {@code replicaId}, or null when the cache is full of sessions in use. */
  private Session open(int replicaId, long nowMs) {
    if (maxSessions == 0) {
      return null;
    }
    if (replicaId >= 0) {
      // A broker follows this one in a single fetch loop: its new session replaces any it had (a
      // restart, a lost answer), which would otherwise sit here until evicted.
      sessions.values().removeIf(s -> s.replicaId == replicaId);
    }
    if (sessions.size() >= maxSessions) {
      Iterator<Session> oldest = sessions.values().iterator();
      Session lru = oldest.next();
      if (nowMs - lru.lastUsedMs < evictableAfterMs) {
        return null;
      }
      oldest.remove();
    }
    int id;
    do {
      id = random.nextInt(Integer.MAX_VALUE);
    } while (id == 0 || sessions.containsKey(id));
    Session session = new Session(id, replicaId, nowMs);
    sessions.put(id, session);
    return session;
  }

  /** What a session holds for one partition: the fetch last asked, and what was last answered. */
  private static final class Entry {
    final PartitionFetch fetch;
    /** Nothing answered yet: any answer differs. */
    long highWatermark = Long.MIN_VALUE;
    long logStartOffset = Long.MIN_VALUE;
    int leaderEpoch = Integer.MIN_VALUE;

    Entry(PartitionFetch fetch) {
      this.fetch = fetch;
    }
  }

  /** One fetcher's session. */
  static final class Session {
    final int id;
    final int replicaId;
    int nextEpoch = FetcherSession.FIRST_INCREMENTAL_EPOCH;
    long lastUsedMs;
    private final Map<TopicPartition, Entry> partitions = new LinkedHashMap<>();

    private Session(int id, int replicaId, long nowMs) {
      this.id = id;
      this.replicaId = replicaId;
      this.lastUsedMs = nowMs;
    }

    /**
     * Whether {@code tp}'s last answer in this session said all an answer now would: no records,
     * no error, and this high watermark, log start and leader epoch. The broker need not read such a
     * partition at all; it is left out of the answer.
     */
    boolean answeredAlready(TopicPartition tp, long highWatermark, long logStartOffset, int leaderEpoch) {
      Entry entry = partitions.get(tp);
      return entry != null && entry.highWatermark == highWatermark && entry.logStartOffset == logStartOffset
          && entry.leaderEpoch == leaderEpoch;
    }

    /**
     * {@code served} cut down to what the fetcher needs: the partitions it named, and of the others
     * those with records, an error, a diverging epoch, or a high watermark, log start or leader
     * epoch other than last answered.
     */
    FetchResponse answer(FetchResponse served) {
      FetchResponse.Builder answer = FetchResponse.newBuilder().setSessionId(id);
      for (PartitionData data : served.getPartitionsList()) {
        Entry entry = partitions.get(new TopicPartition(data.getTopic(), data.getPartition()));
        boolean changed = entry == null || data.getError() != ErrorCode.NONE || !data.getRecords().isEmpty()
            || data.hasDivergingEpoch() || data.getHighWatermark() != entry.highWatermark
            || data.getLogStartOffset() != entry.logStartOffset || data.getLeaderEpoch() != entry.leaderEpoch;
        if (entry != null) {
          entry.highWatermark = data.getHighWatermark();
          entry.logStartOffset = data.getLogStartOffset();
          entry.leaderEpoch = data.getLeaderEpoch();
        }
        if (changed) {
          answer.addPartitions(data);
        }
      }
      return answer.build();
    }
  }
}
