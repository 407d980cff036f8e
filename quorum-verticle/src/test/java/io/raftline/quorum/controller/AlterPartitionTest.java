package io.raftline.quorum.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.metadata.image.MetadataDelta;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.metadata.record.BrokerEndpoint;
import io.raftline.metadata.record.MetadataRecord;
import io.raftline.metadata.record.PartitionChangeRecord;
import io.raftline.metadata.record.PartitionRecord;
import io.raftline.metadata.record.RegisterBrokerRecord;
import io.raftline.metadata.record.TopicRecord;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.CreatePartitionsRequest;
import io.raftline.protocol.client.CreateTopicsRequest;
import io.raftline.protocol.client.PartitionCountChange;
import io.raftline.protocol.client.TopicResult;
import io.raftline.protocol.client.TopicToCreate;
import io.raftline.protocol.controller.AlterPartitionRequest;
import io.raftline.protocol.controller.AlterPartitionResponse;
import io.raftline.protocol.controller.PartitionIsrChange;
import io.raftline.protocol.controller.PartitionIsrResult;
import java.util.HashSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Partition replication in the controller: AlterPartition (ISR changes sent by partition leaders,
 * validated against leader and partition epochs), replica placement with a replication factor above
 * one, and leader election from the ISR when brokers are fenced, shut down or come back.
 */
class AlterPartitionTest {
  private static final long SESSION_MS = ControllerConfig.DEFAULT_BROKER_SESSION_TIMEOUT_MS;
  private final QuorumController controller = new QuorumController(new ControllerConfig(1, 3), new SplittableRandom(7));
  private final UUID topicId = new UUID(1, 2);

  private static MetadataImage replay(MetadataImage image, List<MetadataRecord> records) {
    MetadataDelta delta = new MetadataDelta(image);
    long offset = image.offset();
    for (MetadataRecord r : records) {
      delta.replay(++offset, r);
    }
    return delta.apply();
  }

  /** Brokers 1..n registered and unfenced, on racks r1, r2, r1, r2, ... */
  private static MetadataImage brokers(int n) {
    MetadataImage image = MetadataImage.EMPTY;
    for (int id = 1; id <= n; id++) {
      image = replay(image, List.of(new RegisterBrokerRecord(id, "inc-" + id, image.offset() + 1,
          List.of(new BrokerEndpoint("PLAINTEXT", "host" + id, 9092)), "r" + (id % 2 + 1), false)));
    }
    return image;
  }

  /** Brokers 1..4 and topic "t": partition 0 on [1, 2, 3] all in sync, led by 1 at epochs 0/0. */
  private MetadataImage cluster() {
    return replay(brokers(4), List.of(new TopicRecord("t", topicId),
        new PartitionRecord(topicId, 0, List.of(1, 2, 3), List.of(1, 2, 3), 1, 0, 0)));
  }

  private static PartitionIsrChange change(String topic, int partition, int leaderEpoch, int partitionEpoch,
      Integer... newIsr) {
    return PartitionIsrChange.newBuilder().setTopic(topic).setPartition(partition).setLeaderEpoch(leaderEpoch)
        .setPartitionEpoch(partitionEpoch).addAllNewIsr(List.of(newIsr)).build();
  }

  private static AlterPartitionRequest request(MetadataImage image, int brokerId, PartitionIsrChange... changes) {
    return AlterPartitionRequest.newBuilder().setBrokerId(brokerId)
        .setBrokerEpoch(image.broker(brokerId).orElseThrow().epoch()).addAllPartitions(List.of(changes)).build();
  }

  private static PartitionRegistration partition(MetadataImage image, int index) {
    return image.topic("t").orElseThrow().partition(index);
  }

