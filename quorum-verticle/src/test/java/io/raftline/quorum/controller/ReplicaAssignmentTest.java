package io.raftline.quorum.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.raftline.metadata.image.MetadataDelta;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.metadata.image.TopicImage;
import io.raftline.metadata.record.BrokerEndpoint;
import io.raftline.metadata.record.FenceBrokerRecord;
import io.raftline.metadata.record.MetadataRecord;
import io.raftline.metadata.record.PartitionRecord;
import io.raftline.metadata.record.RegisterBrokerRecord;
import io.raftline.metadata.record.TopicRecord;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.CreatePartitionsRequest;
import io.raftline.protocol.client.CreateTopicsRequest;
import io.raftline.protocol.client.PartitionCountChange;
import io.raftline.protocol.client.ReplicaAssignment;
import io.raftline.protocol.client.TopicResult;
import io.raftline.protocol.client.TopicToCreate;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Topics and partitions created on replicas the request names (kafka-topics --replica-assignment). */
class ReplicaAssignmentTest {
  private final QuorumController controller = new QuorumController(new ControllerConfig(3, 1), new SplittableRandom(7));

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
      image = replay(image, List.of(new RegisterBrokerRecord(id, "inc-" + id, image.offset() + 1,
          List.of(new BrokerEndpoint("PLAINTEXT", "host" + id, 9092)), "", false)));
    }
    return image;
  }

  private static MetadataImage fence(MetadataImage image, int id) {
    return replay(image, List.of(new FenceBrokerRecord(id, image.brokers().get(id).epoch())));
  }

  /** A topic with the given replicas for partitions 0, 1, ...; partitions and RF left at -1. */
  private static TopicToCreate assigned(String name, List<List<Integer>> replicas) {
    TopicToCreate.Builder t = TopicToCreate.newBuilder().setName(name).setNumPartitions(-1).setReplicationFactor(-1);
    for (int p = 0; p < replicas.size(); p++) {
      t.addAssignments(ReplicaAssignment.newBuilder().setPartitionIndex(p).addAllBrokerIds(replicas.get(p)));
    }
    return t.build();
  }

  private ControllerResult<List<TopicResult>> create(MetadataImage image, TopicToCreate t) {
    return controller.createTopics(image, CreateTopicsRequest.newBuilder().addTopics(t).build());
  }

  private void assertRefused(MetadataImage image, TopicToCreate t, ErrorCode code) {
    ControllerResult<List<TopicResult>> result = create(image, t);
    TopicResult r = result.response().get(0);
    assertEquals(code, r.getError(), r.getErrorMessage());
    assertFalse(r.getErrorMessage().isEmpty(), "a refusal explains itself");
    assertEquals(List.of(), result.records(), "a refused topic appends nothing");
  }

  @Test
  void theNamedReplicasAreTheAssignmentInOrderAndTheFirstLeads() {
    MetadataImage image = withBrokers(1, 2, 3);
    ControllerResult<List<TopicResult>> result = create(image, assigned("placed",
        List.of(List.of(1, 2, 3), List.of(2, 3, 1), List.of(3, 1, 2), List.of(3, 2, 1))));
    TopicResult r = result.response().get(0);
    assertEquals(ErrorCode.NONE, r.getError(), r.getErrorMessage());
    assertEquals(4, r.getNumPartitions());
    assertEquals(3, r.getReplicationFactor());
    assertInstanceOf(TopicRecord.class, result.records().get(0));
    TopicImage topic = replay(image, result.records()).topic("placed").orElseThrow();
    assertEquals(List.of(1, 2, 3), topic.partition(0).replicas());
    assertEquals(List.of(2, 3, 1), topic.partition(1).replicas());
    assertEquals(List.of(3, 2, 1), topic.partition(3).replicas());
    assertEquals(List.of(3, 2, 1), topic.partition(3).isr());
    assertEquals(2, topic.partition(1).leader());
    assertEquals(3, topic.partition(3).leader());
  }

  @Test
  void partitionIndexesMayComeInAnyOrderButMustCoverZeroToN() {
    MetadataImage image = withBrokers(1, 2);
    TopicToCreate shuffled = TopicToCreate.newBuilder().setName("shuffled").setNumPartitions(-1).setReplicationFactor(-1)
        .addAssignments(ReplicaAssignment.newBuilder().setPartitionIndex(1).addBrokerIds(2))
        .addAssignments(ReplicaAssignment.newBuilder().setPartitionIndex(0).addBrokerIds(1)).build();
    ControllerResult<List<TopicResult>> result = create(image, shuffled);
    assertEquals(ErrorCode.NONE, result.response().get(0).getError());
    TopicImage topic = replay(image, result.records()).topic("shuffled").orElseThrow();
    assertEquals(List.of(1), topic.partition(0).replicas());
    assertEquals(List.of(2), topic.partition(1).replicas());

    TopicToCreate gap = TopicToCreate.newBuilder().setName("gap").setNumPartitions(-1).setReplicationFactor(-1)
        .addAssignments(ReplicaAssignment.newBuilder().setPartitionIndex(0).addBrokerIds(1))
        .addAssignments(ReplicaAssignment.newBuilder().setPartitionIndex(2).addBrokerIds(2)).build();
    assertRefused(image, gap, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    TopicToCreate twice = TopicToCreate.newBuilder().setName("twice").setNumPartitions(-1).setReplicationFactor(-1)
        .addAssignments(ReplicaAssignment.newBuilder().setPartitionIndex(0).addBrokerIds(1))
        .addAssignments(ReplicaAssignment.newBuilder().setPartitionIndex(0).addBrokerIds(2)).build();
    assertRefused(image, twice, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  }

  @Test
  void unevenFactorsRepeatedBrokersEmptyListsAndStrangersAreInvalidReplicaAssignment() {
    MetadataImage image = withBrokers(1, 2, 3);
    assertRefused(image, assigned("uneven", List.of(List.of(1, 2), List.of(3))), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assertRefused(image, assigned("repeat", List.of(List.of(1, 1))), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assertRefused(image, assigned("empty", List.of(List.of())), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assertRefused(image, assigned("stranger", List.of(List.of(1, 2), List.of(2, 9))), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  }

  @Test
  void anAssignmentTogetherWithPartitionsOrReplicationFactorIsInvalidRequest() {
    MetadataImage image = withBrokers(1, 2, 3);
    TopicToCreate base = assigned("both", List.of(List.of(1, 2)));
    assertRefused(image, base.toBuilder().setNumPartitions(1).build(), ErrorCode.INVALID_REQUEST);
    assertRefused(image, base.toBuilder().setReplicationFactor(2).build(), ErrorCode.INVALID_REQUEST);
    // proto3 reads a field never set as 0: that counts as not given.
    TopicToCreate unsetFields = TopicToCreate.newBuilder().setName("unset")
        .addAssignments(ReplicaAssignment.newBuilder().setPartitionIndex(0).addBrokerIds(2).addBrokerIds(1)).build();
    assertEquals(ErrorCode.NONE, create(image, unsetFields).response().get(0).getError());
  }

  @Test
  void aFencedReplicaIsAssignedButNeitherLeadsNorStartsInTheIsr() {
    MetadataImage image = fence(withBrokers(1, 2, 3), 1);
    ControllerResult<List<TopicResult>> result = create(image, assigned("partly", List.of(List.of(1, 2, 3))));
    assertEquals(ErrorCode.NONE, result.response().get(0).getError(), result.response().get(0).getErrorMessage());
    PartitionRegistration p = replay(image, result.records()).topic("partly").orElseThrow().partition(0);
    assertEquals(List.of(1, 2, 3), p.replicas());
    assertEquals(List.of(2, 3), p.isr());
    assertEquals(2, p.leader());

    MetadataImage allFenced = fence(fence(image, 2), 3);
    assertRefused(allFenced, assigned("dark", List.of(List.of(1, 2))), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  }

  @Test
  void anAssignmentIgnoresTheLiveBrokerCountAndValidateOnlyWritesNothing() {
    // RF 2 on a cluster with one unfenced broker: an explicit assignment is the operator's call.
    MetadataImage image = fence(withBrokers(1, 2), 2);
    ControllerResult<List<TopicResult>> ok = create(image, assigned("operator", List.of(List.of(1, 2))));
    assertEquals(ErrorCode.NONE, ok.response().get(0).getError(), ok.response().get(0).getErrorMessage());
    ControllerResult<List<TopicResult>> dry = controller.createTopics(image, CreateTopicsRequest.newBuilder()
        .addTopics(assigned("dry", List.of(List.of(1, 2)))).setValidateOnly(true).build());
    assertEquals(ErrorCode.NONE, dry.response().get(0).getError());
    assertEquals(2, dry.response().get(0).getReplicationFactor());
    assertEquals(List.of(), dry.records());
  }

  @Test
  void addedPartitionsTakeTheirAssignmentAtTheTopicsReplicationFactor() {
    MetadataImage image = withBrokers(1, 2, 3);
    image = replay(image, create(image, assigned("grow", List.of(List.of(1, 2)))).records());

    ControllerResult<List<TopicResult>> added = controller.createPartitions(image, grow(3, List.of(2, 3), List.of(3, 1)));
    assertEquals(ErrorCode.NONE, added.response().get(0).getError(), added.response().get(0).getErrorMessage());
    assertEquals(2, added.records().size());
    TopicImage topic = replay(image, added.records()).topic("grow").orElseThrow();
    assertEquals(List.of(2, 3), topic.partition(1).replicas());
    assertEquals(List.of(3, 1), topic.partition(2).replicas());
    assertEquals(3, topic.partition(2).leader());
    assertEquals(2, assertInstanceOf(PartitionRecord.class, added.records().get(1)).partition());

    assertGrowRefused(image, grow(3, List.of(2, 3)));                  // two new partitions, one assignment
    assertGrowRefused(image, grow(2, List.of(1, 2, 3)));               // RF 3 on an RF 2 topic
    assertGrowRefused(image, grow(2, List.of(3, 3)));                  // a broker twice
    assertGrowRefused(image, grow(2, List.of(3, 7)));                  // an unknown broker
  }

  private static CreatePartitionsRequest grow(int count, List<?>... replicas) {
    PartitionCountChange.Builder change = PartitionCountChange.newBuilder().setTopic("grow").setCount(count);
    for (List<?> r : replicas) {
      ReplicaAssignment.Builder a = ReplicaAssignment.newBuilder();
      r.forEach(b -> a.addBrokerIds((Integer) b));
      change.addAssignments(a);
    }
    return CreatePartitionsRequest.newBuilder().addTopics(change).build();
  }

  private void assertGrowRefused(MetadataImage image, CreatePartitionsRequest request) {
    ControllerResult<List<TopicResult>> result = controller.createPartitions(image, request);
    assertEquals(ErrorCode.INVALID_REPLICA_ASSIGNMENT, result.response().get(0).getError(),
        result.response().get(0).getErrorMessage());
    assertEquals(List.of(), result.records());
  }
}
