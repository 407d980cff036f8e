package io.raftline.quorum.raft;

import java.util.Collections;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Static configuration of one {@link RaftNode}.
 *
 * <p>The voter set is kept as a sorted set: the core iterates over it to send requests, and a
 * {@code Set.of} or {@code HashSet} would iterate in an order that changes from one JVM run to the next,
 * which would break the replay of a simulation seed.
 *
 * @param localId this node's id ({@code node.id})
 * @param voters the ids of the voters ({@code controller.quorum.voters}); a node whose id is not in it
 *     is an {@linkplain #observer() observer}
 * @param electionTimeoutMs base election timeout; the effective one is drawn uniformly from
 *     {@code [electionTimeoutMs, electionTimeoutMs + electionJitterMs)} each time, so that voters rarely
 *     time out together and split the vote
 * @param electionJitterMs width of the random part of the election timeout
 * @param fetchTimeoutMs a follower that has not had an answer from its leader for this long starts a
 *     pre-vote; a leader that has not had fetches from a majority of voters for this long resigns
 *     (check-quorum); a voter that heard from a leader within this long refuses pre-votes
 * @param fetchMaxWaitMs how long the leader may hold ("long-poll") a fetch that finds no new entries
 *     before answering it empty; new entries or a high-watermark change answer it at once
 * @param requestTimeoutMs a fetch (or observer discovery fetch) without an answer after this long is sent
 *     again; vote and BeginQuorumEpoch requests are resent every {@code requestTimeoutMs / 2} to voters
 *     that have not answered. Must exceed {@code fetchMaxWaitMs}
 * @param retryBackoffMs pause before fetching again after an error answer
 * @param maxFetchEntries most entries the leader puts in one fetch response
 * @param maxFetchBytes soft cap on the payload bytes of one fetch response (at least one entry is sent)
 * @param maxBatchEntries most entries one {@link RaftNode#propose} call may append
 */
public record RaftConfig(
    int localId,
    Set<Integer> voters,
    int electionTimeoutMs,
    int electionJitterMs,
    int fetchTimeoutMs,
    int fetchMaxWaitMs,
    int requestTimeoutMs,
    int retryBackoffMs,
    int maxFetchEntries,
    int maxFetchBytes,
    int maxBatchEntries) {

  public static final int DEFAULT_ELECTION_TIMEOUT_MS = 1000;
  public static final int DEFAULT_ELECTION_JITTER_MS = 1000;
  public static final int DEFAULT_FETCH_TIMEOUT_MS = 2000;
  public static final int DEFAULT_FETCH_MAX_WAIT_MS = 500;
  public static final int DEFAULT_REQUEST_TIMEOUT_MS = 1000;
  public static final int DEFAULT_RETRY_BACKOFF_MS = 50;
  public static final int DEFAULT_MAX_FETCH_ENTRIES = 1000;
  public static final int DEFAULT_MAX_FETCH_BYTES = 1 << 20;
  public static final int DEFAULT_MAX_BATCH_ENTRIES = 10_000;

  public RaftConfig {
    Objects.requireNonNull(voters, "voters");
    if (voters.isEmpty()) throw new IllegalArgumentException("voters is empty");
    for (Integer v : voters) {
      if (v == null || v < 0) throw new IllegalArgumentException("voter ids must be >= 0: " + voters);
    }
    if (localId < 0) throw new IllegalArgumentException("localId < 0: " + localId);
    voters = Collections.unmodifiableSortedSet(new TreeSet<>(voters));
    positive("electionTimeoutMs", electionTimeoutMs);
    if (electionJitterMs < 0) throw new IllegalArgumentException("electionJitterMs < 0: " + electionJitterMs);
    positive("fetchTimeoutMs", fetchTimeoutMs);
    if (fetchMaxWaitMs < 0) throw new IllegalArgumentException("fetchMaxWaitMs < 0: " + fetchMaxWaitMs);
    positive("requestTimeoutMs", requestTimeoutMs);
    if (requestTimeoutMs <= fetchMaxWaitMs) {
      throw new IllegalArgumentException(
          "requestTimeoutMs (" + requestTimeoutMs + ") must exceed fetchMaxWaitMs (" + fetchMaxWaitMs + ")");
    }
    if (retryBackoffMs < 0) throw new IllegalArgumentException("retryBackoffMs < 0: " + retryBackoffMs);
    positive("maxFetchEntries", maxFetchEntries);
    positive("maxFetchBytes", maxFetchBytes);
    positive("maxBatchEntries", maxBatchEntries);
  }

  private static void positive(String name, int value) {
    if (value <= 0) throw new IllegalArgumentException(name + " must be > 0: " + value);
  }

  /** A configuration with Kafka-like defaults for every timeout and size. */
  public static RaftConfig of(int localId, Set<Integer> voters) {
    return new RaftConfig(
        localId,
        voters,
        DEFAULT_ELECTION_TIMEOUT_MS,
        DEFAULT_ELECTION_JITTER_MS,
        DEFAULT_FETCH_TIMEOUT_MS,
        DEFAULT_FETCH_MAX_WAIT_MS,
        DEFAULT_REQUEST_TIMEOUT_MS,
        DEFAULT_RETRY_BACKOFF_MS,
        DEFAULT_MAX_FETCH_ENTRIES,
        DEFAULT_MAX_FETCH_BYTES,
        DEFAULT_MAX_BATCH_ENTRIES);
  }

  /** The voters, in ascending id order (the declared type is {@link Set}; the value is sorted). */
  public SortedSet<Integer> sortedVoters() {
    return (SortedSet<Integer>) voters;
  }

  /** True if this node is not a voter: it fetches, but never votes, campaigns or counts toward the HW. */
  public boolean observer() {
    return !voters.contains(localId);
  }

  /** Votes needed to win an election, and voters needed to commit: a strict majority of the voters. */
  public int majority() {
    return voters.size() / 2 + 1;
  }

  public RaftConfig withElection(int timeoutMs, int jitterMs) {
    return new RaftConfig(localId, voters, timeoutMs, jitterMs, fetchTimeoutMs, fetchMaxWaitMs,
        requestTimeoutMs, retryBackoffMs, maxFetchEntries, maxFetchBytes, maxBatchEntries);
  }

  public RaftConfig withFetch(int fetchTimeoutMs, int fetchMaxWaitMs, int requestTimeoutMs) {
    return new RaftConfig(localId, voters, electionTimeoutMs, electionJitterMs, fetchTimeoutMs, fetchMaxWaitMs,
        requestTimeoutMs, retryBackoffMs, maxFetchEntries, maxFetchBytes, maxBatchEntries);
  }

  public RaftConfig withLimits(int maxFetchEntries, int maxFetchBytes, int maxBatchEntries) {
    return new RaftConfig(localId, voters, electionTimeoutMs, electionJitterMs, fetchTimeoutMs, fetchMaxWaitMs,
        requestTimeoutMs, retryBackoffMs, maxFetchEntries, maxFetchBytes, maxBatchEntries);
  }
}
