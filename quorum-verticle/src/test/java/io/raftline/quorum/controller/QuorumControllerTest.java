package io.raftline.quorum.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.metadata.image.MetadataDelta;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.metadata.image.TopicImage;
import io.raftline.metadata.record.BrokerEndpoint;
import io.raftline.metadata.record.MetadataRecord;
import io.raftline.metadata.record.PartitionRecord;
import io.raftline.metadata.record.RegisterBrokerRecord;
import io.raftline.metadata.record.RemoveTopicRecord;
import io.raftline.metadata.record.TopicRecord;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.CreateTopicsRequest;
import io.raftline.protocol.client.TopicResult;
import io.raftline.protocol.client.TopicToCreate;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class QuorumControllerTest {
  private final QuorumController controller = new QuorumController(new ControllerConfig(3, 1), new SplittableRandom(20240611L));

  private static List<BrokerEndpoint> listeners(int brokerId) {
    return List.of(new BrokerEndpoint("PLAINTEXT", "host" + brokerId, 9092));
  }

  /** Replays records into the image at the offsets following its own. */
  private static MetadataImage replay(MetadataImage image, List<MetadataRecord> records) {
    MetadataDelta delta = new MetadataDelta(image);
    long offset = image.offset();
    for (MetadataRecord r : records) {
      delta.replay(++offset, r);
    }
    return delta.apply();
  }

  private static MetadataImage withBrokers(int... ids) {
    MetadataImage image = MetadataImage.EMPTY;
    for (int id : ids) {
      long offset = image.offset() + 1;
      image = replay(image, List.of(new RegisterBrokerRecord(id, "inc-" + id, offset, listeners(id), "", false)));
    }
    return image;
  }

  private static TopicToCreate topic(String name, int partitions, int replicationFactor) {
    return TopicToCreate.newBuilder().setName(name).setNumPartitions(partitions)
        .setReplicationFactor(replicationFactor).build();
  }

  private static CreateTopicsRequest request(TopicToCreate... topics) {
    return CreateTopicsRequest.newBuilder().addAllTopics(List.of(topics)).build();
  }

  private static List<MetadataRecord> recordsFor(List<MetadataRecord> records, String name) {
    Set<UUID> ids = new HashSet<>();
    for (MetadataRecord r : records) {
      if (r instanceof TopicRecord t && t.name().equals(name)) {
        ids.add(t.topicId());
      }
    }
    return records.stream().filter(r -> r instanceof TopicRecord t && t.name().equals(name)
        || r instanceof PartitionRecord p && ids.contains(p.topicId())).toList();
  }

  /** Creates one topic that must fail with {@code code} and leave no records. */
  private void assertRejected(MetadataImage image, TopicToCreate t, ErrorCode code) {
    ControllerResult<List<TopicResult>> result = controller.createTopics(image, request(t));
    assertEquals(1, result.response().size());
    TopicResult r = result.response().get(0);
    assertEquals(t.getName(), r.getName());
    assertEquals(code, r.getError(), () -> "topic '" + t.getName() + "': " + r.getErrorMessage());
    assertFalse(r.getErrorMessage().isEmpty(), "a rejection explains itself");
    assertEquals(List.of(), result.records());
  }

  @Test
  void defaultsComeFromTheControllerConfig() {
    MetadataImage image = withBrokers(1, 2, 3);
    ControllerResult<List<TopicResult>> result = controller.createTopics(image, request(topic("events", -1, -1)));
    TopicResult r = result.response().get(0);
    assertEquals(ErrorCode.NONE, r.getError(), r.getErrorMessage());
    assertEquals(3, r.getNumPartitions());
    assertEquals(1, r.getReplicationFactor());
    assertEquals(1 + 3, result.records().size());
    TopicRecord topicRecord = assertInstanceOf(TopicRecord.class, result.records().get(0));
    assertEquals("events", topicRecord.name());
    assertEquals(topicRecord.topicId().toString(), r.getTopicId());

    QuorumController other = new QuorumController(new ControllerConfig(7, 1), new SplittableRandom(1));
    ControllerResult<List<TopicResult>> seven = other.createTopics(image, request(topic("events", -1, 1)));
    assertEquals(7, seven.response().get(0).getNumPartitions());
    assertEquals(8, seven.records().size());
  }

  @Test
  void explicitPartitionsGiveATopicRecordAndOnePartitionRecordEach() {
    MetadataImage image = withBrokers(1, 2, 3);
    ControllerResult<List<TopicResult>> result = controller.createTopics(image, request(topic("orders", 6, 1)));
    TopicResult r = result.response().get(0);
    assertEquals(ErrorCode.NONE, r.getError(), r.getErrorMessage());
    assertEquals(6, r.getNumPartitions());
    assertEquals(1, r.getReplicationFactor());

    List<MetadataRecord> records = result.records();
    assertEquals(7, records.size());
    TopicRecord t = assertInstanceOf(TopicRecord.class, records.get(0));
    assertEquals("orders", t.name());
    UUID id = t.topicId();
    assertFalse(id.getMostSignificantBits() == 0 && id.getLeastSignificantBits() == 0, "a zero id means none");
    Set<Integer> registered = image.brokers().keySet();
    Map<Integer, Integer> leadersPerBroker = new HashMap<>();
    for (int p = 0; p < 6; p++) {
      PartitionRecord pr = assertInstanceOf(PartitionRecord.class, records.get(1 + p));
      assertEquals(id, pr.topicId());
      assertEquals(p, pr.partition());
      assertEquals(1, pr.replicas().size());
      assertEquals(pr.replicas().size(), new HashSet<>(pr.replicas()).size(), "no broker twice");
      assertTrue(registered.containsAll(pr.replicas()), "replicas " + pr.replicas());
      assertEquals(pr.replicas().get(0), pr.leader());
      assertEquals(pr.replicas(), pr.isr());
      assertEquals(0, pr.leaderEpoch());
      assertEquals(0, pr.partitionEpoch());
      leadersPerBroker.merge(pr.leader(), 1, Integer::sum);
    }
    assertEquals(Map.of(1, 2, 2, 2, 3, 2), leadersPerBroker, "leaders are spread evenly");
  }

  @Test
  void replayingTheRecordsPutsTheTopicInTheImage() {
    MetadataImage image = withBrokers(4, 9);
    ControllerResult<List<TopicResult>> result = controller.createTopics(image,
        request(topic("a", 3, 1), topic("b", 1, 1)));
    MetadataImage next = replay(image, result.records());
    for (TopicResult r : result.response()) {
      assertEquals(ErrorCode.NONE, r.getError(), r.getErrorMessage());
      TopicImage topic = next.topic(r.getName()).orElseThrow();
      assertEquals(r.getTopicId(), topic.id().toString());
      assertEquals(r.getNumPartitions(), topic.partitions().size());
      for (int p = 0; p < r.getNumPartitions(); p++) {
        PartitionRegistration reg = topic.partition(p);
        assertEquals(reg.replicas().get(0), reg.leader());
        assertTrue(reg.hasReplica(reg.leader()));
        assertTrue(Set.of(4, 9).containsAll(reg.replicas()));
      }
    }
    assertEquals(2, next.topicsById().size());
    // Now they exist: creating them again fails.
    ControllerResult<List<TopicResult>> again = controller.createTopics(next, request(topic("a", 1, 1)));
    assertEquals(ErrorCode.TOPIC_ALREADY_EXISTS, again.response().get(0).getError());
    assertEquals(List.of(), again.records());
  }

  @Test
  void topicIdsAreDistinctAcrossCreations() {
    MetadataImage image = withBrokers(1);
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 50; i++) {
      ControllerResult<List<TopicResult>> r = controller.createTopics(image, request(topic("t" + i, 1, 1)));
      image = replay(image, r.records());
      assertTrue(ids.add(r.response().get(0).getTopicId()));
    }
    assertEquals(50, image.topicsById().size());
  }

  @Test
  void illegalNamesAreInvalidTopicException() {
    MetadataImage image = withBrokers(1, 2);
    for (String name : List.of("has space", "..", ".", "", "a".repeat(250), "slash/name", "ünïcode")) {
      assertRejected(image, topic(name, 1, 1), ErrorCode.INVALID_TOPIC_EXCEPTION);
    }
    // The longest legal name and every legal character class are accepted.
    for (String name : List.of("a".repeat(249), "Az09._-", "...x")) {
      ControllerResult<List<TopicResult>> r = controller.createTopics(image, request(topic(name, 1, 1)));
      assertEquals(ErrorCode.NONE, r.response().get(0).getError(), name + ": " + r.response().get(0).getErrorMessage());
      assertEquals(2, r.records().size());
    }
  }

  @Test
  void anExistingTopicIsTopicAlreadyExists() {
    MetadataImage image = withBrokers(1);
    image = replay(image, controller.createTopics(image, request(topic("orders", 2, 1))).records());
    assertRejected(image, topic("orders", 5, 1), ErrorCode.TOPIC_ALREADY_EXISTS);
    assertEquals(2, image.topic("orders").orElseThrow().partitions().size());
  }

  @Test
  void partitionCountsOutOfRangeAreInvalidPartitions() {
    MetadataImage image = withBrokers(1);
    assertRejected(image, topic("t", 0, 1), ErrorCode.INVALID_PARTITIONS);
    assertRejected(image, topic("t", -2, 1), ErrorCode.INVALID_PARTITIONS);
    assertRejected(image, topic("t", ControllerConfig.MAX_PARTITIONS_PER_TOPIC + 1, 1), ErrorCode.INVALID_PARTITIONS);
    // A partition count left unset in the protobuf is 0, not "default".
    assertRejected(image, TopicToCreate.newBuilder().setName("t").setReplicationFactor(1).build(),
        ErrorCode.INVALID_PARTITIONS);
  }

  @Test
  void replicationFactorZeroOrAboveTheBrokerCountIsInvalid() {
    MetadataImage image = withBrokers(1, 2, 3);
    assertRejected(image, topic("t", 1, 0), ErrorCode.INVALID_REPLICATION_FACTOR);
    assertRejected(image, topic("t", 1, -3), ErrorCode.INVALID_REPLICATION_FACTOR);
    assertRejected(image, topic("t", 1, 4), ErrorCode.INVALID_REPLICATION_FACTOR);
    assertRejected(image, topic("t", 1, Short.MAX_VALUE), ErrorCode.INVALID_REPLICATION_FACTOR);
    assertEquals(ErrorCode.NONE, controller.createTopics(image, request(topic("t", 1, 3))).response().get(0).getError(),
        "as many replicas as unfenced brokers is fine");
  }

  @Test
  void replicationFactorAboveTheRegisteredBrokersIsInvalid() {
    assertRejected(MetadataImage.EMPTY, topic("t", 1, 1), ErrorCode.INVALID_REPLICATION_FACTOR);
    // The default replication factor is checked the same way.
    assertRejected(MetadataImage.EMPTY, topic("t", -1, -1), ErrorCode.INVALID_REPLICATION_FACTOR);
  }

  @Test
  void aDuplicateNameInOneRequestIsInvalidRequest() {
    MetadataImage image = withBrokers(1);
    ControllerResult<List<TopicResult>> result = controller.createTopics(image,
        request(topic("dup", 1, 1), topic("dup", 2, 1)));
    assertEquals(2, result.response().size());
    assertEquals(ErrorCode.INVALID_REQUEST, result.response().get(1).getError());
    long topicRecords = result.records().stream().filter(r -> r instanceof TopicRecord t && t.name().equals("dup")).count();
    assertTrue(topicRecords <= 1, "the topic is created at most once");
    replay(image, result.records()); // the records stay replayable
  }

  /** Kafka rejects every occurrence of a name that appears twice in one CreateTopics request. */
  @Test
  void aDuplicateNameCreatesNothingForThatName() {
    MetadataImage image = withBrokers(1);
    ControllerResult<List<TopicResult>> result = controller.createTopics(image,
        request(topic("dup", 1, 1), topic("dup", 2, 1)));
    for (TopicResult r : result.response()) {
      assertEquals(ErrorCode.INVALID_REQUEST, r.getError());
    }
    assertEquals(List.of(), recordsFor(result.records(), "dup"));
  }

  @Test
  void namesThatDifferOnlyByDotAndUnderscoreCollide() {
    MetadataImage image = withBrokers(1);
    image = replay(image, controller.createTopics(image, request(topic("a.b", 1, 1))).records());
    assertRejected(image, topic("a_b", 1, 1), ErrorCode.INVALID_TOPIC_EXCEPTION);
    ControllerResult<List<TopicResult>> both = controller.createTopics(withBrokers(1),
        request(topic("x.y", 1, 1), topic("x_y", 1, 1)));
    assertEquals(ErrorCode.NONE, both.response().get(0).getError());
    assertEquals(ErrorCode.INVALID_TOPIC_EXCEPTION, both.response().get(1).getError());
    assertEquals(List.of(), recordsFor(both.records(), "x_y"));
  }

  @Test
  void topicConfigsAreInvalidConfig() {
    MetadataImage image = withBrokers(1);
    TopicToCreate t = TopicToCreate.newBuilder().setName("t").setNumPartitions(1).setReplicationFactor(1)
        .putConfigs("cleanup.policy", "shred").build();
    assertRejected(image, t, ErrorCode.INVALID_CONFIG);
    assertRejected(image, t.toBuilder().clearConfigs().putConfigs("retention.mss", "1").build(), ErrorCode.INVALID_CONFIG);
    assertRejected(image, t.toBuilder().clearConfigs().putConfigs("min.insync.replicas", "0").build(),
        ErrorCode.INVALID_CONFIG);
  }

  @Test
  void aMixedRequestCreatesOnlyTheGoodTopics() {
    MetadataImage image = withBrokers(1, 2);
    ControllerResult<List<TopicResult>> result = controller.createTopics(image,
        request(topic("bad name", 1, 1), topic("good", 2, 1), topic("zero", 0, 1), topic("also-good", 1, 1)));
    List<TopicResult> rs = result.response();
    assertEquals(List.of("bad name", "good", "zero", "also-good"), rs.stream().map(TopicResult::getName).toList());
    assertEquals(List.of(ErrorCode.INVALID_TOPIC_EXCEPTION, ErrorCode.NONE, ErrorCode.INVALID_PARTITIONS, ErrorCode.NONE),
        rs.stream().map(TopicResult::getError).toList());
    assertEquals(3, recordsFor(result.records(), "good").size());
    assertEquals(2, recordsFor(result.records(), "also-good").size());
    assertEquals(5, result.records().size());
    assertTrue(rs.get(0).getTopicId().isEmpty(), "a failed topic gets no id");
    MetadataImage next = replay(image, result.records());
    assertEquals(Set.of("good", "also-good"), next.topicIdsByName().keySet());
  }

  @Test
  void validateOnlySucceedsWithoutRecords() {
    MetadataImage image = withBrokers(1, 2);
    CreateTopicsRequest req = request(topic("v", 4, 1), topic("bad name", 1, 1)).toBuilder().setValidateOnly(true).build();
    ControllerResult<List<TopicResult>> result = controller.createTopics(image, req);
    assertEquals(List.of(), result.records());
    assertEquals(ErrorCode.NONE, result.response().get(0).getError());
    assertEquals(4, result.response().get(0).getNumPartitions());
    assertEquals(1, result.response().get(0).getReplicationFactor());
    assertEquals(ErrorCode.INVALID_TOPIC_EXCEPTION, result.response().get(1).getError());
  }

  @Test
  void deletingAnExistingTopicGivesRemoveTopicRecord() {
    MetadataImage image = withBrokers(1);
    image = replay(image, controller.createTopics(image, request(topic("gone", 3, 1), topic("kept", 1, 1))).records());
    UUID id = image.topic("gone").orElseThrow().id();
    ControllerResult<List<TopicResult>> result = controller.deleteTopics(image, List.of("gone"));
    assertEquals(List.of(new RemoveTopicRecord(id)), result.records());
    TopicResult r = result.response().get(0);
    assertEquals(ErrorCode.NONE, r.getError());
    assertEquals(id.toString(), r.getTopicId());
    assertEquals(3, r.getNumPartitions());
    MetadataImage next = replay(image, result.records());
    assertTrue(next.topic("gone").isEmpty());
    assertTrue(next.topic(id).isEmpty());
    assertTrue(next.topic("kept").isPresent());
  }

  @Test
  void deletingAnUnknownTopicIsUnknownTopicWithoutRecords() {
    MetadataImage image = withBrokers(1);
    image = replay(image, controller.createTopics(image, request(topic("real", 1, 1))).records());
    ControllerResult<List<TopicResult>> result = controller.deleteTopics(image, List.of("ghost", "real"));
    assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, result.response().get(0).getError());
    assertEquals("ghost", result.response().get(0).getName());
    assertEquals(ErrorCode.NONE, result.response().get(1).getError());
    assertEquals(List.of(new RemoveTopicRecord(image.topic("real").orElseThrow().id())), result.records());

    ControllerResult<List<TopicResult>> alone = controller.deleteTopics(image, List.of("ghost"));
    assertEquals(List.of(), alone.records());
    assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, alone.response().get(0).getError());
  }

  @Test
  void deletingTheSameTopicTwiceInOneRequestRemovesItOnce() {
    MetadataImage image = withBrokers(1);
    image = replay(image, controller.createTopics(image, request(topic("x", 1, 1))).records());
    ControllerResult<List<TopicResult>> result = controller.deleteTopics(image, List.of("x", "x"));
    assertEquals(1, result.records().size());
    assertEquals(ErrorCode.INVALID_REQUEST, result.response().get(1).getError());
    replay(image, result.records());
  }

  @Test
  void registrationEpochIsTheNextOffset() {
    MetadataImage image = withBrokers(1, 2); // offsets 0 and 1
    ControllerResult<Long> result = controller.registerBroker(image, 17L, 3, "inc-3", listeners(3), "rack-a");
    assertEquals(17L, result.response());
    assertEquals(List.of(new RegisterBrokerRecord(3, "inc-3", 17L, listeners(3), "rack-a", true)), result.records());

    MetadataDelta delta = new MetadataDelta(image);
    delta.replay(17L, result.records().get(0));
    MetadataImage next = delta.apply();
    assertEquals(17L, next.broker(3).orElseThrow().epoch());
    assertEquals("rack-a", next.broker(3).orElseThrow().rack());
  }

  @Test
  void anIdenticalReRegistrationWritesNothingAndKeepsTheEpoch() {
    MetadataImage image = MetadataImage.EMPTY;
    ControllerResult<Long> first = controller.registerBroker(image, 0L, 5, "inc-a", listeners(5), null);
    image = replay(image, first.records());
    assertEquals(0L, first.response());

    ControllerResult<Long> again = controller.registerBroker(image, 42L, 5, "inc-a", listeners(5), null);
    assertEquals(List.of(), again.records());
    assertEquals(0L, again.response());
  }

  @Test
  void aNewIncarnationOrNewListenersGetANewEpoch() {
    MetadataImage image = MetadataImage.EMPTY;
    image = replay(image, controller.registerBroker(image, 0L, 5, "inc-a", listeners(5), "").records());

    ControllerResult<Long> restarted = controller.registerBroker(image, 10L, 5, "inc-b", listeners(5), "");
    assertEquals(10L, restarted.response());
    assertEquals(1, restarted.records().size());

    List<BrokerEndpoint> moved = List.of(new BrokerEndpoint("PLAINTEXT", "elsewhere", 9999));
    ControllerResult<Long> relisted = controller.registerBroker(image, 11L, 5, "inc-a", moved, "");
    assertEquals(11L, relisted.response());
    assertEquals(List.of(new RegisterBrokerRecord(5, "inc-a", 11L, moved, "", true)), relisted.records());
  }

  @Test
  void aNegativeBrokerIdIsRefused() {
    ControllerException e = assertThrows(ControllerException.class,
        () -> controller.registerBroker(MetadataImage.EMPTY, 0L, -1, "inc", listeners(0), ""));
    assertEquals(ErrorCode.INVALID_REQUEST, e.errorCode());
    assertTrue(e.getMessage().contains("-1"), e.getMessage());
  }

  // ---- broker liveness ------------------------------------------------------------------------------

  private static final long SESSION_MS = ControllerConfig.DEFAULT_BROKER_SESSION_TIMEOUT_MS;

  /** Brokers 1..n registered fenced at epochs 0..n-1, as a controller would write them. */
  private static MetadataImage fencedBrokers(int n) {
    MetadataImage image = MetadataImage.EMPTY;
    for (int id = 1; id <= n; id++) {
      image = replay(image, List.of(new RegisterBrokerRecord(id, "inc-" + id, image.offset() + 1, listeners(id), "", true)));
    }
    return image;
  }

  @Test
  void aBrokerIsUnfencedOnlyOnceCaughtUpAndOnlyUnfencedBrokersTakeReplicas() {
    MetadataImage image = fencedBrokers(2);
    assertRejected(image, topic("early", 1, 1), ErrorCode.INVALID_REPLICATION_FACTOR);
    long epochOfOne = image.broker(1).orElseThrow().epoch();

    ControllerResult<QuorumController.HeartbeatReply> behind = controller.heartbeat(image, 0, 1, epochOfOne,
        epochOfOne - 1, false);
    assertTrue(behind.response().fenced());
    assertEquals(List.of(), behind.records());

    ControllerResult<QuorumController.HeartbeatReply> caughtUp = controller.heartbeat(image, 0, 1, epochOfOne,
        epochOfOne, false);
    assertFalse(caughtUp.response().fenced());
    image = replay(image, caughtUp.records());
    assertTrue(image.isUnfenced(1));
    ControllerResult<List<TopicResult>> created = controller.createTopics(image, request(topic("t", 4, 1)));
    for (MetadataRecord r : created.records()) {
      if (r instanceof PartitionRecord p) {
        assertEquals(List.of(1), p.replicas(), "only the unfenced broker takes replicas");
      }
    }
  }

  @Test
  void heartbeatsWithAStaleEpochOrFromStrangersAreRefused() {
    MetadataImage image = fencedBrokers(1);
    long epoch = image.broker(1).orElseThrow().epoch();
    assertEquals(ErrorCode.STALE_BROKER_EPOCH, controller.heartbeat(image, 0, 1, epoch + 5, epoch, false).response().error());
    assertEquals(ErrorCode.BROKER_ID_NOT_REGISTERED, controller.heartbeat(image, 0, 9, 0, 0, false).response().error());
    assertEquals(List.of(), controller.heartbeat(image, 0, 9, 0, 0, false).records());
  }

  @Test
  void aSilentBrokerIsFencedAfterTheSessionTimeoutAndItsLeadershipMoves() {
    MetadataImage image = fencedBrokers(2);
    for (int id = 1; id <= 2; id++) {
      long e = image.broker(id).orElseThrow().epoch();
      image = replay(image, controller.heartbeat(image, 0, id, e, image.offset(), false).records());
    }
    controller.becomeActive(image, 0);
    // One partition led by 1 with 2 in sync (as replication will make it), one led by 1 alone.
    UUID id = UUID.randomUUID();
    image = replay(image, List.of(new TopicRecord("t", id),
        new PartitionRecord(id, 0, List.of(1, 2), List.of(1, 2), 1, 0, 0),
        new PartitionRecord(id, 1, List.of(1), List.of(1), 1, 0, 0)));

    long e2 = image.broker(2).orElseThrow().epoch();
    controller.heartbeat(image, SESSION_MS, 2, e2, image.offset(), false); // broker 2 keeps heartbeating
    assertEquals(List.of(), controller.fenceExpiredBrokers(image, SESSION_MS).records(), "not yet expired");
    ControllerResult<List<Integer>> fenced = controller.fenceExpiredBrokers(image, SESSION_MS + 1);
    assertEquals(List.of(1), fenced.response());
    image = replay(image, fenced.records());
    assertFalse(image.isUnfenced(1));
    PartitionRegistration moved = image.topic("t").orElseThrow().partition(0);
    assertEquals(2, moved.leader(), "leadership moves to the other in-sync replica");
    assertEquals(List.of(2), moved.isr());
    assertEquals(1, moved.leaderEpoch());
    PartitionRegistration offline = image.topic("t").orElseThrow().partition(1);
    assertEquals(PartitionRegistration.NO_LEADER, offline.leader(), "no out-of-sync replica is elected");
    assertEquals(List.of(1), offline.isr(), "the last in-sync replica is remembered");

    // Broker 1 returns (same incarnation, caught up): it leads its offline partition again.
    long e1 = image.broker(1).orElseThrow().epoch();
    ControllerResult<QuorumController.HeartbeatReply> back = controller.heartbeat(image, SESSION_MS + 2, 1, e1,
        image.offset(), false);
    image = replay(image, back.records());
    assertEquals(1, image.topic("t").orElseThrow().partition(1).leader());
  }

  @Test
  void controlledShutdownFencesAndMovesLeadershipFirst() {
    MetadataImage image = fencedBrokers(2);
    for (int b = 1; b <= 2; b++) {
      long e = image.broker(b).orElseThrow().epoch();
      image = replay(image, controller.heartbeat(image, 0, b, e, image.offset(), false).records());
    }
    UUID id = UUID.randomUUID();
    image = replay(image, List.of(new TopicRecord("t", id),
        new PartitionRecord(id, 0, List.of(2, 1), List.of(2, 1), 2, 0, 0)));
    long e2 = image.broker(2).orElseThrow().epoch();
    ControllerResult<QuorumController.HeartbeatReply> shutdown = controller.heartbeat(image, 1, 2, e2, image.offset(), true);
    assertTrue(shutdown.response().shouldShutDown());
    image = replay(image, shutdown.records());
    assertFalse(image.isUnfenced(2));
    assertEquals(1, image.topic("t").orElseThrow().partition(0).leader());
    ControllerResult<QuorumController.HeartbeatReply> again = controller.heartbeat(image, 2, 2, e2, image.offset(), false);
    assertTrue(again.response().fenced(), "a broker shutting down stays fenced");
  }

  // ---- partitions and configs -----------------------------------------------------------------------

  private static io.raftline.protocol.client.ResourceAlteration alteration(String type, String name, String... ops) {
    var b = io.raftline.protocol.client.ResourceAlteration.newBuilder()
        .setResource(io.raftline.protocol.client.ConfigResourceName.newBuilder().setType(type).setName(name));
    for (int i = 0; i < ops.length; i += 3) {
      b.addOps(io.raftline.protocol.client.AlterConfigOp.newBuilder().setOp(ops[i]).setName(ops[i + 1])
          .setValue(ops[i + 2]));
    }
    return b.build();
  }

  @Test
  void addedPartitionsContinueTheNumberingAndMustGrow() {
    MetadataImage image = withBrokers(1, 2);
    image = replay(image, controller.createTopics(image, request(topic("t", 2, 1))).records());
    var grow = io.raftline.protocol.client.CreatePartitionsRequest.newBuilder()
        .addTopics(io.raftline.protocol.client.PartitionCountChange.newBuilder().setTopic("t").setCount(5))
        .addTopics(io.raftline.protocol.client.PartitionCountChange.newBuilder().setTopic("t2").setCount(5)).build();
    ControllerResult<List<TopicResult>> result = controller.createPartitions(image, grow);
    assertEquals(ErrorCode.NONE, result.response().get(0).getError());
    assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, result.response().get(1).getError());
    assertEquals(3, result.records().size());
    image = replay(image, result.records());
    assertEquals(5, image.topic("t").orElseThrow().partitions().size());
    var shrink = io.raftline.protocol.client.CreatePartitionsRequest.newBuilder()
        .addTopics(io.raftline.protocol.client.PartitionCountChange.newBuilder().setTopic("t").setCount(5)).build();
    ControllerResult<List<TopicResult>> same = controller.createPartitions(image, shrink);
    assertEquals(ErrorCode.INVALID_PARTITIONS, same.response().get(0).getError());
    assertEquals(List.of(), same.records());
  }

  @Test
  void configAlterationsAreValidatedPerResourceAllOrNothing() {
    MetadataImage image = withBrokers(1);
    image = replay(image, controller.createTopics(image, request(topic("t", 1, 1))).records());
    var request = io.raftline.protocol.client.AlterConfigsRequest.newBuilder()
        .addResources(alteration("TOPIC", "t", "SET", "retention.ms", "1000", "DELETE", "cleanup.policy", ""))
        .addResources(alteration("TOPIC", "t", "SET", "retention.ms", "5", "SET", "cleanup.policy", "shred"))
        .addResources(alteration("TOPIC", "nope", "SET", "retention.ms", "5"))
        .addResources(alteration("BROKER", "", "SET", "log.retention.ms", "9"))
        .addResources(alteration("BROKER", "", "SET", "log.colour", "9"))
        .addResources(alteration("GROUP", "g", "SET", "x", "y"))
        .build();
    ControllerResult<List<io.raftline.protocol.client.ResourceResult>> result =
        controller.incrementalAlterConfigs(image, request);
    assertEquals(List.of(ErrorCode.NONE, ErrorCode.INVALID_CONFIG, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NONE,
        ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_REQUEST), result.response().stream().map(r -> r.getError()).toList());
    image = replay(image, result.records());
    assertEquals(Map.of("retention.ms", "1000"), image.configsOf(new io.raftline.metadata.record.ConfigResource(
        io.raftline.metadata.record.ConfigResource.Type.TOPIC, "t")), "the refused resource changed nothing");
    assertEquals(Map.of("log.retention.ms", "9"), image.configsOf(new io.raftline.metadata.record.ConfigResource(
        io.raftline.metadata.record.ConfigResource.Type.BROKER, "")));
  }

  @Test
  void minCleanableDirtyRatioMustBeANumberFrom0To1OnCreateAndAlter() {
    MetadataImage image = withBrokers(1);
    TopicToCreate t = TopicToCreate.newBuilder().setName("t").setNumPartitions(1).setReplicationFactor(1).build();
    for (String bad : List.of("1.5", "-0.1", "half", "NaN", "")) {
      assertRejected(image, t.toBuilder().putConfigs("min.cleanable.dirty.ratio", bad).build(), ErrorCode.INVALID_CONFIG);
    }
    ControllerResult<List<TopicResult>> created = controller.createTopics(image,
        request(t.toBuilder().putConfigs("min.cleanable.dirty.ratio", "0.1").build()));
    assertEquals(ErrorCode.NONE, created.response().get(0).getError());
    image = replay(image, created.records());

    var request = io.raftline.protocol.client.AlterConfigsRequest.newBuilder()
        .addResources(alteration("TOPIC", "t", "SET", "min.cleanable.dirty.ratio", "2"))
        .addResources(alteration("BROKER", "", "SET", "log.cleaner.min.cleanable.ratio", "-1"))
        .addResources(alteration("TOPIC", "t", "SET", "min.cleanable.dirty.ratio", "1"))
        .addResources(alteration("BROKER", "", "SET", "log.cleaner.min.cleanable.ratio", "0.25"))
        .build();
    ControllerResult<List<io.raftline.protocol.client.ResourceResult>> result =
        controller.incrementalAlterConfigs(image, request);
    assertEquals(List.of(ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_CONFIG, ErrorCode.NONE, ErrorCode.NONE),
        result.response().stream().map(r -> r.getError()).toList());
    String message = result.response().get(0).getErrorMessage();
    assertTrue(message.contains("min.cleanable.dirty.ratio") && message.contains("0 to 1"), message);
    image = replay(image, result.records());
    assertEquals(Map.of("min.cleanable.dirty.ratio", "1"), image.configsOf(new io.raftline.metadata.record.ConfigResource(
        io.raftline.metadata.record.ConfigResource.Type.TOPIC, "t")));
    assertEquals(Map.of("log.cleaner.min.cleanable.ratio", "0.25"), image.configsOf(
        new io.raftline.metadata.record.ConfigResource(io.raftline.metadata.record.ConfigResource.Type.BROKER, "")));
  }

  @Test
  void replicasSpreadOverRacksAndLeadersOverBrokers() {
    MetadataImage image = MetadataImage.EMPTY;
    for (int id = 1; id <= 6; id++) {
      image = replay(image, List.of(new RegisterBrokerRecord(id, "inc-" + id, image.offset() + 1, listeners(id),
          "rack-" + (id <= 2 ? "a" : id <= 4 ? "b" : "c"), false)));
    }
    QuorumController wide = new QuorumController(new ControllerConfig(6, 1), new SplittableRandom(1));
    ControllerResult<List<TopicResult>> created = wide.createTopics(image, request(topic("t", 6, 1)));
    Map<Integer, Integer> leaders = new HashMap<>();
    List<Integer> order = new java.util.ArrayList<>();
    for (MetadataRecord r : created.records()) {
      if (r instanceof PartitionRecord p) {
        leaders.merge(p.leader(), 1, Integer::sum);
        order.add(p.leader());
      }
    }
    // With three replicas each partition has one on every rack.
    MetadataImage racked = image;
    for (MetadataRecord r : wide.createTopics(image, request(topic("r3", 6, 3))).records()) {
      if (r instanceof PartitionRecord p) {
        assertEquals(3, p.replicas().stream().map(b -> racked.broker(b).orElseThrow().rack()).distinct().count(),
            "replicas " + p.replicas() + " span three racks");
      }
    }
    assertEquals(6, leaders.size(), "each broker leads one of six partitions");
    for (int i = 0; i + 2 < order.size(); i++) {
      Set<String> racks = new HashSet<>();
      for (int j = 0; j < 3; j++) {
        racks.add(image.broker(order.get(i + j)).orElseThrow().rack());
      }
      assertEquals(3, racks.size(), "any three consecutive placements use three racks: " + order);
    }
  }

  @Test
  void producerIdBlocksNeverOverlap() {
    MetadataImage image = withBrokers(1, 2);
    long epoch1 = image.broker(1).orElseThrow().epoch();
    long epoch2 = image.broker(2).orElseThrow().epoch();
    ControllerResult<QuorumController.ProducerIdBlock> first = controller.allocateProducerIds(image, 1, epoch1);
    image = replay(image, first.records());
    ControllerResult<QuorumController.ProducerIdBlock> second = controller.allocateProducerIds(image, 2, epoch2);
    assertEquals(0, first.response().start());
    assertEquals(first.response().start() + first.response().length(), second.response().start());
    MetadataImage at = image;
    ControllerException stale = assertThrows(ControllerException.class,
        () -> controller.allocateProducerIds(at, 1, epoch1 + 100));
    assertEquals(ErrorCode.STALE_BROKER_EPOCH, stale.errorCode());
    assertEquals(ErrorCode.BROKER_ID_NOT_REGISTERED,
        assertThrows(ControllerException.class, () -> controller.allocateProducerIds(at, 9, 0)).errorCode());
  }
}
