package io.raftline.broker.group;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.broker.group.GroupCoordinator.GroupState;
import io.raftline.metadata.TopicPartition;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.group.CommittedOffset;
import io.raftline.protocol.group.ConsumerGroupHeartbeatRequest;
import io.raftline.protocol.group.ConsumerGroupHeartbeatResponse;
import io.raftline.protocol.group.DeleteGroupResult;
import io.raftline.protocol.group.DescribedGroup;
import io.raftline.protocol.group.GroupListing;
import io.raftline.protocol.group.OffsetCommitPartition;
import io.raftline.protocol.group.OffsetCommitPartitionResult;
import io.raftline.protocol.group.OffsetCommitRequest;
import io.raftline.protocol.group.OffsetCommitResponse;
import io.raftline.protocol.group.OffsetFetchRequest;
import io.raftline.protocol.group.OffsetFetchResponse;
import io.raftline.protocol.group.TopicPartitions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The pure coordinator: membership, reconciliation, sessions, commits, replay and deletion. */
class GroupCoordinatorTest {
  private static final int OFFSETS_PARTITIONS = 4;
  private static final GroupCoordinator.Config CONFIG = new GroupCoordinator.Config(10_000, 1_000, 60_000, 3_000,
      20_000, 100);
  private static final String G = "g";

  private final Map<String, Integer> topics = new HashMap<>();
  /** Every committed write's records per offsets partition: the log a new leader would replay. */
  private final Map<Integer, List<OffsetRecord>> log = new HashMap<>();
  private GroupCoordinator c;
  private long now = 1_000_000;
  private int nextId;

  @BeforeEach
  void setUp() {
    topics.put("t", 4);
    topics.put("u", 2);
    c = newCoordinator();
  }

  private GroupCoordinator newCoordinator() {
    GroupCoordinator coordinator = new GroupCoordinator(CONFIG, OFFSETS_PARTITIONS,
        t -> topics.getOrDefault(t, -1), () -> "m" + (++nextId));
    for (int p = 0; p < OFFSETS_PARTITIONS; p++) {
      int generation = coordinator.beginLoad(p);
      assertTrue(coordinator.completeLoad(p, generation, log.getOrDefault(p, List.of())));
    }
    return coordinator;
  }

  // ---- helpers -------------------------------------------------------------------------------------

  /** A simulated consumer: owns what it was last given, revoking at once. */
  private final class Consumer {
    String id = "";
    int epoch;
    Set<TopicPartition> owned = new HashSet<>();
    List<String> subscription;
    final String group;

    Consumer(String group, String... topics) {
      this.group = group;
      this.subscription = List.of(topics);
    }

    ConsumerGroupHeartbeatResponse heartbeat() {
      ConsumerGroupHeartbeatResponse r = beat(request(group, id, epoch, subscription, owned));
      if (r.getError() == ErrorCode.NONE) {
        id = r.getMemberId();
        epoch = r.getMemberEpoch();
        owned = GroupCoordinator.toSet(r.getAssignmentList());
      }
      return r;
    }

    ConsumerGroupHeartbeatResponse join() {
      epoch = 0;
      owned = new HashSet<>();
      ConsumerGroupHeartbeatResponse r = heartbeat();
      assertEquals(ErrorCode.NONE, r.getError(), r.getErrorMessage());
      return r;
    }

    ConsumerGroupHeartbeatResponse leave() {
      ConsumerGroupHeartbeatResponse r = beat(request(group, id, -1, subscription, Set.of()));
      owned = new HashSet<>();
      return r;
    }
  }

  private static ConsumerGroupHeartbeatRequest request(String group, String memberId, int epoch, List<String> topics,
      Set<TopicPartition> owned) {
    return ConsumerGroupHeartbeatRequest.newBuilder().setGroupId(group).setMemberId(memberId).setMemberEpoch(epoch)
        .addAllSubscribedTopicNames(topics).addAllOwnedPartitions(GroupCoordinator.toTopicPartitions(owned)).build();
  }

  private static Set<TopicPartition> tps(String topic, int... partitions) {
    Set<TopicPartition> out = new HashSet<>();
    for (int p : partitions) {
      out.add(new TopicPartition(topic, p));
    }
    return out;
  }

  private static Set<TopicPartition> union(Set<TopicPartition> a, Set<TopicPartition> b) {
    Set<TopicPartition> out = new HashSet<>(a);
    out.addAll(b);
    return out;
  }

  /** Commits through a write, appending its records to the simulated log as the broker would. */
  private OffsetCommitResponse commit(String group, String memberId, int epoch, String topic, int partition,
      long offset) {
    return commit(OffsetCommitRequest.newBuilder().setGroupId(group).setMemberId(memberId).setMemberEpoch(epoch)
        .addPartitions(OffsetCommitPartition.newBuilder().setTopic(topic).setPartition(partition).setOffset(offset))
        .build());
  }

