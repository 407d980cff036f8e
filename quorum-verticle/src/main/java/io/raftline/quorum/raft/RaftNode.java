package io.raftline.quorum.raft;

import io.raftline.quorum.raft.RaftMessage.BeginQuorumEpochRequest;
import io.raftline.quorum.raft.RaftMessage.BeginQuorumEpochResponse;
import io.raftline.quorum.raft.RaftMessage.EndQuorumEpochRequest;
import io.raftline.quorum.raft.RaftMessage.EndQuorumEpochResponse;
import io.raftline.quorum.raft.RaftMessage.FetchRequest;
import io.raftline.quorum.raft.RaftMessage.FetchResponse;
import io.raftline.quorum.raft.RaftMessage.VoteRequest;
import io.raftline.quorum.raft.RaftMessage.VoteResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.random.RandomGenerator;

/**
 * One Raft replica of the metadata log, KRaft flavour, as a pure single-threaded state machine.
 *
 * <h2>How the IO shell drives it</h2>
 *
 * <p>The shell owns the clock, the network, the log file and the quorum-state file. It feeds the node
 * inputs — {@link #step} (a message arrived), {@link #tick} (time passed), {@link #propose},
 * {@link #resign}, {@link #appendDurable} (an fsync finished) — and after each input (or a batch of
 * them) drains {@link #ready()} and carries it out in the order that {@link Ready} documents: persist the
 * state, then write the log, then send. Nothing here blocks, sleeps, reads a clock or draws randomness
 * except from the injected {@link RandomGenerator}; the same inputs always give the same outputs, which
 * is what lets a seeded simulation replay a failure exactly.
 *
 * <p>The shell should call {@link #tick} no later than {@link #nextDeadlineMs()} (or simply every few
 * tens of milliseconds). Times are the shell's monotonic milliseconds; a time earlier than one already
 * seen is treated as the latest one seen.
 *
 * <h2>Protocol summary</h2>
 *
 * <ul>
 *   <li>Pull replication: followers and observers send {@link FetchRequest}s to the leader. The leader
 *       checks the fetcher's (fetch offset, last fetched epoch) against its own log and either returns
 *       entries or the epoch/end offset where the logs diverge; the fetcher truncates there and fetches
 *       again. An empty fetch is held ("long poll") for up to {@link RaftConfig#fetchMaxWaitMs()}.
 *   <li>A voter sends its next fetch only when everything it appended is durable, so a fetch offset is
 *       a durable acknowledgement. The leader counts its own entries once {@link #appendDurable} covers
 *       them. The high watermark is the largest offset a majority of voters hold durably, and only moves
 *       once that covers the leader's first entry of its own epoch (the empty "leader change" entry every
 *       new leader appends), because an older epoch's entry on a majority can still be overwritten.
 *   <li>Elections: a follower that hears nothing from its leader for {@link RaftConfig#fetchTimeoutMs()}
 *       (an unattached voter: for its randomised election timeout) first runs a pre-vote (KIP-996) for
 *       epoch + 1 without changing its state. Voters grant a pre-vote only to a log at least as up to date
 *       as theirs and only if they have not heard from a leader within the fetch timeout, so a node
 *       that was merely cut off cannot depose a healthy leader. With a majority of pre-votes it becomes a
 *       candidate in epoch + 1. A real vote is granted at most once per epoch (persisted
 *       {@code votedFor}), never in an epoch whose leader is known, and only to an up-to-date log.
 *   <li>The winner appends its leader-change entry and sends BeginQuorumEpoch to the voters (resent to
 *       those that have not fetched yet). It resigns if it gets no fetches from a majority of voters
 *       within the fetch timeout (check-quorum), or when asked via {@link #resign}; either way it sends
 *       EndQuorumEpoch, listing the most up-to-date voters first so they campaign first.
 *   <li>Any message with a higher epoch moves the node to that epoch (as follower if the message names a
 *       leader, otherwise unattached) — except a FetchRequest (answered UNKNOWN_LEADER_EPOCH: only a
 *       confused fetcher can send one) and a pre-vote (which by design changes nothing). Malformed or
 *       stale requests get an error answer and change no state.
 *   <li>Observers (nodes not in the voter set) fetch like followers but never vote, campaign or count
 *       toward the HW. They learn the leader from any answer that names it; when they know none (at
 *       start, or after {@link RaftConfig#fetchTimeoutMs()} of silence) they send fetches to the voters in
 *       turn (ascending id, one per {@link RaftConfig#requestTimeoutMs()} or per error answer): a voter's
 *       answer names the leader it follows, and the leader's answer names itself.
 * </ul>
 *
 * <h2>Snapshots (KIP-630)</h2>
 *
 * <p>The log is held in memory from its start offset on; snapshots bound it. The shell writes a snapshot
 * of its state machine at any committed offset and reports it with {@link #snapshotTaken}; the node
 * then drops the entries below it ({@link #logStartOffset()} moves to the snapshot's offset). A leader
 * answers a fetch that it cannot serve from its log — the fetch offset is below its log start, or the
 * fetcher's position cannot be matched without the compacted entries — with the id of its latest
 * snapshot ({@link FetchResponse#snapshotNeeded()}). A fetch at exactly the log start whose last fetched
 * epoch is the snapshot's epoch matches (the snapshot id acts as the entry at start - 1). The fetcher
 * emits {@link Ready#snapshotToFetch()} once and stops fetching until the shell reports
 * {@link #snapshotInstalled} (the log is then empty from the snapshot's offset, the high watermark at
 * least there) or {@link #snapshotFetchFailed} (it fetches again after the retry backoff and is named
 * the then-latest snapshot).
 *
 * <p>While a download is pending the node does not campaign: its fetch timeout (an unattached voter:
 * its election timeout) is re-armed instead of starting a pre-vote, and an observer keeps its leader.
 * The download is evidence of a working leader, and the node could not win with the log it has (it
 * is behind the leader's committed snapshot); more importantly, a node that led or changed its log in
 * the meantime could not safely have it replaced by the snapshot afterwards. This is bounded by the
 * shell, which must end every download with {@code snapshotInstalled} or {@code snapshotFetchFailed}
 * (a stalled download is a failure); once it fails, the ordinary timers resume, so a dead leader is
 * replaced as usual. On the leader, {@link #snapshotFetchServed} lets the shell count a replica's
 * download requests as fetches for check-quorum, so that a majority busy downloading does not make it
 * resign.
 */
public final class RaftNode {

  private static final long NONE = Long.MIN_VALUE;

  private final RaftConfig config;
  private final int self;
  private final boolean observer;
  /** Voters other than this node, ascending. */
  private final List<Integer> otherVoters;
  /** All voters, ascending (observers cycle through them to find the leader). */
  private final List<Integer> voterList;
  private final int majority;
  private final RandomGenerator random;
  private final RaftLog log;

  /** The snapshot download the shell is doing for us (named in a Ready), or null. */
  private Ready.SnapshotFetch snapshotFetch;
  /** The download to announce in the next Ready (set once per download), or null. */
  private Ready.SnapshotFetch snapshotToAnnounce;

  private long now;

  // --- quorum state (persisted through Ready.state) ---
  private int epoch;
  private int votedFor;
  /** Leader of {@link #epoch} once known; never cleared within the epoch (see PersistentState). */
  private int epochLeader;

