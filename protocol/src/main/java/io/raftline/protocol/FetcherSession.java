package io.raftline.protocol;

import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.PartitionFetch;
import io.raftline.protocol.client.PartitionRef;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The fetching side of an incremental fetch session (KIP-227) with one broker: a follower's fetch
 * loop with its leader, or a consumer's with a partition leader; the broker's side is its
 * FetchSessionCache. It remembers what the broker's session holds, so that each fetch names only the
 * partitions whose fetch changed (a new offset, a new epoch) and lists the ones to forget. Any
 * failure, or a session the broker no longer knows, starts over with a full fetch that opens a new
 * session.
 *
 * <p>Fetches go one at a time: {@link #request} and then {@link #answered} or {@link #failed}. Not
 * thread-safe: one owner, the fetch loop's event loop.
 *
 * @param <K> how the caller names a partition
 */
public final class FetcherSession<K> {
  /** A full fetch that opens a session (and closes the one named, if any). */
  public static final int OPEN_EPOCH = 0;
  /** A full fetch that closes the session named and opens none. */
  public static final int CLOSE_EPOCH = -1;
  /** A session's first incremental fetch carries this epoch; each later one the next. */
  public static final int FIRST_INCREMENTAL_EPOCH = 1;

  /** The epoch after {@code epoch}: epochs wrap from the largest int back to the first incremental one. */
  public static int nextEpoch(int epoch) {
    return epoch == Integer.MAX_VALUE ? FIRST_INCREMENTAL_EPOCH : epoch + 1;
  }

  private int sessionId;
  /** The epoch of the next fetch; {@link #OPEN_EPOCH}: a full fetch. */
  private int nextEpoch = OPEN_EPOCH;
  /** What the broker's session holds once the fetch in flight is taken. */
  private Map<K, PartitionFetch> held = new HashMap<>();
  private Map<K, PartitionFetch> inFlight;
  /** Partitions the next fetch names even if their fetch did not change (see {@link #nameAgain}). */
  private final Set<K> toName = new HashSet<>();

  /** Whether the next fetch names only changes (a session is open). */
  public boolean incremental() {
    return nextEpoch != OPEN_EPOCH;
  }

  /** The fetch of {@code tp} the broker's session holds, or null. */
  public PartitionFetch held(K tp) {
    return held.get(tp);
  }

  /**
   * Makes the next fetch name {@code tp} if it still wants it, even at the fetch the session holds,
   * so the broker answers it whatever it answered before. For a caller that forgot what it knew of a
   * partition (dropped it and took it back before the next fetch), which the broker's session
   * cannot tell from a partition that did not change.
   */
  public void nameAgain(K tp) {
    if (held.containsKey(tp)) {
      toName.add(tp);
    }
  }

  /**
   * Sets the session fields and partitions of {@code request}, for a fetch of exactly
   * {@code wanted} (by partition, in the order to list them).
   */
  public FetchRequest request(FetchRequest.Builder request, Map<K, PartitionFetch> wanted) {
    request.setSessionId(sessionId).setSessionEpoch(nextEpoch);
    if (nextEpoch == OPEN_EPOCH) {
      request.addAllPartitions(wanted.values());
    } else {
      wanted.forEach((tp, fetch) -> {
        // The same object: a caller reusing the fetch the session holds; else compared by value.
        PartitionFetch before = held.get(tp);
        if ((fetch != before && !fetch.equals(before)) || toName.contains(tp)) {
          request.addPartitions(fetch);
        }
      });
      held.forEach((tp, fetch) -> {
        if (!wanted.containsKey(tp)) {
          request.addForgotten(PartitionRef.newBuilder().setTopic(fetch.getTopic()).setPartition(fetch.getPartition()));
        }
      });
    }
    toName.clear();
    inFlight = wanted;
    return request.build();
  }

  /** The fetch in flight was answered with {@code answer}. */
  public void answered(FetchResponse answer) {
    if (answer.getError() != ErrorCode.NONE || (incremental() && answer.getSessionId() != sessionId)) {
      startOver();
      return;
    }
    if (nextEpoch == OPEN_EPOCH) {
      sessionId = answer.getSessionId();
      // Id 0: the broker had no room for a session; the next fetch is full again.
      nextEpoch = sessionId == 0 ? OPEN_EPOCH : FIRST_INCREMENTAL_EPOCH;
    } else {
      nextEpoch = nextEpoch(nextEpoch);
    }
    held = sessionId == 0 ? new HashMap<>() : inFlight;
    inFlight = null;
  }

  /**
   * A fetch that closes the open session (listing no partitions), or null when none is open; the
   * next fetch, if any, is full. Sent when the fetcher stops, so the broker's slot is free at once.
   */
  public FetchRequest closing(FetchRequest.Builder request) {
    if (sessionId == 0) {
      return null;
    }
    FetchRequest close = request.clearPartitions().clearForgotten().setSessionId(sessionId)
        .setSessionEpoch(CLOSE_EPOCH).build();
    sessionId = 0;
    startOver();
    return close;
  }

  /** The fetch in flight failed or its answer was not read: the next fetch is full. */
  public void failed() {
    startOver();
  }

  private void startOver() {
    // The session id stays so the full fetch closes the old session on the broker.
    nextEpoch = OPEN_EPOCH;
    held = new HashMap<>();
    inFlight = null;
  }
}
