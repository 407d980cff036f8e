package io.raftline.broker.group;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.group.ConsumerGroupHeartbeatRequest;
import io.raftline.protocol.group.ConsumerGroupHeartbeatResponse;
import io.raftline.protocol.group.DeleteGroupsRequest;
import io.raftline.protocol.group.DescribeGroupsRequest;
import io.raftline.protocol.group.FindCoordinatorRequest;
import io.raftline.protocol.group.FindCoordinatorResponse;
import io.raftline.protocol.group.GroupCoordinatorClient;
import io.raftline.protocol.group.GroupCoordinatorGrpcClient;
import io.raftline.protocol.group.GroupCoordinatorGrpcService;
import io.raftline.protocol.group.ListGroupsRequest;
import io.raftline.protocol.group.OffsetCommitPartition;
import io.raftline.protocol.group.OffsetCommitRequest;
import io.raftline.protocol.group.OffsetCommitResponse;
import io.raftline.protocol.group.OffsetFetchRequest;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.server.GrpcServer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The gRPC service over a real gRPC server on loopback, with an in-memory {@link CoordinatorContext}
 * whose appends and loads the test completes (or fails) by hand.
 */
class GroupCoordinatorApiTest {
  private static final long TIMEOUT_MS = 10_000;
  private static final int PARTITIONS = 3;
  private static final String G = "orders-app";
  private static final GroupCoordinator.Config CONFIG = new GroupCoordinator.Config(10_000, 1_000, 60_000, 2_000,
      20_000, 4096);

  /** The broker seam in memory: committed records per partition; appends and reads wait for the test. */
  private static final class MemoryContext implements CoordinatorContext {
    final Map<Integer, List<OffsetRecord>> log = new ConcurrentHashMap<>();
    final List<Promise<Void>> heldAppends = new ArrayList<>();
    final List<Promise<List<OffsetRecord>>> heldReads = new ArrayList<>();
    volatile boolean holdAppends;
    volatile boolean holdReads;
    volatile boolean failAppends;
    volatile Optional<CoordinatorNode> leader = Optional.empty();

    @Override
    public synchronized Future<Void> append(int partition, List<OffsetRecord> records) {
      if (failAppends) {
        return Future.failedFuture("NOT_ENOUGH_REPLICAS: the ISR is too small");
      }
      Promise<Void> p = Promise.promise();
      Runnable commit = () -> log.computeIfAbsent(partition, x -> new ArrayList<>()).addAll(records);
      if (holdAppends) {
        heldAppends.add(p);
        return p.future().onSuccess(v -> commit.run());
      }
      commit.run();
      p.complete();
      return p.future();
    }

    @Override
    public synchronized Future<List<OffsetRecord>> readAll(int partition) {
      List<OffsetRecord> copy = new ArrayList<>(log.getOrDefault(partition, List.of()));
      if (holdReads) {
        Promise<List<OffsetRecord>> p = Promise.promise();
        heldReads.add(p);
        return p.future().map(x -> copy);
      }
      return Future.succeededFuture(copy);
    }

    synchronized int held() {
      return heldAppends.size() + heldReads.size();
    }

    synchronized void releaseAll() {
      holdAppends = false;
      holdReads = false;
      heldAppends.forEach(Promise::complete);
      heldReads.forEach(p -> p.complete(null));
      heldAppends.clear();
      heldReads.clear();
    }

    @Override
    public int offsetsPartitions() {
      return PARTITIONS;
    }

    @Override
    public Optional<CoordinatorNode> coordinatorOf(int partition) {
      return leader;
    }

    @Override
    public int localNodeId() {
      return 1;
    }

    @Override
    public int partitionCount(String topic) {
      return topic.equals("orders") ? 4 : -1;
    }
  }