  // --- volatile state ---
  private RaftRole role;
  /** Node we fetch from as the leader: the epoch leader while following, -1 when not fetching. */
  private int fetchLeader = -1;
  private long durableEnd;
  private long highWatermark;

  private long electionDeadlineMs = Long.MAX_VALUE;
  private long fetchDeadlineMs = Long.MAX_VALUE;
  private long lastLeaderContactMs = NONE;

  private boolean fetchInFlight;
  private int fetchTarget = -1;
  private long fetchSentMs = NONE;
  private long nextFetchMs = NONE;
  private int discoveryIndex;

  private final TreeSet<Integer> votesGranted = new TreeSet<>();
  private final TreeSet<Integer> votesRejected = new TreeSet<>();
  private long voteRetryMs = Long.MAX_VALUE;

  /** Leader only: what each replica (voter or observer) has shown us in this epoch. */
  private final TreeMap<Integer, Replica> replicas = new TreeMap<>();
  /** Leader only: fetches held until new entries, a HW change, or their deadline. */
  private final TreeMap<Integer, Parked> parked = new TreeMap<>();
  private long leaderSinceMs;
  private long epochStartOffset;
  private long beginRetryMs = Long.MAX_VALUE;

  // --- output accumulated until ready() ---
  private final ArrayList<RaftMessage> outbox = new ArrayList<>();
  private long pendingTruncate = -1;
  private final ArrayList<LogEntry> pendingAppends = new ArrayList<>();
  private boolean hwChanged;
  private PersistentState handedOutState;
  private Ready.RoleChange reportedRole;

  private static final class Replica {
    final int id;
    final boolean voter;
    long endOffset = -1;
    long lastFetchMs = NONE;
    long lastCaughtUpMs = NONE;

    Replica(int id, boolean voter) {
      this.id = id;
      this.voter = voter;
    }
  }

  private record Parked(FetchRequest request, long deadlineMs) {}

  /**
   * Rebuilds a node that holds no snapshot from what was durable: the same as
   * {@link #RaftNode(RaftConfig, PersistentState, OffsetAndEpoch, List, long, RandomGenerator)} with the
   * snapshot {@code (logStartOffset, 0)}. Meant for {@code logStartOffset = 0}; a node whose log starts
   * later holds a snapshot and should name it (with its epoch) through that constructor.
   *
   * @param config static configuration
   * @param recovered the last persisted quorum state ({@link PersistentState#INITIAL} on first start)
   * @param recoveredLog the durable log entries, contiguous from {@code logStartOffset}; they are taken
   *     as durable
   * @param logStartOffset offset of the first entry (0 without snapshots)
   * @param nowMs the shell's current time
   * @param random source of election jitter; a seeded generator makes the node fully deterministic
   */
  public RaftNode(RaftConfig config, PersistentState recovered, List<LogEntry> recoveredLog, long logStartOffset,
      long nowMs, RandomGenerator random) {
    this(config, recovered, new OffsetAndEpoch(logStartOffset, 0), recoveredLog, nowMs, random);
  }

  /**
   * Rebuilds a node from what was durable: its quorum state, its newest snapshot and the log after it.
   *
   * @param config static configuration
   * @param recovered the last persisted quorum state ({@link PersistentState#INITIAL} on first start)
   * @param snapshot the newest snapshot the node holds, {@link OffsetAndEpoch#ZERO} if none: every entry
   *     below {@code snapshot.offset()} is in it (so they are committed, and the high watermark starts
   *     there), and {@code snapshot.epoch()} is the epoch of the entry at {@code snapshot.offset() - 1}
   * @param entries the durable log entries from {@code snapshot.offset()} on, contiguous (possibly none,
   *     also when the log on disk ended below the snapshot); they are taken as durable. The log starts at
   *     {@code snapshot.offset()}, and {@link #lastEpoch()} is {@code snapshot.epoch()} while it is empty
   * @param nowMs the shell's current time
   * @param random source of election jitter; a seeded generator makes the node fully deterministic
   */
  public RaftNode(RaftConfig config, PersistentState recovered, OffsetAndEpoch snapshot, List<LogEntry> entries,
      long nowMs, RandomGenerator random) {
    this.config = Objects.requireNonNull(config, "config");
    Objects.requireNonNull(recovered, "recovered");
    Objects.requireNonNull(snapshot, "snapshot");
    Objects.requireNonNull(entries, "entries");
    if (snapshot.offset() < 0 || snapshot.epoch() < 0) throw new IllegalArgumentException("bad snapshot id " + snapshot);
    this.random = Objects.requireNonNull(random, "random");
    this.self = config.localId();
    this.observer = config.observer();
    this.voterList = List.copyOf(config.sortedVoters());
    ArrayList<Integer> others = new ArrayList<>(voterList);
    others.remove(Integer.valueOf(self));
    this.otherVoters = List.copyOf(others);
    this.majority = config.majority();
    this.now = nowMs;

    this.log = new RaftLog(snapshot.offset(), snapshot.epoch());
    for (LogEntry e : entries) {
      if (e.offset() != log.endOffset() || e.epoch() < log.lastEpoch()) {
        throw new IllegalArgumentException("entries must be contiguous from the snapshot offset " + snapshot.offset()
            + " with epochs from " + snapshot.epoch() + " on, never decreasing: " + e + " after end " + log.endOffset()
            + " epoch " + log.lastEpoch());
      }
      log.append(e);
    }
    this.durableEnd = log.endOffset();
    this.highWatermark = snapshot.offset();

    this.handedOutState = recovered;
    this.epoch = recovered.epoch();
    this.votedFor = recovered.votedFor();
    this.epochLeader = recovered.leaderId();
    if (log.lastEpoch() > epoch) {
      // The state file is older than the log (it should have been written first). We cannot know
      // whether we voted in that epoch, so act as if we voted for ourselves: we then grant no vote in it.
      epoch = log.lastEpoch();
      votedFor = observer ? -1 : self;
      epochLeader = -1;
    }

    if (observer) {
      role = RaftRole.OBSERVER;
      if (validLeaderHint(epochLeader) >= 0) follow(epochLeader);
      else fetchLeader = -1;
    } else if (epochLeader == self) {
      // We led this epoch before the restart but lost the leader's volatile state; we cannot lead it
      // again. Tell the voters, so they elect a successor now instead of after the fetch timeout.
      becomeUnattached(randomElectionTimeout());
      sendEndQuorumEpoch(otherVoters);
    } else if (epochLeader >= 0) {
      follow(epochLeader);
    } else {
      becomeUnattached(randomElectionTimeout());
    }
    if (!observer && majority == 1 && role == RaftRole.UNATTACHED) {
      // A sole voter is its own majority: waiting out an election timeout would only delay start-up.
      becomeProspective();
    }
    afterInput();
  }

  // ------------------------------------------------------------------------------------------------
  // Inputs
  // ------------------------------------------------------------------------------------------------

