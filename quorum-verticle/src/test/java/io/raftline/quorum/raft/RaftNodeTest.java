package io.raftline.quorum.raft;

import static io.raftline.quorum.raft.TestCluster.entry;
import static io.raftline.quorum.raft.TestCluster.voters;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.quorum.raft.RaftMessage.BeginQuorumEpochRequest;
import io.raftline.quorum.raft.RaftMessage.BeginQuorumEpochResponse;
import io.raftline.quorum.raft.RaftMessage.EndQuorumEpochRequest;
import io.raftline.quorum.raft.RaftMessage.FetchRequest;
import io.raftline.quorum.raft.RaftMessage.FetchResponse;
import io.raftline.quorum.raft.RaftMessage.VoteRequest;
import io.raftline.quorum.raft.RaftMessage.VoteResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Unit tests of the individual Raft rules, each driven by hand through {@link TestCluster}. */
class RaftNodeTest {

  private static final Set<Integer> THREE = voters(3);

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A 3-voter cluster in which node 1 has been elected leader of epoch 1 and everything settled. */
  private static TestCluster electedCluster() {
    TestCluster c = new TestCluster();
    for (int id = 1; id <= 3; id++) c.add(RaftConfig.of(id, THREE));
    c.tick(1, 2000); // past node 1's longest possible election timeout; the others are not ticked
    c.deliverAll();
    assertEquals(RaftRole.LEADER, c.node(1).role());
    return c;
  }

  private static VoteResponse onlyVoteResponse(List<RaftMessage> msgs) {
    assertEquals(1, msgs.size(), msgs.toString());
    return assertInstanceOf(VoteResponse.class, msgs.get(0));
  }

  private static FetchResponse onlyFetchResponse(List<RaftMessage> msgs) {
    assertEquals(1, msgs.size(), msgs.toString());
    return assertInstanceOf(FetchResponse.class, msgs.get(0));
  }

  // ---------------------------------------------------------------------------------------------
  // Elections
  // ---------------------------------------------------------------------------------------------

  @Test
  void singleVoterElectsItselfButCommitsOnlyDurableEntries() {
    TestCluster c = new TestCluster();
    c.autoDurable = false;
    RaftNode n = c.add(RaftConfig.of(1, Set.of(1)));
    assertEquals(RaftRole.LEADER, n.role(), "a sole voter campaigns at once, without an election timeout");
    assertEquals(1, n.epoch());
    assertEquals(new PersistentState(1, 1, 1), c.persisted.get(1));
    assertEquals(List.of(new LogEntry(0, 1, new byte[0])), c.logs.get(1), "the leader-change entry");
    assertEquals(0, n.highWatermark(), "not durable yet");
    n.appendDurable(1);
    c.drain(1);
    assertEquals(1, n.highWatermark());

    ProposeResult r = n.propose(List.of(bytes("a"), bytes("b")), c.now);
    assertEquals(new ProposeResult.Accepted(1, 1, 3), r);
    c.drain(1);
    assertEquals(1, n.highWatermark());
    n.appendDurable(2);
    c.drain(1);
    assertEquals(2, n.highWatermark(), "HW follows the durable end, one entry at a time");
    n.appendDurable(3);
    c.drain(1);
    assertEquals(3, n.highWatermark());
  }

  @Test
  void electionRunsPreVoteThenVoteAndPersistsVotesBeforeAnswering() {
    TestCluster c = new TestCluster();
    for (int id = 1; id <= 3; id++) c.add(RaftConfig.of(id, THREE));
    c.tick(1, 2000);
    RaftNode n1 = c.node(1);
    assertEquals(RaftRole.PROSPECTIVE, n1.role());
    assertEquals(0, n1.epoch(), "a pre-vote does not bump the epoch");
    assertEquals(PersistentState.INITIAL, c.persisted.get(1));

    List<RaftMessage> preVotes = c.take(m -> m instanceof VoteRequest);
    assertEquals(2, preVotes.size());
    for (RaftMessage m : preVotes) {
      VoteRequest v = (VoteRequest) m;
      assertTrue(v.preVote());
      assertEquals(1, v.epoch(), "asks for epoch + 1");
      c.step(v);
      RaftNode voter = c.node(v.to());
      assertEquals(0, voter.epoch(), "a pre-vote changes nothing on the voter");
      assertEquals(-1, voter.votedFor());
      assertEquals(PersistentState.INITIAL, c.persisted.get(v.to()));
    }
    List<RaftMessage> answers = c.take(m -> m instanceof VoteResponse);
    assertEquals(2, answers.size());
    for (RaftMessage m : answers) assertTrue(((VoteResponse) m).granted() && ((VoteResponse) m).preVote());

    c.step(answers.get(0)); // a majority (itself + one) of pre-votes: now a real candidate
    assertEquals(RaftRole.CANDIDATE, n1.role());
    assertEquals(1, n1.epoch());
    assertEquals(new PersistentState(1, 1, -1), c.persisted.get(1));
    c.step(answers.get(1)); // late pre-vote: ignored

    c.deliverAll();
    assertEquals(RaftRole.LEADER, n1.role());
    for (int id = 2; id <= 3; id++) {
      assertEquals(RaftRole.FOLLOWER, c.node(id).role());
      assertEquals(1, c.node(id).leaderId());
      assertEquals(new PersistentState(1, 1, 1), c.persisted.get(id));
      // The grant and the votedFor to persist come out in the same Ready: the shell persists first.
      boolean found = false;
      for (Ready r : c.readies.get(id)) {
        for (RaftMessage m : r.messages()) {
          if (m instanceof VoteResponse v && v.granted() && !v.preVote()) {
            found = true;
            assertEquals(1, r.state().orElseThrow().votedFor());
          }
        }
      }
      assertTrue(found);
      assertEquals(1, c.node(id).highWatermark(), "followers learn the HW from the leader");
    }
    assertEquals(1, n1.highWatermark());
    List<ReplicaState> described = n1.replicaStates();
    assertEquals(List.of(1, 2, 3), described.stream().map(ReplicaState::replicaId).toList());
    for (ReplicaState rs : described) assertEquals(1, rs.endOffset());
  }

