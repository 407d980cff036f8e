package io.raftline.quorum.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.raftline.metadata.image.MetadataDelta;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.metadata.record.BrokerEndpoint;
import io.raftline.metadata.record.ConfigRecord;
import io.raftline.metadata.record.ConfigResource;
import io.raftline.metadata.record.FenceBrokerRecord;
import io.raftline.metadata.record.MetadataRecord;
import io.raftline.metadata.record.PartitionChangeRecord;
import io.raftline.metadata.record.PartitionRecord;
import io.raftline.metadata.record.RegisterBrokerRecord;
import io.raftline.metadata.record.TopicRecord;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.AlterConfigOp;
import io.raftline.protocol.client.AlterConfigsRequest;
import io.raftline.protocol.client.ConfigResourceName;
import io.raftline.protocol.client.ResourceAlteration;
import io.raftline.protocol.client.ResourceResult;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * unclean.leader.election.enable per topic: when no ISR member of a partition is live, its first
 * live replica leads alone, only where the topic allows it; otherwise the partition stays leaderless.
 */
class UncleanLeaderElectionTest {
  private static final long SESSION_MS = 9_000;
  private static final UUID TOPIC = new UUID(1, 1);
  private final QuorumController controller = new QuorumController(new ControllerConfig(1, 1, SESSION_MS),
      new SplittableRandom(3));

  private static MetadataImage replay(MetadataImage image, List<MetadataRecord> records) {
    MetadataDelta delta = new MetadataDelta(image);
    long offset = image.offset();
    for (MetadataRecord r : records) {
      delta.replay(++offset, r);
    }
    return delta.apply();
  }

  /**
   * Brokers 1, 2, 3 (epochs 0, 1, 2); topic "t": partition 0 on replicas [3, 1, 2] led by 1 with only 1
   * in sync (3 and 2 fell behind), partition 1 on [2, 3] with both in sync, led by 2.
   */
  private static MetadataImage cluster(String unclean) {
    List<MetadataRecord> records = new ArrayList<>();
    for (int id = 1; id <= 3; id++) {
      records.add(new RegisterBrokerRecord(id, "inc-" + id, id - 1, List.of(new BrokerEndpoint("PLAINTEXT", "h", id)),
          "", false));
    }
    records.add(new TopicRecord("t", TOPIC));
    records.add(new PartitionRecord(TOPIC, 0, List.of(3, 1, 2), List.of(1), 1, 4, 7));
    records.add(new PartitionRecord(TOPIC, 1, List.of(2, 3), List.of(2, 3), 2, 0, 0));
    if (unclean != null) {
      records.add(new ConfigRecord(new ConfigResource(ConfigResource.Type.TOPIC, "t"), "unclean.leader.election.enable",
          unclean));
    }
    return replay(MetadataImage.EMPTY, records);
  }

  /** Brokers 2 and 3 keep heartbeating past the session timeout; broker 1 went silent. */
  private MetadataImage brokerOneTimesOut(MetadataImage image) {
    controller.becomeActive(image, 0);
    for (int id = 2; id <= 3; id++) {
      controller.heartbeat(image, SESSION_MS + 1, id, id - 1, image.offset(), false);
    }
    ControllerResult<List<Integer>> fenced = controller.fenceExpiredBrokers(image, SESSION_MS + 1);
    assertEquals(List.of(1), fenced.response());
    return replay(image, fenced.records());
  }

  private static PartitionRegistration partition(MetadataImage image, int index) {
    return image.topic("t").orElseThrow().partition(index);
  }

  @Test
  void byDefaultTheLastInSyncReplicaGoingLeavesThePartitionWithoutALeader() {
    for (String setting : new String[] {null, "false"}) {
      MetadataImage image = brokerOneTimesOut(cluster(setting));
      assertEquals(PartitionRegistration.NO_LEADER, partition(image, 0).leader(), "unclean=" + setting);
      assertEquals(List.of(1), partition(image, 0).isr(), "the last in-sync replica stays in the ISR");
    }
  }

  @Test
  void whereTheTopicAllowsItTheFirstLiveReplicaLeadsAlone() {
    MetadataImage before = cluster("true");
    MetadataImage image = brokerOneTimesOut(before);
    PartitionRegistration p = partition(image, 0);
    assertEquals(3, p.leader(), "3 is the first live replica in assignment order [3, 1, 2]");
    assertEquals(List.of(3), p.isr());
    assertEquals(5, p.leaderEpoch());
    assertEquals(partition(before, 1), partition(image, 1), "a partition with a live ISR is not touched");
  }