  private OffsetCommitResponse commit(OffsetCommitRequest request) {
    GroupCoordinator.Write<OffsetCommitResponse> w = c.prepareCommit(request, now);
    log.computeIfAbsent(w.partition(), p -> new ArrayList<>()).addAll(w.records());
    return w.committed();
  }

  /** A heartbeat through its write, its records appended to the simulated log. */
  private ConsumerGroupHeartbeatResponse beat(ConsumerGroupHeartbeatRequest request) {
    GroupCoordinator.Write<ConsumerGroupHeartbeatResponse> w = c.prepareHeartbeat(request, now);
    log.computeIfAbsent(w.partition(), p -> new ArrayList<>()).addAll(w.records());
    return w.committed();
  }

  /** Expires sessions, the tombstones appended to the simulated log. */
  private List<String> tick() {
    List<String> removed = new ArrayList<>();
    for (GroupCoordinator.Write<List<String>> w : c.prepareTick(now)) {
      log.computeIfAbsent(w.partition(), p -> new ArrayList<>()).addAll(w.records());
      removed.addAll(w.committed());
    }
    return removed;
  }

  /** Leadership of {@code G}'s offsets partition moves to a new coordinator, which replays the log. */
  private void failOver(int leaderEpoch) {
    int p = c.partitionFor(G);
    c.unload(p);
    c = newCoordinator();
    c.unload(p);
    assertTrue(c.completeLoad(p, c.beginLoad(p, leaderEpoch), log.getOrDefault(p, List.of()), now));
  }

  /** Fails if two consumers own a partition at once. */
  private static void assertNoPartitionSharedBy(List<Consumer> consumers) {
    Map<TopicPartition, String> owners = new HashMap<>();
    for (Consumer k : consumers) {
      for (TopicPartition tp : k.owned) {
        String other = owners.put(tp, k.id);
        assertTrue(other == null, tp + " owned by both " + other + " and " + k.id);
      }
    }
  }

  private static ErrorCode single(OffsetCommitResponse r) {
    assertEquals(1, r.getResultsCount());
    return r.getResults(0).getError();
  }

  private long committed(String group, String topic, int partition) {
    OffsetFetchResponse r = c.fetchOffsets(OffsetFetchRequest.newBuilder().setGroupId(group)
        .addPartitions(TopicPartitions.newBuilder().setTopic(topic).addPartitions(partition)).build());
    assertEquals(ErrorCode.NONE, r.getError());
    return r.getOffsets(0).getOffset();
  }

  // ---- partitioning --------------------------------------------------------------------------------

  @Test
  void partitionForIsKafkasAbsHashModulo() {
    assertEquals(("orders".hashCode() & 0x7fffffff) % 50, GroupCoordinator.partitionFor("orders", 50));
    // This string's hashCode is Integer.MIN_VALUE: Math.abs would stay negative, Kafka's Utils.abs gives 0.
    assertEquals(Integer.MIN_VALUE, "polygenelubricants".hashCode());
    assertEquals(0, GroupCoordinator.partitionFor("polygenelubricants", 50));
    String negative = "group-with-negative-hash-7";
    for (int i = 0; negative.hashCode() >= 0; i++) {
      negative = "g" + i;
    }
    int p = GroupCoordinator.partitionFor(negative, 50);
    assertEquals((negative.hashCode() & 0x7fffffff) % 50, p);
    assertTrue(p >= 0 && p < 50);
  }

  // ---- membership ----------------------------------------------------------------------------------

  @Test
  void theFirstMemberGetsEveryPartitionOfItsTopics() {
    Consumer a = new Consumer(G, "t", "u");
    ConsumerGroupHeartbeatResponse r = a.join();
    assertEquals("m1", r.getMemberId());
    assertEquals(1, r.getMemberEpoch());
    assertEquals(3_000, r.getHeartbeatIntervalMs());
    assertEquals(union(tps("t", 0, 1, 2, 3), tps("u", 0, 1)), a.owned);
    assertEquals(GroupState.STABLE, c.state(G));
    DescribedGroup d = c.describe(G);
    assertEquals(1, d.getGroupEpoch());
    assertEquals("STABLE", d.getState());
    assertEquals(List.of("t", "u"), d.getMembers(0).getSubscribedTopicNamesList());
  }

  @Test
  void aClientChosenMemberIdIsKept() {
    ConsumerGroupHeartbeatResponse r = c.heartbeat(request(G, "my-id", 0, List.of("t"), Set.of()), now);
    assertEquals("my-id", r.getMemberId());
  }