  @Test
  void preVoteIsRefusedWhileVotersHearFromTheLeader() {
    TestCluster c = electedCluster();
    c.drop = m -> m.from() == 3 || m.to() == 3;
    c.run(2500);
    RaftNode n3 = c.node(3);
    assertEquals(RaftRole.PROSPECTIVE, n3.role(), "cut off for longer than the fetch timeout");
    assertEquals(1, n3.epoch());

    // Its pre-vote reaches the healthy voters: both refuse, and nothing changes for them.
    c.drop = m -> false;
    c.inFlight.clear();
    for (int to = 1; to <= 2; to++) {
      c.step(new VoteRequest(3, to, 2, 3, n3.lastEpoch(), n3.logEndOffset(), true));
      VoteResponse v = onlyVoteResponse(c.take(m -> m instanceof VoteResponse));
      assertFalse(v.granted());
      assertEquals(1, v.epoch());
      assertEquals(1, v.leaderId());
      assertEquals(1, c.node(to).epoch());
    }
    c.run(3000);
    assertEquals(RaftRole.FOLLOWER, n3.role(), "rejoins by fetching, without an election");
    assertEquals(1, n3.epoch());
    assertEquals(RaftRole.LEADER, c.node(1).role());
    assertEquals(1, c.node(1).epoch(), "the healthy leader was not disrupted");
  }

  @Test
  void voteIsGrantedOncePerEpochAndOnlyToAnUpToDateLog() {
    TestCluster c = new TestCluster();
    RaftNode n = c.add(RaftConfig.of(2, THREE), new PersistentState(2, -1, -1),
        List.of(entry(0, 1), entry(1, 2), entry(2, 2)));

    c.step(new VoteRequest(1, 2, 3, 1, 1, 10, false)); // older last epoch, longer log: not up to date
    assertFalse(onlyVoteResponse(c.take(m -> true)).granted());
    assertEquals(3, n.epoch(), "a real vote request of a higher epoch moves the voter to it");
    assertEquals(-1, n.votedFor());

    c.step(new VoteRequest(3, 2, 3, 3, 2, 2, false)); // same last epoch, shorter log: refused
    assertFalse(onlyVoteResponse(c.take(m -> true)).granted());

    c.step(new VoteRequest(3, 2, 3, 3, 2, 3, false)); // same last epoch, same length: granted
    assertTrue(onlyVoteResponse(c.take(m -> true)).granted());
    assertEquals(new PersistentState(3, 3, -1), c.persisted.get(2));

    c.step(new VoteRequest(1, 2, 3, 1, 2, 5, false)); // a better log, but the vote of epoch 3 is cast
    assertFalse(onlyVoteResponse(c.take(m -> true)).granted());
    c.step(new VoteRequest(3, 2, 3, 3, 2, 3, false)); // a duplicate from the same candidate
    assertTrue(onlyVoteResponse(c.take(m -> true)).granted());

    // A restart keeps the vote: it came back from the persisted state.
    RaftNode restarted = new RaftNode(RaftConfig.of(2, THREE), c.persisted.get(2), c.logs.get(2), 0, c.now,
        new SplittableRandom(1));
    restarted.ready();
    restarted.step(new VoteRequest(1, 2, 3, 1, 2, 5, false), c.now);
    assertFalse(onlyVoteResponse(restarted.ready().messages()).granted());
  }

  @Test
  void voteRequestFromNonVoterIsRefusedAndChangesNothing() {
    TestCluster c = new TestCluster();
    RaftNode n = c.add(RaftConfig.of(2, THREE), new PersistentState(2, -1, -1), List.of(entry(0, 1)));
    int readies = c.readies.get(2).size();
    c.step(new VoteRequest(101, 2, 9, 101, 9, 100, false));
    VoteResponse v = onlyVoteResponse(c.take(m -> true));
    assertFalse(v.granted());
    assertEquals(RaftError.INCONSISTENT_VOTER_SET, v.error());
    assertEquals(2, n.epoch());
    assertEquals(-1, n.votedFor());
    for (Ready r : c.readies.get(2).subList(readies, c.readies.get(2).size())) assertTrue(r.state().isEmpty());
  }

  @Test
  void observerNeverVotesNorCampaignsAndFindsTheLeaderByAskingVoters() {
    TestCluster c = new TestCluster();
    RaftNode obs = c.add(RaftConfig.of(101, THREE)); // voters 1..3 are absent: messages to them vanish
    assertTrue(obs.config().observer());
    c.run(10_000);
    assertEquals(RaftRole.OBSERVER, obs.role());
    List<Integer> targets = new ArrayList<>();
    for (RaftMessage m : c.sentBy(101)) {
      assertInstanceOf(FetchRequest.class, m, "an observer only ever fetches");
      targets.add(m.to());
    }
    assertTrue(targets.size() >= 6, targets.toString());
    assertEquals(List.of(1, 2, 3, 1, 2, 3), targets.subList(0, 6), "round-robin over the voters");

    c.step(new VoteRequest(1, 101, 1, 1, 0, 0, false));
    VoteResponse v = onlyVoteResponse(c.take(m -> m instanceof VoteResponse));
    assertFalse(v.granted());
    assertEquals(RaftError.INCONSISTENT_VOTER_SET, v.error());
    assertEquals(-1, obs.votedFor());
    assertEquals(0, obs.epoch());
  }

  @Test
  void observerFollowsTheLeaderButCountsNeitherForTheHighWatermarkNorForCheckQuorum() {
    TestCluster c = electedCluster();
    RaftNode obs = c.add(RaftConfig.of(101, THREE));
    c.run(1000);
    assertEquals(1, obs.leaderId());
    assertEquals(1, obs.highWatermark());

    RaftNode leader = c.node(1);
    c.drop = m -> m.from() == 2 || m.to() == 2 || m.from() == 3 || m.to() == 3;
    leader.propose(List.of(bytes("x")), c.now);
    c.drainAll();
    c.run(1000);
    assertEquals(2, obs.logEndOffset(), "the observer has the entry");
    assertEquals(1, leader.highWatermark(), "leader + observer is not a majority of voters");
    List<ReplicaState> rs = leader.replicaStates();
    assertFalse(rs.get(rs.size() - 1).voter());
    assertEquals(101, rs.get(rs.size() - 1).replicaId());
    c.run(2000);
    assertEquals(RaftRole.UNATTACHED, leader.role(), "observer fetches do not keep a leader in office");
  }

