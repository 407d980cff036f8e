package io.raftline.deploy.soak;

import io.raftline.deploy.soak.Evidence.Fault;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Write availability from the acknowledgement times in the history: the longest stretch without any
 * acks=all acknowledgement (over all partitions, and per partition), and how long writes to the
 * partitions a killed node led took to work again.
 */
public final class Availability {
  /** A stretch without acknowledgements, from {@code from} to {@code to} (ms since start). */
  public record Gap(long from, long to, int partition) {
    public long length() {
      return to - from;
    }
  }

  /** After one kill: partition the killed node led, and ms from the kill to its first ack. */
  public record Recovery(String faultKind, int node, int partition, long killedAt, long firstAckMs) {}

  private final Gap longest;
  private final Gap longestPerPartition;
  private final List<Recovery> recoveries;

  private Availability(Gap longest, Gap longestPerPartition, List<Recovery> recoveries) {
    this.longest = longest;
    this.longestPerPartition = longestPerPartition;
    this.recoveries = List.copyOf(recoveries);
  }

  public static Availability of(Evidence e) {
    long from = e.firstSend;
    long to = e.lastSend;
    Gap longest = longestGap(e.allAckTimes, from, to, -1);
    Gap perPartition = null;
    for (Map.Entry<Integer, List<Long>> p : e.ackTimes.entrySet()) {
      Gap g = longestGap(p.getValue(), from, to, p.getKey());
      if (g != null && (perPartition == null || g.length() > perPartition.length())) {
        perPartition = g;
      }
    }
    List<Recovery> recoveries = new ArrayList<>();
    for (Fault f : e.faults) {
      if (!f.phase().equals("start") || !f.attrs().containsKey("led")) {
        continue;
      }
      for (int p : f.partitions("led")) {
        List<Long> times = e.ackTimes.getOrDefault(p, List.of());
        long first = -1;
        for (long t : times) {
          if (t > f.time()) {
            first = t;
            break;
          }
        }
        if (first >= 0) {
          recoveries.add(new Recovery(f.kind(), f.node(), p, f.time(), first - f.time()));
        }
      }
    }
    return new Availability(longest, perPartition, recoveries);
  }

  /** Longest gap between consecutive times (ack times are in history order, nearly sorted). */
  private static Gap longestGap(List<Long> times, long from, long to, int partition) {
    if (from < 0) {
      return null;
    }
    List<Long> sorted = new ArrayList<>(times);
    Collections.sort(sorted);
    long previous = from;
    Gap best = null;
    for (long t : sorted) {
      if (t > to) {
        break;
      }
      if (best == null || t - previous > best.length()) {
        best = new Gap(previous, t, partition);
      }
      previous = Math.max(previous, t);
    }
    if (best == null || to - previous > best.length()) {
      best = new Gap(previous, to, partition);
    }
    return best;
  }

  /** Longest stretch with no acknowledged write on any partition; null without sends. */
  public Gap longest() {
    return longest;
  }

  /** Longest stretch with no acknowledged write on some one partition. */
  public Gap longestPerPartition() {
    return longestPerPartition;
  }

  public List<Recovery> recoveries() {
    return recoveries;
  }

  /** Median ms from a kill of a node to the first ack on a partition it led; -1 if no such kill. */
  public long medianAfterKill(String faultKind) {
    List<Long> ms = new ArrayList<>();
    for (Recovery r : recoveries) {
      if (faultKind == null || r.faultKind().equals(faultKind)) {
        ms.add(r.firstAckMs());
      }
    }
    if (ms.isEmpty()) {
      return -1;
    }
    Collections.sort(ms);
    return ms.get(ms.size() / 2);
  }

  public long maxAfterKill(String faultKind) {
    return recoveries.stream().filter(r -> faultKind == null || r.faultKind().equals(faultKind))
        .mapToLong(Recovery::firstAckMs).max().orElse(-1);
  }

  public long countAfterKill(String faultKind) {
    return recoveries.stream().filter(r -> faultKind == null || r.faultKind().equals(faultKind)).count();
  }
}
