package io.raftline.deploy.soak;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The outcome of a soak run: the figures, every check's result, and notes on how faults were simulated. */
public final class SoakSummary {
  private final SoakConfig config;
  private final Evidence evidence;
  private final List<Check.Result> results;
  private final Availability availability;
  private final List<String> notes;
  private final long elapsedMs;
  private final String problem;

  SoakSummary(SoakConfig config, Evidence evidence, List<Check.Result> results, Availability availability,
      List<String> notes, long elapsedMs, String problem) {
    this.config = config;
    this.evidence = evidence;
    this.results = List.copyOf(results);
    this.availability = availability;
    this.notes = List.copyOf(notes);
    this.elapsedMs = elapsedMs;
    this.problem = problem;
  }

  /** True if the run completed and no check failed. */
  public boolean passed() {
    return problem == null && results.stream().noneMatch(Check.Result::failed);
  }

  /** Why the run itself broke off (null if it did not). */
  public String problem() {
    return problem;
  }

  public List<Check.Result> results() {
    return results;
  }

  public Check.Result result(String name) {
    return results.stream().filter(r -> r.name().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no check " + name));
  }

  public long lost() {
    return result(Checks.LOST).violations();
  }

  public long orderViolations() {
    return result(Checks.ORDER).violations();
  }

  public long unexpectedReads() {
    return result(Checks.UNEXPECTED).violations();
  }

  public long duplicates() {
    return result(Checks.DUPLICATES).violations();
  }

  public int acknowledged() {
    return evidence.acknowledged();
  }

  public Map<String, Integer> faultsByKind() {
    return evidence.faultsByKind();
  }

  public Availability availability() {
    return availability;
  }

  public Evidence evidence() {
    return evidence;
  }

  public void print(PrintWriter out) {
    out.println("Raftline soak: seed " + config.seed() + ", topology " + config.topology().label() + ", workload "
        + config.duration().toSeconds() + " s, run " + elapsedMs / 1000 + " s, " + config.producers() + " producers x "
        + config.recordsPerSecond() + " records/s (acks=all), topic RF 3, min.insync.replicas 2, "
        + config.partitions() + " partitions; files in " + config.dir());
    out.println("  operations:      " + (evidence.sends() + evidence.reads()) + " (" + evidence.sends() + " sends, "
        + evidence.reads() + " reads)");
    out.println("  acknowledged:    " + evidence.acknowledged() + "; failed sends: " + evidence.failedSends()
        + " (indeterminate: may or may not be stored)");
    StringBuilder faults = new StringBuilder();
    int total = 0;
    for (Map.Entry<String, Integer> e : evidence.faultsByKind().entrySet()) {
      faults.append(faults.length() == 0 ? "" : ", ").append(e.getKey()).append(' ').append(e.getValue());
      total += e.getValue();
    }
    out.println("  faults injected: " + total + (total == 0 ? "" : " (" + faults + ")"));
    out.println("  lost:            " + lost() + " (must be 0)");
    out.println("  duplicates:      " + duplicates() + " (without idempotence)");
    out.println("  order violations: " + orderViolations());
    out.println("  unexpected reads: " + unexpectedReads());
    Availability.Gap g = availability.longest();
    Availability.Gap gp = availability.longestPerPartition();
    out.println("  availability:    longest time with no acks=all write on any partition "
        + (g == null ? "-" : g.length() + " ms (t=" + g.from() + ".." + g.to() + ")")
        + "; on one partition " + (gp == null ? "-" : gp.length() + " ms (partition " + gp.partition() + ", t="
        + gp.from() + ".." + gp.to() + ")"));
    out.println("                   after kill-leader, first ack on the partitions it led: median "
        + ms(availability.medianAfterKill("kill-leader")) + ", max " + ms(availability.maxAfterKill("kill-leader"))
        + " (n=" + availability.countAfterKill("kill-leader") + "); after any kill of a leader: median "
        + ms(availability.medianAfterKill(null)) + ", max " + ms(availability.maxAfterKill(null)) + " (n="
        + availability.countAfterKill(null) + ")");
    out.println("  checks:");
    for (Check.Result r : results) {
      out.printf("    %-12s %s: %s%n", r.status(), r.name(), r.summary());
      for (String ex : r.examples()) {
        out.println("                 - " + ex);
      }
    }
    for (String n : notes) {
      out.println("  note: " + n);
    }
    List<String> restarts = new ArrayList<>();
    int fullDisks = 0;
    for (Evidence.Fault f : evidence.faults()) {
      if (f.kind().equals(FaultKind.FULL_DISK.label()) && f.phase().equals("end")) {
        fullDisks++;
        if ("true".equals(f.attrs().get("restarted"))) {
          restarts.add("node " + f.node() + " at t=" + f.time() + " (" + f.attrs().getOrDefault("because", "?")
              .replace('_', ' ') + ")");
        }
      }
    }
    if (fullDisks > 0) {
      out.println("  note: full-disk: " + (fullDisks - restarts.size()) + " of " + fullDisks + " recovered without a "
          + "restart once space was back" + (restarts.isEmpty() ? "" : "; restarted " + restarts));
    }
    if (problem != null) {
      out.println("  RUN PROBLEM: " + problem);
    }
    out.println(passed() ? "PASSED" : "FAILED");
    out.flush();
  }

  private static String ms(long v) {
    return v < 0 ? "-" : v + " ms";
  }

  static List<String> simulationNotes(boolean fullDisk, boolean proxy) {
    List<String> notes = new ArrayList<>();
    notes.add("full-disk: " + (fullDisk ? "simulated by lowering the node's RLIMIT_FSIZE to 0 with prlimit, so "
        + "every file write fails with EFBIG the way a full disk fails it with ENOSPC (chmod does nothing to open "
        + "files, nor to root); lifted after 2-5 s, and the node restarted if it does not recover by itself"
        : "not injected: prlimit is not available here"));
    notes.add("network-cut: " + (proxy ? "TCP proxies in the harness on every quorum link (each node's "
        + "controller.quorum.voters names proxy ports for the other voters) and in front of every broker (its "
        + "advertised.listeners; the calling node is found from /proc); a cut blackholes every link between one node "
        + "and the other nodes both ways (quorum, heartbeats, metadata, replication, coordinator traffic). Clients "
        + "are not cut: they keep reaching the isolated node"
        : "not injected: the quorum proxy is off"));
    notes.add("torn-tail: kill -9, then 1-32 bytes cut from the newest segment of each soak partition on the node "
        + "and from its newest metadata log segment, then restart");
    return notes;
  }
}