  /** A message arrived. Messages not addressed to this node, or from itself, are ignored. */
  public void step(RaftMessage msg, long nowMs) {
    Objects.requireNonNull(msg, "msg");
    advanceClock(nowMs);
    if (msg.to() != self || msg.from() == self) return;
    if (msg instanceof FetchRequest r) onFetchRequest(r);
    else if (msg instanceof FetchResponse r) onFetchResponse(r);
    else if (msg instanceof VoteRequest r) onVoteRequest(r);
    else if (msg instanceof VoteResponse r) onVoteResponse(r);
    else if (msg instanceof BeginQuorumEpochRequest r) onBeginQuorumEpoch(r);
    else if (msg instanceof EndQuorumEpochRequest r) onEndQuorumEpoch(r);
    else if (msg instanceof BeginQuorumEpochResponse r) onAck(r.epoch(), r.leaderId());
    else if (msg instanceof EndQuorumEpochResponse r) onAck(r.epoch(), r.leaderId());
    afterInput();
  }

  /** Time passed: fires election, fetch, check-quorum, retry and long-poll timers that are due. */
  public void tick(long nowMs) {
    advanceClock(nowMs);
    switch (role) {
      case LEADER -> tickLeader();
      case FOLLOWER -> {
        if (now >= fetchDeadlineMs) {
          // A pending snapshot download stands for contact with the leader (see the class comment).
          if (snapshotFetch != null) fetchDeadlineMs = now + config.fetchTimeoutMs();
          else becomeProspective();
        }
      }
      case UNATTACHED -> {
        if (now >= electionDeadlineMs) {
          if (snapshotFetch != null) electionDeadlineMs = now + randomElectionTimeout();
          else becomeProspective();
        }
      }
      case PROSPECTIVE -> {
        if (now >= electionDeadlineMs) becomeProspective();
        else if (now >= voteRetryMs) sendVoteRequests(true);
      }
      case CANDIDATE -> {
        if (now >= electionDeadlineMs) {
          fetchLeader = -1;
          becomeProspective();
        } else if (now >= voteRetryMs) {
          sendVoteRequests(false);
        }
      }
      case OBSERVER -> {
        if (fetchLeader >= 0 && now >= fetchDeadlineMs) {
          if (snapshotFetch != null) fetchDeadlineMs = now + config.fetchTimeoutMs();
          else stopFetching();
        }
      }
    }
    afterInput();
  }

  /**
   * Appends {@code payloads} as entries of the current epoch if this node is the leader. The entries
   * appear in the next {@link Ready#entries()}. The payload arrays are not copied: the caller must not
   * modify them afterwards.
   */
  public ProposeResult propose(List<byte[]> payloads, long nowMs) {
    Objects.requireNonNull(payloads, "payloads");
    advanceClock(nowMs);
    if (role != RaftRole.LEADER) {
      return new ProposeResult.Rejected(RaftError.NOT_LEADER_OR_FOLLOWER, leaderId(), epoch);
    }
    if (payloads.isEmpty()) return new ProposeResult.Rejected(RaftError.INVALID_REQUEST, self, epoch);
    if (payloads.size() > config.maxBatchEntries()) {
      return new ProposeResult.Rejected(RaftError.RECORD_LIST_TOO_LARGE, self, epoch);
    }
    long base = log.endOffset();
    for (byte[] p : payloads) appendEntry(new LogEntry(log.endOffset(), epoch, Objects.requireNonNull(p, "payload")));
    completeParked();
    afterInput();
    return new ProposeResult.Accepted(epoch, base, log.endOffset());
  }

  /**
   * The shell's log is durable (fsynced) below {@code upToOffsetExclusive}. Values above the current
   * log end are clamped to it. The offset must describe the log as it is now: if the shell truncated
   * the log after starting the fsync it reports, it must report at most the truncation offset.
   */
  public void appendDurable(long upToOffsetExclusive) {
    long upTo = Math.min(upToOffsetExclusive, log.endOffset());
    if (upTo > durableEnd) durableEnd = upTo;
    afterInput();
  }

  /**
   * The shell could not reach {@code leaderId} at all (connection refused, or the connection died
   * under a request), which says more than a lost message. A follower of that leader stops trusting
   * it and starts a pre-vote within a quarter of the election timeout instead of after the fetch
   * timeout. Safety does not depend on the
   * hint: the pre-vote changes no epoch, and voters that still hear from the leader refuse it, so a
   * wrong hint costs at most a refused pre-vote.
   */
  public void leaderUnreachable(int leaderId, long nowMs) {
    advanceClock(nowMs);
    if (role == RaftRole.FOLLOWER && leaderId >= 0 && leaderId == fetchLeader && leaderId != self) {
      lastLeaderContactMs = NONE;
      // Every survivor sees a dead leader at about the same moment: a short random delay keeps them
      // from all campaigning at once and splitting the vote. A fetch that succeeds meanwhile moves
      // the deadline back out, so a wrong hint fades away.
      fetchDeadlineMs = Math.min(fetchDeadlineMs, now + random.nextInt(Math.max(1, config.electionTimeoutMs() / 4)));
    }
    afterInput();
  }

  /**
   * Graceful resignation (e.g. before a controlled shutdown): if leader, stop leading, answer held
   * fetches, and send EndQuorumEpoch to the other voters with the most up-to-date ones first.
   *
   * @return true if this node was the leader
   */
  public boolean resign(long nowMs) {
    advanceClock(nowMs);
    if (role != RaftRole.LEADER) return false;
    resignLeadership();
    afterInput();
    return true;
  }

  /**
   * The shell wrote (durably) a snapshot holding every entry below {@code id.offset()}: it must be at most
   * {@link #highWatermark()} (only committed entries go into a snapshot), and {@code id.epoch()} must be
   * the epoch of the entry at {@code id.offset() - 1}. The node drops the entries below it from memory,
   * moves {@link #logStartOffset()} to it (the shell may delete its log below it whenever it likes), and
   * counts them as durable. As leader it answers fetches below its log start by naming this snapshot.
   * An id not newer than {@link #latestSnapshot()} is ignored. {@link #entryEpoch} gives the epoch.
   *
   * <p>The shell must fsync its log (truncations included) before it writes the snapshot: otherwise a
   * crash could bring back, above the snapshot, log entries that were truncated before it, and the
   * restarted node would take them for the continuation of the snapshot. On a restart it passes this
   * snapshot and the durable log from its offset on to the constructor.
   *
   * @throws IllegalArgumentException if the offset is above the high watermark or the epoch is wrong
   */
  public void snapshotTaken(OffsetAndEpoch id) {
    Objects.requireNonNull(id, "id");
    if (id.offset() <= log.startOffset()) return;
    if (id.offset() > highWatermark) {
      throw new IllegalArgumentException("snapshot " + id + " is above the high watermark " + highWatermark);
    }
    int e = log.entry(id.offset() - 1).epoch();
    if (e != id.epoch()) {
      throw new IllegalArgumentException("snapshot " + id + ": the entry at " + (id.offset() - 1) + " has epoch " + e);
    }
    log.compactTo(id.offset());
    if (durableEnd < id.offset()) durableEnd = id.offset(); // the snapshot holds them durably
    afterInput();
  }

  /** The newest snapshot the node knows (taken or installed); {@link OffsetAndEpoch#ZERO} if none. */
  public OffsetAndEpoch latestSnapshot() {
    return new OffsetAndEpoch(log.startOffset(), log.startEpoch());
  }

