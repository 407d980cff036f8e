package io.raftline.broker;

import io.raftline.metadata.TopicPartition;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.PartitionFetch;
import io.raftline.protocol.client.PartitionRef;
import java.util.HashMap;
import java.util.Map;

/**
 * A follower's side of its fetch session with one leader (KIP-227; the leader's side is
 * {@link FetchSessionCache}). It remembers what the leader's session holds, so that each fetch names
 * only the partitions whose fetch changed (a new offset after an append, a new epoch) and lists the
 * ones to forget. Any failure, or a session the leader no longer knows, starts over with a full fetch
 * that opens a new session.
 *
 * <p>Fetches go one at a time: {@link #request} and then {@link #answered} or {@link #failed}.
 */
final class FollowerFetchSession {
  private int sessionId;
  /** The epoch of the next fetch; {@link FetchSessionCache#OPEN_EPOCH}: a full fetch. */
  private int nextEpoch = FetchSessionCache.OPEN_EPOCH;
  /** What the leader's session holds once the fetch in flight is taken. */
  private Map<TopicPartition, PartitionFetch> held = new HashMap<>();
  private Map<TopicPartition, PartitionFetch> inFlight;

  int sessionId() {
    return sessionId;
  }

  /** Whether the next fetch names only changes (a session is open). */
  boolean incremental() {
    return nextEpoch != FetchSessionCache.OPEN_EPOCH;
  }

  /** The fetch of {@code tp} the leader's session holds, or null. */
  PartitionFetch held(TopicPartition tp) {
    return held.get(tp);
  }

  /**
   * Sets the session fields and partitions of {@code request}, for a fetch of exactly
   * {@code wanted} (by partition, in the order to list them).
   */
  FetchRequest request(FetchRequest.Builder request, Map<TopicPartition, PartitionFetch> wanted) {
    request.setSessionId(sessionId).setSessionEpoch(nextEpoch);
    if (nextEpoch == FetchSessionCache.OPEN_EPOCH) {
      request.addAllPartitions(wanted.values());
    } else {
      wanted.forEach((tp, fetch) -> {
        // The same object: the fetch the session holds (see ReplicaFetcher); else compared by value.
        PartitionFetch before = held.get(tp);
        if (fetch != before && !fetch.equals(before)) {
          request.addPartitions(fetch);
        }
      });
      for (TopicPartition tp : held.keySet()) {
        if (!wanted.containsKey(tp)) {
          request.addForgotten(PartitionRef.newBuilder().setTopic(tp.topic()).setPartition(tp.partition()));
        }
      }
    }
    inFlight = wanted;
    return request.build();
  }

  /** The fetch in flight was answered with {@code answer}. */
  void answered(FetchResponse answer) {
    if (answer.getError() != ErrorCode.NONE || (incremental() && answer.getSessionId() != sessionId)) {
      startOver();
      return;
    }
    if (nextEpoch == FetchSessionCache.OPEN_EPOCH) {
      sessionId = answer.getSessionId();
      // Id 0: the leader had no room for a session; the next fetch is full again.
      nextEpoch = sessionId == 0 ? FetchSessionCache.OPEN_EPOCH : FetchSessionCache.FIRST_INCREMENTAL_EPOCH;
    } else {
      nextEpoch = FetchSessionCache.nextEpoch(nextEpoch);
    }
    held = sessionId == 0 ? new HashMap<>() : inFlight;
    inFlight = null;
  }

  /** The fetch in flight failed or its answer was not read: the next fetch is full. */
  void failed() {
    startOver();
  }

  private void startOver() {
    // The session id stays so the full fetch closes the old session on the leader.
    nextEpoch = FetchSessionCache.OPEN_EPOCH;
    held = new HashMap<>();
    inFlight = null;
  }
}