  // ---------------------------------------------------------------------------------------------
  // Replication
  // ---------------------------------------------------------------------------------------------

  @Test
  void followerTruncatesItsDivergentSuffixAndConverges() {
    TestCluster c = new TestCluster();
    PersistentState s = new PersistentState(3, -1, -1);
    c.add(RaftConfig.of(1, THREE), s, List.of(entry(0, 1), entry(1, 1), entry(2, 3), entry(3, 3)));
    c.add(RaftConfig.of(2, THREE), s, List.of(entry(0, 1), entry(1, 1), entry(2, 2), entry(3, 2), entry(4, 2)));
    c.add(RaftConfig.of(3, THREE), s, List.of(entry(0, 1), entry(1, 1), entry(2, 3)));
    c.tick(1, 2000);
    c.deliverAll();
    RaftNode leader = c.node(1);
    assertEquals(RaftRole.LEADER, leader.role());
    assertEquals(4, leader.epoch());

    // Node 2's first fetch (offset 5, last epoch 2) diverged: the leader's answer named epoch 1 ending
    // at 2, so node 2 truncated to 2 and fetched again.
    boolean sawDivergence = false;
    for (RaftMessage m : c.sentBy(1)) {
      if (m instanceof FetchResponse f && f.to() == 2 && f.diverging()) {
        sawDivergence = true;
        assertEquals(1, f.divergingEpoch());
        assertEquals(2, f.divergingEndOffset());
      }
    }
    assertTrue(sawDivergence);
    assertTrue(c.readies.get(2).stream().anyMatch(r -> r.truncateTo().isPresent() && r.truncateTo().getAsLong() == 2));
    assertEquals(c.logs.get(1), c.logs.get(2));
    assertEquals(c.logs.get(1), c.node(2).entries(0, c.node(2).logEndOffset()));
    assertEquals(5, leader.highWatermark());
    assertEquals(5, c.node(2).highWatermark());
  }

  @Test
  void highWatermarkOnlyMovesOnceAnEntryOfTheLeadersEpochIsOnAMajority() {
    TestCluster c = new TestCluster();
    PersistentState s = new PersistentState(1, -1, -1);
    RaftConfig c1 = RaftConfig.of(1, THREE).withLimits(1, 1 << 20, 100); // one entry per fetch response
    c.add(c1, s, List.of(entry(0, 1), entry(1, 1), entry(2, 1)));
    c.add(RaftConfig.of(2, THREE), s, List.of(entry(0, 1)));
    c.add(RaftConfig.of(3, THREE), s, List.of(entry(0, 1)));
    c.tick(1, 2000);
    RaftNode leader = c.node(1);
    while (leader.role() != RaftRole.LEADER) c.step(c.inFlight.remove(0)); // only election traffic so far
    assertEquals(2, leader.epoch());
    c.drop = m -> m.from() == 3 || m.to() == 3; // node 3 voted; now it is cut off
    c.inFlight.removeIf(c.drop);

    boolean sawOldEntriesOnMajorityWithoutCommit = false;
    for (int guard = 0; !c.inFlight.isEmpty() && guard < 1000; guard++) {
      RaftMessage m = c.inFlight.remove(0);
      c.step(m);
      long f2 = c.node(2).logEndOffset();
      if (f2 <= 3) {
        assertEquals(0, leader.highWatermark(), "epoch-1 entries alone must not commit; follower end " + f2);
        if (f2 == 3 && c.node(2).durableEndOffset() == 3) sawOldEntriesOnMajorityWithoutCommit = true;
      }
    }
    assertTrue(sawOldEntriesOnMajorityWithoutCommit);
    assertEquals(4, c.node(2).logEndOffset());
    assertEquals(4, leader.highWatermark(), "the leader-change entry at 3 is on a majority");
  }

  @Test
  void followerAcknowledgesOnlyDurableEntries() {
    TestCluster c = electedCluster();
    c.autoDurable = false;
    c.run(600); // settle into long polls
    RaftNode leader = c.node(1);
    leader.appendDurable(leader.logEndOffset());
    leader.propose(List.of(bytes("a"), bytes("b")), c.now);
    c.drainAll();
    leader.appendDurable(leader.logEndOffset());
    c.drainAll();
    c.deliverAll();
    RaftNode f2 = c.node(2);
    assertEquals(3, f2.logEndOffset());
    assertEquals(1, f2.durableEndOffset());
    int fetchesBefore = (int) c.sentBy(2).stream().filter(m -> m instanceof FetchRequest).count();
    c.run(100);
    assertEquals(fetchesBefore, c.sentBy(2).stream().filter(m -> m instanceof FetchRequest).count(),
        "no fetch (no acknowledgement) while appended entries are not durable");
    assertEquals(1, leader.highWatermark());
    f2.appendDurable(3);
    c.drain(2);
    FetchRequest next = (FetchRequest) c.inFlight.get(c.inFlight.size() - 1);
    assertEquals(3, next.fetchOffset());
    c.deliverAll();
    assertEquals(3, leader.highWatermark());
  }

