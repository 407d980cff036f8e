package io.raftline.client;

import static io.raftline.client.Await.await;
import static io.raftline.client.Await.awaitFailure;
import static io.raftline.client.Await.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.client.rx.RxRaftline;
import io.raftline.protocol.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Group consumers and group administration against the in-process fake broker and its fake group
 * coordinator (the real coordinator is tested in broker-verticle).
 */
class GroupConsumerTest {
  private static final String GROUP = "g";

  private Vertx vertx;
  private FakeBroker broker;
  private final List<RaftlineClient> clients = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    broker = await(FakeBroker.start(vertx, Map.of("events", 4, "two", 2)));
  }

  @AfterEach
  void stop() throws Exception {
    for (RaftlineClient c : clients) {
      await(c.close());
    }
    await(broker.close());
    await(vertx.close());
  }

  private static ErrorCode errorOf(Throwable t) {
    assertTrue(t instanceof RaftlineException, "not a RaftlineException: " + t);
    return ((RaftlineException) t).errorCode();
  }

  private RaftlineClient client(String... settings) {
    Map<String, String> s = new HashMap<>(Map.of("bootstrap.servers", broker.bootstrap(), "retry.backoff.ms", "20",
        "fetch.max.wait.ms", "50", "auto.offset.reset", "earliest", "auto.commit.interval.ms", "60000",
        "client.id", "test"));
    for (int i = 0; i < settings.length; i += 2) {
      s.put(settings[i], settings[i + 1]);
    }
    RaftlineClient c = RaftlineClient.create(vertx, s);
    clients.add(c);
    return c;
  }

  /** A group consumer and what it saw. */
  private static final class Member {
    final GroupConsumer consumer;
    final List<ConsumerRecord> records = new CopyOnWriteArrayList<>();
    final List<Set<TopicPartition>> assigned = new CopyOnWriteArrayList<>();
    final List<Set<TopicPartition>> revoked = new CopyOnWriteArrayList<>();
    final List<Set<TopicPartition>> lost = new CopyOnWriteArrayList<>();
    final List<Throwable> errors = new CopyOnWriteArrayList<>();

    Member(GroupConsumer consumer) {
      this.consumer = consumer;
      consumer.partitionsAssignedHandler(assigned::add).partitionsRevokedHandler(revoked::add)
          .exceptionHandler(errors::add);
    }

    Member withLostHandler() {
      consumer.partitionsLostHandler(lost::add);
      return this;
    }

    Member start() {
      consumer.handler(records::add);
      return this;
    }

    Set<String> values() {
      Set<String> out = new HashSet<>();
      records.forEach(r -> out.add(new String(r.value(), StandardCharsets.UTF_8)));
      return out;
    }

    Set<TopicPartition> owned() throws Exception {
      return await(consumer.assignment());
    }
  }

  private Member member(RaftlineClient client, String... topics) {
    return new Member(client.subscribe(GROUP, List.of(topics)));
  }

  private void appendEach(String topic, int partitions, int count) {
    for (int p = 0; p < partitions; p++) {
      broker.append(topic, p, count);
    }
  }

  private static TopicPartition tp(String topic, int partition) {
    return new TopicPartition(topic, partition);
  }

  @Test
  void aCommitRefusedAsStaleIsNotResentAfterTheMemberLostItsPartitions() throws Exception {
    // retry.backoff.ms 1000: the member is fenced and rejoins (at once) while the refused commit waits.
    Member a = member(client("retry.backoff.ms", "1000"), "two").withLostHandler().start();
    waitFor("the member to be given both partitions", () -> !a.assigned.isEmpty());
    assertEquals(Set.of(tp("two", 0), tp("two", 1)), a.owned());
    TopicPartition tp = tp("two", 0);
    broker.groups().staleNextCommits(1);
    Future<Void> commit = a.consumer.commit(Map.of(tp, 5L));
    waitFor("the commit to meet STALE_MEMBER_EPOCH", () -> broker.groups().injectedStaleCommits() == 1);
    broker.groups().fence(GROUP, await(a.consumer.memberId()));
    waitFor("the member to lose its partitions and get them back", () -> a.lost.size() == 1 && a.assigned.size() == 2);
    Throwable failure = awaitFailure(commit);
    assertEquals(ErrorCode.STALE_MEMBER_EPOCH, errorOf(failure));
    // Re-sent under the epoch the member got on rejoining, the commit made before the loss would have
    // landed now, after whatever the partition's owner committed meanwhile.
    assertEquals(null, broker.groups().committed(GROUP).get(tp), "a commit made before the loss landed after it");
  }

  /**
   * A commit queued behind one caught in a failover holds positions from before the member lost its
   * partitions: it must not go out under the epoch the member rejoined with, where it would land after
   * (and undo) what the member committed since (found by the soak: committed offsets went back).
   */
  @Test
  void aCommitQueuedBeforeTheMemberLostItsPartitionsIsNotSentAfterItRejoined() throws Exception {
    Member a = member(client(), "two").withLostHandler().start();
    waitFor("the member to be given both partitions", () -> !a.assigned.isEmpty());
    TopicPartition tp = tp("two", 0);
    io.vertx.core.Promise<Void> held = broker.groups().holdNextCommit();
    Future<Void> first = a.consumer.commit(Map.of(tp, 5L));
    waitFor("the first commit to reach the coordinator", () -> broker.groups().commitsReceived() == 1);
    Future<Void> queued = a.consumer.commit(Map.of(tp, 7L));
    broker.groups().fence(GROUP, await(a.consumer.memberId()));
    waitFor("the member to lose its partitions and get them back", () -> a.lost.size() == 1 && a.assigned.size() == 2);
    held.complete();
    assertEquals(ErrorCode.STALE_MEMBER_EPOCH, errorOf(awaitFailure(first)));
    assertEquals(ErrorCode.STALE_MEMBER_EPOCH, errorOf(awaitFailure(queued)));
    assertEquals(null, broker.groups().committed(GROUP).get(tp),
        "a commit queued before the loss was sent under the rejoined member's epoch");
  }

  @Test
  void aSingleMemberReadsEveryPartitionAndCommitsItsPosition() throws Exception {
    appendEach("events", 4, 10);
    Member a = member(client(), "events").start();
    waitFor("40 records", () -> a.records.size() == 40);
    assertEquals(40, a.values().size());
    assertEquals(Set.of(tp("events", 0), tp("events", 1), tp("events", 2), tp("events", 3)), a.owned());
    assertEquals(List.of(a.owned()), a.assigned);
    await(a.consumer.commit());
    assertEquals(Map.of(tp("events", 0), 10L, tp("events", 1), 10L, tp("events", 2), 10L, tp("events", 3), 10L),
        broker.groups().committed(GROUP));
    assertEquals(1, broker.groups().members(GROUP).size());
    await(a.consumer.close());
    assertEquals(Set.of(), broker.groups().members(GROUP), "close leaves the group");
    assertEquals(List.of(), a.errors);
  }

  @Test
  void aJoiningMemberGetsPartitionsOnlyAfterTheOwnerCommittedAndReleasedThem() throws Exception {
    appendEach("events", 4, 25);
    Member a = member(client(), "events").start();
    waitFor("A read everything", () -> a.records.size() == 100);
    Member b = member(client(), "events").start();
    waitFor("the partitions split", () -> {
      Map<String, Set<TopicPartition>> owned = broker.groups().owned(GROUP);
      return owned.size() == 2 && owned.values().stream().allMatch(s -> s.size() == 2);
    });
    assertEquals(1, a.revoked.size());
    Set<TopicPartition> moved = a.revoked.get(0);
    assertEquals(2, moved.size());
    assertEquals(moved, b.owned());
    for (TopicPartition tp : moved) {
      assertEquals(25L, broker.groups().committed(GROUP).get(tp), "auto-commit before releasing " + tp);
    }
    appendEach("events", 4, 25);
    waitFor("200 records between them", () -> a.records.size() + b.records.size() == 200);
    Set<String> all = new HashSet<>(a.values());
    all.addAll(b.values());
    assertEquals(200, all.size(), "no record read twice");
    assertTrue(b.records.stream().allMatch(r -> r.offset() >= 25), "B starts where A committed");
    assertEquals(List.of(), a.errors);
    assertEquals(List.of(), b.errors);
  }

  @Test
  void aClosedMembersSuccessorResumesFromItsCommits() throws Exception {
    appendEach("two", 2, 10);
    RaftlineClient first = client();
    Member a = member(first, "two").start();
    waitFor("20 records", () -> a.records.size() == 20);
    await(first.close());
    clients.remove(first);
    assertEquals(Map.of(tp("two", 0), 10L, tp("two", 1), 10L), broker.groups().committed(GROUP));
    assertEquals(Set.of(), broker.groups().members(GROUP));
    appendEach("two", 2, 5);
    Member c = member(client(), "two").start();
    waitFor("the 10 new records", () -> c.records.size() == 10);
    assertTrue(c.records.stream().allMatch(r -> r.offset() >= 10), "nothing committed is read again");
  }

  @Test
  void withoutCommitsAMemberStartsAtTheEndAndAutoCommitsThatPosition() throws Exception {
    appendEach("two", 2, 5);
    Member a = member(client("auto.offset.reset", "latest", "auto.commit.interval.ms", "50"), "two").start();
    waitFor("the end positions committed", () -> broker.groups().committed(GROUP).equals(
        Map.of(tp("two", 0), 5L, tp("two", 1), 5L)));
    appendEach("two", 2, 3);
    waitFor("the 6 new records", () -> a.records.size() == 6);
    assertTrue(a.records.stream().allMatch(r -> r.offset() >= 5));
    waitFor("their positions committed", () -> broker.groups().committed(GROUP).equals(
        Map.of(tp("two", 0), 8L, tp("two", 1), 8L)));
  }

  @Test
  void aFencedMemberLosesItsPartitionsWithoutCommittingAndRejoins() throws Exception {
    appendEach("two", 2, 3);
    Member a = member(client(), "two").withLostHandler().start();
    waitFor("6 records", () -> a.records.size() == 6);
    String id = await(a.consumer.memberId());
    broker.groups().fence(GROUP, id);
    waitFor("lost and assigned again", () -> a.lost.size() == 1 && a.assigned.size() == 2);
    assertEquals(Set.of(tp("two", 0), tp("two", 1)), a.lost.get(0));
    assertEquals(List.of(), a.revoked, "a loss is not a revocation");
    assertEquals(Map.of(), broker.groups().committed(GROUP), "nothing was committed");
    waitFor("reading again from the start", () -> a.records.size() == 12);

    // A coordinator that moved or is loading: the member finds it again and carries on.
    int finds = broker.groups().findCoordinatorCalls();
    broker.groups().failNextHeartbeats(ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    waitFor("a new FindCoordinator", () -> broker.groups().findCoordinatorCalls() > finds);
    appendEach("two", 2, 1);
    waitFor("still reading", () -> a.records.size() == 14);
    assertEquals(1, a.lost.size());
  }

  @Test
  void withoutAutoCommitOnlyExplicitCommitsCountIncludingOneInTheRevokedHandler() throws Exception {
    appendEach("two", 2, 10);
    Member a = member(client("enable.auto.commit", "false"), "two").start();
    waitFor("20 records", () -> a.records.size() == 20);
    await(a.consumer.commit());
    assertEquals(Map.of(tp("two", 0), 10L, tp("two", 1), 10L), broker.groups().committed(GROUP));
    appendEach("two", 2, 5);
    waitFor("30 records", () -> a.records.size() == 30);
    assertEquals(Map.of(tp("two", 0), 10L, tp("two", 1), 10L), broker.groups().committed(GROUP), "no automatic commit");
    a.consumer.partitionsRevokedHandler(revoked -> {
      a.revoked.add(revoked);
      a.consumer.commit();
    });
    Member b = member(client("enable.auto.commit", "false"), "two").start();
    waitFor("b owns a partition", () -> {
      try {
        return b.owned().size() == 1;
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    TopicPartition moved = a.revoked.get(0).iterator().next();
    assertEquals(15L, broker.groups().committed(GROUP).get(moved), "committed in the revoked handler");
    appendEach("two", 2, 1);
    waitFor("b reads the new record", () -> b.records.size() == 1);
    assertEquals(15, b.records.get(0).offset());
  }

  @Test
  void adminListsDescribesResetsAndDeletesGroups() throws Exception {
    appendEach("two", 2, 10);
    RaftlineClient first = client();
    Member a = member(first, "two").start();
    waitFor("20 records", () -> a.records.size() == 20);
    Admin admin = client().admin();
    waitFor("a stable group", () -> {
      try {
        return await(admin.listGroups()).equals(List.of(new ConsumerGroupListing(GROUP, "STABLE")));
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    ConsumerGroupDescription live = await(admin.describeGroup(GROUP));
    assertEquals(1, live.members().size());
    assertEquals("test", live.members().get(0).clientId());
    assertEquals(List.of("two"), live.members().get(0).subscribedTopics());
    assertEquals(Set.of(tp("two", 0), tp("two", 1)), live.members().get(0).assignment());
    assertEquals(ErrorCode.NON_EMPTY_GROUP, errorOf(awaitFailure(admin.resetOffsets(GROUP, "two", OffsetSpec.earliest()))));
    assertEquals(ErrorCode.NON_EMPTY_GROUP, errorOf(awaitFailure(admin.deleteGroup(GROUP))));

    await(first.close());
    clients.remove(first);
    broker.append("two", 0, 4);
    ConsumerGroupDescription idle = await(admin.describeGroup(GROUP));
    assertEquals("EMPTY", idle.state());
    assertEquals(Map.of(tp("two", 0), new ConsumerGroupDescription.OffsetLag(10, 14, 4),
        tp("two", 1), new ConsumerGroupDescription.OffsetLag(10, 10, 0)), idle.offsets());
    assertEquals(4, idle.totalLag());

    assertEquals(Map.of(tp("two", 0), 0L, tp("two", 1), 0L), await(admin.resetOffsets(GROUP, "two", OffsetSpec.earliest())));
    assertEquals(Map.of(tp("two", 0), 0L, tp("two", 1), 0L), broker.groups().committed(GROUP));
    assertEquals(Map.of(tp("two", 0), 14L, tp("two", 1), 10L), await(admin.resetOffsets(GROUP, "two", OffsetSpec.latest())));
    assertEquals(Map.of(tp("two", 0), 12L, tp("two", 1), 10L),
        await(admin.resetOffsets(GROUP, "two", OffsetSpec.offset(12))), "kept within each partition");
    assertEquals(Map.of(tp("two", 0), 12L, tp("two", 1), 10L), broker.groups().committed(GROUP));

    await(admin.deleteGroup(GROUP));
    assertEquals(List.of(), await(admin.listGroups()));
    assertEquals(ErrorCode.GROUP_ID_NOT_FOUND, errorOf(awaitFailure(admin.describeGroup(GROUP))));
    assertEquals(ErrorCode.GROUP_ID_NOT_FOUND, errorOf(awaitFailure(admin.deleteGroup(GROUP))));
  }

  @Test
  void theRxFaceJoinsOnSubscribeAndLeavesOnCancel() throws Exception {
    appendEach("two", 2, 10);
    RaftlineClient c = client();
    List<ConsumerRecord> got = new RxRaftline(c).groupRecords(GROUP, List.of("two")).take(15).toList()
        .blockingGet();
    assertEquals(15, got.size());
    waitFor("the member left", () -> broker.groups().members(GROUP).isEmpty());
  }

  @Test
  void subscribingNeedsAGroupAndTopics() {
    RaftlineClient c = client();
    assertThrows(IllegalArgumentException.class, () -> c.subscribe("", List.of("two")));
    assertThrows(IllegalArgumentException.class, () -> c.subscribe(GROUP, List.of()));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.subscribe(List.of("two")));
    assertTrue(e.getMessage().contains("group.id"));
    assertEquals(GROUP, client("group.id", GROUP).subscribe(List.of("two")).groupId());
  }
}
