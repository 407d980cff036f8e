package io.raftline.quorum.raft;

import java.util.List;
import java.util.Objects;

/**
 * The Raft RPCs, KRaft style, as plain values. Every message names its sender ({@code from}) and
 * receiver ({@code to}) and carries the sender's view of the epoch. The IO shell maps them onto the wire
 * (gRPC) and back; the core never sees a connection.
 *
 * <p>Requests and responses are separate one-way messages: the core never waits for an answer, it only
 * reacts to what arrives, so the network may drop, duplicate, delay or reorder any of them. Each
 * response therefore carries enough (an epoch, an echo of the fetch position) for the receiver to tell
 * a stale answer from a current one.
 *
 * <p>Constructors only check that lists are non-null (and copy them). They deliberately accept
 * malformed values such as a negative offset: a malformed request that arrives must be answered with
 * {@link RaftError#INVALID_REQUEST}, which is the receiving node's job, not the parser's.
 */
public sealed interface RaftMessage {

  /** Sender node id. */
  int from();

  /** Receiver node id. */
  int to();

  /** The sender's epoch (for a response: the responder's current epoch). */
  int epoch();

  /**
   * Follower/observer → leader: "send me entries from {@code fetchOffset}; my last entry has epoch
   * {@code lastFetchedEpoch}". The fetch offset doubles as the fetcher's acknowledgement: it tells the
   * leader the fetcher durably holds every entry below it. That is why a voter only sends a fetch once
   * all entries it appended are durable.
   *
   * @param replicaId the fetching replica; must equal {@code from}
   * @param maxWaitMs how long the leader may hold the request when there is nothing new
   * @param highWatermark the fetcher's current HW, so the leader answers at once if the fetcher's HW
   *     is behind instead of holding the request
   */
  record FetchRequest(int from, int to, int epoch, long fetchOffset, int lastFetchedEpoch, int replicaId,
      int maxWaitMs, long highWatermark) implements RaftMessage {}

  /**
   * Leader → fetcher. Exactly one of: an error; a snapshot to download ({@code snapshotOffset >= 0}: the
   * fetch position is below the leader's log start, or the logs diverge below it); a divergence
   * ({@code divergingEpoch >= 0}: truncate to the end of that epoch as the leader knows it, then fetch
   * again); or entries starting at {@code fetchOffset} (possibly none) plus the leader's high watermark.
   *
   * @param leaderId the responder's view of the leader of {@code epoch}, -1 if unknown
   * @param fetchOffset echo of the request's fetch offset, so a stale or duplicated answer is recognised
   * @param lastFetchedEpoch echo of the request's last fetched epoch
   * @param divergingEpoch -1, or the largest epoch ≤ the fetcher's last epoch that the leader has
   * @param divergingEndOffset -1, or the leader's end offset (exclusive) of {@code divergingEpoch}
   * @param logStartOffset the leader's log start offset
   * @param snapshotOffset -1, or the end offset of the leader's latest snapshot, which the fetcher must
   *     download and install before it fetches again (KIP-630); comes with error NONE and no entries
   * @param snapshotEpoch -1, or the epoch of that snapshot (of its last entry)
   */
  record FetchResponse(int from, int to, int epoch, int leaderId, RaftError error, long fetchOffset,
      int lastFetchedEpoch, List<LogEntry> entries, long highWatermark, int divergingEpoch,
      long divergingEndOffset, long logStartOffset, long snapshotOffset, int snapshotEpoch)
      implements RaftMessage {
    public FetchResponse {
      Objects.requireNonNull(error, "error");
      entries = List.copyOf(entries);
    }

    /**
     * A response without a snapshot id ({@code snapshotOffset = snapshotEpoch = -1}): the form before
     * snapshots existed, kept so older call sites compile. New code should pass all fields.
     */
    public FetchResponse(int from, int to, int epoch, int leaderId, RaftError error, long fetchOffset,
        int lastFetchedEpoch, List<LogEntry> entries, long highWatermark, int divergingEpoch,
        long divergingEndOffset, long logStartOffset) {
      this(from, to, epoch, leaderId, error, fetchOffset, lastFetchedEpoch, entries, highWatermark, divergingEpoch,
          divergingEndOffset, logStartOffset, -1, -1);
    }

    /** True if the fetcher must truncate its log and fetch again. */
    public boolean diverging() {
      return divergingEpoch >= 0;
    }

    /** True if the fetcher must download the snapshot {@link #snapshotId()} before fetching again. */
    public boolean snapshotNeeded() {
      return snapshotOffset >= 0;
    }

    /** The snapshot to download, when {@link #snapshotNeeded()}. */
    public OffsetAndEpoch snapshotId() {
      return new OffsetAndEpoch(snapshotOffset, snapshotEpoch);
    }
  }

  /**
   * Candidate (or prospective) → voter. For a pre-vote ({@code preVote} true) {@code epoch} is the epoch
   * the prospective node would campaign in (its own epoch + 1), and the receiver changes no state.
   *
   * @param lastEpoch epoch of the candidate's last log entry (0 if its log is empty)
   * @param lastOffset the candidate's log end offset (exclusive)
   */
  record VoteRequest(int from, int to, int epoch, int candidateId, int lastEpoch, long lastOffset,
      boolean preVote) implements RaftMessage {}

  /**
   * Voter → candidate. {@code epoch} is the voter's current epoch and {@code leaderId} the leader it
   * knows for it, so a candidate that lost the race learns who won.
   */
  record VoteResponse(int from, int to, int epoch, int leaderId, RaftError error, boolean granted,
      boolean preVote) implements RaftMessage {
    public VoteResponse {
      Objects.requireNonNull(error, "error");
    }
  }

  /** New leader → voters: "I lead {@code epoch}; fetch from me". Resent until the voter fetches. */
  record BeginQuorumEpochRequest(int from, int to, int epoch, int leaderId) implements RaftMessage {}

  /** Acknowledgement of {@link BeginQuorumEpochRequest}. */
  record BeginQuorumEpochResponse(int from, int to, int epoch, int leaderId, RaftError error)
      implements RaftMessage {
    public BeginQuorumEpochResponse {
      Objects.requireNonNull(error, "error");
    }
  }

  /**
   * Resigning leader → voters: "I no longer lead {@code epoch}; elect someone". Voters earlier in
   * {@code preferredSuccessors} (the most up-to-date logs first) start their election sooner.
   */
  record EndQuorumEpochRequest(int from, int to, int epoch, int leaderId, List<Integer> preferredSuccessors)
      implements RaftMessage {
    public EndQuorumEpochRequest {
      preferredSuccessors = List.copyOf(preferredSuccessors);
    }
  }

  /** Acknowledgement of {@link EndQuorumEpochRequest}. */
  record EndQuorumEpochResponse(int from, int to, int epoch, int leaderId, RaftError error)
      implements RaftMessage {
    public EndQuorumEpochResponse {
      Objects.requireNonNull(error, "error");
    }
  }
}