  /** Sends one change that must fail with {@code code}, write nothing, and report the current state. */
  private void assertRefused(MetadataImage image, int sender, PartitionIsrChange change, ErrorCode code) {
    ControllerResult<AlterPartitionResponse> result = controller.alterPartition(image, request(image, sender, change));
    assertEquals(ErrorCode.NONE, result.response().getError());
    assertEquals(1, result.response().getResultsCount());
    PartitionIsrResult r = result.response().getResults(0);
    assertEquals(code, r.getError(), () -> change + ": " + r.getErrorMessage());
    assertFalse(r.getErrorMessage().isEmpty(), "a refusal explains itself");
    assertEquals(List.of(), result.records(), "a refused change writes nothing");
    PartitionRegistration p = image.topic(change.getTopic()).map(t -> t.partition(change.getPartition())).orElse(null);
    if (p != null) {
      assertEquals(p.isr(), r.getIsrList(), "the current state comes back");
      assertEquals(p.leader(), r.getLeader());
      assertEquals(p.leaderEpoch(), r.getLeaderEpoch());
      assertEquals(p.partitionEpoch(), r.getPartitionEpoch());
    }
  }

  @Test
  void unregisteredOrStaleSendersAreRefusedAsAWhole() {
    MetadataImage image = cluster();
    AlterPartitionRequest stranger = AlterPartitionRequest.newBuilder().setBrokerId(9).setBrokerEpoch(0)
        .addPartitions(change("t", 0, 0, 0, 1, 2)).build();
    ControllerResult<AlterPartitionResponse> r1 = controller.alterPartition(image, stranger);
    assertEquals(ErrorCode.BROKER_ID_NOT_REGISTERED, r1.response().getError());
    assertEquals(0, r1.response().getResultsCount());
    assertEquals(List.of(), r1.records());

    AlterPartitionRequest stale = request(image, 1, change("t", 0, 0, 0, 1, 2)).toBuilder()
        .setBrokerEpoch(image.broker(1).orElseThrow().epoch() + 1).build();
    ControllerResult<AlterPartitionResponse> r2 = controller.alterPartition(image, stale);
    assertEquals(ErrorCode.STALE_BROKER_EPOCH, r2.response().getError());
    assertFalse(r2.response().getErrorMessage().isEmpty());
    assertEquals(0, r2.response().getResultsCount());
    assertEquals(List.of(), r2.records());
  }