  /**
   * The shell finished downloading the snapshot named in {@link Ready#snapshotToFetch()} (or a newer
   * one: {@code id.offset()} at least the named one's), made it and an empty log starting at
   * {@code id.offset()} durable, and loaded it into its state machine. The node replaces its log with an
   * empty one starting there ({@link #lastEpoch()} = {@code id.epoch()}), raises the high watermark and
   * the durable end to {@code id.offset()} (the next Ready reports the high watermark), and fetches from
   * {@code id.offset()} on. An fsync of the old log still running must be reported (if at all) as at
   * most {@code id.offset()}. If {@code id.epoch()} is newer than the node's epoch (a snapshot from a
   * replica ahead of it), the node moves to that epoch, without a leader.
   *
   * @throws IllegalStateException if no download is pending (none was asked for since the last
   *     install, failure or restart)
   * @throws IllegalArgumentException if {@code id} is older than the snapshot asked for, or negative
   */
  public void snapshotInstalled(OffsetAndEpoch id, long nowMs) {
    Objects.requireNonNull(id, "id");
    if (snapshotFetch == null) throw new IllegalStateException("no snapshot download pending; installed " + id);
    if (id.offset() < snapshotFetch.snapshot().offset() || id.epoch() < 0) {
      throw new IllegalArgumentException("installed snapshot " + id + " is older than the one asked for, "
          + snapshotFetch.snapshot());
    }
    advanceClock(nowMs);
    snapshotFetch = null;
    snapshotToAnnounce = null;
    // The shell's log now is the empty log at id.offset(): nothing pending for the old one applies.
    log.resetTo(id.offset(), id.epoch());
    pendingAppends.clear();
    pendingTruncate = -1;
    durableEnd = id.offset();
    // Everything in the snapshot is committed. It was named because our fetch position lay below the
    // leader's log start or diverged below it, so our HW (frozen while we did not fetch) is below it.
    advanceHighWatermark(id.offset());
    if (id.epoch() > epoch) {
      transitionToEpoch(id.epoch(), -1);
    } else {
      fetchInFlight = false;
      nextFetchMs = now;
      if (fetchLeader >= 0) fetchDeadlineMs = now + config.fetchTimeoutMs();
    }
    afterInput();
  }

  /**
   * The download asked for in {@link Ready#snapshotToFetch()} failed (or stalled, and the shell gave up
   * on it): the node fetches again after the retry backoff, and the leader names its latest snapshot
   * again. Ignored if no download is pending.
   */
  public void snapshotFetchFailed(long nowMs) {
    advanceClock(nowMs);
    if (snapshotFetch == null) return;
    snapshotFetch = null;
    snapshotToAnnounce = null;
    fetchInFlight = false;
    nextFetchMs = now + config.retryBackoffMs();
    afterInput();
  }

  /**
   * Leader only, optional: the shell served part of a snapshot download to {@code replicaId}, which is
   * in {@code replicaEpoch}. A replica that downloads a snapshot does not fetch meanwhile; this counts
   * its download requests as fetches for check-quorum (and {@link #replicaStates()}), as Kafka counts
   * FetchSnapshot requests. Ignored unless this node leads {@code replicaEpoch}.
   */
  public void snapshotFetchServed(int replicaId, int replicaEpoch, long nowMs) {
    advanceClock(nowMs);
    if (role != RaftRole.LEADER || replicaEpoch != epoch || replicaId == self || replicaId < 0) return;
    replica(replicaId).lastFetchMs = now;
    afterInput();
  }

  /**
   * Drains the work accumulated by the inputs since the previous call. See {@link Ready} for the order
   * in which the shell must carry it out.
   */
  public Ready ready() {
    PersistentState st = persistentState();
    Optional<PersistentState> state = st.equals(handedOutState) ? Optional.empty() : Optional.of(st);
    handedOutState = st;
    OptionalLong truncate = pendingTruncate >= 0 ? OptionalLong.of(pendingTruncate) : OptionalLong.empty();
    pendingTruncate = -1;
    List<LogEntry> entries = List.copyOf(pendingAppends);
    pendingAppends.clear();
    List<RaftMessage> messages = List.copyOf(outbox);
    outbox.clear();
    OptionalLong hw = hwChanged ? OptionalLong.of(highWatermark) : OptionalLong.empty();
    hwChanged = false;
    Ready.RoleChange rc = new Ready.RoleChange(role, epoch, leaderId());
    Optional<Ready.RoleChange> roleChange = rc.equals(reportedRole) ? Optional.empty() : Optional.of(rc);
    reportedRole = rc;
    Optional<Ready.SnapshotFetch> snapshotToFetch = Optional.ofNullable(snapshotToAnnounce);
    snapshotToAnnounce = null;
    return new Ready(state, truncate, entries, messages, hw, roleChange, snapshotToFetch);
  }

  /** True if {@link #ready()} would return a non-empty Ready. */
  public boolean hasReady() {
    return !outbox.isEmpty() || pendingTruncate >= 0 || !pendingAppends.isEmpty() || hwChanged
        || snapshotToAnnounce != null || !persistentState().equals(handedOutState)
        || !new Ready.RoleChange(role, epoch, leaderId()).equals(reportedRole);
  }

  // ------------------------------------------------------------------------------------------------
  // Queries
  // ------------------------------------------------------------------------------------------------

  public RaftConfig config() {
    return config;
  }

  public int localId() {
    return self;
  }

  public RaftRole role() {
    return role;
  }

  public int epoch() {
    return epoch;
  }

  /** The live leader this node follows (itself when leader), -1 if none. */
  public int leaderId() {
    return switch (role) {
      case LEADER -> self;
      case FOLLOWER, OBSERVER -> fetchLeader;
      default -> -1;
    };
  }

  public int votedFor() {
    return votedFor;
  }

  /** The quorum state as it is now (what the next Ready will ask to persist if it changed). */
  public PersistentState persistentState() {
    return new PersistentState(epoch, votedFor, epochLeader);
  }

  public long highWatermark() {
    return highWatermark;
  }

  /** The first offset in the log: the offset of {@link #latestSnapshot()}, 0 without snapshots. */
  public long logStartOffset() {
    return log.startOffset();
  }

  public long logEndOffset() {
    return log.endOffset();
  }

  /** End of the prefix the shell has reported durable (never above the log end). */
  public long durableEndOffset() {
    return durableEnd;
  }

  /** Epoch of the last log entry; if the log is empty, the epoch of {@link #latestSnapshot()} (0 if none). */
  public int lastEpoch() {
    return log.lastEpoch();
  }

  /**
   * The log entry at {@code offset}.
   *
   * @throws IllegalArgumentException if {@code offset} is below {@link #logStartOffset()} (compacted)
   * @throws IndexOutOfBoundsException if it is at or above {@link #logEndOffset()}
   */
  public LogEntry entry(long offset) {
    return log.entry(offset);
  }

  /**
   * The log entries in {@code [from, to)}.
   *
   * @throws IllegalArgumentException if {@code from} is below {@link #logStartOffset()} (compacted)
   * @throws IndexOutOfBoundsException if {@code to} is above {@link #logEndOffset()} or below {@code from}
   */
  public List<LogEntry> entries(long from, long to) {
    return log.range(from, to);
  }

  /**
   * The epoch of the entry at {@code offset}, where the node knows it: for offsets in
   * [{@link #logStartOffset()} - 1, {@link #logEndOffset()}) (at the start - 1 it is the snapshot's
   * epoch); empty otherwise. Unlike {@link #entry} it never throws, which suits checks such as "is the
   * entry a client was promised still of its epoch?".
   */
  public OptionalInt entryEpoch(long offset) {
    int e = log.epochAt(offset);
    return e < 0 ? OptionalInt.empty() : OptionalInt.of(e);
  }

