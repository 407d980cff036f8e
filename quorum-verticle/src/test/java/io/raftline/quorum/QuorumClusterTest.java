package io.raftline.quorum;

import static io.raftline.quorum.QuorumTestSupport.await;
import static io.raftline.quorum.QuorumTestSupport.freePort;
import static io.raftline.quorum.QuorumTestSupport.waitUntil;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.raftline.metadata.QuorumVoter;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.controller.ControllerGrpcClient;
import io.raftline.protocol.controller.RegisterBrokerRequest;
import io.raftline.protocol.controller.RegisterBrokerResponse;
import io.raftline.quorum.controller.ControllerConfig;
import io.raftline.quorum.raft.RaftRole;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real quorum verticles on loopback, each in its own Vert.x instance (as in three processes):
 * they elect one leader, commit controller writes on every voter's image, elect a new leader when the
 * leader's verticle is undeployed, and a voter restarted on its old directory catches up from disk
 * and from the new leader.
 */
class QuorumClusterTest {
  private static final String CLUSTER = "AAAAAAAAAAAAAAAAAAAAAA";

  @TempDir Path dir;
  private final List<QuorumVoter> voters = new ArrayList<>();
  private final Vertx[] vertxes = new Vertx[3];
  private final QuorumVerticle[] members = new QuorumVerticle[3];
  private final String[] deployments = new String[3];
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private Vertx clientVertx;

  private QuorumConfig config(int index) {
    QuorumVoter v = voters.get(index);
    return new QuorumConfig(v.id(), voters, v.host(), v.port(), dir.resolve("node-" + v.id()).resolve("__cluster_metadata-0"),
        CLUSTER, "raftline.test." + v.id() + ".metadata", 300, 1000, ControllerConfig.defaults());
  }

  private void startMember(int index) throws Exception {
    members[index] = new QuorumVerticle(config(index), registry);
    deployments[index] = await(vertxes[index].deployVerticle(members[index]));
  }

  @AfterEach
  void stopAll() throws Exception {
    for (int i = 0; i < 3; i++) {
      if (vertxes[i] != null) {
        await(vertxes[i].close());
      }
    }
    if (clientVertx != null) {
      await(clientVertx.close());
    }
  }

  private int leaderIndex() {
    int found = -1;
    for (int i = 0; i < 3; i++) {
      if (deployments[i] != null && members[i].status().role() == RaftRole.LEADER) {
        if (found >= 0 && members[found].status().epoch() == members[i].status().epoch()) {
          throw new AssertionError("two leaders in epoch " + members[i].status().epoch());
        }
        if (found < 0 || members[i].status().epoch() > members[found].status().epoch()) {
          found = i;
        }
      }
    }
    return found;
  }

  private RegisterBrokerResponse register(int leader, int brokerId) throws Exception {
    QuorumVoter v = voters.get(leader);
    return await(ControllerGrpcClient.create(GrpcClient.client(clientVertx), SocketAddress.inetSocketAddress(v.port(),
        v.host())).registerBroker(RegisterBrokerRequest.newBuilder().setBrokerId(brokerId).setClusterId(CLUSTER)
        .setIncarnationId("inc-" + brokerId).build()));
  }

  private MetadataImage imageOf(int index) throws Exception {
    return await(vertxes[index].eventBus().<MetadataImage>request("raftline.test." + voters.get(index).id()
        + ".metadata.current", null)).body();
  }

  @Test
  void electReplicateFailOverAndCatchUp() throws Exception {
    for (int id = 1; id <= 3; id++) {
      voters.add(new QuorumVoter(id, "127.0.0.1", freePort()));
    }
    clientVertx = Vertx.vertx();
    for (int i = 0; i < 3; i++) {
      vertxes[i] = Vertx.vertx();
      startMember(i);
    }
    waitUntil("a leader is elected", () -> leaderIndex() >= 0);
    int first = leaderIndex();
    int followerOfFirst = (first + 1) % 3;
    RegisterBrokerResponse nonLeader = register(followerOfFirst, 100);
    assertEquals(ErrorCode.NOT_CONTROLLER, nonLeader.getError(), "a follower does not act as controller");

    RegisterBrokerResponse r = register(first, 100);
    assertEquals(ErrorCode.NONE, r.getError(), r.getErrorMessage());
    long committed = r.getMetadataOffset();
    for (int i = 0; i < 3; i++) {
      int index = i;
      waitUntil("voter " + index + " applies offset " + committed, () -> members[index].status().appliedOffset() >= committed);
      assertTrue(imageOf(i).broker(100).isPresent(), "voter " + i + " sees the registration");
    }

    // The leader's verticle goes away (it resigns on the way out); the other two elect a new leader.
    int oldEpoch = members[first].status().epoch();
    await(vertxes[first].undeploy(deployments[first]));
    deployments[first] = null;
    waitUntil("a new leader is elected", () -> leaderIndex() >= 0 && leaderIndex() != first);
    int second = leaderIndex();
    assertTrue(members[second].status().epoch() > oldEpoch);
    RegisterBrokerResponse r2 = register(second, 200);
    assertEquals(ErrorCode.NONE, r2.getError(), r2.getErrorMessage());
    assertTrue(r2.getMetadataOffset() > committed);

    // The old leader comes back on its directory: it keeps what it had and catches up on the rest.
    startMember(first);
    long committed2 = r2.getMetadataOffset();
    waitUntil("the restarted voter catches up", () -> members[first].status().appliedOffset() >= committed2);
    MetadataImage caughtUp = imageOf(first);
    assertTrue(caughtUp.broker(100).isPresent() && caughtUp.broker(200).isPresent());
    assertNotEquals(RaftRole.LEADER, members[first].status().role(), "a healthy leader is not disrupted");
    assertEquals(second, leaderIndex());

    String leaderTag = Integer.toString(voters.get(second).id());
    assertEquals(1, registry.find("raftline.quorum.commit.latency").tag("node.id", leaderTag).timer().count(),
        "the leader times the commit it made");
    assertEquals(voters.get(second).id(),
        registry.find("raftline.quorum.leader").tag("node.id", leaderTag).gauge().value());
  }
}