  @Test
  void invalidOrStaleRequestsGetErrorsAndChangeNothing() {
    TestCluster c = electedCluster();
    RaftNode leader = c.node(1);
    PersistentState before = leader.persistentState();
    long hw = leader.highWatermark();

    c.step(new FetchRequest(2, 1, 0, 1, 0, 2, 0, 0));
    assertEquals(RaftError.FENCED_LEADER_EPOCH, onlyFetchResponse(c.take(m -> m.from() == 1)).error());
    c.step(new FetchRequest(2, 1, 1, -1, 0, 2, 0, 0));
    assertEquals(RaftError.INVALID_REQUEST, onlyFetchResponse(c.take(m -> m.from() == 1)).error());
    c.step(new FetchRequest(2, 1, 1, 0, 0, 3, 0, 0)); // replicaId is not the sender
    assertEquals(RaftError.INVALID_REQUEST, onlyFetchResponse(c.take(m -> m.from() == 1)).error());
    c.step(new FetchRequest(2, 1, 1, 1, 7, 2, 0, 0)); // last fetched epoch beyond the leader's
    assertEquals(RaftError.INVALID_REQUEST, onlyFetchResponse(c.take(m -> m.from() == 1)).error());
    c.step(new FetchRequest(2, 1, 5, 1, 1, 2, 0, 0)); // an epoch the leader has never seen
    assertEquals(RaftError.UNKNOWN_LEADER_EPOCH, onlyFetchResponse(c.take(m -> m.from() == 1)).error());
    c.step(new FetchRequest(1, 2, 1, 1, 1, 1, 0, 0)); // a follower is not the leader
    FetchResponse notLeader = onlyFetchResponse(c.take(m -> m.from() == 2));
    assertEquals(RaftError.NOT_LEADER_OR_FOLLOWER, notLeader.error());
    assertEquals(1, notLeader.leaderId(), "and says who is");
    c.step(new VoteRequest(2, 1, 0, 2, 9, 99, false)); // stale vote
    VoteResponse staleVote = onlyVoteResponse(c.take(m -> m.from() == 1));
    assertEquals(RaftError.FENCED_LEADER_EPOCH, staleVote.error());
    assertEquals(1, staleVote.epoch());
    c.step(new VoteRequest(2, 1, 1, 2, 9, 99, true)); // a pre-vote for an epoch that already exists
    assertEquals(RaftError.FENCED_LEADER_EPOCH, onlyVoteResponse(c.take(m -> m.from() == 1)).error());
    c.step(new VoteRequest(2, 1, 1, 3, 9, 99, false)); // candidateId is not the sender
    assertEquals(RaftError.INVALID_REQUEST, onlyVoteResponse(c.take(m -> m.from() == 1)).error());
    c.step(new BeginQuorumEpochRequest(3, 1, 1, 2)); // leaderId is not the sender
    assertEquals(RaftError.INVALID_REQUEST, ((BeginQuorumEpochResponse) c.take(m -> m.from() == 1).get(0)).error());
    c.step(new BeginQuorumEpochRequest(3, 1, 1, 3)); // a second leader for epoch 1
    assertEquals(RaftError.INVALID_REQUEST, ((BeginQuorumEpochResponse) c.take(m -> m.from() == 1).get(0)).error());
    c.step(new BeginQuorumEpochRequest(3, 1, 0, 3)); // stale
    assertEquals(RaftError.FENCED_LEADER_EPOCH, ((BeginQuorumEpochResponse) c.take(m -> m.from() == 1).get(0)).error());

    assertEquals(RaftRole.LEADER, leader.role());
    assertEquals(before, leader.persistentState());
    assertEquals(hw, leader.highWatermark());
  }

  @Test
  void staleOrDuplicatedFetchResponsesAreIgnored() {
    TestCluster c = electedCluster();
    RaftNode f2 = c.node(2);
    long end = f2.logEndOffset();
    List<LogEntry> bogus = List.of(new LogEntry(0, 1, bytes("other")));
    // An answer for a position the follower is no longer at.
    c.step(new FetchResponse(1, 2, 1, 1, RaftError.NONE, 0, 0, bogus, 1, -1, -1, 0, -1, -1));
    assertEquals(end, f2.logEndOffset());
    assertEquals(c.logs.get(1), c.logs.get(2));
    // A divergence from an older epoch.
    c.step(new FetchResponse(1, 2, 0, 1, RaftError.NONE, end, 1, List.of(), 0, 0, 0, 0, -1, -1));
    assertEquals(end, f2.logEndOffset());
  }

  // ---------------------------------------------------------------------------------------------
  // Leadership changes
  // ---------------------------------------------------------------------------------------------

  @Test
  void leaderResignsWhenAMajorityStopsFetching() {
    TestCluster c = electedCluster();
    RaftNode leader = c.node(1);
    c.drop = m -> m.from() == 3 || m.to() == 3;
    c.run(10_000);
    assertEquals(RaftRole.LEADER, leader.role(), "one follower + itself is a majority of three");

    c.drop = m -> true;
    c.run(2600); // fetch timeout 2000 + the last held fetch
    assertEquals(RaftRole.UNATTACHED, leader.role());
    assertEquals(-1, leader.leaderId());
    assertEquals(1, leader.epoch(), "resigning does not bump the epoch");
    long ends = leader.config().voters().size() - 1;
    List<RaftMessage> sent = c.sentBy(1);
    assertEquals(ends, sent.stream().filter(m -> m instanceof EndQuorumEpochRequest).count());
    assertInstanceOf(ProposeResult.Rejected.class, leader.propose(List.of(bytes("late")), c.now));
  }

  @Test
  void gracefulResignationHandsOverToTheMostUpToDateVoterQuickly() {
    TestCluster c = electedCluster();
    RaftNode leader = c.node(1);
    c.drop = m -> m.from() == 3 || m.to() == 3;
    leader.propose(List.of(bytes("a")), c.now);
    c.drainAll();
    c.run(200);
    c.drop = m -> false;
    assertTrue(c.node(2).logEndOffset() > c.node(3).logEndOffset());

    assertTrue(leader.resign(c.now));
    c.drain(1);
    List<RaftMessage> ends = c.take(m -> m instanceof EndQuorumEpochRequest);
    assertEquals(2, ends.size());
    assertEquals(List.of(2, 3), ((EndQuorumEpochRequest) ends.get(0)).preferredSuccessors());
    for (RaftMessage m : ends) c.step(m);
    long start = c.now;
    while (c.node(2).role() != RaftRole.LEADER && c.now - start < 2000) c.run(10, 5);
    assertEquals(RaftRole.LEADER, c.node(2).role());
    assertEquals(2, c.node(2).epoch());
    assertTrue(c.now - start < 300, "took " + (c.now - start) + " ms, well below the election timeout");
    assertFalse(leader.resign(c.now), "no longer leader");
  }

  @Test
  void higherEpochMakesTheLeaderStepDown() {
    TestCluster c = electedCluster();
    RaftNode leader = c.node(1);
    c.step(new BeginQuorumEpochRequest(3, 1, 2, 3));
    assertEquals(RaftRole.FOLLOWER, leader.role());
    assertEquals(3, leader.leaderId());
    assertEquals(new PersistentState(2, -1, 3), c.persisted.get(1));

    TestCluster d = electedCluster();
    RaftNode l2 = d.node(1);
    d.step(new VoteRequest(2, 1, 2, 2, l2.lastEpoch(), l2.logEndOffset(), false));
    assertEquals(RaftRole.UNATTACHED, l2.role());
    assertEquals(2, l2.epoch());
    VoteResponse v = onlyVoteResponse(d.take(m -> m instanceof VoteResponse));
    assertTrue(v.granted());
    assertEquals(new PersistentState(2, 2, -1), d.persisted.get(1));
  }

