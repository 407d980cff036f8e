package io.raftline.quorum;

import static io.raftline.quorum.QuorumTestSupport.CLUSTER_ID;
import static io.raftline.quorum.QuorumTestSupport.await;
import static io.raftline.quorum.QuorumTestSupport.controllerClient;
import static io.raftline.quorum.QuorumTestSupport.startSoleVoter;
import static io.raftline.quorum.QuorumTestSupport.waitUntil;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.metadata.image.TopicImage;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.CreateTopicsRequest;
import io.raftline.protocol.client.TopicToCreate;
import io.raftline.protocol.controller.BrokerHeartbeatRequest;
import io.raftline.protocol.controller.BrokerHeartbeatResponse;
import io.raftline.protocol.controller.ControllerClient;
import io.raftline.protocol.controller.ControllerTopicsResponse;
import io.raftline.protocol.controller.RegisterBrokerRequest;
import io.raftline.protocol.controller.RegisterBrokerResponse;
import io.raftline.quorum.controller.ControllerConfig;
import io.raftline.quorum.raft.RaftConfig;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker hosting more partitions than one metadata batch holds (10,000 records): its controlled
 * shutdown and its re-registration write a record per partition, split over several batches. Before,
 * both were refused with RECORD_LIST_TOO_LARGE and the broker could neither stop cleanly nor come back.
 */
class LargeBrokerChangeTest {
  private static final int TOPICS = 2;
  private static final int PARTITIONS = 6_000;
  @TempDir Path dir;
  private Vertx vertx;

  @AfterEach
  void tearDown() throws Exception {
    if (vertx != null) {
      await(vertx.close());
    }
  }

  @Test
  void aBrokerLeadingMorePartitionsThanABatchHoldsShutsDownAndComesBack() throws Exception {
    assertTrue(TOPICS * PARTITIONS > RaftConfig.DEFAULT_MAX_BATCH_ENTRIES, "the case needs more than one batch");
    vertx = Vertx.vertx();
    QuorumVerticle q = startSoleVoter(vertx, dir, new ControllerConfig(1, 1));
    ControllerClient client = controllerClient(vertx, q);

    long epoch = register(client, "first");
    heartbeat(client, epoch, false);
    for (int t = 0; t < TOPICS; t++) {
      ControllerTopicsResponse created = await(client.createTopics(CreateTopicsRequest.newBuilder()
          .addTopics(TopicToCreate.newBuilder().setName("t" + t).setNumPartitions(PARTITIONS).setReplicationFactor(1))
          .build()));
      assertEquals(ErrorCode.NONE, created.getResults(0).getError(), created.getResults(0).getErrorMessage());
    }
    assertEquals(TOPICS * PARTITIONS, ledBy(image(q), 1));

    // Controlled shutdown: fence and move every leadership away (none left to move to with RF 1).
    BrokerHeartbeatResponse shutdown = heartbeat(client, epoch, true);
    assertTrue(shutdown.getShouldShutDown());
    long shutdownAt = shutdown.getMetadataOffset();
    waitUntil("the shutdown is applied", () -> q.status().appliedOffset() >= shutdownAt);
    MetadataImage stopped = image(q);
    assertEquals(0, ledBy(stopped, 1), "every leadership moved away");
    assertTrue(stopped.broker(1).orElseThrow().fenced());

    // A new incarnation registers (its record first), is unfenced, and leads again.
    long next = register(client, "second");
    assertTrue(next > epoch);
    BrokerHeartbeatResponse unfenced = heartbeat(client, next, false);
    assertEquals(false, unfenced.getIsFenced());
    long unfencedAt = unfenced.getMetadataOffset();
    waitUntil("the unfencing is applied", () -> q.status().appliedOffset() >= unfencedAt);
    assertEquals(TOPICS * PARTITIONS, ledBy(image(q), 1), "offline partitions elect the returning broker");
    assertEquals(false, q.status().halted());

    // An atomic change over the limit is still refused, naming the limit.
    ControllerTopicsResponse tooLarge = await(client.createTopics(CreateTopicsRequest.newBuilder()
        .addTopics(TopicToCreate.newBuilder().setName("huge").setNumPartitions(RaftConfig.DEFAULT_MAX_BATCH_ENTRIES)
            .setReplicationFactor(1)).build()));
    boolean perTopic = tooLarge.getResultsCount() > 0;
    ErrorCode code = perTopic ? tooLarge.getResults(0).getError() : tooLarge.getError();
    String refusal = perTopic ? tooLarge.getResults(0).getErrorMessage() : tooLarge.getErrorMessage();
    assertEquals(ErrorCode.INVALID_REQUEST, code, refusal);
    assertTrue(refusal.contains("at most " + RaftConfig.DEFAULT_MAX_BATCH_ENTRIES), refusal);
    assertTrue(image(q).topic("huge").isEmpty(), "nothing of the refused topic was written");
  }

  private static long register(ControllerClient client, String incarnation) throws Exception {
    RegisterBrokerResponse registered = await(client.registerBroker(RegisterBrokerRequest.newBuilder()
        .setBrokerId(1).setClusterId(CLUSTER_ID).setIncarnationId(incarnation).build()));
    assertEquals(ErrorCode.NONE, registered.getError(), registered.getErrorMessage());
    return registered.getBrokerEpoch();
  }

  private static BrokerHeartbeatResponse heartbeat(ControllerClient client, long epoch, boolean shutDown)
      throws Exception {
    BrokerHeartbeatResponse hb = await(client.brokerHeartbeat(BrokerHeartbeatRequest.newBuilder().setBrokerId(1)
        .setBrokerEpoch(epoch).setCurrentMetadataOffset(Long.MAX_VALUE).setWantShutDown(shutDown).build()));
    assertEquals(ErrorCode.NONE, hb.getError(), hb.getErrorMessage());
    return hb;
  }

  private MetadataImage image(QuorumVerticle q) throws Exception {
    return await(vertx.eventBus().<MetadataImage>request("test.metadata.current", null)).body();
  }

  private static int ledBy(MetadataImage image, int broker) {
    int led = 0;
    for (int t = 0; t < TOPICS; t++) {
      TopicImage topic = image.topic("t" + t).orElseThrow();
      for (int p = 0; p < PARTITIONS; p++) {
        PartitionRegistration registration = topic.partition(p);
        if (registration.leader() == broker) {
          led++;
        }
      }
    }
    return led;
  }
}