  @Test
  void controlledShutdownOfTheLastInSyncReplicaElectsUncleanlyToo() {
    MetadataImage image = cluster("TRUE");
    controller.becomeActive(image, 0);
    ControllerResult<QuorumController.HeartbeatReply> shutdown = controller.heartbeat(image, 1, 1, 0, image.offset(),
        true);
    image = replay(image, shutdown.records());
    assertEquals(3, partition(image, 0).leader());
    assertEquals(List.of(3), partition(image, 0).isr());
  }

  @Test
  void turningTheConfigOnElectsLeaderlessPartitionsAtOnce() {
    MetadataImage image = brokerOneTimesOut(cluster(null));
    assertEquals(PartitionRegistration.NO_LEADER, partition(image, 0).leader());

    ControllerResult<List<ResourceResult>> dry = controller.incrementalAlterConfigs(image,
        alter("unclean.leader.election.enable", "true").toBuilder().setValidateOnly(true).build());
    assertEquals(ErrorCode.NONE, dry.response().get(0).getError());
    assertEquals(List.of(), dry.records(), "validate-only writes nothing, elects nothing");

    ControllerResult<List<ResourceResult>> on = controller.incrementalAlterConfigs(image,
        alter("unclean.leader.election.enable", "true"));
    assertEquals(ErrorCode.NONE, on.response().get(0).getError(), on.response().get(0).getErrorMessage());
    assertEquals(2, on.records().size(), "the config record and one election: " + on.records());
    assertEquals(new PartitionChangeRecord(TOPIC, 0, 3, List.of(3), null), on.records().get(1));
    image = replay(image, on.records());
    assertEquals(3, partition(image, 0).leader());

    // Already on: setting it again (or another key) elects nothing more.
    assertEquals(1, controller.incrementalAlterConfigs(image, alter("unclean.leader.election.enable", "true"))
        .records().size());
  }

  @Test
  void otherConfigChangesAndBadValuesElectNothing() {
    MetadataImage image = brokerOneTimesOut(cluster(null));
    ControllerResult<List<ResourceResult>> other = controller.incrementalAlterConfigs(image,
        alter("retention.ms", "1000"));
    assertEquals(1, other.records().size());
    assertEquals(ConfigRecord.class, other.records().get(0).getClass());
    ControllerResult<List<ResourceResult>> off = controller.incrementalAlterConfigs(image,
        alter("unclean.leader.election.enable", "false"));
    assertEquals(1, off.records().size());
    ControllerResult<List<ResourceResult>> bad = controller.incrementalAlterConfigs(image,
        alter("unclean.leader.election.enable", "maybe"));
    assertEquals(ErrorCode.INVALID_CONFIG, bad.response().get(0).getError());
    assertEquals(List.of(), bad.records());
  }

  @Test
  void aReplicaComingBackLeadsUncleanlyOnlyWhereAllowedAndNoIsrMemberIsLive() {
    for (String setting : new String[] {"false", "true"}) {
      // Every broker fenced; partition 0 is leaderless with ISR [1]; broker 2 comes back first.
      MetadataImage image = cluster(setting);
      image = replay(image, List.of(new FenceBrokerRecord(1, 0), new FenceBrokerRecord(3, 2), new FenceBrokerRecord(2, 1),
          new PartitionChangeRecord(TOPIC, 0, PartitionRegistration.NO_LEADER, null, null),
          new PartitionChangeRecord(TOPIC, 1, PartitionRegistration.NO_LEADER, List.of(3), null)));
      controller.becomeActive(image, 0);
      image = replay(image, controller.heartbeat(image, 1, 2, 1, image.offset(), false).records());
      assertEquals(setting.equals("true") ? 2 : PartitionRegistration.NO_LEADER, partition(image, 0).leader(),
          "unclean=" + setting);
      assertEquals(setting.equals("true") ? List.of(2) : List.of(1), partition(image, 0).isr());
      assertEquals(setting.equals("true") ? 2 : PartitionRegistration.NO_LEADER, partition(image, 1).leader());

      // Broker 1, the old ISR, returns: with unclean off it leads cleanly again.
      image = replay(image, controller.heartbeat(image, 2, 1, 0, image.offset(), false).records());
      assertEquals(setting.equals("true") ? 2 : 1, partition(image, 0).leader());
    }
  }

  private static AlterConfigsRequest alter(String key, String value) {
    return AlterConfigsRequest.newBuilder().addResources(ResourceAlteration.newBuilder()
        .setResource(ConfigResourceName.newBuilder().setType("TOPIC").setName("t"))
        .addOps(AlterConfigOp.newBuilder().setName(key).setValue(value).setOp("SET"))).build();
  }
}
