package io.raftline.quorum.raft;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Deterministic simulation of a Raft quorum: 3 or 5 voters plus 1–2 observers, driven by a seeded
 * scheduler that drops, duplicates, delays and reorders messages, cuts links (both ways and one way),
 * crashes and restarts nodes, and delays fsyncs. Each node's IO shell is modelled faithfully: the
 * quorum state is persisted before a Ready's messages are sent, log writes reach "disk" only when a
 * simulated fsync (at a random later time) completes, and a crash throws away everything that was not
 * durable (sometimes an fsync finished but its report was lost: the data survives, unreported).
 *
 * <p>After every step the simulation checks election safety (one leader per epoch, ever), log matching
 * (an (offset, epoch) pair always comes with the same prefix, on every node, at every time), leader
 * completeness (a leader holds every entry that was committed in an earlier epoch), state-machine
 * safety (every node's log below its HW equals the global committed log; a committed entry is never
 * truncated, never duplicated, and stays durable on a majority of voters), and that the HW never moves
 * backwards on a node that stays up. After the fault phase the network heals and every node restarts;
 * a leader must then be elected, commit a new proposal, and every node must learn it, within a bounded
 * simulated time.
 *
 * <p>Nothing here reads a clock, starts a thread or iterates a hash-ordered collection, so a seed
 * replays exactly: {@code -Draftline.sim.seed=S} runs one seed (printing its event trace on failure),
 * {@code -Draftline.sim.seeds=N} runs N seeds (default {@value #DEFAULT_SEEDS}) starting at
 * {@code -Draftline.sim.firstSeed} (default 1), for longer sweeps outside CI.
 */
class RaftSimulationTest {

  static final int DEFAULT_SEEDS = 500;

  @Test
  void safetyAndLivenessUnderFaults() {
    String one = System.getProperty("raftline.sim.seed");
    List<Long> seeds = new ArrayList<>();
    if (one != null && !one.isBlank()) {
      seeds.add(Long.parseLong(one.trim()));
    } else {
      int n = Integer.getInteger("raftline.sim.seeds", DEFAULT_SEEDS);
      long first = Long.getLong("raftline.sim.firstSeed", 1L);
      for (long s = first; s < first + n; s++) seeds.add(s);
    }
    List<Long> failed = new ArrayList<>();
    String firstFailure = null;
    long[] stats = new long[5];
    for (long seed : seeds) {
      try {
        Sim sim = new Sim(seed, false);
        stats[0] += sim.run();
        stats[1] += sim.leaderOfEpoch.size();
        stats[2] += sim.committed.size();
        stats[3] += sim.truncations;
        stats[4] += sim.crashes;
      } catch (SimFailure e) {
        failed.add(seed);
        if (firstFailure == null) {
          // Replay the same seed with tracing on: it fails identically and explains itself.
          String trace = "";
          try {
            new Sim(seed, true).run();
          } catch (SimFailure traced) {
            trace = traced.trace;
          }
          firstFailure = e.getMessage() + "\n--- last events of seed " + seed + " ---\n" + trace;
        }
      }
    }
    if (!failed.isEmpty()) {
      fail(failed.size() + " of " + seeds.size() + " seeds failed: " + failed + "\nFirst failure: " + firstFailure);
    }
    System.out.println("RaftSimulationTest: " + seeds.size() + " seeds, all properties held; " + stats[0] + " events, "
        + stats[1] + " leaders elected, " + stats[2] + " entries committed, " + stats[3] + " truncations, " + stats[4]
        + " crashes");
  }

  /** A property violation; the message names the seed and the property. */
  static final class SimFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final String trace;

    SimFailure(String message, String trace) {
      super(message);
      this.trace = trace;
    }
  }

  // ----------------------------------------------------------------------------------------------

  enum Kind { BOUNCE, ISOLATE, START, DELIVER, TICK, FSYNC, CRASH, RESTART, PROPOSE, CHAOS, HEAL_ALL, LIVENESS }

  record Event(long time, long seq, Kind kind, int node, long incarnation, RaftMessage msg) {}

  /** The shell's view of a node's log, with a running hash of each prefix for the log-matching check. */
  static final class SimLog {
    final ArrayList<LogEntry> entries = new ArrayList<>();
    long[] prefixHash = new long[16];

    long end() {
      return entries.size();
    }

    LogEntry get(long o) {
      return entries.get((int) o);
    }

    long append(LogEntry e) {
      int i = entries.size();
      long prev = i == 0 ? 0x5EED5EED5EEDL : prefixHash[i - 1];
      long h = mix(prev * 0x9E3779B97F4A7C15L + e.epoch() * 0xC2B2AE3D27D4EB4FL + payloadHash(e.payload()));
      if (i == prefixHash.length) prefixHash = Arrays.copyOf(prefixHash, i * 2);
      prefixHash[i] = h;
      entries.add(e);
      return h;
    }

    void truncate(long to) {
      while (entries.size() > to) entries.remove(entries.size() - 1);
    }

    SimLog copy() {
      SimLog c = new SimLog();
      c.entries.addAll(entries);
      c.prefixHash = Arrays.copyOf(prefixHash, Math.max(16, entries.size()));
      return c;
    }

    static long payloadHash(byte[] p) {
      long h = 0xCBF29CE484222325L;
      for (byte b : p) h = (h ^ (b & 0xff)) * 0x100000001B3L;
      return h ^ p.length;
    }

    static long mix(long z) {
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      return z ^ (z >>> 31);
    }
  }

  static final class SimNode {
    final int id;
    final boolean voter;
    final RaftConfig config;
    RaftNode node; // null while down
    long incarnation;
    SimLog shell = new SimLog();
    SimLog durable = new SimLog();
    PersistentState persisted = PersistentState.INITIAL;
    long lastHw;
    boolean fsyncPending;
    long tickAt = Long.MAX_VALUE;
    boolean restartScheduled;

    SimNode(int id, boolean voter, RaftConfig config) {
      this.id = id;
      this.voter = voter;
      this.config = config;
    }
  }

  record PrefixKey(long offset, int epoch) {}

  static final class Sim {
    final long seed;
    final boolean tracing;
    final SplittableRandom rng;
    final int nVoters;
    final int nObservers;
    final TreeSet<Integer> voterIds = new TreeSet<>();
    final SimNode[] nodes;
    final PriorityQueue<Event> queue = new PriorityQueue<>((a, b) ->
        a.time() != b.time() ? Long.compare(a.time(), b.time()) : Long.compare(a.seq(), b.seq()));
    long seq;
    long now;
    long steps;

    // network model
    final boolean[][] cut;
    final double dropP;
    final double dupP;
    final int maxDelay;
    final double slowP;
    boolean healed;

    final long faultPhaseEndMs;
    final boolean fast;
    final int scale;
    static final long LIVENESS_BOUND_MS = 30_000;

    // global knowledge for the checks
    final TreeMap<Integer, Integer> leaderOfEpoch = new TreeMap<>();
    final ArrayList<LogEntry> committed = new ArrayList<>();
    /** commitEpochs.get(o): the epoch in which committed.get(o) became committed. */
    final ArrayList<Integer> commitEpochs = new ArrayList<>();
    final HashSet<String> committedPayloads = new HashSet<>();
    final HashMap<PrefixKey, Long> prefixOf = new HashMap<>();
    final ArrayDeque<String> trace = new ArrayDeque<>();
    int proposals;
    long truncations;
    long crashes;
    // liveness
    int markerCount;
    final List<String> markers = new ArrayList<>();
    int markerProposer = -1;
    int markerEpoch = -1;
    long markerCommittedAt = -1;
    long markerOffset = -1;
    boolean done;

    Sim(long seed, boolean tracing) {
      this.seed = seed;
      this.tracing = tracing;
      this.rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 17);
      this.nVoters = rng.nextBoolean() ? 3 : 5;
      this.nObservers = 1 + rng.nextInt(2);
      for (int i = 1; i <= nVoters; i++) voterIds.add(i);
      // Half the seeds use Kafka's default timeouts; the other half run them 5x faster (relative to the
      // same network delays), which packs far more elections, and more divergent logs, into a run.
      fast = rng.nextBoolean();
      int[] fetchSizes = {1, 2, 3, 1000};
      int maxFetchEntries = fetchSizes[rng.nextInt(fetchSizes.length)];
      int jitter = rng.nextBoolean() ? 200 : 10;
      nodes = new SimNode[nVoters + nObservers];
      for (int i = 0; i < nodes.length; i++) {
        int id = i < nVoters ? i + 1 : 100 + (i - nVoters) + 1;
        RaftConfig c = RaftConfig.of(id, voterIds);
        // A narrow jitter makes split votes (several candidates in one epoch) common.
        if (fast) c = c.withElection(200, jitter).withFetch(400, 100, 200);
        // Tiny fetch responses make followers hold partial copies of a leader's log, which is where
        // the subtle cases live (an older epoch's entry on a majority without the new leader's entry).
        c = c.withLimits(maxFetchEntries, c.maxFetchBytes(), c.maxBatchEntries());
        nodes[i] = new SimNode(id, i < nVoters, c);
      }
      scale = fast ? 5 : 1;
      cut = new boolean[nodes.length][nodes.length];
      // Some seeds get a clean network, most a lossy one.
      int profile = rng.nextInt(4);
      dropP = profile == 0 ? 0 : rng.nextDouble() * 0.2;
      dupP = profile == 0 ? 0 : rng.nextDouble() * 0.1;
      maxDelay = 1 + rng.nextInt(profile == 3 ? 60 : 15);
      slowP = profile == 0 ? 0 : rng.nextDouble() * 0.05;
      faultPhaseEndMs = 8_000 + rng.nextInt(17_000);
    }

    long run() {
      for (int i = 0; i < nodes.length; i++) push(rng.nextInt(300), Kind.START, i, 0, null);
      push(50, Kind.PROPOSE, -1, 0, null);
      push(500 + rng.nextInt(1500), Kind.CHAOS, -1, 0, null);
      push(faultPhaseEndMs, Kind.HEAL_ALL, -1, 0, null);
      while (!done) {
        Event ev = queue.poll();
        if (ev == null) throw failure("liveness", "event queue ran dry");
        now = ev.time();
        steps++;
        handle(ev);
        checkAfterStep();
        if (steps > 3_000_000) throw failure("liveness", "runaway: more than 3,000,000 events");
        if (healed && now > faultPhaseEndMs + LIVENESS_BOUND_MS) {
          throw failure("liveness", "no leader committed a new proposal learnt by every node within "
              + LIVENESS_BOUND_MS + " ms after healing; markers=" + markers);
        }
      }
      finalChecks();
      return steps;
    }

    // ---------------------------------------------------------------------------------------------

    void handle(Event ev) {
      switch (ev.kind()) {
        case START, RESTART -> {
          SimNode sn = nodes[ev.node()];
          sn.restartScheduled = false;
          if (sn.node == null) start(sn);
        }
        case DELIVER -> deliver(ev.msg());
        case TICK -> {
          SimNode sn = nodes[ev.node()];
          if (sn.node == null || sn.incarnation != ev.incarnation() || sn.tickAt != ev.time()) return;
          sn.tickAt = Long.MAX_VALUE;
          log("tick " + sn.id);
          sn.node.tick(now);
          drain(sn);
        }
        case FSYNC -> {
          SimNode sn = nodes[ev.node()];
          if (sn.node == null || sn.incarnation != ev.incarnation()) return;
          sn.fsyncPending = false;
          sn.durable = sn.shell.copy();
          log("fsync " + sn.id + " durable<" + sn.shell.end());
          sn.node.appendDurable(sn.shell.end());
          drain(sn);
        }
        case CRASH -> {
          if (!healed) crash(nodes[ev.node()], (50 + rng.nextInt(5000)) / scale);
        }
        case BOUNCE -> {
          SimNode sn = nodes[ev.node()];
          if (sn.node != null && !healed) crash(sn, 1 + rng.nextInt(50));
        }
        case ISOLATE -> {
          if (!healed) isolate(ev.node());
        }
        case PROPOSE -> {
          proposeSomewhere();
          push(now + 10 + rng.nextInt(150), Kind.PROPOSE, -1, 0, null);
        }
        case CHAOS -> {
          if (!healed) {
            chaos();
            push(now + (100 + rng.nextInt(2000)) / scale, Kind.CHAOS, -1, 0, null);
          }
        }
        case HEAL_ALL -> {
          healed = true;
          for (boolean[] row : cut) Arrays.fill(row, false);
          for (SimNode sn : nodes) if (sn.node == null) start(sn);
          log("=== heal: network clean, all nodes up");
          push(now + 100, Kind.LIVENESS, -1, 0, null);
        }
        case LIVENESS -> {
          liveness();
          push(now + 100, Kind.LIVENESS, -1, 0, null);
        }
      }
    }

    void start(SimNode sn) {
      sn.incarnation++;
      sn.shell = sn.durable.copy();
      sn.lastHw = 0;
      sn.fsyncPending = false;
      sn.tickAt = Long.MAX_VALUE;
      sn.node = new RaftNode(sn.config, sn.persisted, List.copyOf(sn.durable.entries), 0, now,
          new SplittableRandom(rng.nextLong()));
      log("start " + sn.id + " state=" + sn.persisted + " log<" + sn.durable.end());
      drain(sn);
    }

    /** Crashes a node (if up) and, during the fault phase, restarts it {@code restartAfterMs} later. */
    void crash(SimNode sn, long restartAfterMs) {
      if (sn.node == null) return;
      // Usually the page cache is lost; sometimes an fsync completed but was never reported.
      if (rng.nextInt(4) == 0) sn.durable = sn.shell.copy();
      log("crash " + sn.id + " (durable log<" + sn.durable.end() + ")");
      crashes++;
      sn.node = null;
      sn.incarnation++;
      if (!healed && !sn.restartScheduled) {
        sn.restartScheduled = true;
        push(now + restartAfterMs, Kind.RESTART, index(sn.id), 0, null);
      }
    }

    void deliver(RaftMessage m) {
      int from = index(m.from());
      int to = index(m.to());
      SimNode sn = nodes[to];
      if (sn.node == null || cut[from][to]) {
        log("lost " + m);
        SimNode sender = nodes[from];
        // A real shell sees a refused connection to a crashed node; a cut link sometimes looks the
        // same. Hinting on some cuts too checks that a wrong hint never harms safety.
        if (m instanceof RaftMessage.FetchRequest && sender.node != null && (sn.node == null || rng.nextInt(3) == 0)) {
          log("unreachable hint " + m.from() + " -> " + m.to());
          sender.node.leaderUnreachable(m.to(), now);
          drain(sender);
        }
        return;
      }
      log("deliver " + m);
      sn.node.step(m, now);
      drain(sn);
    }

    void send(RaftMessage m) {
      int from = index(m.from());
      int to = index(m.to());
      if (cut[from][to] || (!healed && rng.nextDouble() < dropP)) {
        log("drop " + m);
        return;
      }
      int copies = !healed && rng.nextDouble() < dupP ? 2 : 1;
      for (int c = 0; c < copies; c++) {
        long delay = 1 + rng.nextInt(maxDelay);
        if (!healed && rng.nextDouble() < slowP) delay += rng.nextInt(400);
        push(now + delay, Kind.DELIVER, to, 0, m);
      }
    }

    /** Plays the IO shell for one node's Ready, exactly in the documented order, checking as it goes. */
    void drain(SimNode sn) {
      RaftNode n = sn.node;
      int rounds = 0;
      while (n.hasReady()) {
        if (++rounds > 100) violation("ready", sn.id + " still has work after 100 ready() calls");
        Ready r = n.ready();
        // 1. persist the quorum state (synchronously: before any message goes out)
        r.state().ifPresent(s -> sn.persisted = s);
        if (!healed && r.state().isPresent() && r.state().get().votedFor() >= 0
            && r.state().get().votedFor() != sn.id && rng.nextInt(100) < 10) {
          // A voter that restarts right after granting a vote must still remember it.
          push(now + rng.nextInt(5), Kind.BOUNCE, index(sn.id), 0, null);
        }
        // 2. the log: truncate, append; the fsync happens later
        if (r.truncateTo().isPresent()) {
          long t = r.truncateTo().getAsLong();
          if (t < sn.lastHw) violation("state machine safety", sn.id + " truncates to " + t + " below its HW " + sn.lastHw);
          // A node may drop its copy of an entry committed in a later epoch than its own (it follows a
          // stale leader that legitimately lacks it, and its copy was not counted toward that commit),
          // but never one committed in its own epoch or earlier.
          for (long o = t; o < Math.min(sn.shell.end(), committed.size()); o++) {
            if (commitEpochs.get((int) o) <= n.epoch() && sn.shell.get(o).equals(committed.get((int) o))) {
              violation("committed entries never lost", sn.id + " truncates committed entry " + sn.shell.get(o));
            }
          }
          log("truncate " + sn.id + " to " + t);
          truncations++;
          sn.shell.truncate(t);
        }
        for (LogEntry e : r.entries()) {
          if (e.offset() != sn.shell.end()) violation("ready", sn.id + " appends " + e + " at end " + sn.shell.end());
          long h = sn.shell.append(e);
          Long prev = prefixOf.putIfAbsent(new PrefixKey(e.offset(), e.epoch()), h);
          if (prev != null && prev != h) {
            violation("log matching", sn.id + " has " + e + " whose prefix differs from another log's entry with the same offset and epoch");
          }
        }
        if ((r.truncateTo().isPresent() || !r.entries().isEmpty()) && !sn.fsyncPending) {
          sn.fsyncPending = true;
          int d = rng.nextInt(10) == 0 ? rng.nextInt(300) : rng.nextInt(8);
          push(now + d, Kind.FSYNC, index(sn.id), sn.incarnation, null);
        }
        // 3. send
        for (RaftMessage m : r.messages()) send(m);
        // 4. commit
        if (r.highWatermark().isPresent()) onHighWatermark(sn, r.highWatermark().getAsLong());
        if (r.roleChange().isPresent()) onRoleChange(sn, r.roleChange().get());
        // Faults are most revealing right after a leader is elected or moves its HW: sometimes crash or
        // isolate it a moment later, before the rest of the quorum has caught up.
        if (!healed && n.role() == RaftRole.LEADER
            && (r.highWatermark().isPresent() || r.roleChange().isPresent()) && rng.nextInt(100) < 4) {
          if (rng.nextBoolean()) {
            push(now + rng.nextInt(20), Kind.CRASH, index(sn.id), 0, null);
          } else {
            push(now + rng.nextInt(20), Kind.ISOLATE, index(sn.id), 0, null);
          }
        }
      }
      if (sn.shell.end() != n.logEndOffset()) {
        violation("ready", sn.id + " shell log ends at " + sn.shell.end() + " but the core's at " + n.logEndOffset());
      }
      if (sn.shell.end() > 0 && !sn.shell.get(sn.shell.end() - 1).equals(n.entry(n.logEndOffset() - 1))) {
        violation("ready", sn.id + " shell and core disagree on the last entry");
      }
      long want = Math.max(n.nextDeadlineMs(), now + 1) + rng.nextInt(3);
      if (want < sn.tickAt) {
        sn.tickAt = want;
        push(want, Kind.TICK, index(sn.id), sn.incarnation, null);
      }
    }

    void onHighWatermark(SimNode sn, long hw) {
      if (hw <= sn.lastHw) violation("HW monotonic", sn.id + " HW " + sn.lastHw + " -> " + hw);
      if (hw > sn.shell.end()) violation("HW within log", sn.id + " HW " + hw + " beyond its log end " + sn.shell.end());
      for (long o = sn.lastHw; o < hw; o++) {
        LogEntry e = sn.shell.get(o);
        if (o < committed.size()) {
          if (!e.equals(committed.get((int) o))) {
            violation("state machine safety", sn.id + " commits " + e + " but " + committed.get((int) o) + " was committed there");
          }
        } else {
          commitNew(e, sn.node.epoch());
        }
      }
      log("hw " + sn.id + " = " + hw);
      sn.lastHw = hw;
    }

    /**
     * Records a newly committed entry. {@code commitEpoch} is the epoch in which it became committed:
     * the epoch of the first node reporting a HW above it (a leader, since followers learn the HW from
     * it). Raft promises the entry to every leader of a <em>later</em> epoch; a stale leader of an
     * epoch between the entry's own and the commit epoch may legitimately lack it.
     */
    void commitNew(LogEntry e, int commitEpoch) {
      if (e.payload().length > 0) {
        String p = new String(e.payload(), StandardCharsets.UTF_8);
        if (!committedPayloads.add(p)) violation("no duplicates", "payload " + p + " committed twice");
        if (markerOffset < 0 && markers.contains(p)) {
          markerOffset = e.offset();
          markerCommittedAt = now;
        }
      }
      committed.add(e);
      commitEpochs.add(commitEpoch);
      // Leader completeness: every leader of the commit epoch or a later one must hold it.
      for (SimNode other : nodes) {
        if (other.node != null && other.node.role() == RaftRole.LEADER && other.node.epoch() >= commitEpoch) {
          if (other.shell.end() <= e.offset() || !other.shell.get(e.offset()).equals(e)) {
            violation("leader completeness", "leader " + other.id + " of epoch " + other.node.epoch()
                + " lacks committed " + e);
          }
        }
      }
    }

    void onRoleChange(SimNode sn, Ready.RoleChange rc) {
      log("role " + sn.id + " -> " + rc);
      if (rc.role() == RaftRole.LEADER) {
        Integer prev = leaderOfEpoch.putIfAbsent(rc.epoch(), sn.id);
        if (prev != null && prev != sn.id) {
          violation("election safety", "epoch " + rc.epoch() + " has leaders " + prev + " and " + sn.id);
        }
        if (!sn.voter) violation("observer never leads", sn.id + " became leader");
        for (int i = 0; i < committed.size(); i++) {
          LogEntry c = committed.get(i);
          if (commitEpochs.get(i) >= rc.epoch()) continue;
          if (sn.shell.end() <= c.offset() || !sn.shell.get(c.offset()).equals(c)) {
            violation("leader completeness", "new leader " + sn.id + " of epoch " + rc.epoch() + " lacks committed " + c);
          }
        }
      }
      if (!sn.voter && rc.role() != RaftRole.OBSERVER) {
        violation("observer role", sn.id + " is " + rc.role());
      }
    }

    void checkAfterStep() {
      for (SimNode sn : nodes) {
        RaftNode n = sn.node;
        if (n == null) continue;
        if (n.highWatermark() != sn.lastHw && !(sn.lastHw == 0 && n.highWatermark() == 0)) {
          violation("HW reporting", sn.id + " core HW " + n.highWatermark() + " vs reported " + sn.lastHw);
        }
        if (n.highWatermark() > n.logEndOffset()) violation("HW within log", sn.id + " " + n);
        long d = n.durableEndOffset();
        if (d > 0 && (d > sn.durable.end() || sn.durable.prefixHash[(int) d - 1] != sn.shell.prefixHash[(int) d - 1])) {
          // the core may only count as durable what the shell's disk really holds
          violation("durability", sn.id + " believes [0, " + d + ") durable; disk log ends at " + sn.durable.end());
        }
        if (!sn.voter && n.votedFor() != -1) violation("observer never votes", sn.id + " votedFor " + n.votedFor());
      }
      if (steps % 2000 == 0) fullChecks();
    }

    /** Slower whole-state checks, run periodically and at the end. */
    void fullChecks() {
      for (SimNode sn : nodes) {
        if (sn.node == null) continue;
        RaftNode n = sn.node;
        if (n.logEndOffset() != sn.shell.end()) violation("ready", sn.id + " log length");
        if (n.logEndOffset() > 0 && !n.entries(0, n.logEndOffset()).equals(sn.shell.entries)) {
          violation("ready", sn.id + " shell log differs from the core's log");
        }
      }
      // Every committed entry is durable on a majority of voters.
      int majority = nVoters / 2 + 1;
      for (LogEntry c : committed) {
        int holders = 0;
        for (SimNode sn : nodes) {
          if (sn.voter && sn.durable.end() > c.offset() && sn.durable.get(c.offset()).equals(c)) holders++;
        }
        if (holders < majority) {
          violation("committed entries never lost", c + " durable on only " + holders + " voters");
        }
      }
    }

    void finalChecks() {
      fullChecks();
      for (SimNode sn : nodes) {
        for (long o = 0; o < sn.lastHw; o++) {
          if (!sn.shell.get(o).equals(committed.get((int) o))) violation("state machine safety", sn.id + " at " + o);
        }
      }
    }

    // ---------------------------------------------------------------------------------------------

    void proposeSomewhere() {
      List<SimNode> leaders = new ArrayList<>();
      for (SimNode sn : nodes) if (sn.node != null && sn.node.role() == RaftRole.LEADER) leaders.add(sn);
      if (leaders.isEmpty()) return;
      SimNode sn = leaders.get(rng.nextInt(leaders.size()));
      int k = 1 + rng.nextInt(3);
      List<byte[]> batch = new ArrayList<>();
      for (int i = 0; i < k; i++) batch.add(("p" + (proposals++)).getBytes(StandardCharsets.UTF_8));
      ProposeResult res = sn.node.propose(batch, now);
      if (!(res instanceof ProposeResult.Accepted)) violation("propose", "leader " + sn.id + " rejected: " + res);
      log("propose " + sn.id + " " + res);
      drain(sn);
    }

    void chaos() {
      int action = rng.nextInt(100);
      if (action < 22) {
        crash(nodes[rng.nextInt(nodes.length)], (50 + rng.nextInt(5000)) / scale);
      } else if (action < 30) {
        for (SimNode sn : nodes) {
          if (sn.node != null && sn.node.role() == RaftRole.LEADER) {
            crash(sn, (50 + rng.nextInt(5000)) / scale);
            break;
          }
        }
      } else if (action < 48) {
        isolate(rng.nextInt(nodes.length));
      } else if (action < 62) {
        boolean[] side = new boolean[nodes.length];
        for (int i = 0; i < side.length; i++) side[i] = rng.nextBoolean();
        for (int i = 0; i < side.length; i++) {
          for (int j = 0; j < side.length; j++) cut[i][j] = side[i] != side[j];
        }
        log("split " + Arrays.toString(side));
      } else if (action < 72) {
        int links = 1 + rng.nextInt(nodes.length);
        for (int l = 0; l < links; l++) {
          int a = rng.nextInt(nodes.length);
          int b = rng.nextInt(nodes.length);
          if (a != b) cut[a][b] = true;
        }
        log("one-way cuts");
      } else if (action < 78) {
        // a graceful hand-over
        for (SimNode sn : nodes) {
          if (sn.node != null && sn.node.role() == RaftRole.LEADER) {
            log("resign " + sn.id);
            sn.node.resign(now);
            drain(sn);
            break;
          }
        }
      } else {
        for (boolean[] row : cut) Arrays.fill(row, false);
        log("heal links");
      }
    }

    void isolate(int victim) {
      for (int j = 0; j < nodes.length; j++) {
        if (j != victim) {
          cut[victim][j] = true;
          cut[j][victim] = true;
        }
      }
      log("isolate " + nodes[victim].id);
    }

    /** After healing: propose a marker to the leader, and wait until it is committed and known to all. */
    void liveness() {
      SimNode leader = null;
      for (SimNode sn : nodes) {
        if (sn.node != null && sn.node.role() == RaftRole.LEADER && (leader == null || sn.node.epoch() > leader.node.epoch())) {
          leader = sn;
        }
      }
      if (markerOffset < 0) {
        boolean proposerStillLeads = leader != null && leader.id == markerProposer && leader.node.epoch() == markerEpoch;
        if (leader != null && !proposerStillLeads) {
          String m = "live" + (markerCount++);
          markers.add(m);
          markerProposer = leader.id;
          markerEpoch = leader.node.epoch();
          leader.node.propose(List.of(m.getBytes(StandardCharsets.UTF_8)), now);
          log("propose marker " + m + " to " + leader.id);
          drain(leader);
        }
        return;
      }
      for (SimNode sn : nodes) {
        if (sn.node == null || sn.node.highWatermark() <= markerOffset) return;
      }
      done = true;
    }

    // ---------------------------------------------------------------------------------------------

    void push(long time, Kind kind, int node, long incarnation, RaftMessage msg) {
      queue.add(new Event(time, seq++, kind, node, incarnation, msg));
    }

    int index(int id) {
      return id <= nVoters ? id - 1 : nVoters + (id - 101);
    }

    void log(String s) {
      if (!tracing) return;
      trace.addLast(now + "ms " + s);
      if (trace.size() > 400) trace.removeFirst();
    }

    String describeNodes() {
      StringBuilder b = new StringBuilder();
      for (SimNode sn : nodes) b.append("\n  ").append(sn.node == null ? sn.id + " down" : sn.node.toString());
      return b.toString();
    }

    void violation(String property, String detail) {
      throw failure(property, detail);
    }

    SimFailure failure(String property, String detail) {
      String msg = "seed=" + seed + " (replay: -Draftline.sim.seed=" + seed + "), " + nVoters + " voters + "
          + nObservers + " observers, t=" + now + "ms, step " + steps + ": property '" + property + "' violated: "
          + detail + describeNodes();
      return new SimFailure(msg, String.join("\n", trace));
    }
  }
}