  @Test
  void restartedLeaderNeverLeadsItsOldEpochAgain() {
    RaftNode n = new RaftNode(RaftConfig.of(1, THREE), new PersistentState(3, 1, 1),
        List.of(entry(0, 1), entry(1, 3)), 0, 0, new SplittableRandom(3));
    assertEquals(RaftRole.UNATTACHED, n.role());
    assertEquals(-1, n.leaderId());
    Ready r = n.ready();
    assertEquals(2, r.messages().stream().filter(m -> m instanceof EndQuorumEpochRequest e && e.epoch() == 3).count());
    n.step(new VoteRequest(2, 1, 3, 2, 3, 5, false), 0);
    assertFalse(onlyVoteResponse(n.ready().messages()).granted(), "epoch 3 already had a leader");
    n.step(new FetchRequest(2, 1, 3, 2, 3, 2, 0, 0), 0);
    FetchResponse f = onlyFetchResponse(n.ready().messages());
    assertEquals(RaftError.NOT_LEADER_OR_FOLLOWER, f.error());
  }

  @Test
  void endQuorumEpochStopsVotesForOtherCandidatesInThatEpoch() {
    TestCluster c = electedCluster();
    RaftNode f2 = c.node(2);
    c.step(new EndQuorumEpochRequest(1, 2, 1, 1, List.of(3, 2)));
    assertEquals(RaftRole.UNATTACHED, f2.role());
    assertEquals(new PersistentState(1, 1, 1), f2.persistentState(), "the epoch's leader stays recorded");
    c.take(m -> true);
    c.step(new VoteRequest(3, 2, 1, 3, 9, 99, false));
    assertFalse(onlyVoteResponse(c.take(m -> m instanceof VoteResponse)).granted());
  }

  @Test
  void proposalsAreRejectedOffTheLeaderAndWhenMalformed() {
    TestCluster c = electedCluster();
    assertEquals(new ProposeResult.Rejected(RaftError.NOT_LEADER_OR_FOLLOWER, 1, 1),
        c.node(2).propose(List.of(bytes("x")), c.now));
    RaftNode leader = c.node(1);
    assertEquals(RaftError.INVALID_REQUEST, ((ProposeResult.Rejected) leader.propose(List.of(), c.now)).error());
    List<byte[]> tooMany = new ArrayList<>();
    for (int i = 0; i <= leader.config().maxBatchEntries(); i++) tooMany.add(new byte[0]);
    assertEquals(RaftError.RECORD_LIST_TOO_LARGE, ((ProposeResult.Rejected) leader.propose(tooMany, c.now)).error());
    ProposeResult ok = leader.propose(List.of(bytes("y")), c.now);
    assertNotNull(ok);
    c.drainAll();
    c.deliverAll();
    assertEquals(2, c.node(3).highWatermark());
  }

  @Test
  void timersAreReportedThroughNextDeadline() {
    RaftNode n = new RaftNode(RaftConfig.of(1, THREE), PersistentState.INITIAL, List.of(), 0, 100,
        new SplittableRandom(5));
    long d = n.nextDeadlineMs();
    assertTrue(d >= 1100 && d < 2100, "election timeout in [1000, 2000) from t=100: " + d);
    n.tick(d - 1);
    assertEquals(RaftRole.UNATTACHED, n.role());
    n.tick(d);
    assertEquals(RaftRole.PROSPECTIVE, n.role());
  }

  @Test
  void configRejectsNonsense() {
    assertThrowsIae(() -> RaftConfig.of(1, Set.of()));
    assertThrowsIae(() -> RaftConfig.of(-1, THREE));
    assertThrowsIae(() -> RaftConfig.of(1, THREE).withFetch(2000, 500, 500));
    assertTrue(RaftConfig.of(4, THREE).observer());
    assertEquals(2, RaftConfig.of(1, THREE).majority());
    assertEquals(3, RaftConfig.of(1, voters(5)).majority());
  }

  private static void assertThrowsIae(Runnable r) {
    try {
      r.run();
    } catch (IllegalArgumentException expected) {
      return;
    }
    throw new AssertionError("expected IllegalArgumentException");
  }

  // ---------------------------------------------------------------------------------------------
  // The shell's hint that the leader is unreachable
  // ---------------------------------------------------------------------------------------------

  @Test
  void whenEverySurvivorLosesTheLeaderTheyElectANewOneWithoutWaitingForTimeouts() {
    TestCluster c = electedCluster();
    c.now += 100; // far below the 2 s fetch timeout: only the hints can start this election
    c.drop = m -> m.to() == 1 || m.from() == 1; // the old leader is gone
    c.node(2).leaderUnreachable(1, c.now);
    c.node(3).leaderUnreachable(1, c.now);
    c.drain(2);
    c.drain(3);
    c.run(300, 5); // well inside the 2 s fetch timeout
    assertTrue(c.node(2).role() == RaftRole.LEADER || c.node(3).role() == RaftRole.LEADER,
        "a new leader from the hints alone: " + c.node(2) + " / " + c.node(3));
  }

