package io.raftline.broker;

import io.raftline.metadata.image.PartitionRegistration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A partition leader's view of its followers: how far each has fetched, which are caught up, the
 * high watermark that follows from that, and the ISR change to ask the controller for. A pure state
 * machine (time comes in as {@code nowMs}); the broker's event loop owns one per led partition.
 *
 * <p>The rules are Kafka's. A follower's fetch offset is its log end: it holds every record below.
 * A follower is caught up at a fetch that reaches the leader's log end, or the end the leader had at
 * the follower's previous fetch; one not caught up for {@code replica.lag.time.max.ms} leaves the ISR.
 * A replica outside the ISR rejoins once it has reached the high watermark and the start of the
 * current leader epoch. The high watermark is the smallest log end in the ISR, and never moves back.
 *
 * <p>While an ISR change is in flight the high watermark is computed over the committed ISR and the
 * proposed one together (the "maximal" ISR of KIP-497): whichever of them the controller ends up
 * with, every record below the high watermark is on all of its members.
 */
final class InSyncReplicas {
  /** What the leader knows of one follower. */
  private static final class Follower {
    /** -1 until the follower fetches in this leadership. */
    long logEndOffset = -1;
    long lastCaughtUpMs;
    long lastFetchMs;
    long leaderEndAtLastFetch;

    Follower(long nowMs) {
      // A member of the ISR is given a full lag window before it can be judged behind.
      lastCaughtUpMs = nowMs;
      lastFetchMs = nowMs;
    }
  }

  private final int self;
  private final long epochStartOffset;
  private final Map<Integer, Follower> followers = new HashMap<>();
  private PartitionRegistration registration;
  private long leaderEndOffset;
  private long highWatermark;
  /** The ISR asked for and not yet seen in the image; null if none. */
  private List<Integer> proposed;

  /**
   * @param epochStartOffset the log end when this leadership began: a follower must reach it to rejoin
   * @param highWatermark the high watermark this replica knew before (never above the log end)
   */
  InSyncReplicas(int self, PartitionRegistration registration, long leaderEndOffset, long epochStartOffset,
      long highWatermark, long nowMs) {
    this.self = self;
    this.registration = registration;
    this.leaderEndOffset = leaderEndOffset;
    this.epochStartOffset = epochStartOffset;
    this.highWatermark = Math.min(highWatermark, leaderEndOffset);
    for (int replica : registration.replicas()) {
      if (replica != self) {
        followers.put(replica, new Follower(nowMs));
      }
    }
    advanceHighWatermark();
  }

  long highWatermark() {
    return highWatermark;
  }

  /** The committed ISR, as the latest image says. */
  List<Integer> isr() {
    return registration.isr();
  }

  PartitionRegistration registration() {
    return registration;
  }

  /** The follower's last fetch offset, or -1 if it has not fetched in this leadership. */
  long followerEndOffset(int replica) {
    Follower f = followers.get(replica);
    return f == null ? -1 : f.logEndOffset;
  }

  /** True while an ISR change is waiting to appear in the image. */
  boolean changePending() {
    return proposed != null;
  }

  /**
   * The image changed this partition (same leader and leader epoch): take the new ISR and replicas.
   * A proposal is settled once the partition epoch has moved past the one it was based on.
   *
   * @return true if the high watermark advanced
   */
  boolean registrationChanged(PartitionRegistration next, long nowMs) {
    if (next.partitionEpoch() > registration.partitionEpoch()) {
      proposed = null;
    }
    registration = next;
    for (int replica : next.replicas()) {
      if (replica != self) {
        followers.computeIfAbsent(replica, r -> new Follower(nowMs));
      }
    }
    followers.keySet().retainAll(next.replicas());
    return advanceHighWatermark();
  }

  /** The controller refused the proposal (or it could not be sent): propose again later. */
  void proposalFailed() {
    proposed = null;
  }

  /** @return true if the high watermark advanced */
  boolean leaderAppended(long newEndOffset) {
    leaderEndOffset = Math.max(leaderEndOffset, newEndOffset);
    return advanceHighWatermark();
  }

  /**
   * A follower fetched from {@code fetchOffset}, so it holds everything below it.
   *
   * @return true if the high watermark advanced
   */
  boolean followerFetched(int replica, long fetchOffset, long nowMs) {
    Follower f = followers.get(replica);
    if (f == null) {
      return false;
    }
    if (fetchOffset >= leaderEndOffset) {
      f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, nowMs);
    } else if (fetchOffset >= f.leaderEndAtLastFetch) {
      f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, f.lastFetchMs);
    }
    f.leaderEndAtLastFetch = leaderEndOffset;
    f.lastFetchMs = nowMs;
    f.logEndOffset = Math.min(fetchOffset, leaderEndOffset);
    return advanceHighWatermark();
  }

  /**
   * The ISR to ask the controller for now, if it should change: members that have not caught up for
   * {@code lagMaxMs} leave, replicas that have caught up join. Nothing while a proposal is pending.
   * The caller sends it and reports back through {@link #registrationChanged} or
   * {@link #proposalFailed}.
   */
  Optional<List<Integer>> proposeIsrChange(long nowMs, long lagMaxMs) {
    if (proposed != null) {
      return Optional.empty();
    }
    List<Integer> next = new ArrayList<>();
    for (int replica : registration.replicas()) {
      boolean member = registration.isr().contains(replica);
      if (replica == self) {
        next.add(replica);
        continue;
      }
      Follower f = followers.get(replica);
      if (f == null) {
        continue;
      }
      boolean lagging = nowMs - f.lastCaughtUpMs > lagMaxMs;
      boolean caughtUp = f.logEndOffset >= highWatermark && f.logEndOffset >= epochStartOffset;
      if (member ? !lagging : caughtUp && !lagging) {
        next.add(replica);
      }
    }
    if (Set.copyOf(next).equals(Set.copyOf(registration.isr()))) {
      return Optional.empty();
    }
    proposed = List.copyOf(next);
    return Optional.of(proposed);
  }

  /** The ISR members (committed or proposed) the high watermark must wait for. */
  Set<Integer> maximalIsr() {
    Set<Integer> all = new LinkedHashSet<>(registration.isr());
    if (proposed != null) {
      all.addAll(proposed);
    }
    return all;
  }

  private boolean advanceHighWatermark() {
    long min = leaderEndOffset;
    for (int replica : maximalIsr()) {
      if (replica == self) {
        continue;
      }
      Follower f = followers.get(replica);
      min = Math.min(min, f == null ? -1 : f.logEndOffset);
    }
    if (min > highWatermark) {
      highWatermark = min;
      return true;
    }
    return false;
  }
}