  @Test
  void partitionsMoveToANewMemberOnlyAfterTheOldOwnerRevokedThem() {
    Consumer a = new Consumer(G, "t");
    Consumer b = new Consumer(G, "t");
    a.join();
    assertEquals(tps("t", 0, 1, 2, 3), a.owned);

    // b joins: the target splits the topic, but a still owns everything, so b gets nothing yet.
    ConsumerGroupHeartbeatResponse rb = b.join();
    assertEquals(2, rb.getMemberEpoch());
    assertEquals(Set.of(), b.owned);
    assertEquals(GroupState.RECONCILING, c.state(G));

    // a is asked to revoke two partitions, keeping its epoch (it may still commit them).
    ConsumerGroupHeartbeatResponse ra = a.heartbeat();
    assertEquals(1, ra.getMemberEpoch());
    assertEquals(tps("t", 0, 1), a.owned);
    assertEquals(ErrorCode.NONE, single(commit(G, a.id, 1, "t", 3, 42)), "a revoking member commits with its epoch");

    // b's heartbeat before a reported the revocation still gets nothing...
    // (a's simulated client already dropped them, but the coordinator only knows once a heartbeats.)
    b.heartbeat();
    assertEquals(Set.of(), b.owned);
    // ...a reports it no longer owns them, and moves to epoch 2...
    ra = a.heartbeat();
    assertEquals(2, ra.getMemberEpoch());
    assertEquals(tps("t", 0, 1), a.owned);
    // ...so b gets them.
    b.heartbeat();
    assertEquals(tps("t", 2, 3), b.owned);
    assertEquals(GroupState.STABLE, c.state(G));

    // A third member: each keeps what it can (sticky), and one partition moves.
    Consumer d = new Consumer(G, "t");
    d.join();
    assertEquals(Set.of(), d.owned);
    a.heartbeat();
    b.heartbeat();
    assertEquals(3, a.owned.size() + b.owned.size(), "one of them revokes one partition");
    Set<TopicPartition> revoked = union(tps("t", 0, 1), tps("t", 2, 3));
    revoked.removeAll(a.owned);
    revoked.removeAll(b.owned);
    d.heartbeat();
    assertEquals(Set.of(), d.owned, "not before the revocation is reported");
    a.heartbeat();
    b.heartbeat();
    d.heartbeat();
    assertEquals(revoked, d.owned);
    assertEquals(GroupState.STABLE, c.state(G));
    assertEquals(3, c.describe(G).getGroupEpoch());
  }

  @Test
  void aLeavingMembersPartitionsGoToTheOthersAtOnce() {
    Consumer a = new Consumer(G, "t");
    Consumer b = new Consumer(G, "t");
    a.join();
    b.join();
    a.heartbeat();
    a.heartbeat();
    b.heartbeat();
    assertEquals(2, b.owned.size());
    ConsumerGroupHeartbeatResponse left = b.leave();
    assertEquals(ErrorCode.NONE, left.getError());
    assertEquals(-1, left.getMemberEpoch());
    a.heartbeat();
    assertEquals(tps("t", 0, 1, 2, 3), a.owned);
    assertEquals(ErrorCode.UNKNOWN_MEMBER_ID, b.leave().getError(), "leaving twice");
    a.leave();
    assertEquals(GroupState.DEAD, c.state(G), "no members and no offsets: nothing left of the group");
  }

  @Test
  void aMemberWhoseSessionExpiresIsRemovedAndItsPartitionsReassigned() {
    Consumer a = new Consumer(G, "t");
    Consumer b = new Consumer(G, "t");
    a.join();
    b.join();
    a.heartbeat();
    a.heartbeat();
    b.heartbeat();
    now += 9_000;
    a.heartbeat();
    assertEquals(List.of(), c.tick(now), "b's session (10 s) has not expired yet");
    now += 1_000;
    assertEquals(List.of(G + "/" + b.id), c.tick(now));
    a.heartbeat();
    assertEquals(tps("t", 0, 1, 2, 3), a.owned);
    ConsumerGroupHeartbeatResponse r = b.heartbeat();
    assertEquals(ErrorCode.UNKNOWN_MEMBER_ID, r.getError());
  }

  @Test
  void theSessionTimeoutAMemberAsksForIsClampedAndSetsTheHeartbeatInterval() {
    ConsumerGroupHeartbeatResponse r = c.heartbeat(request(G, "", 0, List.of("t"), Set.of()).toBuilder()
        .setSessionTimeoutMs(1_500).build(), now);
    assertEquals(500, r.getHeartbeatIntervalMs(), "a third of a 1.5 s session");
    assertEquals(List.of(), c.tick(now + 1_499));
    assertEquals(1, c.tick(now + 1_500).size());
    r = c.heartbeat(request(G, "", 0, List.of("t"), Set.of()).toBuilder().setSessionTimeoutMs(10).build(), now);
    assertEquals(333, r.getHeartbeatIntervalMs(), "clamped to the 1 s minimum");
  }