  /** The snapshot the shell is downloading for this node (named in a Ready), if any. */
  public Optional<OffsetAndEpoch> pendingSnapshotFetch() {
    return snapshotFetch == null ? Optional.empty() : Optional.of(snapshotFetch.snapshot());
  }

  /**
   * The leader's view of every replica, ascending by id, itself included (with its durable end
   * offset); empty on a node that is not the leader.
   */
  public List<ReplicaState> replicaStates() {
    if (role != RaftRole.LEADER) return List.of();
    TreeMap<Integer, ReplicaState> out = new TreeMap<>();
    out.put(self, new ReplicaState(self, true, durableEnd, now, now));
    for (Replica r : replicas.values()) {
      out.put(r.id, new ReplicaState(r.id, r.voter, r.endOffset, r.lastFetchMs == NONE ? -1 : r.lastFetchMs,
          r.lastCaughtUpMs == NONE ? -1 : r.lastCaughtUpMs));
    }
    return List.copyOf(out.values());
  }

  /**
   * The earliest time at which {@link #tick} has something to do, {@link Long#MAX_VALUE} if nothing is
   * scheduled. Calling tick earlier is harmless; calling it later only delays timeouts.
   */
  public long nextDeadlineMs() {
    long d = Long.MAX_VALUE;
    switch (role) {
      case LEADER -> {
        for (Parked p : parked.values()) d = Math.min(d, p.deadlineMs());
        for (int v : otherVoters) {
          if (replica(v).lastFetchMs == NONE) d = Math.min(d, beginRetryMs);
        }
        d = Math.min(d, checkQuorumDeadline());
      }
      case FOLLOWER -> d = fetchDeadlineMs;
      case UNATTACHED -> d = electionDeadlineMs;
      case PROSPECTIVE, CANDIDATE -> {
        d = electionDeadlineMs;
        if (votesGranted.size() + votesRejected.size() < voterList.size()) d = Math.min(d, voteRetryMs);
      }
      case OBSERVER -> {
        if (fetchLeader >= 0) d = fetchDeadlineMs;
      }
    }
    if (fetchTargetNow() >= 0 && snapshotFetch == null) { // no fetching while a snapshot downloads
      if (fetchInFlight) d = Math.min(d, fetchSentMs + config.requestTimeoutMs());
      else if (durableEnd >= log.endOffset() && nextFetchMs != NONE) d = Math.min(d, nextFetchMs);
    }
    return Math.max(d, now);
  }

  @Override
  public String toString() {
    return "RaftNode[id=" + self + ", role=" + role + ", epoch=" + epoch + ", leader=" + leaderId()
        + ", votedFor=" + votedFor + ", start=" + log.startOffset() + ", end=" + log.endOffset() + ", durable="
        + durableEnd + ", hw=" + highWatermark
        + (snapshotFetch != null ? ", downloading=" + snapshotFetch.snapshot() : "") + "]";
  }

  // ------------------------------------------------------------------------------------------------
  // Fetch: leader side
  // ------------------------------------------------------------------------------------------------

  private void onFetchRequest(FetchRequest r) {
    if (r.replicaId() != r.from() || r.fetchOffset() < 0 || r.lastFetchedEpoch() < 0 || r.maxWaitMs() < 0) {
      fetchError(r, RaftError.INVALID_REQUEST);
      return;
    }
    if (r.epoch() < epoch) {
      fetchError(r, RaftError.FENCED_LEADER_EPOCH);
      return;
    }
    if (r.epoch() > epoch) {
      // Only a leader is fetched from, and we cannot be the leader of an epoch we have not reached:
      // the fetcher is confused. Moving to its epoch would let it disrupt the quorum.
      fetchError(r, RaftError.UNKNOWN_LEADER_EPOCH);
      return;
    }
    if (role != RaftRole.LEADER) {
      fetchError(r, RaftError.NOT_LEADER_OR_FOLLOWER);
      return;
    }
    if (r.lastFetchedEpoch() > epoch) {
      fetchError(r, RaftError.INVALID_REQUEST);
      return;
    }
    Replica rep = replica(r.from());
    rep.lastFetchMs = now; // a live replica of our epoch, whatever we answer
    parked.remove(r.from()); // a newer fetch from the same replica replaces a held one
    long start = log.startOffset();
    if (r.fetchOffset() < start) {
      // The entries it needs are compacted: it must install our snapshot (KIP-630).
      answerWithSnapshot(r);
      return;
    }
    if (r.fetchOffset() == start) {
      // The snapshot id stands for the entry at start - 1. A different epoch there means the logs
      // diverge below our log start, where we cannot say where: the snapshot replaces its log.
      if (start > 0 && r.lastFetchedEpoch() != log.startEpoch()) {
        answerWithSnapshot(r);
        return;
      }
    } else {
      // The fetcher's entry at fetchOffset-1 has epoch lastFetchedEpoch. It matches ours iff we have
      // that epoch and it extends at least to fetchOffset: all entries of one epoch were written by its
      // single leader at the same offsets, so same (offset, epoch) means same entry and same prefix.
      RaftLog.EpochEnd ee = log.endOffsetForEpoch(r.lastFetchedEpoch());
      if (ee == null) {
        // Its last epoch is older than our snapshot's: its log diverges somewhere in our compacted prefix.
        answerWithSnapshot(r);
        return;
      }
      if (ee.epoch() != r.lastFetchedEpoch() || ee.endOffset() < r.fetchOffset()) {
        // ee.endOffset() >= start: if the fetcher's truncation lands below our start, its next fetch
        // is answered with the snapshot.
        outbox.add(new FetchResponse(self, r.from(), epoch, self, RaftError.NONE, r.fetchOffset(),
            r.lastFetchedEpoch(), List.of(), highWatermark, ee.epoch(), ee.endOffset(), start, -1, -1));
        return;
      }
    }
    // Valid position: the fetcher durably holds our log below fetchOffset. Keep the maximum, because a
    // delayed duplicate of an older fetch may arrive after a newer one.
    rep.endOffset = Math.max(rep.endOffset, r.fetchOffset());
    if (r.fetchOffset() >= log.endOffset()) rep.lastCaughtUpMs = now;
    maybeAdvanceLeaderHighWatermark();
    boolean nothingNew = r.fetchOffset() >= log.endOffset() && r.highWatermark() >= highWatermark;
    int maxWait = Math.min(r.maxWaitMs(), config.fetchMaxWaitMs());
    if (nothingNew && maxWait > 0) {
      parked.put(r.from(), new Parked(r, now + maxWait));
    } else {
      answerFetch(r);
    }
  }

  private void answerFetch(FetchRequest r) {
    List<LogEntry> entries = log.read(r.fetchOffset(), config.maxFetchEntries(), config.maxFetchBytes());
    outbox.add(new FetchResponse(self, r.from(), epoch, self, RaftError.NONE, r.fetchOffset(),
        r.lastFetchedEpoch(), entries, highWatermark, -1, -1, log.startOffset(), -1, -1));
  }

  /** "Install my latest snapshot": its id is our log start boundary, which is at most our HW. */
  private void answerWithSnapshot(FetchRequest r) {
    outbox.add(new FetchResponse(self, r.from(), epoch, self, RaftError.NONE, r.fetchOffset(),
        r.lastFetchedEpoch(), List.of(), highWatermark, -1, -1, log.startOffset(), log.startOffset(),
        log.startEpoch()));
  }

