package io.raftline.quorum;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.raftline.quorum.raft.ReplicaState;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The voter lag gauges: one per other voter while this node leads, none otherwise. */
class QuorumMetricsTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  private Gauge lag(int voter) {
    return registry.find(QuorumMetrics.VOTER_LAG).tag("node.id", "1").tag("voter.id", Integer.toString(voter)).gauge();
  }

  @Test
  void theLeaderReportsEachOtherVotersLagAndNothingOnceItStopsLeading() {
    QuorumMetrics metrics = new QuorumMetrics(registry, 1, () -> QuorumStatus.STARTING);
    List<ReplicaState> leading = List.of(new ReplicaState(1, true, 100, 0, 0), new ReplicaState(2, true, 100, 0, 0),
        new ReplicaState(3, true, 60, 0, 0), new ReplicaState(7, false, 10, 0, 0));
    metrics.voterLag(leading, 100, 1);
    assertNull(lag(1), "not its own");
    assertNull(lag(7), "an observer is no voter");
    assertEquals(0, lag(2).value());
    assertEquals(40, lag(3).value());
    metrics.voterLag(List.of(new ReplicaState(1, true, 120, 0, 0), new ReplicaState(2, true, 120, 0, 0),
        new ReplicaState(3, true, 119, 0, 0)), 120, 1);
    assertEquals(1, lag(3).value());

    metrics.voterLag(List.of(), 120, 1);
    assertNull(lag(2), "a follower has no view of the others");
    assertNull(lag(3));
    metrics.voterLag(leading, 100, 1);
    metrics.close();
    assertNull(lag(2), "closed with the member");
    metrics.voterLag(leading, 100, 1);
    assertNull(lag(2), "a stopping member's last drains register nothing");
  }
}