  @Test
  void aMemberThatDoesNotRevokeWithinItsRebalanceTimeoutIsRemoved() {
    Consumer a = new Consumer(G, "t");
    a.join();
    Consumer b = new Consumer(G, "t");
    b.join();
    // a heartbeats (keeps its session) but keeps reporting every partition as owned.
    Set<TopicPartition> all = tps("t", 0, 1, 2, 3);
    for (int i = 0; i < 4; i++) {
      ConsumerGroupHeartbeatResponse r = c.heartbeat(request(G, a.id, 1, List.of("t"), all), now);
      assertEquals(ErrorCode.NONE, r.getError());
      b.heartbeat();
      assertEquals(Set.of(), b.owned);
      now += 4_000;
      assertEquals(List.of(), c.tick(now));
    }
    now += 4_000; // 20 s after the revocation started
    assertEquals(List.of(G + "/" + a.id), c.tick(now));
    b.heartbeat();
    assertEquals(all, b.owned);
  }

  @Test
  void epochsAreFenced() {
    Consumer a = new Consumer(G, "t");
    a.join();
    assertEquals(ErrorCode.FENCED_MEMBER_EPOCH,
        c.heartbeat(request(G, a.id, 2, List.of("t"), a.owned), now).getError(), "an epoch from the future");
    assertEquals(ErrorCode.UNKNOWN_MEMBER_ID,
        c.heartbeat(request(G, "nobody", 1, List.of("t"), Set.of()), now).getError());
    assertEquals(ErrorCode.UNKNOWN_MEMBER_ID,
        c.heartbeat(request("other", "nobody", 1, List.of("t"), Set.of()), now).getError());

    // b joins, a revokes and moves to epoch 2; the answer is lost, so a heartbeats again with epoch 1.
    Consumer b = new Consumer(G, "t");
    b.join();
    a.heartbeat();
    Set<TopicPartition> kept = new HashSet<>(a.owned);
    ConsumerGroupHeartbeatResponse r = c.heartbeat(request(G, a.id, 1, List.of("t"), kept), now);
    assertEquals(2, r.getMemberEpoch());
    r = c.heartbeat(request(G, a.id, 1, List.of("t"), kept), now);
    assertEquals(ErrorCode.NONE, r.getError(), "the previous epoch with partitions it may own is accepted");
    assertEquals(2, r.getMemberEpoch());
    r = c.heartbeat(request(G, a.id, 1, List.of("t"), tps("t", 0, 1, 2, 3)), now);
    assertEquals(ErrorCode.FENCED_MEMBER_EPOCH, r.getError(), "the previous epoch claiming more than it may own");
    r = c.heartbeat(request(G, a.id, 0, List.of("t"), Set.of()), now);
    assertEquals(ErrorCode.NONE, r.getError(), "a fenced member rejoins with epoch 0 and keeps its id");
    assertEquals(a.id, r.getMemberId());
    assertEquals(ErrorCode.INVALID_REQUEST, c.heartbeat(request(G, a.id, -2, List.of("t"), Set.of()), now).getError());
  }

  @Test
  void requestsForGroupsThisBrokerDoesNotServeAreRefused() {
    assertEquals(ErrorCode.INVALID_REQUEST, c.heartbeat(request("", "", 0, List.of("t"), Set.of()), now).getError());
    int p = c.partitionFor(G);
    c.unload(p);
    assertEquals(ErrorCode.NOT_COORDINATOR, c.heartbeat(request(G, "", 0, List.of("t"), Set.of()), now).getError());
    assertEquals(ErrorCode.NOT_COORDINATOR, single(commit(G, "", -1, "t", 0, 1)));
    assertEquals(ErrorCode.NOT_COORDINATOR, c.describe(G).getError());
    int generation = c.beginLoad(p);
    assertEquals(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        c.heartbeat(request(G, "", 0, List.of("t"), Set.of()), now).getError());
    assertEquals(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        c.fetchOffsets(OffsetFetchRequest.newBuilder().setGroupId(G).build()).getError());
    assertEquals(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, c.listGroups(List.of()).getError());
    assertFalse(c.completeLoad(p, generation - 1, List.of()), "a stale load is ignored");
    assertTrue(c.completeLoad(p, generation, List.of()));
    assertEquals(ErrorCode.NONE, c.heartbeat(request(G, "", 0, List.of("t"), Set.of()), now).getError());
    c.unload(p);
    c.completeLoad(p, c.beginLoad(p), List.of());
    assertEquals(GroupState.DEAD, c.state(G), "a member whose record never reached the log is not replayed");
  }

  @Test
  void aMemberOfAnEarlierTenureCannotCommitUnderAnEqualEpochAfterAFailover() {
    int p = c.partitionFor(G);
    Consumer a = new Consumer(G, "t");
    a.join();
    int oldEpoch = a.epoch;
    String id = a.id;
    assertEquals(ErrorCode.NONE, single(commit(G, id, oldEpoch, "t", 0, 5)));
    // Leadership of the offsets partition moves away and back (leader epoch 1): membership starts over.
    c.unload(p);
    assertTrue(c.completeLoad(p, c.beginLoad(p, 1), log.getOrDefault(p, List.of())));
    a.join();
    assertEquals(id, a.id, "the member rejoins under its id");
    assertTrue(a.epoch > GroupCoordinator.epochBase(1), "epoch " + a.epoch + " is above every earlier tenure's");
    // A commit the member sent before the move (say, retried by its client) must not land as its own now.
    assertEquals(ErrorCode.STALE_MEMBER_EPOCH, single(commit(G, id, oldEpoch, "t", 0, 3)));
    assertEquals(5, committed(G, "t", 0));
    assertEquals(ErrorCode.NONE, single(commit(G, id, a.epoch, "t", 0, 9)));
    assertEquals(9, committed(G, "t", 0));
  }