  @Test
  void aWrongHintDoesNotDisruptAHealthyLeader() {
    TestCluster c = electedCluster();
    int epoch = c.node(1).epoch();
    c.now += 100;
    c.node(2).leaderUnreachable(1, c.now); // node 3 still hears the leader, so it refuses the pre-vote
    c.drain(2);
    c.run(300, 5);
    assertEquals(RaftRole.LEADER, c.node(1).role());
    assertEquals(epoch, c.node(1).epoch(), "no new epoch was started");
    assertEquals(epoch, c.node(3).epoch());
    c.node(3).leaderUnreachable(2, c.now); // not its leader: ignored
    c.drain(3);
    assertEquals(RaftRole.FOLLOWER, c.node(3).role());
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshots (KIP-630)
  // ---------------------------------------------------------------------------------------------

  /** Proposes {@code n} single-entry batches on leader 1 and lets everything reachable settle. */
  private static void proposeAndSettle(TestCluster c, int n) {
    for (int i = 0; i < n; i++) {
      c.node(1).propose(List.of(bytes("p" + c.now + "-" + i)), c.now);
      c.drainAll();
      c.deliverAll();
    }
  }

  private static long fetchesSentBy(TestCluster c, int id) {
    return c.sentBy(id).stream().filter(m -> m instanceof FetchRequest).count();
  }

  private static void assertThrowsIae(Runnable r, String what) {
    try {
      r.run();
    } catch (IllegalArgumentException expected) {
      return;
    }
    throw new AssertionError("expected IllegalArgumentException: " + what);
  }

  @Test
  void snapshotTakenCompactsTheLogAndMovesItsStart() {
    TestCluster c = electedCluster();
    RaftNode leader = c.node(1);
    proposeAndSettle(c, 3);
    assertEquals(4, leader.highWatermark());
    assertEquals(OffsetAndEpoch.ZERO, leader.latestSnapshot());

    OffsetAndEpoch snap = c.takeSnapshot(1, 3);
    assertEquals(new OffsetAndEpoch(3, 1), snap);
    assertEquals(snap, leader.latestSnapshot());
    assertEquals(3, leader.logStartOffset());
    assertEquals(4, leader.logEndOffset());
    assertEquals(4, leader.highWatermark());
    assertEquals(1, leader.lastEpoch());
    assertEquals(c.log(1), leader.entries(3, 4));
    assertThrowsIae(() -> leader.entry(2), "entry below the log start");
    assertThrowsIae(() -> leader.entries(0, 4), "range below the log start");
    assertEquals(1, leader.entryEpoch(2).getAsInt(), "the snapshot id gives the epoch at start - 1");
    assertTrue(leader.entryEpoch(1).isEmpty());

    leader.snapshotTaken(new OffsetAndEpoch(2, 1)); // older: ignored
    leader.snapshotTaken(new OffsetAndEpoch(3, 1)); // the same: ignored
    assertEquals(3, leader.logStartOffset());
    assertThrowsIae(() -> leader.snapshotTaken(new OffsetAndEpoch(5, 1)), "above the HW");
    assertThrowsIae(() -> leader.snapshotTaken(new OffsetAndEpoch(4, 7)), "wrong epoch");

    // Followers at or above the new log start keep fetching entries; none is sent a snapshot.
    proposeAndSettle(c, 2);
    assertEquals(6, leader.highWatermark());
    for (int id = 2; id <= 3; id++) {
      assertEquals(6, c.node(id).highWatermark());
      assertTrue(c.snapshotFetches.get(id).isEmpty());
    }
    // A snapshot of the whole log leaves it empty; the log end and last epoch stay.
    c.takeSnapshot(1, 6);
    assertEquals(6, leader.logStartOffset());
    assertEquals(6, leader.logEndOffset());
    assertEquals(1, leader.lastEpoch());
    assertEquals(List.of(), leader.entries(6, 6));
    proposeAndSettle(c, 1);
    assertEquals(7, c.node(3).highWatermark());
  }

  @Test
  void theLogStartIsMatchedByTheSnapshotId() {
    TestCluster c = electedCluster();
    RaftNode leader = c.node(1);
    proposeAndSettle(c, 3);
    c.takeSnapshot(1, 3); // (3, 1)
    c.take(m -> true);

    c.step(new FetchRequest(2, 1, 1, 3, 1, 2, 0, 4)); // at the start, with the snapshot's epoch: entries
    FetchResponse ok = onlyFetchResponse(c.take(m -> m.from() == 1));
    assertFalse(ok.snapshotNeeded());
    assertFalse(ok.diverging());
    assertEquals(List.of(leader.entry(3)), ok.entries());
    assertEquals(3, ok.logStartOffset());

    c.step(new FetchRequest(2, 1, 1, 3, 0, 2, 0, 4)); // at the start, but another epoch below it
    FetchResponse mismatch = onlyFetchResponse(c.take(m -> m.from() == 1));
    assertTrue(mismatch.snapshotNeeded());
    assertEquals(new OffsetAndEpoch(3, 1), mismatch.snapshotId());
    assertEquals(RaftError.NONE, mismatch.error());
    assertTrue(mismatch.entries().isEmpty());

    c.step(new FetchRequest(2, 1, 1, 2, 1, 2, 0, 4)); // below the start
    FetchResponse below = onlyFetchResponse(c.take(m -> m.from() == 1));
    assertTrue(below.snapshotNeeded());
    assertEquals(new OffsetAndEpoch(3, 1), below.snapshotId());
    assertEquals(-1, below.divergingEpoch());
  }

  @Test
  void laggingFollowerAndObserverInstallTheLeadersSnapshotThenCatchUp() {
    TestCluster c = electedCluster();
    RaftNode leader = c.node(1);
    RaftNode f3 = c.node(3);
    c.drop = m -> m.from() == 3 || m.to() == 3;
    proposeAndSettle(c, 5);
    assertEquals(6, leader.highWatermark());
    assertEquals(1, f3.logEndOffset());
    OffsetAndEpoch snap = c.takeSnapshot(1, 4);

    c.drop = m -> false;
    c.run(1500, 10); // node 3's lost fetch times out and is sent again; it is below the log start
    assertEquals(List.of(new Ready.SnapshotFetch(1, snap)), c.snapshotFetches.get(3));
    assertEquals(snap, f3.pendingSnapshotFetch().orElseThrow());
    assertEquals(1, f3.logEndOffset(), "nothing changes before the install");

    // While the shell downloads: no fetch, and no campaign, even well past the fetch timeout.
    long fetches = fetchesSentBy(c, 3);
    proposeAndSettle(c, 1);
    c.run(6000, 10);
    assertEquals(fetches, fetchesSentBy(c, 3));
    assertEquals(RaftRole.FOLLOWER, f3.role());
    assertEquals(1, f3.leaderId());
    assertEquals(1, f3.epoch());
    assertEquals(1, c.snapshotFetches.get(3).size(), "announced once");
    assertEquals(RaftRole.LEADER, leader.role());

    int readies = c.readies.get(3).size();
    c.install(3, snap);
    assertEquals(4, c.readies.get(3).get(readies).highWatermark().getAsLong(), "the HW jumps to the snapshot");
    c.deliverAll();
    assertEquals(4, f3.logStartOffset());
    assertEquals(snap, f3.latestSnapshot());
    assertEquals(leader.logEndOffset(), f3.logEndOffset());
    assertEquals(leader.entries(4, leader.logEndOffset()), c.log(3));
    assertEquals(leader.entries(4, leader.logEndOffset()), f3.entries(4, f3.logEndOffset()));
    assertEquals(leader.highWatermark(), f3.highWatermark());
    assertThrowsIae(() -> f3.entries(0, 4), "the installed log starts at the snapshot");

    // A new observer starts from nothing: it finds the leader, is named the snapshot, installs it.
    RaftNode obs = c.add(RaftConfig.of(101, THREE));
    c.run(500, 10);
    assertEquals(List.of(new Ready.SnapshotFetch(1, snap)), c.snapshotFetches.get(101));
    c.install(101, snap);
    c.run(500, 10);
    assertEquals(RaftRole.OBSERVER, obs.role());
    assertEquals(leader.highWatermark(), obs.highWatermark());
    assertEquals(leader.entries(4, leader.logEndOffset()), obs.entries(4, obs.logEndOffset()));
  }

  @Test
  void aFailedDownloadIsAskedForAgainAndTheTimersResume() {
    TestCluster c = electedCluster();
    RaftNode leader = c.node(1);
    RaftNode f3 = c.node(3);
    c.drop = m -> m.from() == 3 || m.to() == 3;
    proposeAndSettle(c, 5);
    OffsetAndEpoch first = c.takeSnapshot(1, 3);
    c.drop = m -> false;
    c.run(1500, 10);
    assertEquals(List.of(new Ready.SnapshotFetch(1, first)), c.snapshotFetches.get(3));

    // Meanwhile the leader compacts further; the download fails; the next fetch names the newer one.
    OffsetAndEpoch second = c.takeSnapshot(1, 6);
    f3.snapshotFetchFailed(c.now);
    c.drain(3);
    c.run(200, 10);
    assertEquals(List.of(new Ready.SnapshotFetch(1, first), new Ready.SnapshotFetch(1, second)),
        c.snapshotFetches.get(3));

    // The shell may not install an older snapshot than the one named, nor one nobody asked for.
    try {
      f3.snapshotInstalled(first, c.now);
      throw new AssertionError("an older snapshot than the one named was accepted");
    } catch (IllegalArgumentException expected) {
      // fine
    }
    RaftNode f2 = c.node(2);
    try {
      f2.snapshotInstalled(second, c.now);
      throw new AssertionError("an install without a pending download was accepted");
    } catch (IllegalStateException expected) {
      // fine
    }

    // Node 3 loses everyone mid-download: it does not campaign (nor drop its leader) until the shell
    // gives the download up; then its ordinary timers run: it fetches, times out, starts a pre-vote.
    c.drop = m -> m.from() == 3 || m.to() == 3;
    c.run(6000, 10);
    assertEquals(RaftRole.FOLLOWER, f3.role());
    assertEquals(1, f3.leaderId());
    long fetches = fetchesSentBy(c, 3);
    f3.snapshotFetchFailed(c.now);
    c.drain(3);
    c.run(100, 10);
    assertTrue(fetchesSentBy(c, 3) > fetches, "fetches again after the backoff");
    c.run(3000, 10);
    assertEquals(RaftRole.PROSPECTIVE, f3.role());
    assertEquals(RaftRole.LEADER, leader.role(), "the healthy leader was not disturbed");
  }

  @Test
  void aLeaderCountsSnapshotDownloadsForCheckQuorum() {
    TestCluster c = electedCluster();
    RaftNode leader = c.node(1);
    c.drop = m -> m.from() == 3 || m.to() == 3;
    proposeAndSettle(c, 3);
    c.takeSnapshot(1, 4);
    c.drop = m -> false;
    c.run(1500, 10);
    assertEquals(1, c.snapshotFetches.get(3).size());

    // Node 2 is cut off; node 3 only downloads. Its download requests keep the leader in office.
    c.drop = m -> m.from() == 2 || m.to() == 2;
    for (int i = 0; i < 12; i++) {
      c.run(500, 10);
      leader.snapshotFetchServed(3, 1, c.now);
      c.drain(1);
    }
    assertEquals(RaftRole.LEADER, leader.role());
    c.run(2600, 10); // without them, check-quorum fires
    assertEquals(RaftRole.UNATTACHED, leader.role());
  }

  @Test
  void aNodeRestartsFromItsSnapshotAndTheLogAfterIt() {
    TestCluster c = electedCluster();
    RaftNode leader = c.node(1);
    proposeAndSettle(c, 5);
    assertEquals(6, c.node(2).highWatermark());

    // Node 2: snapshot at 4 plus the tail [4, 6).
    OffsetAndEpoch s2 = c.takeSnapshot(2, 4);
    RaftNode n2 = c.restart(2);
    assertEquals(s2, n2.latestSnapshot());
    assertEquals(4, n2.logStartOffset());
    assertEquals(6, n2.logEndOffset());
    assertEquals(4, n2.highWatermark(), "the snapshot is committed");
    assertEquals(6, n2.durableEndOffset());
    assertEquals(1, n2.lastEpoch());
    // Node 3: a snapshot of its whole log, so no tail.
    OffsetAndEpoch s3 = c.takeSnapshot(3, 6);
    RaftNode n3 = c.restart(3);
    assertEquals(6, n3.logStartOffset());
    assertEquals(6, n3.logEndOffset());
    assertEquals(1, n3.lastEpoch(), "an empty log's last epoch is the snapshot's");
    assertEquals(s3, n3.latestSnapshot());

    c.run(500, 10);
    assertEquals(6, n2.highWatermark());
    proposeAndSettle(c, 1);
    assertEquals(7, n2.highWatermark());
    assertEquals(7, n3.highWatermark());
    assertEquals(leader.entries(6, 7), n3.entries(6, 7));

    // The leader restarts from a snapshot of everything: a new leader is elected and all converge.
    c.takeSnapshot(1, 7);
    c.restart(1);
    assertEquals(7, c.node(1).logStartOffset());
    c.run(4000, 10);
    RaftNode newLeader = c.leader();
    assertNotNull(newLeader);
    assertTrue(newLeader.epoch() >= 2);
    newLeader.propose(List.of(bytes("after")), c.now);
    c.drainAll();
    c.run(500, 10);
    long hw = newLeader.highWatermark();
    assertEquals(newLeader.logEndOffset(), hw);
    for (int id = 1; id <= 3; id++) assertEquals(hw, c.node(id).highWatermark(), c.node(id).toString());

    // Entries must start at the snapshot and never go back in epoch.
    assertThrowsIae(() -> new RaftNode(RaftConfig.of(2, THREE), PersistentState.INITIAL, new OffsetAndEpoch(4, 1),
        List.of(entry(5, 1)), 0, new SplittableRandom(1)), "a gap after the snapshot");
    assertThrowsIae(() -> new RaftNode(RaftConfig.of(2, THREE), PersistentState.INITIAL, new OffsetAndEpoch(4, 2),
        List.of(entry(4, 1)), 0, new SplittableRandom(1)), "an epoch below the snapshot's");
  }

  @Test
  void aFollowerThatDivergesInACompactedRegionIsSentTheSnapshot() {
    TestCluster c = new TestCluster();
    PersistentState s = new PersistentState(3, -1, -1);
    List<LogEntry> good = List.of(entry(0, 1), entry(1, 1), entry(2, 1), entry(3, 3), entry(4, 3), entry(5, 3),
        entry(6, 3));
    List<LogEntry> stale = List.of(entry(0, 1), entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2), entry(5, 2),
        entry(6, 2), entry(7, 2));
    c.add(RaftConfig.of(1, THREE), s, good);
    c.add(RaftConfig.of(2, THREE), s, good);
    c.add(RaftConfig.of(3, THREE), s, stale);
    c.drop = m -> m.from() == 3 || m.to() == 3;
    c.tick(1, 2000);
    c.deliverAll();
    RaftNode leader = c.node(1);
    assertEquals(RaftRole.LEADER, leader.role());
    assertEquals(4, leader.epoch());
    assertEquals(8, leader.highWatermark());
    // Compact past offset 3, where node 3's log (epoch 2 from offset 3 on) leaves the leader's.
    OffsetAndEpoch snap = c.takeSnapshot(1, 6);
    assertEquals(new OffsetAndEpoch(6, 3), snap);

    c.drop = m -> false;
    c.run(1500, 10);
    RaftNode f3 = c.node(3);
    assertEquals(1, f3.leaderId());
    // Its fetch (offset 8, last epoch 2) cannot be matched: epoch 2 is older than the snapshot's.
    assertEquals(List.of(new Ready.SnapshotFetch(1, snap)), c.snapshotFetches.get(3));
    assertTrue(c.readies.get(3).stream().allMatch(r -> r.truncateTo().isEmpty()), "no truncation: the install replaces it");
    assertEquals(stale, c.log(3));

    c.install(3, snap);
    c.deliverAll();
    assertEquals(leader.entries(6, leader.logEndOffset()), c.log(3));
    assertEquals(8, f3.highWatermark());
    assertEquals(4, f3.lastEpoch());
  }