  @Test
  void unknownPartitionsAndWrongLeadersAreRefused() {
    MetadataImage image = cluster();
    assertRefused(image, 1, change("nope", 0, 0, 0, 1), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assertRefused(image, 1, change("t", 7, 0, 0, 1), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assertRefused(image, 1, change("t", -1, 0, 0, 1), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assertRefused(image, 2, change("t", 0, 0, 0, 2, 3), ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assertRefused(image, 4, change("t", 0, 0, 0, 1), ErrorCode.NOT_LEADER_OR_FOLLOWER);
  }

  @Test
  void leaderAndPartitionEpochsMustBeTheCurrentOnes() {
    MetadataImage image = replay(brokers(3), List.of(new TopicRecord("t", topicId),
        new PartitionRecord(topicId, 0, List.of(1, 2, 3), List.of(1, 2, 3), 1, 3, 5)));
    assertRefused(image, 1, change("t", 0, 2, 5, 1, 2), ErrorCode.FENCED_LEADER_EPOCH);
    assertRefused(image, 1, change("t", 0, 4, 5, 1, 2), ErrorCode.UNKNOWN_LEADER_EPOCH);
    assertRefused(image, 1, change("t", 0, 3, 4, 1, 2), ErrorCode.INVALID_UPDATE_VERSION);
    assertRefused(image, 1, change("t", 0, 3, 6, 1, 2), ErrorCode.INVALID_UPDATE_VERSION);
    ControllerResult<AlterPartitionResponse> ok = controller.alterPartition(image, request(image, 1,
        change("t", 0, 3, 5, 1, 2)));
    assertEquals(ErrorCode.NONE, ok.response().getResults(0).getError());
    assertEquals(6, ok.response().getResults(0).getPartitionEpoch());
    assertEquals(3, ok.response().getResults(0).getLeaderEpoch());
  }

  @Test
  void malformedIsrsAreInvalidRequest() {
    MetadataImage image = cluster();
    assertRefused(image, 1, change("t", 0, 0, 0), ErrorCode.INVALID_REQUEST);
    assertRefused(image, 1, change("t", 0, 0, 0, 1, 2, 2), ErrorCode.INVALID_REQUEST);
    assertRefused(image, 1, change("t", 0, 0, 0, 2, 3), ErrorCode.INVALID_REQUEST);
    assertRefused(image, 1, change("t", 0, 0, 0, 1, 4), ErrorCode.INVALID_REQUEST);
  }

  @Test
  void onlyRegisteredUnfencedRunningBrokersMayJoinButAnyMayLeave() {
    // Replica 9 was never registered; broker 2 is fenced; broker 3 is in controlled shutdown.
    MetadataImage image = replay(brokers(4), List.of(new TopicRecord("t", topicId),
        new PartitionRecord(topicId, 0, List.of(1, 2, 3, 9), List.of(1), 1, 0, 0),
        new PartitionRecord(topicId, 1, List.of(1, 2, 3), List.of(1, 2, 3), 1, 0, 0),
        new io.raftline.metadata.record.FenceBrokerRecord(2, 1)));
    assertFalse(image.isUnfenced(2));
    controller.heartbeat(image, 0, 3, image.broker(3).orElseThrow().epoch(), image.offset(), true);
    assertRefused(image, 1, change("t", 0, 0, 0, 1, 9), ErrorCode.INELIGIBLE_REPLICA);
    assertRefused(image, 1, change("t", 0, 0, 0, 1, 2), ErrorCode.INELIGIBLE_REPLICA);
    assertRefused(image, 1, change("t", 0, 0, 0, 1, 3), ErrorCode.INELIGIBLE_REPLICA);

    // Removing the fenced and the shutting-down broker is fine.
    ControllerResult<AlterPartitionResponse> shrink = controller.alterPartition(image, request(image, 1,
        change("t", 1, 0, 0, 1)));
    assertEquals(ErrorCode.NONE, shrink.response().getResults(0).getError());
    assertEquals(List.of(new PartitionChangeRecord(topicId, 1, PartitionChangeRecord.NO_CHANGE, List.of(1), null)),
        shrink.records());
  }

  @Test
  void shrinkThenExpandRoundTrip() {
    MetadataImage image = cluster();
    ControllerResult<AlterPartitionResponse> shrink = controller.alterPartition(image, request(image, 1,
        change("t", 0, 0, 0, 1, 3)));
    PartitionIsrResult shrunk = shrink.response().getResults(0);
    assertEquals(ErrorCode.NONE, shrunk.getError(), shrunk.getErrorMessage());
    assertEquals(List.of(1, 3), shrunk.getIsrList());
    assertEquals(1, shrunk.getLeader());
    assertEquals(0, shrunk.getLeaderEpoch(), "an ISR change keeps the leader epoch");
    assertEquals(1, shrunk.getPartitionEpoch(), "and bumps the partition epoch");
    assertEquals(List.of(new PartitionChangeRecord(topicId, 0, PartitionChangeRecord.NO_CHANGE, List.of(1, 3), null)),
        shrink.records());
    image = replay(image, shrink.records());
    assertEquals(new PartitionRegistration(List.of(1, 2, 3), List.of(1, 3), 1, 0, 1), partition(image, 0),
        "the image agrees with the result");

    // Replaying the same request is now based on an old partition epoch.
    assertRefused(image, 1, change("t", 0, 0, 0, 1, 3), ErrorCode.INVALID_UPDATE_VERSION);

    ControllerResult<AlterPartitionResponse> expand = controller.alterPartition(image, request(image, 1,
        change("t", 0, 0, 1, 1, 3, 2)));
    PartitionIsrResult expanded = expand.response().getResults(0);
    assertEquals(ErrorCode.NONE, expanded.getError(), expanded.getErrorMessage());
    assertEquals(List.of(1, 3, 2), expanded.getIsrList());
    assertEquals(0, expanded.getLeaderEpoch());
    assertEquals(2, expanded.getPartitionEpoch());
    image = replay(image, expand.records());
    assertEquals(new PartitionRegistration(List.of(1, 2, 3), List.of(1, 3, 2), 1, 0, 2), partition(image, 0));
  }

  @Test
  void anUnchangedIsrWritesNothing() {
    MetadataImage image = cluster();
    for (PartitionIsrChange same : List.of(change("t", 0, 0, 0, 1, 2, 3), change("t", 0, 0, 0, 3, 2, 1))) {
      ControllerResult<AlterPartitionResponse> result = controller.alterPartition(image, request(image, 1, same));
      assertEquals(ErrorCode.NONE, result.response().getResults(0).getError());
      assertEquals(List.of(), result.records());
      assertEquals(0, result.response().getResults(0).getPartitionEpoch());
      assertEquals(List.of(1, 2, 3), result.response().getResults(0).getIsrList());
    }
  }

  @Test
  void aFailedPartitionNeverBlocksTheOthers() {
    MetadataImage image = replay(cluster(), List.of(
        new PartitionRecord(topicId, 1, List.of(2, 1, 3), List.of(2, 1, 3), 2, 0, 0),
        new PartitionRecord(topicId, 2, List.of(1, 2, 4), List.of(1, 2, 4), 1, 0, 0)));
    ControllerResult<AlterPartitionResponse> result = controller.alterPartition(image, request(image, 1,
        change("t", 0, 0, 0, 1, 2),
        change("t", 1, 0, 0, 1, 3), // led by 2
        change("nope", 0, 0, 0, 1),
        change("t", 2, 0, 0, 1)));
    assertEquals(List.of(ErrorCode.NONE, ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode.NONE), result.response().getResultsList().stream().map(PartitionIsrResult::getError).toList());
    assertEquals(List.of(
        new PartitionChangeRecord(topicId, 0, PartitionChangeRecord.NO_CHANGE, List.of(1, 2), null),
        new PartitionChangeRecord(topicId, 2, PartitionChangeRecord.NO_CHANGE, List.of(1), null)), result.records());
  }

  @Test
  void aPartitionNamedTwiceIsInvalidEachTime() {
    MetadataImage image = cluster();
    ControllerResult<AlterPartitionResponse> result = controller.alterPartition(image, request(image, 1,
        change("t", 0, 0, 0, 1, 2), change("t", 0, 0, 0, 1, 3)));
    assertEquals(List.of(ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST),
        result.response().getResultsList().stream().map(PartitionIsrResult::getError).toList());
    assertEquals(List.of(), result.records());
  }

  @Test
  void aChangeBasedOnAStateTheControllerChangedMeanwhileIsStale() {
    MetadataImage image = cluster();
    // The leader decides to drop 2 while the controller fences 3, which takes 3 out of the ISR.
    controller.becomeActive(image, 0);
    for (int b : new int[] {1, 2, 4}) {
      controller.heartbeat(image, SESSION_MS, b, image.broker(b).orElseThrow().epoch(), image.offset(), false);
    }
    ControllerResult<List<Integer>> fenced = controller.fenceExpiredBrokers(image, SESSION_MS + 1);
    assertEquals(List.of(3), fenced.response());
    image = replay(image, fenced.records());
    assertEquals(new PartitionRegistration(List.of(1, 2, 3), List.of(1, 2), 1, 0, 1), partition(image, 0));

    assertRefused(image, 1, change("t", 0, 0, 0, 1, 3), ErrorCode.INVALID_UPDATE_VERSION);
    ControllerResult<AlterPartitionResponse> retry = controller.alterPartition(image, request(image, 1,
        change("t", 0, 0, 1, 1)));
    assertEquals(ErrorCode.NONE, retry.response().getResults(0).getError());
    assertEquals(2, retry.response().getResults(0).getPartitionEpoch());
  }

  // ---- placement -------------------------------------------------------------------------------------

  @Test
  void replicationFactorThreePlacesThreeDistinctReplicasLedByTheFirst() {
    MetadataImage image = brokers(4);
    ControllerResult<List<TopicResult>> created = controller.createTopics(image, CreateTopicsRequest.newBuilder()
        .addTopics(TopicToCreate.newBuilder().setName("t").setNumPartitions(8).setReplicationFactor(3)).build());
    assertEquals(ErrorCode.NONE, created.response().get(0).getError(), created.response().get(0).getErrorMessage());
    assertEquals(3, created.response().get(0).getReplicationFactor());
    int partitions = 0;
    for (MetadataRecord r : created.records()) {
      if (r instanceof PartitionRecord p) {
        partitions++;
        assertEquals(3, new HashSet<>(p.replicas()).size(), "distinct replicas: " + p.replicas());
        assertEquals(p.replicas(), p.isr(), "every replica starts in sync");
        assertEquals(p.replicas().get(0), p.leader());
        assertEquals(0, p.leaderEpoch());
        assertEquals(0, p.partitionEpoch());
      }
    }
    assertEquals(8, partitions);
    image = replay(image, created.records());

    // Added partitions keep the topic's replication factor.
    ControllerResult<List<TopicResult>> grown = controller.createPartitions(image, CreatePartitionsRequest.newBuilder()
        .addTopics(PartitionCountChange.newBuilder().setTopic("t").setCount(10)).build());
    assertEquals(ErrorCode.NONE, grown.response().get(0).getError());
    assertEquals(2, grown.records().size());
    for (MetadataRecord r : grown.records()) {
      PartitionRecord p = assertInstanceOf(PartitionRecord.class, r);
      assertEquals(3, new HashSet<>(p.replicas()).size());
      assertEquals(p.replicas(), p.isr());
    }

    // The topic's factor must still fit on the unfenced brokers.
    MetadataImage twoLeft = replay(image, List.of(new io.raftline.metadata.record.FenceBrokerRecord(3, 2),
        new io.raftline.metadata.record.FenceBrokerRecord(4, 3)));
    ControllerResult<List<TopicResult>> tooWide = controller.createPartitions(twoLeft, CreatePartitionsRequest
        .newBuilder().addTopics(PartitionCountChange.newBuilder().setTopic("t").setCount(12)).build());
    assertEquals(ErrorCode.INVALID_REPLICATION_FACTOR, tooWide.response().get(0).getError());
    assertEquals(List.of(), tooWide.records());
  }

  // ---- election on fencing, controlled shutdown and unfencing -----------------------------------------

  /** Broker {@code silent} stops heartbeating; the others keep going; returns the image after fencing it. */
  private MetadataImage fenceSilent(MetadataImage image, long now, int... silent) {
    List<Integer> expected = new java.util.ArrayList<>();
    for (int s : silent) {
      expected.add(s);
    }
    for (int b : image.brokers().keySet()) {
      if (!expected.contains(b) && image.isUnfenced(b)) {
        controller.heartbeat(image, now, b, image.broker(b).orElseThrow().epoch(), image.offset(), false);
      }
    }
    ControllerResult<List<Integer>> fenced = controller.fenceExpiredBrokers(image, now + 1);
    assertEquals(expected, fenced.response());
    return replay(image, fenced.records());
  }

  /** Broker {@code id} heartbeats again, caught up; returns the image after it is unfenced. */
  private MetadataImage comeBack(MetadataImage image, long now, int id) {
    ControllerResult<QuorumController.HeartbeatReply> back = controller.heartbeat(image, now, id,
        image.broker(id).orElseThrow().epoch(), image.offset(), false);
    assertFalse(back.response().fenced());
    return replay(image, back.records());
  }

  @Test
  void fencingTheLeaderElectsAnotherInSyncReplicaAndBumpsTheLeaderEpoch() {
    MetadataImage image = cluster();
    controller.becomeActive(image, 0);
    image = fenceSilent(image, SESSION_MS, 1);
    PartitionRegistration p = partition(image, 0);
    assertEquals(2, p.leader(), "the first remaining replica in assignment order");
    assertEquals(List.of(2, 3), p.isr());
    assertEquals(1, p.leaderEpoch());
    assertEquals(1, p.partitionEpoch());

    // The old leader's view is now fenced, the new leader's old epoch too.
    assertRefused(image, 1, change("t", 0, 0, 0, 1, 2), ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assertRefused(image, 2, change("t", 0, 0, 1, 2), ErrorCode.FENCED_LEADER_EPOCH);

    // Broker 1 returns: it leads nothing until the new leader adds it back to the ISR.
    image = comeBack(image, SESSION_MS + 2, 1);
    assertEquals(2, partition(image, 0).leader());
    ControllerResult<AlterPartitionResponse> rejoin = controller.alterPartition(image, request(image, 2,
        change("t", 0, 1, 1, 2, 3, 1)));
    assertEquals(ErrorCode.NONE, rejoin.response().getResults(0).getError());
    image = replay(image, rejoin.records());
    assertEquals(new PartitionRegistration(List.of(1, 2, 3), List.of(2, 3, 1), 2, 1, 2), partition(image, 0));
  }

  @Test
  void fencingTheLastInSyncReplicaLeavesNoLeaderAndUnfencingRestoresIt() {
    MetadataImage image = cluster();
    // The leader shrinks the ISR to itself.
    image = replay(image, controller.alterPartition(image, request(image, 1, change("t", 0, 0, 0, 1))).records());
    controller.becomeActive(image, 0);
    image = fenceSilent(image, SESSION_MS, 1);
    PartitionRegistration offline = partition(image, 0);
    assertEquals(PartitionRegistration.NO_LEADER, offline.leader(), "no out-of-sync replica is elected");
    assertEquals(List.of(1), offline.isr(), "the last in-sync replica is kept");
    assertEquals(1, offline.leaderEpoch());
    assertEquals(2, offline.partitionEpoch());

    // Brokers 2 and 3 are alive but out of sync: nothing is elected for them.
    assertEquals(List.of(), controller.fenceExpiredBrokers(image, SESSION_MS + 2).records());

    image = comeBack(image, SESSION_MS + 3, 1);
    PartitionRegistration back = partition(image, 0);
    assertEquals(1, back.leader());
    assertEquals(List.of(1), back.isr());
    assertEquals(2, back.leaderEpoch());
    assertEquals(3, back.partitionEpoch());
  }

  @Test
  void brokersFencedTogetherKeepTheIsrAndTheFirstBackLeadsWithoutTheOthers() {
    MetadataImage image = cluster();
    controller.becomeActive(image, 0);
    image = fenceSilent(image, SESSION_MS, 1, 2, 3);
    assertEquals(new PartitionRegistration(List.of(1, 2, 3), List.of(1, 2, 3), PartitionRegistration.NO_LEADER, 1, 1),
        partition(image, 0));
    image = comeBack(image, SESSION_MS + 2, 3);
    assertEquals(new PartitionRegistration(List.of(1, 2, 3), List.of(3), 3, 2, 2), partition(image, 0),
        "the returning broker leads; the still-fenced ones leave the ISR");
  }

  @Test
  void controlledShutdownOfAFollowerTakesItOutOfTheIsrAndOfALeaderMovesLeadership() {
    MetadataImage image = replay(cluster(), List.of(
        new PartitionRecord(topicId, 1, List.of(3, 1, 2), List.of(3, 1, 2), 3, 0, 0),
        new PartitionRecord(topicId, 2, List.of(3, 4), List.of(3), 3, 0, 0)));
    long epoch3 = image.broker(3).orElseThrow().epoch();
    ControllerResult<QuorumController.HeartbeatReply> shutdown = controller.heartbeat(image, 0, 3, epoch3,
        image.offset(), true);
    assertTrue(shutdown.response().shouldShutDown());
    image = replay(image, shutdown.records());
    assertEquals(new PartitionRegistration(List.of(1, 2, 3), List.of(1, 2), 1, 0, 1), partition(image, 0),
        "a follower leaves the ISR; the leader and its epoch stay");
    assertEquals(new PartitionRegistration(List.of(3, 1, 2), List.of(1, 2), 1, 1, 1), partition(image, 1),
        "leadership moves to the next in-sync replica");
    assertEquals(new PartitionRegistration(List.of(3, 4), List.of(3), PartitionRegistration.NO_LEADER, 1, 1),
        partition(image, 2), "the sole in-sync replica stays in the ISR, without leadership");

    // Further shutdown heartbeats change nothing, so they write nothing.
    ControllerResult<QuorumController.HeartbeatReply> again = controller.heartbeat(image, 1, 3, epoch3,
        image.offset(), true);
    assertTrue(again.response().shouldShutDown());
    assertEquals(List.of(), again.records());
  }
}