  private Vertx vertx;
  private Context context;
  private final MemoryContext broker = new MemoryContext();
  private final AtomicLong clock = new AtomicLong(1_000_000);
  private GroupCoordinatorApi api;
  private HttpServer server;
  private GrpcClient grpc;
  private GroupCoordinatorClient client;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
    api = new GroupCoordinatorApi(context, broker, CONFIG, clock::get);
    GrpcServer grpcServer = GrpcServer.server(vertx);
    grpcServer.addService(GroupCoordinatorGrpcService.of(api));
    server = await(vertx.createHttpServer().requestHandler(grpcServer).listen(0, "127.0.0.1"));
    api.start();
    grpc = GrpcClient.client(vertx);
    client = GroupCoordinatorGrpcClient.create(grpc, SocketAddress.inetSocketAddress(server.actualPort(), "127.0.0.1"));
  }

  @AfterEach
  void stop() throws Exception {
    api.close();
    await(grpc.close());
    await(server.close());
    await(vertx.close());
  }

  private static <T> T await(Future<T> f) throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    f.onComplete(ar -> done.countDown());
    assertTrue(done.await(TIMEOUT_MS, TimeUnit.MILLISECONDS), "no outcome within " + TIMEOUT_MS + " ms");
    if (f.failed()) {
      throw new AssertionError("future failed: " + f.cause(), f.cause());
    }
    return f.result();
  }

  private static void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
      Thread.sleep(5);
    }
  }

  private void leadAll() throws Exception {
    for (int p = 0; p < PARTITIONS; p++) {
      api.onLeadershipGained(p);
    }
    int partition = GroupCoordinator.partitionFor(G, PARTITIONS);
    waitFor("partition loaded", () -> onContext(() -> api.coordinator().isLoaded(partition)));
  }

  private <T> T onContext(java.util.function.Supplier<T> s) {
    Promise<T> p = Promise.promise();
    context.runOnContext(v -> p.complete(s.get()));
    try {
      return await(p.future());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private ConsumerGroupHeartbeatResponse join() throws Exception {
    return await(client.consumerGroupHeartbeat(ConsumerGroupHeartbeatRequest.newBuilder().setGroupId(G)
        .setMemberEpoch(0).addSubscribedTopicNames("orders").build()));
  }

  private static OffsetCommitRequest commitRequest(String memberId, int epoch, long offset) {
    return OffsetCommitRequest.newBuilder().setGroupId(G).setMemberId(memberId).setMemberEpoch(epoch)
        .addPartitions(OffsetCommitPartition.newBuilder().setTopic("orders").setPartition(2).setOffset(offset)).build();
  }

  private long committed() throws Exception {
    return await(client.offsetFetch(OffsetFetchRequest.newBuilder().setGroupId(G).build())).getOffsetsList().stream()
        .filter(o -> o.getPartition() == 2).mapToLong(o -> o.getOffset()).findFirst().orElse(-1);
  }

  @Test
  void findCoordinatorAnswersFromTheSeam() throws Exception {
    FindCoordinatorResponse r = await(client.findCoordinator(FindCoordinatorRequest.newBuilder().setGroupId(G).build()));
    assertEquals(ErrorCode.COORDINATOR_NOT_AVAILABLE, r.getError());
    broker.leader = Optional.of(new CoordinatorNode(3, "10.0.0.3", 9092));
    r = await(client.findCoordinator(FindCoordinatorRequest.newBuilder().setGroupId(G).build()));
    assertEquals(ErrorCode.NONE, r.getError());
    assertEquals(3, r.getNodeId());
    assertEquals("10.0.0.3", r.getHost());
    assertEquals(9092, r.getPort());
    assertEquals(ErrorCode.INVALID_REQUEST,
        await(client.findCoordinator(FindCoordinatorRequest.newBuilder().build())).getError());
  }

  @Test
  void groupsAnswerLoadInProgressUntilTheirPartitionIsLoaded() throws Exception {
    assertEquals(ErrorCode.NOT_COORDINATOR, join().getError());
    broker.holdReads = true;
    for (int p = 0; p < PARTITIONS; p++) {
      api.onLeadershipGained(p);
    }
    waitFor("loads started", () -> broker.held() == PARTITIONS);
    assertEquals(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, join().getError());
    broker.releaseAll();
    waitFor("loaded", () -> {
      try {
        return join().getError() == ErrorCode.NONE;
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
  }

  @Test
  void aCommitIsAnsweredOnlyOnceItsRecordsAreCommitted() throws Exception {
    leadAll();
    ConsumerGroupHeartbeatResponse joined = join();
    assertEquals(ErrorCode.NONE, joined.getError());
    assertEquals(4, joined.getAssignment(0).getPartitionsCount());
    broker.holdAppends = true;
    Future<OffsetCommitResponse> pending = client.offsetCommit(commitRequest(joined.getMemberId(), joined.getMemberEpoch(), 17));
    waitFor("the append", () -> broker.held() == 1);
    assertFalse(pending.isComplete());
    assertEquals(-1, committed(), "not visible before it is committed");
    broker.releaseAll();
    assertEquals(ErrorCode.NONE, await(pending).getResults(0).getError());
    assertEquals(17, committed());
    int partition = GroupCoordinator.partitionFor(G, PARTITIONS);
    List<OffsetRecord> written = broker.log.get(partition);
    assertEquals(2, written.size(), "the member's record, then the commit");
    assertEquals(OffsetRecords.offsetCommit(G, "orders", 2, 17, "", clock.get()), written.get(1));

    broker.failAppends = true;
    OffsetCommitResponse failed = await(client.offsetCommit(commitRequest(joined.getMemberId(), joined.getMemberEpoch(), 18)));
    assertEquals(ErrorCode.COORDINATOR_NOT_AVAILABLE, failed.getResults(0).getError());
    assertTrue(failed.getResults(0).getErrorMessage().contains("NOT_ENOUGH_REPLICAS"));
    assertEquals(17, committed());
  }

  @Test
  void aHeartbeatThatChangesTheMemberIsAnsweredOnlyOnceItsRecordIsCommitted() throws Exception {
    leadAll();
    broker.holdAppends = true;
    Future<ConsumerGroupHeartbeatResponse> pending = client.consumerGroupHeartbeat(ConsumerGroupHeartbeatRequest
        .newBuilder().setGroupId(G).setMemberEpoch(0).addSubscribedTopicNames("orders").build());
    waitFor("the member's record appended", () -> broker.held() == 1);
    assertFalse(pending.isComplete(), "the assignment is not handed out before the log holds it");
    broker.releaseAll();
    ConsumerGroupHeartbeatResponse joined = await(pending);
    assertEquals(ErrorCode.NONE, joined.getError());
    int partition = GroupCoordinator.partitionFor(G, PARTITIONS);
    assertEquals(1, broker.log.get(partition).size());

    // Nothing changed: answered at once, nothing written.
    ConsumerGroupHeartbeatRequest again = ConsumerGroupHeartbeatRequest.newBuilder().setGroupId(G)
        .setMemberId(joined.getMemberId()).setMemberEpoch(joined.getMemberEpoch()).addSubscribedTopicNames("orders")
        .addAllOwnedPartitions(joined.getAssignmentList()).build();
    assertEquals(ErrorCode.NONE, await(client.consumerGroupHeartbeat(again)).getError());
    assertEquals(1, broker.log.get(partition).size());

    // A join whose record cannot be written is refused and undone: no member keeps partitions it was
    // never told about.
    broker.failAppends = true;
    ConsumerGroupHeartbeatResponse refused = join();
    assertEquals(ErrorCode.COORDINATOR_NOT_AVAILABLE, refused.getError());
    broker.failAppends = false;
    assertEquals(1, await(client.describeGroups(DescribeGroupsRequest.newBuilder().addGroupIds(G).build()))
        .getGroups(0).getMembersCount());
  }

  @Test
  void aNewLeaderReloadsOffsetsAndMembers() throws Exception {
    leadAll();
    ConsumerGroupHeartbeatResponse joined = join();
    await(client.offsetCommit(commitRequest(joined.getMemberId(), joined.getMemberEpoch(), 5)));
    int partition = GroupCoordinator.partitionFor(G, PARTITIONS);
    api.onLeadershipLost(partition);
    assertEquals(ErrorCode.NOT_COORDINATOR, await(client.offsetFetch(OffsetFetchRequest.newBuilder().setGroupId(G)
        .build())).getError());
    api.onLeadershipGained(partition);
    waitFor("reloaded", () -> onContext(() -> api.coordinator().isLoaded(partition)));
    assertEquals(5, committed());
    ConsumerGroupHeartbeatResponse r = await(client.consumerGroupHeartbeat(ConsumerGroupHeartbeatRequest.newBuilder()
        .setGroupId(G).setMemberId(joined.getMemberId()).setMemberEpoch(joined.getMemberEpoch())
        .addSubscribedTopicNames("orders").addAllOwnedPartitions(joined.getAssignmentList()).build()));
    assertEquals(ErrorCode.NONE, r.getError(), "the member goes on under the new leader without rejoining");
    assertEquals(joined.getMemberId(), r.getMemberId());
    assertEquals(joined.getAssignmentList(), r.getAssignmentList(), "and keeps its partitions");
    assertTrue(r.getMemberEpoch() > joined.getMemberEpoch(), "at the new target's epoch");
    assertEquals(ErrorCode.NONE, await(client.offsetCommit(commitRequest(joined.getMemberId(), r.getMemberEpoch(), 6)))
        .getResults(0).getError(), "its commits count");
  }

  @Test
  void sessionsExpireOnTheClock() throws Exception {
    leadAll();
    join();
    assertEquals("STABLE", await(client.listGroups(ListGroupsRequest.getDefaultInstance())).getGroups(0).getState());
    clock.addAndGet(10_000);
    api.tick();
    waitFor("the member removed", () -> {
      try {
        return await(client.listGroups(ListGroupsRequest.getDefaultInstance())).getGroupsCount() == 0;
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
  }

  @Test
  void adminResetDescribeAndDelete() throws Exception {
    leadAll();
    assertEquals(ErrorCode.NONE, await(client.offsetCommit(commitRequest("", -1, 3))).getResults(0).getError());
    ConsumerGroupHeartbeatResponse joined = join();
    assertEquals(ErrorCode.NON_EMPTY_GROUP, await(client.offsetCommit(commitRequest("", -1, 0))).getResults(0).getError());
    assertEquals(ErrorCode.NON_EMPTY_GROUP, await(client.deleteGroups(DeleteGroupsRequest.newBuilder().addGroupIds(G)
        .build())).getResults(0).getError());
    var described = await(client.describeGroups(DescribeGroupsRequest.newBuilder().addGroupIds(G).addGroupIds("nope")
        .build()));
    assertEquals("STABLE", described.getGroups(0).getState());
    assertEquals(joined.getMemberId(), described.getGroups(0).getMembers(0).getMemberId());
    assertEquals(3, described.getGroups(0).getOffsets(0).getOffset());
    assertEquals(ErrorCode.GROUP_ID_NOT_FOUND, described.getGroups(1).getError());
    await(client.consumerGroupHeartbeat(ConsumerGroupHeartbeatRequest.newBuilder().setGroupId(G)
        .setMemberId(joined.getMemberId()).setMemberEpoch(-1).build()));
    var deleted = await(client.deleteGroups(DeleteGroupsRequest.newBuilder().addGroupIds(G).addGroupIds("nope").build()));
    assertEquals(ErrorCode.NONE, deleted.getResults(0).getError());
    assertEquals(ErrorCode.GROUP_ID_NOT_FOUND, deleted.getResults(1).getError());
    assertEquals(-1, committed());
    Map<Integer, List<OffsetRecord>> copy = new HashMap<>(broker.log);
    assertTrue(copy.get(GroupCoordinator.partitionFor(G, PARTITIONS)).stream().anyMatch(OffsetRecord::isTombstone));
  }
}