  @Test
  void aSnapshotAnswerIsAnnouncedOnceAndStopsFetchingWithoutBusyTimers() {
    RaftNode n = new RaftNode(RaftConfig.of(3, THREE), new PersistentState(1, 1, 1), List.of(entry(0, 1)), 0, 0,
        new SplittableRandom(3));
    FetchRequest first = assertInstanceOf(FetchRequest.class, n.ready().messages().get(0));
    assertEquals(1, first.fetchOffset());

    // A malformed answer (a "snapshot" at or below our HW) is ignored; we ask again after the backoff.
    n.step(new FetchResponse(1, 3, 1, 1, RaftError.NONE, 1, 1, List.of(), 0, -1, -1, 0, 0, 0), 10);
    assertTrue(n.ready().snapshotToFetch().isEmpty());
    n.tick(10 + n.config().retryBackoffMs());
    assertEquals(1, n.ready().messages().size(), "fetches again");

    n.step(new FetchResponse(1, 3, 1, 1, RaftError.NONE, 1, 1, List.of(), 5, -1, -1, 5, 5, 1), 100);
    assertEquals(new Ready.SnapshotFetch(1, new OffsetAndEpoch(5, 1)), n.ready().snapshotToFetch().orElseThrow());
    assertFalse(n.hasReady(), "announced once");
    assertTrue(n.nextDeadlineMs() > 100, "nothing due while downloading: " + n.nextDeadlineMs());
    for (long t = 100; t < 10_000; t = n.nextDeadlineMs()) {
      n.tick(n.nextDeadlineMs());
      assertTrue(n.ready().messages().isEmpty(), "neither fetches nor campaigns");
    }
    assertEquals(RaftRole.FOLLOWER, n.role());
  }

