package io.raftline.metadata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.metadata.image.MetadataDelta;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.image.MetadataReplayException;
import io.raftline.metadata.projection.LocalReplicaChanges;
import io.raftline.metadata.record.BrokerEndpoint;
import io.raftline.metadata.record.MetadataRecord;
import io.raftline.metadata.record.MetadataRecordCodec;
import io.raftline.metadata.record.NoOpRecord;
import io.raftline.metadata.record.PartitionRecord;
import io.raftline.metadata.record.RegisterBrokerRecord;
import io.raftline.metadata.record.RemoveTopicRecord;
import io.raftline.metadata.record.TopicRecord;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class MetadataImageTest {
  private static final UUID ORDERS = new UUID(1, 1);
  private static final UUID PAYMENTS = new UUID(2, 2);

  private static MetadataImage replay(MetadataImage base, long firstOffset, MetadataRecord... records) {
    MetadataDelta delta = new MetadataDelta(base);
    long offset = firstOffset;
    for (MetadataRecord r : records) {
      delta.replay(offset++, r);
    }
    return delta.apply();
  }

  private static PartitionRecord partition(UUID topic, int index, int leader, List<Integer> replicas) {
    return new PartitionRecord(topic, index, replicas, replicas, leader, 0, 0);
  }

  @Test
  void everyRecordTypeSurvivesTheCodec() {
    List<MetadataRecord> records = List.of(
        new RegisterBrokerRecord(3, "inc-1", 17, List.of(new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9092)), "r1", false),
        new TopicRecord("orders", ORDERS),
        partition(ORDERS, 0, 3, List.of(3, 1, 2)),
        new RemoveTopicRecord(ORDERS),
        NoOpRecord.INSTANCE,
        new io.raftline.metadata.record.UnregisterBrokerRecord(3, 17),
        new io.raftline.metadata.record.FenceBrokerRecord(3, 17),
        new io.raftline.metadata.record.UnfenceBrokerRecord(3, 17),
        new io.raftline.metadata.record.PartitionChangeRecord(ORDERS, 0, 2, List.of(2, 1), null),
        new io.raftline.metadata.record.PartitionChangeRecord(ORDERS, 1, -2, null, List.of(1, 2, 3)),
        new io.raftline.metadata.record.ConfigRecord(new io.raftline.metadata.record.ConfigResource(
            io.raftline.metadata.record.ConfigResource.Type.TOPIC, "orders"), "retention.ms", "1000"),
        new io.raftline.metadata.record.ConfigRecord(new io.raftline.metadata.record.ConfigResource(
            io.raftline.metadata.record.ConfigResource.Type.BROKER, ""), "retention.ms", null),
        new io.raftline.metadata.record.ProducerIdsRecord(3, 17, 2000),
        new io.raftline.metadata.record.FeatureLevelRecord("metadata.version", 1),
        new io.raftline.metadata.record.AccessControlEntryRecord(PAYMENTS, "TOPIC", "orders", "LITERAL", "User:alice",
            "*", "READ", "ALLOW"),
        new io.raftline.metadata.record.RemoveAccessControlEntryRecord(PAYMENTS),
        new io.raftline.metadata.record.ClientQuotaRecord(java.util.Map.of("user", "alice"), "producer_byte_rate", 1e6),
        new io.raftline.metadata.record.ClientQuotaRecord(java.util.Map.of("user", "alice"), "producer_byte_rate", null));
    for (MetadataRecord r : records) {
      assertEquals(r, MetadataRecordCodec.decode(MetadataRecordCodec.encode(r)));
    }
    assertEquals(NoOpRecord.INSTANCE, MetadataRecordCodec.decode(new byte[0]));
    assertThrows(IllegalArgumentException.class, () -> MetadataRecordCodec.decode(new byte[] {(byte) 0xFF, 0x01}));
  }

  @Test
  void replayBuildsTopicsAndBrokers() {
    MetadataImage image = replay(MetadataImage.EMPTY, 0,
        new RegisterBrokerRecord(1, "a", 0, List.of(), "", false),
        new TopicRecord("orders", ORDERS),
        partition(ORDERS, 0, 1, List.of(1)),
        partition(ORDERS, 1, 1, List.of(1)));
    assertEquals(3, image.offset());
    assertEquals(2, image.topic("orders").orElseThrow().partitions().size());
    assertEquals(1, image.broker(1).orElseThrow().id());

    MetadataImage removed = replay(image, 4, new RemoveTopicRecord(ORDERS));
    assertTrue(removed.topic("orders").isEmpty());
    assertTrue(removed.topicsById().isEmpty());
    assertEquals(2, image.topic("orders").orElseThrow().partitions().size(), "the old image is unchanged");
  }

  @Test
  void aChangeToOneTopicSharesEveryOtherTopic() {
    MetadataImage image = replay(MetadataImage.EMPTY, 0,
        new TopicRecord("orders", ORDERS), partition(ORDERS, 0, 1, List.of(1)),
        new TopicRecord("payments", PAYMENTS), partition(PAYMENTS, 0, 1, List.of(1)));
    MetadataImage next = replay(image, 4, partition(ORDERS, 0, 2, List.of(2)));
    assertSame(image.topicsById().get(PAYMENTS), next.topicsById().get(PAYMENTS));
    assertEquals(2, next.topic("orders").orElseThrow().partition(0).leader());
  }

  @Test
  void inconsistentRecordsStopReplay() {
    assertThrows(MetadataReplayException.class, () -> replay(MetadataImage.EMPTY, 0, partition(ORDERS, 0, 1, List.of(1))));
    assertThrows(MetadataReplayException.class,
        () -> replay(MetadataImage.EMPTY, 0, new TopicRecord("orders", ORDERS), new TopicRecord("orders", PAYMENTS)));
    MetadataDelta delta = new MetadataDelta(MetadataImage.EMPTY);
    delta.replay(5, NoOpRecord.INSTANCE);
    assertThrows(MetadataReplayException.class, () -> delta.replay(5, NoOpRecord.INSTANCE));
  }

  @Test
  void projectionTellsABrokerOnlyWhatChangedForIt() {
    MetadataImage image = replay(MetadataImage.EMPTY, 0,
        new TopicRecord("orders", ORDERS),
        partition(ORDERS, 0, 1, List.of(1, 2)),
        partition(ORDERS, 1, 2, List.of(2, 1)),
        partition(ORDERS, 2, 3, List.of(3)));
    LocalReplicaChanges forOne = LocalReplicaChanges.between(MetadataImage.EMPTY, image, 1);
    assertEquals(Set.of(new TopicPartition("orders", 0)), forOne.leaders().keySet());
    assertEquals(Set.of(new TopicPartition("orders", 1)), forOne.followers().keySet());

    MetadataDelta moveAway = new MetadataDelta(image);
    moveAway.replay(4, partition(ORDERS, 1, 2, List.of(2, 3)));
    LocalReplicaChanges afterMove = LocalReplicaChanges.of(moveAway, moveAway.apply(), 1);
    assertTrue(afterMove.leaders().isEmpty(), "partition 0 did not change for broker 1");
    assertEquals(Set.of(new TopicPartition("orders", 1)), afterMove.deletes());

    MetadataDelta delete = new MetadataDelta(image);
    delete.replay(4, new RemoveTopicRecord(ORDERS));
    LocalReplicaChanges afterDelete = LocalReplicaChanges.of(delete, delete.apply(), 1);
    assertEquals(Set.of(new TopicPartition("orders", 0), new TopicPartition("orders", 1)), afterDelete.deletes());
    assertFalse(afterDelete.deletes().contains(new TopicPartition("orders", 2)), "broker 1 never hosted it");
    assertEquals(afterDelete, LocalReplicaChanges.between(image, delete.apply(), 1));
  }

  @Test
  void topicNamesFollowKafkasRules() {
    assertTrue(TopicName.problem("orders.v1_x-2").isEmpty());
    assertTrue(TopicName.problem("").isPresent());
    assertTrue(TopicName.problem(".").isPresent());
    assertTrue(TopicName.problem("..").isPresent());
    assertTrue(TopicName.problem("a b").isPresent());
    assertTrue(TopicName.problem("ü").isPresent());
    assertTrue(TopicName.problem("x".repeat(249)).isEmpty());
    assertTrue(TopicName.problem("x".repeat(250)).isPresent());
  }

  @Test
  void projectionReportsTheBrokersOwnFencing() {
    MetadataImage registered = replay(MetadataImage.EMPTY, 0,
        new RegisterBrokerRecord(1, "a", 0, List.of(), "", true), new RegisterBrokerRecord(2, "b", 1, List.of(), "", true));
    assertEquals(java.util.Optional.empty(), LocalReplicaChanges.between(MetadataImage.EMPTY, registered, 1).fenced(),
        "not registered counts as fenced, so a fenced registration changes nothing");
    MetadataDelta unfence = new MetadataDelta(registered);
    unfence.replay(2, new io.raftline.metadata.record.UnfenceBrokerRecord(1, 0));
    MetadataImage after = unfence.apply();
    assertEquals(java.util.Optional.of(false), LocalReplicaChanges.of(unfence, after, 1).fenced());
    assertEquals(java.util.Optional.empty(), LocalReplicaChanges.of(unfence, after, 2).fenced(), "broker 2 unchanged");
    MetadataDelta fence = new MetadataDelta(after);
    fence.replay(3, new io.raftline.metadata.record.FenceBrokerRecord(1, 0));
    assertEquals(java.util.Optional.of(true), LocalReplicaChanges.of(fence, fence.apply(), 1).fenced());
  }
}
