package io.raftline.client;

import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.group.CommittedOffset;
import io.raftline.protocol.group.ConsumerGroupHeartbeatRequest;
import io.raftline.protocol.group.ConsumerGroupHeartbeatResponse;
import io.raftline.protocol.group.OffsetCommitPartition;
import io.raftline.protocol.group.OffsetCommitPartitionResult;
import io.raftline.protocol.group.OffsetCommitRequest;
import io.raftline.protocol.group.OffsetCommitResponse;
import io.raftline.protocol.group.OffsetFetchRequest;
import io.raftline.protocol.group.TopicPartitions;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.streams.ReadStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A member of a consumer group, as a {@link ReadStream} of the records of the partitions the group's
 * coordinator assigns it (Kafka's consumer protocol of KIP-848: the assignment is computed by the
 * coordinator, not by a group leader).
 *
 * <p>Setting a handler joins the group: the consumer finds the coordinator (FindCoordinator against
 * the bootstrap brokers), then heartbeats at the interval the coordinator asks for, reporting the
 * partitions it owns. When the assignment grows, it reads each new partition from the group's
 * committed offset, or as {@code auto.offset.reset} says where none is committed, with the same
 * demand-driven fetching (and {@code max.poll.records} bound) as a {@link TopicSubscription}. When a
 * partition is taken away, it stops reading it, drops its buffered records, calls the revoked handler,
 * commits (with {@code enable.auto.commit}) and only then tells the coordinator it released it, so
 * the next owner starts where this one stopped.
 *
 * <p>The committed position of a partition is the offset after the last record handed to the
 * handler. {@code enable.auto.commit} (default true) commits every {@code auto.commit.interval.ms},
 * before releasing partitions and on {@link #close()}; {@link #commit()} commits at any time. Delivery
 * is at least once: a member that is fenced or loses its coordinator for longer than
 * {@code session.timeout.ms} drops its partitions without committing (the lost handler, or else the
 * revoked handler, is called), and their next owner reads again from the last commit.
 *
 * <p>{@link #close()} commits, releases every partition and leaves the group. All handlers run on the
 * client's context.
 */
public final class GroupConsumer implements ReadStream<ConsumerRecord> {
  private static final System.Logger LOG = System.getLogger(GroupConsumer.class.getName());
  /** Heartbeat interval until the coordinator says otherwise. */
  private static final int INITIAL_HEARTBEAT_INTERVAL_MS = 3_000;
  private static final int STALE_EPOCH_RETRIES = 3;

  private final RaftlineClient client;
  private final String groupId;
  private final List<String> topics;
  private final TopicSubscription records;
  private final boolean autoCommit;
  private final int autoCommitIntervalMs;
  private final int sessionTimeoutMs;
  private final int rebalanceTimeoutMs;
  private final int retryBackoffMs;
  private final String clientId;
  private final String serverAssignor;

  private Handler<Set<TopicPartition>> assignedHandler;
  private Handler<Set<TopicPartition>> revokedHandler;
  private Handler<Set<TopicPartition>> lostHandler;
  private Handler<Throwable> exceptionHandler;

  private String memberId = "";
  /** 0 while not a member (the next heartbeat joins). */
  private int memberEpoch;
  private int heartbeatIntervalMs = INITIAL_HEARTBEAT_INTERVAL_MS;
  private long lastHeartbeatOkMs;
  /** Partitions read now or still being released: what heartbeats report as owned. */
  private final Set<TopicPartition> owned = new HashSet<>();
  /** Positions of partitions being revoked, still to commit. */
  private final Map<TopicPartition, Long> revoking = new HashMap<>();
  /** The last offset committed (or found committed) per owned partition, to skip unchanged commits. */
  private final Map<TopicPartition, Long> committed = new HashMap<>();
  /** The latest assignment from the coordinator; null until one arrives, and after partitions are lost. */
  private Set<TopicPartition> target;
  /** Bumped when partitions are lost, so reconciliation in progress does not assign stale ones. */
  private int generation;
  private boolean started;
  private boolean reconciling;
  private boolean heartbeating;
  private boolean heartbeatAgain;
  private boolean leaving;
  private long heartbeatTimer = -1;
  private long commitTimer = -1;
  /** The last commit; commits run one after another so an older one never lands after a newer one. */
  private Future<Void> lastCommit = Future.succeededFuture();
  private final Promise<Void> closed = Promise.promise();

  GroupConsumer(RaftlineClient client, String groupId, Collection<String> topics) {
    this.client = client;
    this.groupId = groupId;
    this.topics = List.copyOf(new TreeSet<>(topics));
    ClientConfig c = client.config();
    this.records = TopicSubscription.ofAssignedPartitions(client, c.autoOffsetResetEarliest());
    this.autoCommit = c.enableAutoCommit();
    this.autoCommitIntervalMs = c.positiveInt("auto.commit.interval.ms");
    this.sessionTimeoutMs = c.positiveInt("session.timeout.ms");
    this.rebalanceTimeoutMs = c.positiveInt("max.poll.interval.ms");
    this.retryBackoffMs = Math.max(1, c.nonNegativeInt("retry.backoff.ms"));
    this.clientId = c.clientId();
    this.serverAssignor = c.groupRemoteAssignor();
  }

  public String groupId() {
    return groupId;
  }

  /** The subscribed topics, sorted. */
  public List<String> subscription() {
    return topics;
  }

  /** The partitions this member reads now. */
  public Future<Set<TopicPartition>> assignment() {
    return client.call(() -> {
      Set<TopicPartition> now = new TreeSet<>(owned);
      now.removeAll(revoking.keySet());
      return Future.succeededFuture(Set.copyOf(now));
    });
  }

  /**
   * Moves the next record of {@code partition}, which must be assigned to this member now, to
   * {@code offset} (buffered records of it are dropped); the next commit commits that position.
   */
  public Future<Void> seek(TopicPartition partition, long offset) {
    if (offset < 0) {
      return Future.failedFuture(new IllegalArgumentException("offset " + offset + " of " + partition
          + " is negative: use seekToBeginning or seekToEnd"));
    }
    return records.seek(partition, offset);
  }

  /** Moves each of {@code partitions} (assigned to this member) to its first offset now. */
  public Future<Void> seekToBeginning(Collection<TopicPartition> partitions) {
    return seekAll(partitions, -2);
  }

  /**
   * Moves each of {@code partitions} (assigned to this member) to its end as it is when the future
   * completes: only records appended after that follow.
   */
  public Future<Void> seekToEnd(Collection<TopicPartition> partitions) {
    return seekAll(partitions, -1);
  }

  /**
   * Moves each of {@code partitions} (assigned to this member) to its first record with a timestamp at
   * or after {@code timestamp}, or to its end if there is none.
   */
  public Future<Void> seekToTimestamp(Collection<TopicPartition> partitions, long timestamp) {
    return records.seekToTimestamp(partitions, timestamp);
  }

  /** Asks the leaders where the beginning (-2) or end (-1) is now, so the future completes with it fixed. */
  private Future<Void> seekAll(Collection<TopicPartition> partitions, long where) {
    return records.seekTo(partitions, where);
  }

  /**
   * Lag per assigned partition: its high watermark at the latest fetch minus the next offset to hand
   * to the handler (buffered records count as lag); partitions not fetched yet are missing.
   */
  public Future<Map<TopicPartition, Long>> lag() {
    return records.lag();
  }

  /** Records fetched and not yet handed to the handler (a gauge; see {@link TopicSubscription}). */
  public int bufferedRecords() {
    return records.bufferedRecords();
  }

  /** Key, value and header bytes of the records fetched and not yet handed to the handler (a gauge). */
  public long bufferedBytes() {
    return records.bufferedBytes();
  }

  /** The member id the coordinator knows this member by (empty before joining). */
  public Future<String> memberId() {
    return client.call(() -> Future.succeededFuture(memberId));
  }

  /** Called with partitions newly assigned to this member, before their records arrive. */
  public GroupConsumer partitionsAssignedHandler(Handler<Set<TopicPartition>> h) {
    client.onContext(() -> assignedHandler = h);
    return this;
  }

  /**
   * Called with partitions taken away, after their records stopped and before their position is
   * committed (with enable.auto.commit) and they are released; a {@link #commit()} made here is
   * waited for too.
   */
  public GroupConsumer partitionsRevokedHandler(Handler<Set<TopicPartition>> h) {
    client.onContext(() -> revokedHandler = h);
    return this;
  }

  /**
   * Called with partitions this member lost without committing (fenced, or its coordinator unreachable
   * for longer than session.timeout.ms); if unset, the revoked handler is called instead.
   */
  public GroupConsumer partitionsLostHandler(Handler<Set<TopicPartition>> h) {
    client.onContext(() -> lostHandler = h);
    return this;
  }

  @Override
  public GroupConsumer exceptionHandler(Handler<Throwable> h) {
    client.onContext(() -> exceptionHandler = h);
    records.exceptionHandler(h);
    return this;
  }

  /** Sets the record handler; the first non-null handler joins the group. */
  @Override
  public GroupConsumer handler(Handler<ConsumerRecord> h) {
    records.handler(h);
    client.onContext(() -> {
      if (h != null && !started && !leaving) {
        start();
      }
    });
    return this;
  }

  @Override
  public GroupConsumer pause() {
    records.pause();
    return this;
  }

  @Override
  public GroupConsumer resume() {
    records.resume();
    return this;
  }

  @Override
  public GroupConsumer fetch(long amount) {
    records.fetch(amount);
    return this;
  }

  /** Called once {@link #close()} has left the group. */
  @Override
  public GroupConsumer endHandler(Handler<Void> h) {
    records.endHandler(h);
    return this;
  }

  /**
   * Commits the position of every partition this member reads (the offset after the last record
   * handed to the handler), where it changed since the last commit.
   */
  public Future<Void> commit() {
    return client.call(() -> {
      Map<TopicPartition, Long> positions = records.consumedPositions();
      positions.putAll(revoking);
      return commitPositions(positions);
    });
  }

  /** Commits the given offsets (the next offset to read of each partition). */
  public Future<Void> commit(Map<TopicPartition, Long> offsets) {
    Map<TopicPartition, Long> copy = Map.copyOf(offsets);
    return client.call(() -> commitPositions(copy));
  }

  /**
   * Commits (with enable.auto.commit), releases every partition, leaves the group and ends the stream.
   * Completes when done; failures on the way are reported to the exception handler, not here.
   */
  public Future<Void> close() {
    return client.call(() -> {
      if (leaving) {
        return closed.future();
      }
      leaving = true;
      cancelTimers();
      Future<Void> released;
      if (memberEpoch > 0 && !owned.isEmpty()) {
        released = revoke(new HashSet<>(owned));
      } else {
        released = lastCommit.transform(ar -> Future.<Void>succeededFuture());
      }
      released.transform(ar -> leaveGroup()).onComplete(ar -> {
        records.close();
        closed.tryComplete();
      });
      return closed.future();
    });
  }

  // ---- membership --------------------------------------------------------------------------------

  private void start() {
    started = true;
    lastHeartbeatOkMs = System.currentTimeMillis();
    heartbeatNow();
    if (autoCommit) {
      commitTimer = client.vertx().setPeriodic(autoCommitIntervalMs, id -> {
        if (memberEpoch > 0 && !leaving) {
          commit().onFailure(t -> LOG.log(System.Logger.Level.DEBUG, "auto-commit of group " + groupId + " failed: " + t));
        }
      });
    }
  }

  private void cancelTimers() {
    if (heartbeatTimer >= 0) {
      client.vertx().cancelTimer(heartbeatTimer);
      heartbeatTimer = -1;
    }
    if (commitTimer >= 0) {
      client.vertx().cancelTimer(commitTimer);
      commitTimer = -1;
    }
  }

  private void scheduleHeartbeat(long delayMs) {
    if (leaving) {
      return;
    }
    if (heartbeatTimer >= 0) {
      client.vertx().cancelTimer(heartbeatTimer);
    }
    heartbeatTimer = client.vertx().setTimer(Math.max(1, delayMs), id -> {
      heartbeatTimer = -1;
      heartbeatNow();
    });
  }

  private void heartbeatNow() {
    if (leaving) {
      return;
    }
    if (heartbeating) {
      heartbeatAgain = true;
      return;
    }
    if (heartbeatTimer >= 0) {
      client.vertx().cancelTimer(heartbeatTimer);
      heartbeatTimer = -1;
    }
    heartbeating = true;
    ConsumerGroupHeartbeatRequest request = ConsumerGroupHeartbeatRequest.newBuilder().setGroupId(groupId)
        .setMemberId(memberId).setMemberEpoch(memberEpoch).setRebalanceTimeoutMs(rebalanceTimeoutMs)
        .setSessionTimeoutMs(sessionTimeoutMs).setClientId(clientId).setServerAssignor(serverAssignor)
        .addAllSubscribedTopicNames(topics)
        .addAllOwnedPartitions(toTopicPartitions(owned)).build();
    client.coordinator(groupId).compose(c -> client.groupCoordinator(c).consumerGroupHeartbeat(request))
        .onComplete(ar -> {
          heartbeating = false;
          onHeartbeat(ar);
          if (heartbeatAgain && !leaving) {
            heartbeatAgain = false;
            heartbeatNow();
          }
        });
  }

  private void onHeartbeat(AsyncResult<ConsumerGroupHeartbeatResponse> ar) {
    if (leaving) {
      return;
    }
    if (ar.failed()) {
      client.forgetCoordinator(groupId);
      coordinatorTrouble(ar.cause().toString());
      return;
    }
    ConsumerGroupHeartbeatResponse r = ar.result();
    switch (r.getError()) {
      case NONE -> {
        lastHeartbeatOkMs = System.currentTimeMillis();
        memberId = r.getMemberId();
        memberEpoch = r.getMemberEpoch();
        if (r.getHeartbeatIntervalMs() > 0) {
          heartbeatIntervalMs = r.getHeartbeatIntervalMs();
        }
        target = toSet(r.getAssignmentList());
        reconcile();
        scheduleHeartbeat(heartbeatIntervalMs);
      }
      case NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE -> {
        client.forgetCoordinator(groupId);
        coordinatorTrouble(r.getError() + ": " + r.getErrorMessage());
      }
      case COORDINATOR_LOAD_IN_PROGRESS -> coordinatorTrouble(r.getError() + ": " + r.getErrorMessage());
      case UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH -> {
        LOG.log(System.Logger.Level.INFO, "member " + memberId + " of group " + groupId + " must rejoin: "
            + r.getError() + " " + r.getErrorMessage());
        losePartitions();
        memberEpoch = 0;
        scheduleHeartbeat(0);
      }
      case UNSUPPORTED_ASSIGNOR ->
          // Retrying cannot help: the coordinator does not have the assignor group.remote.assignor names.
          failed(new RaftlineException(r.getError(), "group " + groupId + " (group.remote.assignor=" + serverAssignor
              + "): " + r.getErrorMessage()));
      default -> {
        failed(new RaftlineException(r.getError(), "heartbeat of group " + groupId + ": " + r.getErrorMessage()));
        scheduleHeartbeat(retryBackoffMs);
      }
    }
  }

  /** The coordinator could not be reached or is not ready: retry; past the session, give up the partitions. */
  private void coordinatorTrouble(String why) {
    LOG.log(System.Logger.Level.DEBUG, "heartbeat of group " + groupId + " failed: " + why);
    if (memberEpoch > 0 && System.currentTimeMillis() - lastHeartbeatOkMs > sessionTimeoutMs) {
      LOG.log(System.Logger.Level.WARNING, "no heartbeat of group " + groupId + " answered for " + sessionTimeoutMs
          + " ms: giving up its partitions and rejoining");
      losePartitions();
      memberEpoch = 0;
    }
    scheduleHeartbeat(retryBackoffMs);
  }

  /** Drops every partition without committing (this member's ownership is no longer valid). */
  private void losePartitions() {
    generation++;
    target = null;
    Set<TopicPartition> lost = new TreeSet<>(owned);
    records.unassign(lost);
    owned.clear();
    revoking.clear();
    committed.clear();
    if (!lost.isEmpty()) {
      callHandler(lostHandler != null ? lostHandler : revokedHandler, lost);
    }
  }

  /** Moves towards the coordinator's latest assignment: release what is gone, then read what is new. */
  private void reconcile() {
    if (reconciling || target == null || leaving) {
      return;
    }
    Set<TopicPartition> revoke = new TreeSet<>(owned);
    revoke.removeAll(target);
    Set<TopicPartition> add = new TreeSet<>(target);
    add.removeAll(owned);
    if (revoke.isEmpty() && add.isEmpty()) {
      return;
    }
    reconciling = true;
    int gen = generation;
    Future<Void> released = revoke.isEmpty() ? Future.succeededFuture() : revoke(revoke);
    released.compose(v -> add.isEmpty() || gen != generation || leaving ? Future.<Void>succeededFuture() : assign(add, gen))
        .onComplete(ar -> {
          reconciling = false;
          if (leaving) {
            return;
          }
          if (ar.failed()) {
            LOG.log(System.Logger.Level.DEBUG, "group " + groupId + ": could not take " + add + ": " + ar.cause());
            client.vertx().setTimer(retryBackoffMs, id -> reconcile());
          } else if (!revoke.isEmpty()) {
            heartbeatNow(); // tell the coordinator at once, so the partitions move on
          } else {
            reconcile();
          }
        });
  }

  /** Stops reading {@code partitions}, commits their positions (with auto-commit), then releases them. */
  private Future<Void> revoke(Set<TopicPartition> partitions) {
    Map<TopicPartition, Long> positions = records.unassign(partitions);
    revoking.putAll(positions);
    callHandler(revokedHandler, partitions);
    if (autoCommit) {
      commitPositions(positions);
    }
    return lastCommit.transform(ar -> {
      if (ar.failed()) {
        failed(ar.cause());
      }
      owned.removeAll(partitions);
      partitions.forEach(tp -> {
        revoking.remove(tp);
        committed.remove(tp);
      });
      return Future.succeededFuture();
    });
  }

  /** Starts reading {@code partitions} from the group's committed offsets. */
  private Future<Void> assign(Set<TopicPartition> partitions, int gen) {
    OffsetFetchRequest request = OffsetFetchRequest.newBuilder().setGroupId(groupId)
        .addAllPartitions(toTopicPartitions(partitions)).build();
    return client.withCoordinator(groupId, c -> c.offsetFetch(request), r -> r.getError()).compose(r -> {
      if (r.getError() != ErrorCode.NONE) {
        return Future.failedFuture(new RaftlineException(r.getError(), r.getErrorMessage()));
      }
      if (gen != generation || leaving) {
        return Future.succeededFuture();
      }
      Map<TopicPartition, Long> starts = new TreeMap<>();
      partitions.forEach(tp -> starts.put(tp, -1L));
      for (CommittedOffset o : r.getOffsetsList()) {
        TopicPartition tp = new TopicPartition(o.getTopic(), o.getPartition());
        if (starts.containsKey(tp)) {
          starts.put(tp, o.getOffset());
          if (o.getOffset() >= 0) {
            committed.put(tp, o.getOffset());
          }
        }
      }
      owned.addAll(partitions);
      callHandler(assignedHandler, Set.copyOf(partitions));
      records.assign(starts);
      return Future.succeededFuture();
    });
  }

  private Future<Void> leaveGroup() {
    if (memberEpoch <= 0) {
      return Future.succeededFuture();
    }
    ConsumerGroupHeartbeatRequest request = ConsumerGroupHeartbeatRequest.newBuilder().setGroupId(groupId)
        .setMemberId(memberId).setMemberEpoch(-1).build();
    memberEpoch = -1;
    return client.coordinator(groupId).compose(c -> client.groupCoordinator(c).consumerGroupHeartbeat(request))
        .transform(ar -> {
          if (ar.failed()) {
            LOG.log(System.Logger.Level.DEBUG, "leaving group " + groupId + " failed: " + ar.cause());
          }
          return Future.succeededFuture();
        });
  }

  // ---- commits -----------------------------------------------------------------------------------

  private Future<Void> commitPositions(Map<TopicPartition, Long> offsets) {
    // The generation the positions belong to, taken now: a commit queued behind one caught in a
    // coordinator failover must not go out under the epoch the member rejoined with, where it would
    // land after (and undo) what the member committed since.
    int madeIn = generation;
    Future<Void> next = lastCommit.transform(ar -> commitNow(offsets, madeIn));
    lastCommit = next;
    return next;
  }

  private Future<Void> commitNow(Map<TopicPartition, Long> offsets, int madeIn) {
    Map<TopicPartition, Long> changed = new TreeMap<>();
    offsets.forEach((tp, offset) -> {
      if (offset >= 0 && !Objects.equals(committed.get(tp), offset)) {
        changed.put(tp, offset);
      }
    });
    if (changed.isEmpty()) {
      return Future.succeededFuture();
    }
    return sendCommit(changed, STALE_EPOCH_RETRIES, madeIn);
  }

  /**
   * @param generation the member's {@link #generation} when the commit was made: a retry is sent only
   *     while it holds and only for partitions the member still owns or is revoking
   */
  private Future<Void> sendCommit(Map<TopicPartition, Long> offsets, int staleRetries, int generation) {
    if (this.generation != generation) {
      return Future.failedFuture(new RaftlineException(ErrorCode.STALE_MEMBER_EPOCH, "commit for group " + groupId
          + " dropped: this member lost its partitions since it was made"));
    }
    if (memberEpoch <= 0) {
      return Future.failedFuture(new RaftlineException(ErrorCode.UNKNOWN_MEMBER_ID,
          "not a member of group " + groupId + " (yet): nothing can be committed"));
    }
    OffsetCommitRequest.Builder request = OffsetCommitRequest.newBuilder().setGroupId(groupId).setMemberId(memberId)
        .setMemberEpoch(memberEpoch);
    offsets.forEach((tp, offset) -> request.addPartitions(OffsetCommitPartition.newBuilder().setTopic(tp.topic())
        .setPartition(tp.partition()).setOffset(offset)));
    return client.withCoordinator(groupId, c -> c.offsetCommit(request.build()), GroupConsumer::coordinatorError)
        .compose(r -> {
          Map<TopicPartition, Long> stale = new TreeMap<>();
          OffsetCommitPartitionResult firstError = null;
          for (OffsetCommitPartitionResult pr : r.getResultsList()) {
            TopicPartition tp = new TopicPartition(pr.getTopic(), pr.getPartition());
            if (pr.getError() == ErrorCode.NONE) {
              committed.put(tp, offsets.get(tp));
            } else if (pr.getError() == ErrorCode.STALE_MEMBER_EPOCH && offsets.containsKey(tp)) {
              stale.put(tp, offsets.get(tp));
            } else if (firstError == null) {
              firstError = pr;
            }
          }
          if (firstError != null) {
            return Future.failedFuture(new RaftlineException(firstError.getError(), "commit of " + firstError.getTopic()
                + "-" + firstError.getPartition() + " for group " + groupId + ": " + firstError.getErrorMessage()));
          }
          if (stale.isEmpty()) {
            return Future.succeededFuture();
          }
          // Re-sent under the member's newer epoch only where it still holds the partition: a commit
          // made before its partitions were lost (a coordinator failover, a fencing) or moved to another
          // member would otherwise land after the new owner's and move the committed offset back.
          stale.keySet().removeIf(tp -> this.generation != generation
              || !(owned.contains(tp) || revoking.containsKey(tp)));
          if (stale.isEmpty()) {
            return Future.failedFuture(new RaftlineException(ErrorCode.STALE_MEMBER_EPOCH, "commit for group "
                + groupId + " not retried: this member no longer owns the partitions it named"));
          }
          if (staleRetries == 0) {
            return Future.failedFuture(new RaftlineException(ErrorCode.STALE_MEMBER_EPOCH,
                "commit for group " + groupId + " kept meeting a newer member epoch"));
          }
          // The coordinator moved this member to a newer epoch whose heartbeat answer is on its way.
          Promise<Void> retried = Promise.promise();
          client.vertx().setTimer(retryBackoffMs, id -> sendCommit(stale, staleRetries - 1, generation)
              .onComplete(retried));
          return retried.future();
        });
  }

  static ErrorCode coordinatorError(OffsetCommitResponse r) {
    for (OffsetCommitPartitionResult pr : r.getResultsList()) {
      if (RaftlineClient.isCoordinatorError(pr.getError())) {
        return pr.getError();
      }
    }
    return ErrorCode.NONE;
  }

  // ---- helpers -----------------------------------------------------------------------------------

  private void callHandler(Handler<Set<TopicPartition>> h, Set<TopicPartition> partitions) {
    if (h == null) {
      return;
    }
    try {
      h.handle(Set.copyOf(partitions));
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  private void failed(Throwable t) {
    if (exceptionHandler != null) {
      exceptionHandler.handle(t);
    } else {
      LOG.log(System.Logger.Level.WARNING, "group " + groupId + ": " + t);
    }
  }

  static Set<TopicPartition> toSet(List<TopicPartitions> list) {
    Set<TopicPartition> out = new HashSet<>();
    for (TopicPartitions tps : list) {
      for (int p : tps.getPartitionsList()) {
        out.add(new TopicPartition(tps.getTopic(), p));
      }
    }
    return out;
  }

  static List<TopicPartitions> toTopicPartitions(Collection<TopicPartition> partitions) {
    Map<String, TreeSet<Integer>> byTopic = new TreeMap<>();
    partitions.forEach(tp -> byTopic.computeIfAbsent(tp.topic(), t -> new TreeSet<>()).add(tp.partition()));
    List<TopicPartitions> out = new ArrayList<>();
    byTopic.forEach((t, ps) -> out.add(TopicPartitions.newBuilder().setTopic(t).addAllPartitions(ps).build()));
    return out;
  }
}