  private void fetchError(FetchRequest r, RaftError error) {
    outbox.add(new FetchResponse(self, r.from(), epoch, leaderId(), error, r.fetchOffset(), r.lastFetchedEpoch(),
        List.of(), highWatermark, -1, -1, log.startOffset(), -1, -1));
  }

  private void completeParked() {
    if (parked.isEmpty()) return;
    List<Parked> all = new ArrayList<>(parked.values());
    parked.clear();
    for (Parked p : all) answerFetch(p.request());
  }

  private Replica replica(int id) {
    return replicas.computeIfAbsent(id, k -> new Replica(k, config.voters().contains(k)));
  }

  /**
   * HW = the largest offset that a majority of voters hold durably (the leader's own durable end
   * counts), provided it covers the first entry of the leader's epoch: entries of older epochs become
   * committed only indirectly, as the prefix of that entry.
   */
  private void maybeAdvanceLeaderHighWatermark() {
    long[] ends = new long[voterList.size()];
    int i = 0;
    for (int v : voterList) ends[i++] = v == self ? durableEnd : replica(v).endOffset;
    Arrays.sort(ends);
    long majorityEnd = ends[ends.length - majority];
    if (majorityEnd > epochStartOffset && majorityEnd > highWatermark) {
      highWatermark = majorityEnd;
      hwChanged = true;
      completeParked(); // held fetchers are waiting to learn the new HW
    }
  }

  private void tickLeader() {
    if (!parked.isEmpty()) {
      List<Parked> due = new ArrayList<>();
      for (Parked p : parked.values()) if (p.deadlineMs() <= now) due.add(p);
      for (Parked p : due) {
        parked.remove(p.request().from());
        answerFetch(p.request());
      }
    }
    if (now >= beginRetryMs) {
      for (int v : otherVoters) {
        if (replica(v).lastFetchMs == NONE) outbox.add(new BeginQuorumEpochRequest(self, v, epoch, self));
      }
      beginRetryMs = now + Math.max(1, config.requestTimeoutMs() / 2);
    }
    if (now >= checkQuorumDeadline()) resignLeadership();
  }

  /**
   * When check-quorum fires: once fetchTimeoutMs has passed since we became leader and fewer than a
   * majority of voters (counting ourselves) have fetched within the last fetchTimeoutMs.
   */
  private long checkQuorumDeadline() {
    int othersNeeded = majority - 1;
    if (othersNeeded <= 0) return Long.MAX_VALUE;
    long[] times = new long[otherVoters.size()];
    int i = 0;
    for (int v : otherVoters) times[i++] = replica(v).lastFetchMs;
    Arrays.sort(times); // ascending; the othersNeeded-th most recent is at length - othersNeeded
    long kth = times[times.length - othersNeeded];
    long byContacts = kth == NONE ? NONE : kth + config.fetchTimeoutMs() + 1;
    return Math.max(leaderSinceMs + config.fetchTimeoutMs(), byContacts);
  }

  private void resignLeadership() {
    List<Integer> successors = new ArrayList<>(otherVoters);
    // Most up-to-date first: they can win, and the others would refuse to vote for a shorter log.
    successors.sort(Comparator.<Integer>comparingLong(v -> -replica(v).endOffset).thenComparingInt(v -> v));
    List<Parked> held = new ArrayList<>(parked.values());
    becomeUnattached(randomElectionTimeout());
    for (int v : otherVoters) {
      outbox.add(new EndQuorumEpochRequest(self, v, epoch, self, successors));
    }
    for (Parked p : held) fetchError(p.request(), RaftError.NOT_LEADER_OR_FOLLOWER);
  }

  // ------------------------------------------------------------------------------------------------
  // Fetch: follower / observer side
  // ------------------------------------------------------------------------------------------------

  private int fetchTargetNow() {
    if (fetchLeader >= 0) return fetchLeader;
    if (role == RaftRole.OBSERVER) return voterList.get(Math.floorMod(discoveryIndex, voterList.size()));
    return -1;
  }

  private void maybeSendFetch() {
    if (snapshotFetch != null) return; // the shell is downloading a snapshot for us
    if (fetchTargetNow() < 0) return;
    if (fetchInFlight) {
      if (now < fetchSentMs + config.requestTimeoutMs()) return;
      fetchInFlight = false; // lost (or the responder is gone): try again, or the next voter
      if (fetchLeader < 0) discoveryIndex++;
    }
    if (nextFetchMs != NONE && now < nextFetchMs) return;
    // Our fetch offset acknowledges what we hold; it must only cover durable entries.
    if (durableEnd < log.endOffset()) return;
    int target = fetchTargetNow();
    outbox.add(new FetchRequest(self, target, epoch, log.endOffset(), log.lastEpoch(), self,
        config.fetchMaxWaitMs(), highWatermark));
    fetchInFlight = true;
    fetchTarget = target;
    fetchSentMs = now;
  }

  private void onFetchResponse(FetchResponse p) {
    if (p.epoch() > epoch) {
      transitionToEpoch(p.epoch(), validLeaderHint(p.leaderId()));
      return;
    }
    if (p.epoch() < epoch || !fetchInFlight || p.from() != fetchTarget) return;
    // Only the answer to the fetch we have outstanding counts; a duplicate of an older answer
    // describes a log position we no longer have.
    if (p.fetchOffset() != log.endOffset() || p.lastFetchedEpoch() != log.lastEpoch()) return;
    fetchInFlight = false;

    if (fetchLeader < 0) { // observer discovery: we asked a voter who leads
      int hint = validLeaderHint(p.leaderId());
      if (hint >= 0) {
        if (epochLeader < 0) epochLeader = hint;
        if (epochLeader == hint) {
          follow(hint);
          return;
        }
      }
      discoveryIndex++;
      nextFetchMs = now + config.retryBackoffMs();
      return;
    }

    if (p.error() == RaftError.NONE && p.leaderId() == p.from()) {
      leaderContact();
      if (role == RaftRole.PROSPECTIVE) follow(fetchLeader); // the leader is alive after all
      nextFetchMs = now;
      if (p.snapshotNeeded()) startSnapshotFetch(p);
      else if (p.diverging()) truncateOnDivergence(p);
      else appendFromLeader(p);
    } else if (p.error() == RaftError.NOT_LEADER_OR_FOLLOWER) {
      // Our leader no longer leads this epoch (it resigned or restarted): elect a new one.
      if (role == RaftRole.FOLLOWER) becomeUnattached(randomElectionTimeout());
      else stopFetching();
      nextFetchMs = now + config.retryBackoffMs();
    } else {
      nextFetchMs = now + config.retryBackoffMs();
    }
  }

  /**
   * The leader names a snapshot to install instead of entries. It holds only committed entries, and it
   * was named because our position lies below the leader's log start or diverges below it, so it lies
   * above our HW, and whatever of our log it replaces is either in it or not committed.
   */
  private void startSnapshotFetch(FetchResponse p) {
    OffsetAndEpoch id = p.snapshotId();
    if (id.offset() <= highWatermark || id.epoch() < 0 || id.epoch() > p.epoch() || !p.entries().isEmpty()) {
      nextFetchMs = now + config.retryBackoffMs(); // malformed: ignore it, ask again later
      return;
    }
    snapshotFetch = new Ready.SnapshotFetch(p.from(), id);
    snapshotToAnnounce = snapshotFetch;
  }

