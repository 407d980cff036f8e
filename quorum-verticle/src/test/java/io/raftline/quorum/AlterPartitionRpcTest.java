package io.raftline.quorum;

import static io.raftline.quorum.QuorumTestSupport.CLUSTER_ID;
import static io.raftline.quorum.QuorumTestSupport.await;
import static io.raftline.quorum.QuorumTestSupport.controllerClient;
import static io.raftline.quorum.QuorumTestSupport.startSoleVoter;
import static io.raftline.quorum.QuorumTestSupport.waitUntil;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.CreateTopicsRequest;
import io.raftline.protocol.client.TopicToCreate;
import io.raftline.protocol.controller.AlterPartitionRequest;
import io.raftline.protocol.controller.AlterPartitionResponse;
import io.raftline.protocol.controller.BrokerHeartbeatRequest;
import io.raftline.protocol.controller.BrokerHeartbeatResponse;
import io.raftline.protocol.controller.ControllerClient;
import io.raftline.protocol.controller.ControllerTopicsResponse;
import io.raftline.protocol.controller.PartitionIsrChange;
import io.raftline.protocol.controller.PartitionIsrResult;
import io.raftline.protocol.controller.RegisterBrokerRequest;
import io.raftline.protocol.controller.RegisterBrokerResponse;
import io.raftline.quorum.controller.ControllerConfig;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** AlterPartition over gRPC against a sole voter: answered after commit, with the committed offset. */
class AlterPartitionRpcTest {
  @TempDir Path dir;
  private Vertx vertx;

  @AfterEach
  void tearDown() throws Exception {
    if (vertx != null) {
      await(vertx.close());
    }
  }

  @Test
  void aLeaderShrinksItsIsrAndTheAnswerComesAfterCommit() throws Exception {
    vertx = Vertx.vertx();
    QuorumVerticle q = startSoleVoter(vertx, dir, new ControllerConfig(1, 3));
    ControllerClient client = controllerClient(vertx, q);

    List<Long> epochs = new ArrayList<>();
    for (int id = 1; id <= 3; id++) {
      RegisterBrokerResponse registered = await(client.registerBroker(RegisterBrokerRequest.newBuilder()
          .setBrokerId(id).setClusterId(CLUSTER_ID).setIncarnationId("inc-" + id).build()));
      assertEquals(ErrorCode.NONE, registered.getError(), registered.getErrorMessage());
      epochs.add(registered.getBrokerEpoch());
    }
    for (int id = 1; id <= 3; id++) {
      BrokerHeartbeatResponse hb = await(client.brokerHeartbeat(BrokerHeartbeatRequest.newBuilder().setBrokerId(id)
          .setBrokerEpoch(epochs.get(id - 1)).setCurrentMetadataOffset(Long.MAX_VALUE).build()));
      assertFalse(hb.getIsFenced());
    }
    ControllerTopicsResponse created = await(client.createTopics(CreateTopicsRequest.newBuilder()
        .addTopics(TopicToCreate.newBuilder().setName("t").setNumPartitions(1).setReplicationFactor(3)).build()));
    assertEquals(ErrorCode.NONE, created.getResults(0).getError(), created.getResults(0).getErrorMessage());

    long createdAt = created.getMetadataOffset();
    waitUntil("the topic is applied", () -> q.status().appliedOffset() >= createdAt);
    MetadataImage image = await(vertx.eventBus().<MetadataImage>request("test.metadata.current", null)).body();
    PartitionRegistration p = image.topic("t").orElseThrow().partition(0);
    assertEquals(3, p.isr().size());
    int leader = p.leader();
    int follower = p.isr().get(1);

    AlterPartitionResponse shrunk = await(client.alterPartition(AlterPartitionRequest.newBuilder()
        .setBrokerId(leader).setBrokerEpoch(epochs.get(leader - 1))
        .addPartitions(PartitionIsrChange.newBuilder().setTopic("t").setPartition(0).setLeaderEpoch(0)
            .setPartitionEpoch(0).addNewIsr(leader).addNewIsr(p.isr().get(2)))
        .build()));
    assertEquals(ErrorCode.NONE, shrunk.getError(), shrunk.getErrorMessage());
    assertEquals(1, shrunk.getLeaderId());
    PartitionIsrResult result = shrunk.getResults(0);
    assertEquals(ErrorCode.NONE, result.getError(), result.getErrorMessage());
    assertEquals(List.of(leader, p.isr().get(2)), result.getIsrList());
    assertEquals(1, result.getPartitionEpoch());
    long at = shrunk.getMetadataOffset();
    waitUntil("the change is applied", () -> q.status().appliedOffset() >= at);
    MetadataImage after = await(vertx.eventBus().<MetadataImage>request("test.metadata.current", null)).body();
    assertFalse(after.topic("t").orElseThrow().partition(0).isr().contains(follower));

    AlterPartitionResponse stale = await(client.alterPartition(AlterPartitionRequest.newBuilder()
        .setBrokerId(leader).setBrokerEpoch(epochs.get(leader - 1) + 100).build()));
    assertEquals(ErrorCode.STALE_BROKER_EPOCH, stale.getError());
    assertEquals(1, stale.getLeaderId());
  }
}
