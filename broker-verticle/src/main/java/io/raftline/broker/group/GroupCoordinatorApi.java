package io.raftline.broker.group;

import io.raftline.protocol.Answers;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.group.ConsumerGroupHeartbeatRequest;
import io.raftline.protocol.group.ConsumerGroupHeartbeatResponse;
import io.raftline.protocol.group.DeleteGroupResult;
import io.raftline.protocol.group.DeleteGroupsRequest;
import io.raftline.protocol.group.DeleteGroupsResponse;
import io.raftline.protocol.group.DescribeGroupsRequest;
import io.raftline.protocol.group.DescribeGroupsResponse;
import io.raftline.protocol.group.FindCoordinatorRequest;
import io.raftline.protocol.group.FindCoordinatorResponse;
import io.raftline.protocol.group.GroupCoordinatorService;
import io.raftline.protocol.group.ListGroupsRequest;
import io.raftline.protocol.group.ListGroupsResponse;
import io.raftline.protocol.group.OffsetCommitRequest;
import io.raftline.protocol.group.OffsetCommitResponse;
import io.raftline.protocol.group.OffsetFetchRequest;
import io.raftline.protocol.group.OffsetFetchResponse;
import io.vertx.core.Context;
import io.vertx.core.Completable;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The {@code GroupCoordinator} gRPC service: the IO shell around the pure {@link GroupCoordinator}.
 * Everything runs on one Vert.x context (given at construction, normally the broker verticle's); RPCs
 * arriving elsewhere hop onto it, and nothing here blocks.
 *
 * <p>The broker registers it on its gRPC server with
 * {@code grpc.addService(GroupCoordinatorGrpcService.of(api))}, calls {@link #start()} once, tells it
 * about leadership of {@code __consumer_offsets} partitions with {@link #onLeadershipGained} and
 * {@link #onLeadershipLost}, and calls {@link #close()} when stopping. Offset commits, group
 * deletions and heartbeats that change a member are answered only once
 * {@link CoordinatorContext#append} has committed their records.
 */
public final class GroupCoordinatorApi extends GroupCoordinatorService {
  private static final System.Logger LOG = System.getLogger(GroupCoordinatorApi.class.getName());
  /** How often sessions and rebalance timeouts are checked. */
  public static final long TICK_INTERVAL_MS = 500;
  /** Pause before reading a partition again after a failed load. */
  public static final long LOAD_RETRY_MS = 1_000;

  private final Context context;
  private final Vertx vertx;
  private final CoordinatorContext broker;
  private final GroupCoordinator coordinator;
  private final LongSupplier clock;
  private long tickTimer = -1;
  private boolean closed;

  public GroupCoordinatorApi(Context context, CoordinatorContext broker, GroupCoordinator.Config config) {
    this(context, broker, config, System::currentTimeMillis);
  }

  /** @param clock the wall clock in ms (replaceable in tests) */
  public GroupCoordinatorApi(Context context, CoordinatorContext broker, GroupCoordinator.Config config,
      LongSupplier clock) {
    this.context = context;
    this.vertx = context.owner();
    this.broker = broker;
    this.clock = clock;
    this.coordinator = new GroupCoordinator(config, broker.offsetsPartitions(), broker::partitionCount);
  }

  /** Starts the timer that expires sessions. */
  public void start() {
    onContext(() -> {
      if (tickTimer < 0 && !closed) {
        tickTimer = vertx.setPeriodic(TICK_INTERVAL_MS, id -> tick());
      }
    });
  }

  /** Stops the timer; groups are kept until the broker goes. */
  public void close() {
    onContext(() -> {
      closed = true;
      if (tickTimer >= 0) {
        vertx.cancelTimer(tickTimer);
        tickTimer = -1;
      }
    });
  }

  /** The state machine; touch it only on this Api's context. */
  public GroupCoordinator coordinator() {
    return coordinator;
  }

  /**
   * This broker became leader of {@code __consumer_offsets} partition {@code partition}: load its groups
   * (their RPCs answer COORDINATOR_LOAD_IN_PROGRESS meanwhile). No-op if it is loaded or loading.
   */
  public void onLeadershipGained(int partition) {
    onLeadershipGained(partition, 0);
  }

  /** As {@link #onLeadershipGained(int)}, leading in {@code leaderEpoch} (member epochs start above older tenures'). */
  public void onLeadershipGained(int partition, int leaderEpoch) {
    onContext(() -> {
      if (coordinator.isLoaded(partition) || coordinator.isLoading(partition)) {
        return;
      }
      int generation = coordinator.beginLoad(partition, leaderEpoch);
      load(partition, generation);
    });
  }

  /** This broker no longer leads {@code partition}: its groups are dropped (their RPCs answer NOT_COORDINATOR). */
  public void onLeadershipLost(int partition) {
    onContext(() -> coordinator.unload(partition));
  }

  private void load(int partition, int generation) {
    Future<List<OffsetRecord>> read;
    try {
      read = broker.readAll(partition);
    } catch (RuntimeException e) {
      read = Future.failedFuture(e);
    }
    read.onComplete(ar -> onContext(() -> {
      if (!coordinator.isLoading(partition) || coordinator.generation(partition) != generation) {
        return; // leadership moved meanwhile
      }
      if (ar.succeeded()) {
        coordinator.completeLoad(partition, generation, ar.result(), clock.getAsLong());
        LOG.log(System.Logger.Level.INFO, "loaded " + ar.result().size() + " records of "
            + GroupCoordinator.OFFSETS_TOPIC + "-" + partition);
      } else {
        LOG.log(System.Logger.Level.WARNING, "could not load " + GroupCoordinator.OFFSETS_TOPIC + "-" + partition
            + ", retrying: " + ar.cause());
        vertx.setTimer(LOAD_RETRY_MS, id -> onContext(() -> {
          if (coordinator.isLoading(partition) && coordinator.generation(partition) == generation) {
            load(partition, generation);
          }
        }));
      }
    }));
  }

  /** Expires sessions now (the timer calls this). */
  public void tick() {
    onContext(() -> {
      for (GroupCoordinator.Write<List<String>> removal : coordinator.prepareTick(clock.getAsLong())) {
        execute(removal).onSuccess(removed ->
            LOG.log(System.Logger.Level.INFO, "removed expired group members " + removed));
      }
    });
  }

  @Override
  public Future<FindCoordinatorResponse> findCoordinator(FindCoordinatorRequest request) {
    return call(() -> {
      FindCoordinatorResponse.Builder r = FindCoordinatorResponse.newBuilder();
      if (request.getGroupId().isEmpty()) {
        return Future.succeededFuture(r.setError(ErrorCode.INVALID_REQUEST).setErrorMessage("the group id is empty")
            .setNodeId(-1).build());
      }
      int partition = coordinator.partitionFor(request.getGroupId());
      Optional<CoordinatorNode> node = broker.coordinatorOf(partition);
      if (node.isEmpty()) {
        return Future.succeededFuture(r.setError(ErrorCode.COORDINATOR_NOT_AVAILABLE).setNodeId(-1)
            .setErrorMessage(GroupCoordinator.OFFSETS_TOPIC + "-" + partition + " has no leader").build());
      }
      return Future.succeededFuture(r.setError(ErrorCode.NONE).setNodeId(node.get().nodeId())
          .setHost(node.get().host()).setPort(node.get().port()).build());
    });
  }

  @Override
  public Future<ConsumerGroupHeartbeatResponse> consumerGroupHeartbeat(ConsumerGroupHeartbeatRequest request) {
    return call(() -> execute(coordinator.prepareHeartbeat(request, clock.getAsLong())));
  }

  @Override
  public Future<OffsetCommitResponse> offsetCommit(OffsetCommitRequest request) {
    return call(() -> execute(coordinator.prepareCommit(request, clock.getAsLong())));
  }

  @Override
  public Future<OffsetFetchResponse> offsetFetch(OffsetFetchRequest request) {
    return call(() -> Future.succeededFuture(coordinator.fetchOffsets(request)));
  }

  @Override
  public Future<ListGroupsResponse> listGroups(ListGroupsRequest request) {
    return call(() -> Future.succeededFuture(coordinator.listGroups(request.getStatesFilterList())));
  }

  @Override
  public Future<DescribeGroupsResponse> describeGroups(DescribeGroupsRequest request) {
    return call(() -> {
      DescribeGroupsResponse.Builder r = DescribeGroupsResponse.newBuilder();
      request.getGroupIdsList().forEach(g -> r.addGroups(coordinator.describe(g)));
      return Future.succeededFuture(r.build());
    });
  }

  @Override
  public Future<DeleteGroupsResponse> deleteGroups(DeleteGroupsRequest request) {
    return call(() -> {
      List<Future<DeleteGroupResult>> results = new ArrayList<>();
      request.getGroupIdsList().forEach(g -> results.add(execute(coordinator.prepareDelete(g))));
      return Future.all(results).map(all -> DeleteGroupsResponse.newBuilder()
          .addAllResults(results.stream().map(Future::result).toList()).build());
    });
  }

  /** Appends a prepared write's records and answers once they are committed (or not). */
  private <R> Future<R> execute(GroupCoordinator.Write<R> write) {
    if (write.records().isEmpty()) {
      return Future.succeededFuture(write.committed());
    }
    Future<Void> appended;
    try {
      appended = broker.append(write.partition(), write.records());
    } catch (RuntimeException e) {
      appended = Future.failedFuture(e);
    }
    Promise<R> answer = Promise.promise();
    appended.onComplete(ar -> onContext(() -> {
      if (ar.succeeded()) {
        answer.complete(write.committed());
      } else {
        // Still leading: a retriable write failure (the client finds the coordinator again and retries).
        ErrorCode code = coordinator.isLoaded(write.partition()) ? ErrorCode.COORDINATOR_NOT_AVAILABLE
            : ErrorCode.NOT_COORDINATOR;
        answer.complete(write.failed(code, "could not write to " + GroupCoordinator.OFFSETS_TOPIC + "-"
            + write.partition() + ": " + ar.cause().getMessage()));
      }
    }));
    return answer.future();
  }

  private void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  private <T> Future<T> call(Supplier<Future<T>> action) {
    Promise<T> promise = Promise.promise();
    onContext(() -> {
      try {
        action.get().onComplete(promise);
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.ERROR, "group coordinator request failed", e);
        promise.fail(e);
      }
    });
    return promise.future();
  }

  // ---- transport boundary: answers to callers that gave up are dropped, not thrown at the completer --

  @Override
  protected void findCoordinator(FindCoordinatorRequest request, Completable<FindCoordinatorResponse> answer) {
    findCoordinator(request).onComplete(Answers.toCaller("FindCoordinator", answer));
  }

  @Override
  protected void consumerGroupHeartbeat(ConsumerGroupHeartbeatRequest request, Completable<ConsumerGroupHeartbeatResponse> answer) {
    consumerGroupHeartbeat(request).onComplete(Answers.toCaller("ConsumerGroupHeartbeat", answer));
  }

  @Override
  protected void offsetCommit(OffsetCommitRequest request, Completable<OffsetCommitResponse> answer) {
    offsetCommit(request).onComplete(Answers.toCaller("OffsetCommit", answer));
  }

  @Override
  protected void offsetFetch(OffsetFetchRequest request, Completable<OffsetFetchResponse> answer) {
    offsetFetch(request).onComplete(Answers.toCaller("OffsetFetch", answer));
  }

  @Override
  protected void listGroups(ListGroupsRequest request, Completable<ListGroupsResponse> answer) {
    listGroups(request).onComplete(Answers.toCaller("ListGroups", answer));
  }

  @Override
  protected void describeGroups(DescribeGroupsRequest request, Completable<DescribeGroupsResponse> answer) {
    describeGroups(request).onComplete(Answers.toCaller("DescribeGroups", answer));
  }

  @Override
  protected void deleteGroups(DeleteGroupsRequest request, Completable<DeleteGroupsResponse> answer) {
    deleteGroups(request).onComplete(Answers.toCaller("DeleteGroups", answer));
  }
}