  private void truncateOnDivergence(FetchResponse p) {
    int de = p.divergingEpoch();
    long deo = p.divergingEndOffset();
    if (de > epoch || deo < 0) return; // malformed
    RaftLog.EpochEnd own = log.endOffsetForEpoch(de);
    // Our snapshot (committed) would have to be wrong: a malformed answer.
    if (own == null) return;
    long to = Math.min(own.endOffset(), deo);
    // A well-formed divergence always removes something, and never a committed entry.
    if (to >= log.endOffset() || to < highWatermark || to < log.startOffset()) return;
    truncate(to);
  }

  private void appendFromLeader(FetchResponse p) {
    long expect = log.endOffset();
    int last = log.lastEpoch();
    for (LogEntry e : p.entries()) {
      if (e.offset() != expect || e.epoch() < last || e.epoch() > epoch) return; // malformed: change nothing
      expect++;
      last = e.epoch();
    }
    for (LogEntry e : p.entries()) appendEntry(e);
    // Our log now equals the leader's prefix up to its end, so its HW applies up to our end.
    advanceHighWatermark(Math.min(p.highWatermark(), log.endOffset()));
  }

  // ------------------------------------------------------------------------------------------------
  // Elections
  // ------------------------------------------------------------------------------------------------

  private void onVoteRequest(VoteRequest r) {
    if (r.candidateId() != r.from() || r.lastOffset() < 0 || r.lastEpoch() < 0 || r.epoch() < 0) {
      voteAnswer(r, RaftError.INVALID_REQUEST, false);
      return;
    }
    if (observer || !config.voters().contains(r.candidateId())) {
      // Observers never vote, and only voters may be elected. No state change either way.
      voteAnswer(r, RaftError.INCONSISTENT_VOTER_SET, false);
      return;
    }
    boolean logOk = r.lastEpoch() > log.lastEpoch()
        || (r.lastEpoch() == log.lastEpoch() && r.lastOffset() >= log.endOffset());
    if (r.preVote() ? r.epoch() <= epoch : r.epoch() < epoch) {
      // The candidate is behind (a pre-vote names the epoch it would campaign in): our epoch in the
      // answer brings it up to date.
      voteAnswer(r, RaftError.FENCED_LEADER_EPOCH, false);
      return;
    }
    if (r.preVote()) {
      boolean heardFromLeader = role == RaftRole.LEADER
          || (lastLeaderContactMs != NONE && now - lastLeaderContactMs < config.fetchTimeoutMs());
      voteAnswer(r, RaftError.NONE, logOk && !heardFromLeader);
      return;
    }
    if (r.epoch() > epoch) transitionToEpoch(r.epoch(), -1);
    boolean grant = logOk && epochLeader < 0 && (votedFor < 0 || votedFor == r.candidateId());
    if (grant) {
      // Persisted (Ready.state) before the answer below is sent.
      votedFor = r.candidateId();
      if (role == RaftRole.PROSPECTIVE) becomeUnattached(randomElectionTimeout());
      else electionDeadlineMs = now + randomElectionTimeout();
    }
    voteAnswer(r, RaftError.NONE, grant);
  }

  private void voteAnswer(VoteRequest r, RaftError error, boolean granted) {
    outbox.add(new VoteResponse(self, r.from(), epoch, leaderId(), error, granted, r.preVote()));
  }

  private void onVoteResponse(VoteResponse p) {
    if (observer) return;
    if (p.epoch() > epoch) {
      transitionToEpoch(p.epoch(), validLeaderHint(p.leaderId()));
      return;
    }
    if (role == RaftRole.PROSPECTIVE && p.preVote()) {
      // Voters answer a pre-vote with their own epoch, which may be lower than ours.
      if (p.granted()) {
        votesGranted.add(p.from());
        if (votesGranted.size() >= majority) becomeCandidate();
      } else {
        votesRejected.add(p.from());
        int hint = validLeaderHint(p.leaderId());
        // The epoch has a live leader we did not know of: follow it. If it is the leader we just timed
        // out on, the voter's knowledge is no fresher than ours; keep campaigning (and fetching).
        if (p.epoch() == epoch && hint >= 0 && epochLeader < 0) {
          epochLeader = hint;
          follow(hint);
        }
      }
    } else if (role == RaftRole.CANDIDATE && !p.preVote() && p.epoch() == epoch) {
      if (p.granted()) {
        votesGranted.add(p.from());
        if (votesGranted.size() >= majority) becomeLeader();
      } else {
        votesRejected.add(p.from());
        int hint = validLeaderHint(p.leaderId());
        if (hint >= 0) { // someone else won our epoch
          epochLeader = hint;
          follow(hint);
        }
      }
    }
  }

  private void becomeProspective() {
    if (observer) return;
    if (snapshotFetch != null) {
      // Never campaign while the shell may still replace our log with a snapshot (the callers in tick
      // re-arm their own timers; this only guards against a path that forgets).
      electionDeadlineMs = now + randomElectionTimeout();
      return;
    }
    role = RaftRole.PROSPECTIVE;
    votesGranted.clear();
    votesRejected.clear();
    votesGranted.add(self);
    electionDeadlineMs = now + randomElectionTimeout();
    sendVoteRequests(true);
    if (votesGranted.size() >= majority) becomeCandidate();
  }

  private void becomeCandidate() {
    epoch++;
    votedFor = self;
    epochLeader = -1;
    role = RaftRole.CANDIDATE;
    stopFetching();
    lastLeaderContactMs = NONE;
    votesGranted.clear();
    votesRejected.clear();
    votesGranted.add(self);
    electionDeadlineMs = now + randomElectionTimeout();
    sendVoteRequests(false);
    if (votesGranted.size() >= majority) becomeLeader();
  }

  private void sendVoteRequests(boolean preVote) {
    int reqEpoch = preVote ? epoch + 1 : epoch;
    for (int v : otherVoters) {
      if (votesGranted.contains(v) || votesRejected.contains(v)) continue;
      outbox.add(new VoteRequest(self, v, reqEpoch, self, log.lastEpoch(), log.endOffset(), preVote));
    }
    voteRetryMs = now + Math.max(1, config.requestTimeoutMs() / 2);
  }

  private void becomeLeader() {
    role = RaftRole.LEADER;
    epochLeader = self;
    stopFetching();
    votesGranted.clear();
    votesRejected.clear();
    replicas.clear();
    parked.clear();
    for (int v : otherVoters) replica(v);
    leaderSinceMs = now;
    epochStartOffset = log.endOffset();
    // The leader-change entry: the HW may only move once an entry of our own epoch is on a majority.
    appendEntry(new LogEntry(log.endOffset(), epoch, new byte[0]));
    for (int v : otherVoters) outbox.add(new BeginQuorumEpochRequest(self, v, epoch, self));
    beginRetryMs = now + Math.max(1, config.requestTimeoutMs() / 2);
    maybeAdvanceLeaderHighWatermark();
  }

  // ------------------------------------------------------------------------------------------------
  // BeginQuorumEpoch / EndQuorumEpoch
  // ------------------------------------------------------------------------------------------------

