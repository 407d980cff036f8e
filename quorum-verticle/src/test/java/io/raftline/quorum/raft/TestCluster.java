package io.raftline.quorum.raft;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * A hand-driven cluster for unit tests: plays the IO shell for each node (persist state, apply the log,
 * collect messages, optionally report fsyncs at once) and delivers messages in FIFO order on request.
 * Unlike {@link RaftSimulationTest} nothing happens unless the test asks for it. Each node's log is kept
 * from its log start on ({@link #starts}); snapshots are only ids here (their content is the committed
 * prefix, which the simulation checks), and a download asked for in a Ready is recorded in
 * {@link #snapshotFetches} and completed only when the test calls {@link #install}.
 */
final class TestCluster {

  final TreeMap<Integer, RaftNode> nodes = new TreeMap<>();
  final TreeMap<Integer, List<LogEntry>> logs = new TreeMap<>();
  final TreeMap<Integer, PersistentState> persisted = new TreeMap<>();
  final TreeMap<Integer, List<Ready>> readies = new TreeMap<>();
  final TreeMap<Integer, Long> starts = new TreeMap<>();
  final TreeMap<Integer, OffsetAndEpoch> snapshots = new TreeMap<>();
  final TreeMap<Integer, List<Ready.SnapshotFetch>> snapshotFetches = new TreeMap<>();
  final ArrayList<RaftMessage> inFlight = new ArrayList<>();
  long now;
  boolean autoDurable = true;
  Predicate<RaftMessage> drop = m -> false;

  static Set<Integer> voters(int n) {
    TreeMap<Integer, Integer> m = new TreeMap<>();
    for (int i = 1; i <= n; i++) m.put(i, i);
    return m.keySet();
  }

  RaftNode add(RaftConfig config) {
    return add(config, PersistentState.INITIAL, List.of());
  }

  RaftNode add(RaftConfig config, PersistentState state, List<LogEntry> log) {
    return add(config, state, OffsetAndEpoch.ZERO, log);
  }

  /** Adds (or restarts) a node that holds {@code snapshot} and the durable {@code log} after it. */
  RaftNode add(RaftConfig config, PersistentState state, OffsetAndEpoch snapshot, List<LogEntry> log) {
    int id = config.localId();
    RaftNode n = snapshot.equals(OffsetAndEpoch.ZERO)
        ? new RaftNode(config, state, log, 0, now, new SplittableRandom(id * 7919L))
        : new RaftNode(config, state, snapshot, log, now, new SplittableRandom(id * 7919L));
    nodes.put(id, n);
    logs.put(id, new ArrayList<>(log));
    starts.put(id, snapshot.offset());
    snapshots.put(id, snapshot);
    persisted.put(id, state);
    readies.putIfAbsent(id, new ArrayList<>());
    snapshotFetches.putIfAbsent(id, new ArrayList<>());
    drain(id);
    return n;
  }

  /** Restarts node {@code id} from what it persisted: quorum state, snapshot and log (all taken as durable). */
  RaftNode restart(int id) {
    return add(nodes.get(id).config(), persisted.get(id), snapshots.get(id), logs.get(id));
  }

  /** The shell of node {@code id} snapshots its state machine at {@code offset} (at most its HW). */
  OffsetAndEpoch takeSnapshot(int id, long offset) {
    RaftNode n = nodes.get(id);
    OffsetAndEpoch snap = new OffsetAndEpoch(offset, n.entry(offset - 1).epoch());
    n.snapshotTaken(snap);
    List<LogEntry> log = logs.get(id);
    long start = starts.get(id);
    log.subList(0, (int) (offset - start)).clear();
    starts.put(id, offset);
    snapshots.put(id, snap);
    drain(id);
    return snap;
  }

  /** The shell of node {@code id} finished downloading {@code snap}: its log is now empty from there. */
  void install(int id, OffsetAndEpoch snap) {
    logs.put(id, new ArrayList<>());
    starts.put(id, snap.offset());
    snapshots.put(id, snap);
    nodes.get(id).snapshotInstalled(snap, now);
    drain(id);
  }

  /** The log of node {@code id} as the shell holds it, from its start. */
  List<LogEntry> log(int id) {
    return logs.get(id);
  }

  RaftNode node(int id) {
    return nodes.get(id);
  }

  /** Plays the shell for every pending Ready of node {@code id}. */
  void drain(int id) {
    RaftNode n = nodes.get(id);
    for (int guard = 0; n.hasReady(); guard++) {
      if (guard > 100) throw new AssertionError("node " + id + " never runs out of work");
      Ready r = n.ready();
      readies.get(id).add(r);
      r.state().ifPresent(s -> persisted.put(id, s));
      List<LogEntry> log = logs.get(id);
      long start = starts.get(id);
      r.truncateTo().ifPresent(t -> {
        while (start + log.size() > t) log.remove(log.size() - 1);
      });
      log.addAll(r.entries());
      for (RaftMessage m : r.messages()) if (!drop.test(m)) inFlight.add(m);
      r.snapshotToFetch().ifPresent(f -> snapshotFetches.get(id).add(f));
      if (autoDurable && (r.truncateTo().isPresent() || !r.entries().isEmpty())) n.appendDurable(start + log.size());
    }
  }

  void drainAll() {
    for (int id : nodes.keySet()) drain(id);
  }

  /** Delivers in-flight messages (and the ones they cause) until none is left. */
  void deliverAll() {
    for (int guard = 0; !inFlight.isEmpty(); guard++) {
      if (guard > 100_000) throw new AssertionError("messages never settle");
      RaftMessage m = inFlight.remove(0);
      RaftNode to = nodes.get(m.to());
      if (to == null || drop.test(m)) continue;
      to.step(m, now);
      drain(m.to());
    }
  }

  /** Removes and returns the in-flight messages matching {@code p}. */
  List<RaftMessage> take(Predicate<RaftMessage> p) {
    List<RaftMessage> out = new ArrayList<>();
    inFlight.removeIf(m -> {
      if (p.test(m)) {
        out.add(m);
        return true;
      }
      return false;
    });
    return out;
  }

  void step(RaftMessage m) {
    nodes.get(m.to()).step(m, now);
    drain(m.to());
  }

  /** Advances time by {@code ms} in steps of {@code stepMs}, ticking every node and delivering everything. */
  void run(long ms, long stepMs) {
    long end = now + ms;
    while (now < end) {
      now = Math.min(end, now + stepMs);
      for (int id : nodes.keySet()) {
        nodes.get(id).tick(now);
        drain(id);
      }
      deliverAll();
    }
  }

  void run(long ms) {
    run(ms, 10);
  }

  /** Advances time for one node only (the others are not ticked). */
  void tick(int id, long toMs) {
    now = Math.max(now, toMs);
    nodes.get(id).tick(now);
    drain(id);
  }

  RaftNode leader() {
    RaftNode best = null;
    for (RaftNode n : nodes.values()) {
      if (n.role() == RaftRole.LEADER && (best == null || n.epoch() > best.epoch())) best = n;
    }
    return best;
  }

  /** Every message that node {@code id}'s Readies asked to send so far. */
  List<RaftMessage> sentBy(int id) {
    List<RaftMessage> out = new ArrayList<>();
    for (Ready r : readies.get(id)) out.addAll(r.messages());
    return out;
  }

  static LogEntry entry(long offset, int epoch) {
    return new LogEntry(offset, epoch, ("e" + offset + "@" + epoch).getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }
}