  @Test
  void membersAndTheirPartitionsSurviveAFailoverAndANewMemberWaitsForThemToRelease() {
    topics.put("t", 6);
    Consumer a = new Consumer(G, "t");
    Consumer b = new Consumer(G, "t");
    a.join();
    b.join();
    for (int i = 0; i < 3; i++) {
      a.heartbeat();
      b.heartbeat();
    }
    assertEquals(3, a.owned.size());
    assertEquals(3, b.owned.size());
    Set<TopicPartition> aOwned = a.owned;
    assertEquals(ErrorCode.NONE, single(commit(G, a.id, a.epoch, "t", 0, 42)));

    failOver(1);
    DescribedGroup d = c.describe(G);
    assertEquals(2, d.getMembersCount(), "the new coordinator knows the members before they heartbeat");
    assertEquals(42, committed(G, "t", 0));

    // A member joining now cannot be given what a and b still own.
    Consumer k = new Consumer(G, "t");
    k.join();
    List<Consumer> all = List.of(a, b, k);
    assertNoPartitionSharedBy(all);
    // a and b go on with the epochs they had: no rejoin, no lost partitions.
    assertEquals(ErrorCode.NONE, a.heartbeat().getError());
    assertEquals(ErrorCode.NONE, b.heartbeat().getError());
    assertTrue(aOwned.containsAll(a.owned), "a keeps (part of) what it owned, it is not handed new ones first");
    for (int i = 0; i < 4; i++) {
      for (Consumer x : all) {
        assertEquals(ErrorCode.NONE, x.heartbeat().getError());
        assertNoPartitionSharedBy(all);
      }
    }
    assertEquals(List.of(2, 2, 2), all.stream().map(x -> x.owned.size()).toList());
    assertEquals(GroupState.STABLE, c.state(G));
    assertEquals(ErrorCode.NONE, single(commit(G, a.id, a.epoch, "t", 0, 43)));
  }

  @Test
  void membersThatLeftOrExpiredAreNotReplayedAndReplayedSessionsStartAtTheLoad() {
    Consumer a = new Consumer(G, "t");
    Consumer b = new Consumer(G, "t");
    Consumer k = new Consumer(G, "t");
    a.join();
    b.join();
    k.join();
    a.leave();
    now += CONFIG.sessionTimeoutMs() / 2;
    k.heartbeat();
    now += CONFIG.sessionTimeoutMs() / 2;
    assertEquals(List.of(G + "/" + b.id), tick(), "b stopped heartbeating");

    now += 60_000;
    failOver(1);
    assertEquals(List.of(k.id), c.describe(G).getMembersList().stream().map(m -> m.getMemberId()).toList());
    // k's session started over at the load, although its last heartbeat was long before.
    now += CONFIG.sessionTimeoutMs() - 1;
    assertEquals(List.of(), tick());
    now += 1;
    assertEquals(List.of(G + "/" + k.id), tick());
    failOver(2);
    assertEquals(GroupState.DEAD, c.state(G), "its tombstone is replayed too");
  }

  @Test
  void aSubscriptionChangeOrNewPartitionsBumpTheGroupEpoch() {
    Consumer a = new Consumer(G, "t");
    a.join();
    a.subscription = List.of("t", "u");
    a.heartbeat();
    assertEquals(2, a.epoch);
    assertEquals(union(tps("t", 0, 1, 2, 3), tps("u", 0, 1)), a.owned);
    topics.put("u", 3);
    a.heartbeat();
    assertEquals(3, a.epoch);
    assertTrue(a.owned.contains(new TopicPartition("u", 2)));
    a.subscription = List.of("u", "missing");
    a.heartbeat();
    a.heartbeat();
    assertEquals(tps("u", 0, 1, 2), a.owned);
    topics.put("missing", 1);
    a.heartbeat();
    assertTrue(a.owned.contains(new TopicPartition("missing", 0)), "a topic created after subscribing is assigned");
  }

