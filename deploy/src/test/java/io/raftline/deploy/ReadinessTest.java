package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.quorum.QuorumStatus;
import io.raftline.quorum.raft.RaftRole;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each readiness condition on its own: what makes a node ready, and the words for what is missing. */
class ReadinessTest {
  /** A follower that knows leader 2 and has applied everything below the high watermark 10. */
  private static QuorumStatus caughtUp() {
    return new QuorumStatus(RaftRole.FOLLOWER, 3, 2, 10, 12, 9, 0, false);
  }

  private static void assertMissing(Readiness r, String words) {
    assertFalse(r.ready(), r.toString());
    assertEquals(1, r.missing().size(), r.missing().toString());
    assertTrue(r.missing().get(0).contains(words), r.missing().toString());
    JsonObject json = r.toJson();
    assertEquals("not ready", json.getString("status"));
    assertEquals(r.missing(), json.getJsonArray("missing").getList());
  }

  @Test
  void aCaughtUpRegisteredBrokerIsReady() {
    Readiness r = Readiness.of(4, false, caughtUp(), true, 7, false);
    assertTrue(r.ready(), r.missing().toString());
    JsonObject json = r.toJson();
    assertEquals("ready", json.getString("status"));
    assertFalse(json.containsKey("missing"));
    assertEquals(4, json.getInteger("node.id"));
    assertEquals(7L, json.getLong("broker.epoch"));
    assertEquals(10L, json.getJsonObject("quorum").getLong("high.watermark"));
    assertEquals("FOLLOWER", json.getJsonObject("quorum").getString("role"));
  }

  @Test
  void aControllerNeedsNoBrokerEpoch() {
    assertTrue(Readiness.of(1, false, caughtUp(), false, -1, false).ready());
    assertFalse(Readiness.of(1, false, caughtUp(), false, -1, false).toJson().containsKey("broker.epoch"));
  }

  @Test
  void anUnregisteredBrokerIsNotReady() {
    assertMissing(Readiness.of(4, false, caughtUp(), true, -1, false), "not registered");
  }

  @Test
  void aFencedBrokerIsNotReady() {
    Readiness r = Readiness.of(4, false, caughtUp(), true, 7, true);
    assertMissing(r, "fenced");
    assertTrue(r.toJson().getBoolean("broker.fenced"));
    assertTrue(Readiness.of(1, false, caughtUp(), false, -1, true).ready(), "fencing is a broker matter");
  }

  @Test
  void appliedMustReachTheHighWatermark() {
    assertMissing(Readiness.of(1, false, new QuorumStatus(RaftRole.FOLLOWER, 3, 2, 10, 12, 8, 0, false), false, -1,
        false), "behind the high watermark 10");
    // An empty log: nothing committed, nothing to apply.
    assertTrue(Readiness.of(1, false, new QuorumStatus(RaftRole.LEADER, 1, 1, 0, 0, -1, 1, false), false, -1, false)
        .ready());
  }

  @Test
  void noLeaderMeansNotReady() {
    assertMissing(Readiness.of(1, false, new QuorumStatus(RaftRole.CANDIDATE, 4, -1, 10, 12, 9, 0, false), false, -1,
        false), "no quorum leader");
  }

  @Test
  void aHaltedMemberIsNotReady() {
    assertMissing(Readiness.of(1, false, new QuorumStatus(RaftRole.FOLLOWER, 3, 2, 10, 12, 9, 0, true), false, -1,
        false), "halted");
  }

  @Test
  void stoppingAndNotStartedAreNamed() {
    assertMissing(Readiness.of(1, true, caughtUp(), false, -1, false), "stopping");
    Readiness notStarted = Readiness.of(4, false, null, true, -1, false);
    assertEquals(List.of("the quorum member has not started", "the broker is not registered with the controller"),
        notStarted.missing());
  }
}
