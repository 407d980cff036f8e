package io.raftline.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.metadata.image.PartitionRegistration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The leader's follower bookkeeping: high watermark, lag, and ISR proposals. */
class InSyncReplicasTest {
  private static final long LAG_MS = 30_000;

  private static PartitionRegistration reg(List<Integer> isr, int partitionEpoch) {
    return new PartitionRegistration(List.of(1, 2, 3), isr, 1, 5, partitionEpoch);
  }

  @Test
  void highWatermarkIsTheSmallestEndInTheIsrAndNeverMovesBack() {
    InSyncReplicas s = new InSyncReplicas(1, reg(List.of(1, 2, 3), 0), 10, 10, 10, 0);
    assertEquals(10, s.highWatermark());
    s.leaderAppended(20);
    assertEquals(10, s.highWatermark(), "followers have not fetched past 10 yet");
    assertFalse(s.followerFetched(2, 20, 1));
    assertTrue(s.followerFetched(3, 15, 1));
    assertEquals(15, s.highWatermark());
    assertTrue(s.followerFetched(3, 20, 2));
    assertEquals(20, s.highWatermark());
    // A follower that restarted and fetches from lower down does not pull the watermark back.
    s.followerFetched(3, 12, 3);
    assertEquals(20, s.highWatermark());
  }

  @Test
  void aSingleReplicaPartitionCommitsOnAppend() {
    InSyncReplicas s = new InSyncReplicas(1, new PartitionRegistration(List.of(1), List.of(1), 1, 0, 0), 0, 0, 0, 0);
    assertTrue(s.leaderAppended(7));
    assertEquals(7, s.highWatermark());
  }

  @Test
  void aLaggingFollowerIsProposedOutAndTheWatermarkStopsWaitingForItOnceCommitted() {
    InSyncReplicas s = new InSyncReplicas(1, reg(List.of(1, 2, 3), 0), 0, 0, 0, 0);
    s.leaderAppended(100);
    s.followerFetched(2, 100, 1_000);
    assertEquals(Optional.empty(), s.proposeIsrChange(20_000, LAG_MS), "within the lag window");
    assertEquals(0, s.highWatermark(), "3 is in the ISR and has nothing");
    s.followerFetched(2, 100, 31_000);
    assertEquals(Optional.of(List.of(1, 2)), s.proposeIsrChange(31_000, LAG_MS));
    assertTrue(s.changePending());
    assertEquals(Optional.empty(), s.proposeIsrChange(32_000, LAG_MS), "one proposal at a time");
    assertEquals(0, s.highWatermark(), "the shrink is not committed: 3 still counts");
    assertTrue(s.registrationChanged(reg(List.of(1, 2), 1), 33_000));
    assertFalse(s.changePending());
    assertEquals(100, s.highWatermark());
  }

  @Test
  void aFollowerRejoinsOnceItReachesTheHighWatermarkAndTheEpochStart() {
    InSyncReplicas s = new InSyncReplicas(1, reg(List.of(1, 2), 3), 50, 40, 40, 0);
    s.followerFetched(2, 50, 10);
    assertEquals(50, s.highWatermark());
    s.followerFetched(3, 30, 10);
    assertEquals(Optional.empty(), s.proposeIsrChange(10, LAG_MS), "3 is below the epoch start and the watermark");
    s.followerFetched(3, 50, 20);
    assertEquals(Optional.of(List.of(1, 2, 3)), s.proposeIsrChange(20, LAG_MS));
    // During the expansion the watermark waits for 3 too: here it already has everything.
    s.leaderAppended(60);
    s.followerFetched(2, 60, 30);
    assertEquals(50, s.highWatermark());
    s.followerFetched(3, 60, 30);
    assertEquals(60, s.highWatermark());
  }

  @Test
  void aRefusedProposalCanBeMadeAgain() {
    InSyncReplicas s = new InSyncReplicas(1, reg(List.of(1, 2, 3), 0), 0, 0, 0, 0);
    assertEquals(Optional.of(List.of(1)), s.proposeIsrChange(LAG_MS + 1, LAG_MS));
    s.proposalFailed();
    assertEquals(Optional.of(List.of(1)), s.proposeIsrChange(LAG_MS + 2, LAG_MS));
  }

  @Test
  void aFollowerThatKeepsUpWithTheEndAtItsLastFetchStaysCaughtUp() {
    InSyncReplicas s = new InSyncReplicas(1, reg(List.of(1, 2, 3), 0), 0, 0, 0, 0);
    // The leader keeps appending; 2 is always one fetch behind but reaches what was there last time.
    long end = 0;
    for (long t = 1_000; t <= 100_000; t += 1_000) {
      long previousEnd = end;
      end += 10;
      s.leaderAppended(end);
      s.followerFetched(2, previousEnd, t);
      s.followerFetched(3, end, t);
    }
    assertEquals(Optional.empty(), s.proposeIsrChange(100_000, LAG_MS));
  }
}