  @Test
  void manyMembersComingAndGoingNeverShareAPartitionAndSettleBalanced() {
    Random random = new Random(7);
    topics.put("big", 13);
    List<Consumer> consumers = new ArrayList<>();
    for (int step = 0; step < 2_000; step++) {
      int action = random.nextInt(10);
      if ((action == 0 || consumers.isEmpty()) && consumers.size() < 6) {
        Consumer k = new Consumer(G, random.nextBoolean() ? new String[] {"big"} : new String[] {"big", "t"});
        k.join();
        consumers.add(k);
      } else if (action == 1 && consumers.size() > 1) {
        consumers.remove(random.nextInt(consumers.size())).leave();
      } else {
        Consumer k = consumers.get(random.nextInt(consumers.size()));
        assertEquals(ErrorCode.NONE, k.heartbeat().getError());
      }
      Set<TopicPartition> seen = new HashSet<>();
      for (Consumer k : consumers) {
        for (TopicPartition tp : k.owned) {
          assertTrue(seen.add(tp), "step " + step + ": " + tp + " owned twice");
        }
      }
    }
    for (int round = 0; round < 4; round++) {
      consumers.forEach(Consumer::heartbeat);
    }
    assertEquals(GroupState.STABLE, c.state(G));
    int members = consumers.size();
    int min = Integer.MAX_VALUE;
    int max = 0;
    Set<TopicPartition> all = new HashSet<>();
    for (Consumer k : consumers) {
      int big = (int) k.owned.stream().filter(tp -> tp.topic().equals("big")).count();
      min = Math.min(min, big);
      max = Math.max(max, big);
      all.addAll(k.owned);
    }
    assertTrue(max - min <= 1, "big is shared evenly among " + members + ": " + min + ".." + max);
    assertTrue(all.containsAll(tps("big", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)));
  }

  // ---- offsets -------------------------------------------------------------------------------------