  private void onBeginQuorumEpoch(BeginQuorumEpochRequest r) {
    if (r.leaderId() != r.from()) {
      outbox.add(new BeginQuorumEpochResponse(self, r.from(), epoch, leaderId(), RaftError.INVALID_REQUEST));
      return;
    }
    if (!config.voters().contains(r.leaderId())) {
      outbox.add(new BeginQuorumEpochResponse(self, r.from(), epoch, leaderId(), RaftError.INCONSISTENT_VOTER_SET));
      return;
    }
    if (r.epoch() < epoch) {
      outbox.add(new BeginQuorumEpochResponse(self, r.from(), epoch, leaderId(), RaftError.FENCED_LEADER_EPOCH));
      return;
    }
    if (r.epoch() > epoch) {
      transitionToEpoch(r.epoch(), r.leaderId());
    } else if (role == RaftRole.LEADER || (epochLeader >= 0 && epochLeader != r.leaderId())) {
      // Two leaders in one epoch cannot happen; refuse rather than believe it.
      outbox.add(new BeginQuorumEpochResponse(self, r.from(), epoch, leaderId(), RaftError.INVALID_REQUEST));
      return;
    } else if (epochLeader == r.leaderId() && fetchLeader != r.leaderId()) {
      // A late duplicate from a leader that has since resigned (we stopped following it): ignore.
      outbox.add(new BeginQuorumEpochResponse(self, r.from(), epoch, leaderId(), RaftError.NONE));
      return;
    } else {
      epochLeader = r.leaderId();
      if (fetchLeader != r.leaderId() || role == RaftRole.PROSPECTIVE) follow(r.leaderId());
    }
    leaderContact();
    outbox.add(new BeginQuorumEpochResponse(self, r.from(), epoch, leaderId(), RaftError.NONE));
  }

  private void onEndQuorumEpoch(EndQuorumEpochRequest r) {
    if (r.leaderId() != r.from() || !config.voters().contains(r.leaderId())) {
      outbox.add(new EndQuorumEpochResponse(self, r.from(), epoch, leaderId(), RaftError.INVALID_REQUEST));
      return;
    }
    if (r.epoch() < epoch) {
      outbox.add(new EndQuorumEpochResponse(self, r.from(), epoch, leaderId(), RaftError.FENCED_LEADER_EPOCH));
      return;
    }
    if (r.epoch() > epoch) transitionToEpoch(r.epoch(), -1);
    if (role == RaftRole.LEADER || (epochLeader >= 0 && epochLeader != r.leaderId())) {
      outbox.add(new EndQuorumEpochResponse(self, r.from(), epoch, leaderId(), RaftError.INVALID_REQUEST));
      return;
    }
    epochLeader = r.leaderId(); // it did lead this epoch: never vote in it
    if (role == RaftRole.OBSERVER) {
      if (fetchLeader == r.leaderId()) stopFetching();
    } else if (role == RaftRole.FOLLOWER || role == RaftRole.UNATTACHED || role == RaftRole.PROSPECTIVE) {
      int pos = r.preferredSuccessors().indexOf(self);
      long delay = pos < 0
          ? randomElectionTimeout()
          : (long) pos * Math.max(1, config.electionJitterMs() / voterList.size())
              + random.nextInt(config.retryBackoffMs() + 1);
      long deadline = now + delay;
      if (role == RaftRole.UNATTACHED) deadline = Math.min(deadline, electionDeadlineMs);
      becomeUnattached(deadline - now);
    }
    outbox.add(new EndQuorumEpochResponse(self, r.from(), epoch, leaderId(), RaftError.NONE));
  }

  private void onAck(int ackEpoch, int ackLeader) {
    if (ackEpoch > epoch) transitionToEpoch(ackEpoch, validLeaderHint(ackLeader));
  }

  private void sendEndQuorumEpoch(List<Integer> successors) {
    for (int v : otherVoters) outbox.add(new EndQuorumEpochRequest(self, v, epoch, self, successors));
  }

  // ------------------------------------------------------------------------------------------------
  // Transitions and helpers
  // ------------------------------------------------------------------------------------------------

  /** Moves to a higher epoch: no vote cast yet, following {@code leaderHint} if it is ≥ 0. */
  private void transitionToEpoch(int newEpoch, int leaderHint) {
    List<Parked> held = role == RaftRole.LEADER ? new ArrayList<>(parked.values()) : List.of();
    epoch = newEpoch;
    votedFor = -1;
    epochLeader = leaderHint;
    lastLeaderContactMs = NONE;
    if (leaderHint >= 0) follow(leaderHint);
    else if (observer) {
      role = RaftRole.OBSERVER;
      stopFetching();
    } else {
      becomeUnattached(randomElectionTimeout());
    }
    // Fetchers we held as leader learn the new epoch from the error answer.
    for (Parked p : held) fetchError(p.request(), RaftError.FENCED_LEADER_EPOCH);
  }

  /** Follow (fetch from) {@code leader}, the leader of the current epoch. */
  private void follow(int leader) {
    clearLeaderAndCandidateState();
    role = observer ? RaftRole.OBSERVER : RaftRole.FOLLOWER;
    fetchLeader = leader;
    fetchInFlight = false;
    nextFetchMs = now;
    fetchDeadlineMs = now + config.fetchTimeoutMs();
  }

  /** A voter with no live leader in this epoch, campaigning after {@code timeoutMs}. */
  private void becomeUnattached(long timeoutMs) {
    clearLeaderAndCandidateState();
    role = RaftRole.UNATTACHED;
    stopFetching();
    lastLeaderContactMs = NONE;
    electionDeadlineMs = now + timeoutMs;
  }

  private void clearLeaderAndCandidateState() {
    replicas.clear();
    parked.clear();
    beginRetryMs = Long.MAX_VALUE;
    votesGranted.clear();
    votesRejected.clear();
    voteRetryMs = Long.MAX_VALUE;
  }

  private void stopFetching() {
    fetchLeader = -1;
    fetchInFlight = false;
    nextFetchMs = now;
  }

  /** We heard directly from the leader we follow. */
  private void leaderContact() {
    lastLeaderContactMs = now;
    fetchDeadlineMs = now + config.fetchTimeoutMs();
  }

  private int validLeaderHint(int id) {
    return id >= 0 && id != self && config.voters().contains(id) ? id : -1;
  }

  private void appendEntry(LogEntry e) {
    log.append(e);
    pendingAppends.add(e);
  }

  private void truncate(long to) {
    log.truncateTo(to);
    if (durableEnd > to) durableEnd = to;
    pendingAppends.removeIf(e -> e.offset() >= to);
    pendingTruncate = pendingTruncate < 0 ? to : Math.min(pendingTruncate, to);
  }

  private void advanceHighWatermark(long hw) {
    if (hw > highWatermark) {
      highWatermark = hw;
      hwChanged = true;
    }
  }

  private long randomElectionTimeout() {
    int jitter = config.electionJitterMs();
    return config.electionTimeoutMs() + (jitter > 0 ? random.nextInt(jitter) : 0);
  }

  private void advanceClock(long nowMs) {
    if (nowMs > now) now = nowMs;
  }

  /** Work common to every input: the leader's HW (durability may have changed), then fetching. */
  private void afterInput() {
    if (role == RaftRole.LEADER) maybeAdvanceLeaderHighWatermark();
    maybeSendFetch();
  }
}