  @Test
  void installingASnapshotOfANewerEpochMovesTheNodeToThatEpoch() {
    RaftNode n = new RaftNode(RaftConfig.of(3, THREE), new PersistentState(1, 1, 1), List.of(entry(0, 1)), 0, 0,
        new SplittableRandom(3));
    n.ready();
    n.step(new FetchResponse(1, 3, 1, 1, RaftError.NONE, 1, 1, List.of(), 5, -1, -1, 5, 5, 1), 10);
    n.ready();
    // The shell got a newer snapshot than the one named, from a replica already in epoch 3.
    n.snapshotInstalled(new OffsetAndEpoch(9, 3), 20);
    assertEquals(3, n.epoch());
    assertEquals(RaftRole.UNATTACHED, n.role());
    assertEquals(-1, n.leaderId());
    assertEquals(9, n.logStartOffset());
    assertEquals(9, n.logEndOffset());
    assertEquals(3, n.lastEpoch());
    assertEquals(9, n.highWatermark());
    assertEquals(9, n.durableEndOffset());
    Ready r = n.ready();
    assertEquals(new PersistentState(3, -1, -1), r.state().orElseThrow(), "no vote cast in the new epoch");
    assertEquals(9, r.highWatermark().getAsLong());
    assertTrue(n.pendingSnapshotFetch().isEmpty());
  }
}