  @Test
  void membersCommitWithTheirCurrentEpoch() {
    Consumer a = new Consumer(G, "t");
    a.join();
    assertEquals(-1, committed(G, "t", 0));
    assertEquals(ErrorCode.NONE, single(commit(G, a.id, a.epoch, "t", 0, 10)));
    assertEquals(10, committed(G, "t", 0));
    assertEquals(ErrorCode.FENCED_MEMBER_EPOCH, single(commit(G, a.id, a.epoch + 1, "t", 0, 11)));
    assertEquals(ErrorCode.UNKNOWN_MEMBER_ID, single(commit(G, "nobody", 1, "t", 0, 11)));
    Consumer b = new Consumer(G, "t");
    b.join();
    a.heartbeat();
    a.heartbeat();
    assertEquals(2, a.epoch);
    assertEquals(ErrorCode.STALE_MEMBER_EPOCH, single(commit(G, a.id, 1, "t", 0, 11)));
    assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, single(commit(G, a.id, 2, "t", 4, 11)));
    assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, single(commit(G, a.id, 2, "nope", 0, 11)));
    assertEquals(ErrorCode.INVALID_REQUEST, single(commit(G, a.id, 2, "t", 0, -5)));
    assertEquals(ErrorCode.OFFSET_METADATA_TOO_LARGE, single(commit(OffsetCommitRequest.newBuilder().setGroupId(G)
        .setMemberId(a.id).setMemberEpoch(2).addPartitions(OffsetCommitPartition.newBuilder().setTopic("t")
            .setPartition(0).setOffset(12).setMetadata("x".repeat(101))).build())));
    assertEquals(10, committed(G, "t", 0));
  }

  @Test
  void aCommitTakesEffectOnlyOnceItsRecordsAreCommitted() {
    GroupCoordinator.Write<OffsetCommitResponse> w = c.prepareCommit(OffsetCommitRequest.newBuilder().setGroupId(G)
        .setMemberEpoch(-1).addPartitions(OffsetCommitPartition.newBuilder().setTopic("t").setPartition(1)
            .setOffset(5).setMetadata("meta")).addPartitions(OffsetCommitPartition.newBuilder().setTopic("zz")
            .setPartition(0).setOffset(1)).build(), now);
    assertEquals(c.partitionFor(G), w.partition());
    assertEquals(1, w.records().size(), "the refused partition writes nothing");
    assertEquals(-1, committed(G, "t", 1));
    OffsetCommitResponse failed = w.failed(ErrorCode.COORDINATOR_NOT_AVAILABLE, "no quorum");
    assertEquals(2, failed.getResultsCount());
    for (OffsetCommitPartitionResult r : failed.getResultsList()) {
      assertEquals(r.getTopic().equals("t") ? ErrorCode.COORDINATOR_NOT_AVAILABLE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          r.getError());
    }
    assertEquals(-1, committed(G, "t", 1));
    assertEquals(GroupState.DEAD, c.state(G));
    w.committed();
    assertEquals(5, committed(G, "t", 1));
    CommittedOffset o = c.fetchOffsets(OffsetFetchRequest.newBuilder().setGroupId(G).build()).getOffsets(0);
    assertEquals("meta", o.getMetadata());
    assertEquals(now, o.getCommitTimestamp());
    assertEquals(GroupState.EMPTY, c.state(G), "a group with offsets and no members");
  }

  @Test
  void writesCommittedOutOfOrderKeepTheLaterOne() {
    GroupCoordinator.Write<OffsetCommitResponse> first = c.prepareCommit(adminCommit("t", 0, 1), now);
    GroupCoordinator.Write<OffsetCommitResponse> second = c.prepareCommit(adminCommit("t", 0, 2), now);
    second.committed();
    first.committed();
    assertEquals(2, committed(G, "t", 0));
  }

  @Test
  void aWriteCommittedAfterLeadershipMovedIsLeftToTheNewLeader() {
    GroupCoordinator.Write<OffsetCommitResponse> w = c.prepareCommit(adminCommit("t", 0, 1), now);
    int p = w.partition();
    c.unload(p);
    c.completeLoad(p, c.beginLoad(p), List.of());
    assertEquals(ErrorCode.NONE, single(w.committed()));
    assertEquals(-1, committed(G, "t", 0), "this load did not see the record; a reload will");
  }

  private static OffsetCommitRequest adminCommit(String topic, int partition, long offset) {
    return OffsetCommitRequest.newBuilder().setGroupId(G).setMemberEpoch(-1).addPartitions(
        OffsetCommitPartition.newBuilder().setTopic(topic).setPartition(partition).setOffset(offset)).build();
  }

  @Test
  void adminCommitsResetOffsetsOnlyWhileTheGroupIsEmpty() {
    assertEquals(ErrorCode.NONE, single(commit(G, "", -1, "t", 2, 100)), "a new group");
    assertEquals(100, committed(G, "t", 2));
    Consumer a = new Consumer(G, "t");
    a.join();
    assertEquals(ErrorCode.NON_EMPTY_GROUP, single(commit(G, "", -1, "t", 2, 0)));
    assertEquals(ErrorCode.INVALID_REQUEST, single(commit(G, "", 3, "t", 2, 0)));
    a.leave();
    assertEquals(GroupState.EMPTY, c.state(G));
    assertEquals(ErrorCode.NONE, single(commit(G, "", -1, "t", 2, 0)));
    assertEquals(0, committed(G, "t", 2));
  }

  @Test
  void replayingThePartitionRebuildsOffsetsAndDeletions() {
    commit(G, "", -1, "t", 0, 5);
    commit(G, "", -1, "t", 0, 7);
    commit(G, "", -1, "u", 1, 3);
    commit("other", "", -1, "t", 3, 9);
    commit("gone", "", -1, "t", 1, 1);
    GroupCoordinator.Write<DeleteGroupResult> delete = c.prepareDelete("gone");
    log.computeIfAbsent(delete.partition(), p -> new ArrayList<>()).addAll(delete.records());
    delete.committed();
    // Records of a newer, unknown key version and garbage are skipped.
    log.computeIfAbsent(c.partitionFor(G), p -> new ArrayList<>()).add(new OffsetRecord(new byte[] {0, 9, 1}, null));
    log.get(c.partitionFor(G)).add(new OffsetRecord(new byte[] {0}, new byte[] {1}));

    GroupCoordinator fresh = newCoordinator();
    c = fresh;
    assertEquals(7, committed(G, "t", 0));
    assertEquals(3, committed(G, "u", 1));
    assertEquals(-1, committed(G, "t", 1));
    assertEquals(9, committed("other", "t", 3));
    assertEquals(GroupState.DEAD, c.state("gone"));
    assertEquals(-1, committed("gone", "t", 1));
    assertEquals(List.of(G, "other"), c.listGroups(List.of()).getGroupsList().stream()
        .map(GroupListing::getGroupId).toList());
  }

  @Test
  void onlyEmptyGroupsCanBeDeleted() {
    assertEquals(ErrorCode.GROUP_ID_NOT_FOUND, c.prepareDelete(G).committed().getError());
    commit(G, "", -1, "t", 0, 5);
    commit(G, "", -1, "t", 1, 6);
    Consumer a = new Consumer(G, "t");
    a.join();
    GroupCoordinator.Write<DeleteGroupResult> refused = c.prepareDelete(G);
    assertEquals(List.of(), refused.records());
    assertEquals(ErrorCode.NON_EMPTY_GROUP, refused.committed().getError());
    a.leave();
    GroupCoordinator.Write<DeleteGroupResult> delete = c.prepareDelete(G);
    assertEquals(3, delete.records().size(), "two offset tombstones and a group tombstone");
    assertTrue(delete.records().stream().allMatch(OffsetRecord::isTombstone));
    assertEquals(5, committed(G, "t", 0), "not before the tombstones are committed");
    assertEquals(ErrorCode.NONE, delete.committed().getError());
    assertEquals(-1, committed(G, "t", 0));
    assertEquals(ErrorCode.GROUP_ID_NOT_FOUND, c.describe(G).getError());
    assertEquals("DEAD", c.describe(G).getState());
  }

  @Test
  void describeAndListShowMembersAssignmentsAndOffsets() {
    Consumer a = new Consumer(G, "t");
    a.join();
    commit(G, a.id, a.epoch, "t", 0, 4);
    commit("idle", "", -1, "u", 0, 1);
    DescribedGroup d = c.describe(G);
    assertEquals(ErrorCode.NONE, d.getError());
    assertEquals(1, d.getMembersCount());
    assertEquals(a.id, d.getMembers(0).getMemberId());
    assertEquals(GroupCoordinator.toTopicPartitions(tps("t", 0, 1, 2, 3)), d.getMembers(0).getAssignmentList());
    assertEquals(d.getMembers(0).getAssignmentList(), d.getMembers(0).getTargetAssignmentList());
    assertEquals(4, d.getOffsets(0).getOffset());
    assertEquals(List.of(G + ":STABLE", "idle:EMPTY"), c.listGroups(List.of()).getGroupsList().stream()
        .map(l -> l.getGroupId() + ":" + l.getState()).sorted().toList());
    assertEquals(List.of("idle"), c.listGroups(List.of("EMPTY")).getGroupsList().stream()
        .map(GroupListing::getGroupId).toList());
    assertNotEquals(ErrorCode.NONE, c.describe("").getError());
  }

  // ---- encoding and assignor -----------------------------------------------------------------------

  @Test
  void offsetRecordsRoundTrip() {
    OffsetRecord r = OffsetRecords.offsetCommit("grüppe", "t", 7, 123_456_789_012L, "meta", 99);
    OffsetRecords.Key k = OffsetRecords.readKey(r.key());
    assertTrue(k.isOffsetCommit());
    assertEquals("grüppe", k.group());
    assertEquals("t", k.topic());
    assertEquals(7, k.partition());
    assertEquals(new OffsetRecords.OffsetValue(123_456_789_012L, "meta", 99), OffsetRecords.readOffsetValue(r.value()));
    assertEquals(OffsetRecords.offsetTombstone("grüppe", "t", 7).key().length, r.key().length);
    assertTrue(OffsetRecords.readKey(OffsetRecords.groupTombstone("g").key()).isGroup());
    assertEquals(null, OffsetRecords.readKey(new byte[] {0, 3}));
    // The layout is fixed: version 1, then group and topic as short length and UTF-8 bytes, then the partition.
    assertArrayEquals(new byte[] {0, 1, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 5},
        OffsetRecords.offsetCommit("g", "t", 5, 0, "", 0).key());
    assertArrayEquals(new byte[] {0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 'm', 0, 0, 0, 0, 0, 0, 0, 7},
        OffsetRecords.offsetCommit("g", "t", 5, 9, "m", 7).value());
  }

  @Test
  void memberRecordsRoundTrip() {
    OffsetRecords.MemberValue v = new OffsetRecords.MemberValue(7, 6, 1, "client-ü", "range", 45_000, 300_000, 9,
        Set.of("t", "u"), union(tps("t", 0, 3), tps("u", 1)), tps("t", 2));
    OffsetRecord r = OffsetRecords.member("g", "m-1", v);
    OffsetRecords.Key k = OffsetRecords.readKey(r.key());
    assertTrue(k.isMember());
    assertEquals("g", k.group());
    assertEquals("m-1", k.member());
    assertEquals(v, OffsetRecords.readMemberValue(r.value()));
    assertTrue(OffsetRecords.memberTombstone("g", "m-1").isTombstone());
    assertArrayEquals(r.key(), OffsetRecords.memberTombstone("g", "m-1").key());
    byte[] truncated = java.util.Arrays.copyOf(r.value(), r.value().length - 3);
    assertThrowsIllegalArgument(() -> OffsetRecords.readMemberValue(truncated));
  }

  private static void assertThrowsIllegalArgument(Runnable r) {
    try {
      r.run();
    } catch (IllegalArgumentException expected) {
      return;
    }
    throw new AssertionError("no IllegalArgumentException");
  }

  @Test
  void theAssignorIsEvenAndSticky() {
    Map<String, Set<String>> subs = new HashMap<>();
    subs.put("a", Set.of("t"));
    subs.put("b", Set.of("t"));
    Map<String, Set<TopicPartition>> first = UniformAssignor.assign(subs, t -> 5, Map.of());
    assertEquals(5, first.get("a").size() + first.get("b").size());
    assertTrue(Math.abs(first.get("a").size() - first.get("b").size()) <= 1);
    subs.put("c", Set.of("t"));
    Map<String, Set<TopicPartition>> second = UniformAssignor.assign(subs, t -> 5, first);
    assertTrue(first.get("a").containsAll(second.get("a")), "a only loses partitions");
    assertTrue(first.get("b").containsAll(second.get("b")), "b only loses partitions");
    assertEquals(List.of(1, 2, 2), second.values().stream().map(Set::size).sorted().toList());
    subs.remove("a");
    Map<String, Set<TopicPartition>> third = UniformAssignor.assign(subs, t -> 5, second);
    assertTrue(third.get("b").containsAll(second.get("b")));
    assertTrue(third.get("c").containsAll(second.get("c")));
    assertEquals(Map.of("b", Set.of(), "c", Set.of()), UniformAssignor.assign(subs, t -> -1, third));
  }
}
