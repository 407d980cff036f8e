package io.raftline.deploy.soak;

import io.raftline.deploy.soak.Check.Result;
import io.raftline.deploy.soak.Check.Status;
import io.raftline.deploy.soak.Evidence.Ack;
import io.raftline.deploy.soak.Evidence.Commit;
import io.raftline.deploy.soak.Evidence.Fault;
import io.raftline.deploy.soak.Evidence.MetadataEntry;
import io.raftline.deploy.soak.Evidence.MetadataLogView;
import io.raftline.deploy.soak.Evidence.Read;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** The built-in checks. */
public final class Checks {
  static final int MAX_EXAMPLES = 10;

  public static final String LOST = "acknowledged records read back";
  public static final String ORDER = "per-producer order";
  public static final String UNEXPECTED = "no unexpected reads";
  public static final String LIVE_STABLE = "live reads stable";
  public static final String DUPLICATES = "duplicates (non-idempotent)";
  public static final String IDEMPOTENT = "no duplicates with idempotence";
  public static final String GROUP_OFFSETS = "group offsets never go back";
  public static final String GROUP_OWNERS = "group partitions held by one member at a time";
  public static final String METADATA = "metadata logs agree";
  public static final String REPLICAS = "replica logs agree";
  public static final String RECOVERY = "cluster recovers after each fault";
  public static final String FINAL_READ = "final read complete";

  private Checks() {}

  /** Every built-in check, in summary order. */
  public static List<Check> standard() {
    return List.of(finalRead(), acknowledgedReadBack(), producerOrder(), noUnexpectedReads(), liveReadsStable(),
        duplicates(), idempotentNoDuplicates(), groupOffsetsNeverGoBack(), groupOwners(), replicaLogsAgree(),
        metadataLogsAgree(),
        recovery());
  }

  /** Runs {@code checks} in order. */
  public static List<Result> runAll(List<Check> checks, Evidence evidence) {
    List<Result> out = new ArrayList<>();
    for (Check c : checks) {
      out.add(c.run(evidence));
    }
    return out;
  }

  static Check of(String name, java.util.function.Function<Evidence, Result> body) {
    return new Check() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public Result run(Evidence evidence) {
        return body.apply(evidence);
      }
    };
  }

  /** The final read reached every partition's end offset (else "lost" would be guesswork). */
  public static Check finalRead() {
    return of(FINAL_READ, e -> {
      if (e.finalEndOffsets == null) {
        return Result.notChecked(FINAL_READ, "the run did not record end offsets");
      }
      if (e.finalReadComplete) {
        return new Result(FINAL_READ, Status.PASS, 0, "read every partition to its end offset " + e.finalEndOffsets,
            List.of());
      }
      List<String> ex = new ArrayList<>();
      e.finalEndOffsets.forEach((p, end) -> {
        TreeMap<Long, String> read = e.finalReads.get(p);
        ex.add("partition " + p + ": end offset " + end + ", read up to "
            + (read == null || read.isEmpty() ? "nothing" : read.lastKey()));
      });
      return new Result(FINAL_READ, Status.FAIL, 1, "the final read did not reach the end offsets", ex);
    });
  }

  /** Every acknowledged record is read back at exactly the partition and offset its acknowledgement named. */
  public static Check acknowledgedReadBack() {
    return of(LOST, e -> {
      long lost = 0;
      List<String> ex = new ArrayList<>();
      List<Map.Entry<String, Ack>> acks = new ArrayList<>(e.acks.entrySet());
      acks.sort(Comparator.comparingLong(a -> a.getValue().time()));
      for (Map.Entry<String, Ack> entry : acks) {
        Ack a = entry.getValue();
        TreeMap<Long, String> partition = e.finalReads.get(a.partition());
        String there = partition == null ? null : partition.get(a.offset());
        if (!entry.getKey().equals(there)) {
          lost++;
          if (ex.size() < MAX_EXAMPLES) {
            Long end = e.finalEndOffsets == null ? null : e.finalEndOffsets.get(a.partition());
            ex.add(entry.getKey() + " acknowledged at t=" + a.time() + " ms as partition " + a.partition() + " offset "
                + a.offset() + ", but " + (there != null ? "that offset holds " + there
                : "nothing was read there (partition end offset " + end + ")")
                + wasReadElsewhere(e, entry.getKey()));
          }
        }
      }
      return Result.of(LOST, lost, "0 lost of " + e.acks.size() + " acknowledged",
          lost + " of " + e.acks.size() + " acknowledged records lost", ex);
    });
  }

  private static String wasReadElsewhere(Evidence e, String value) {
    List<String> at = new ArrayList<>();
    e.finalReads.forEach((p, m) -> m.forEach((o, v) -> {
      if (v.equals(value)) {
        at.add(p + "@" + o);
      }
    }));
    return at.isEmpty() ? "; not read anywhere" : "; read at " + at;
  }

  /**
   * Per partition, the acknowledged records of one producer sit at increasing offsets in the order it
   * sent them.
   */
  public static Check producerOrder() {
    return of(ORDER, e -> {
      Map<String, List<Ack>> byProducerPartition = new HashMap<>();
      for (Ack a : e.acks.values()) {
        byProducerPartition.computeIfAbsent(a.producer() + "/" + a.partition(), k -> new ArrayList<>()).add(a);
      }
      long violations = 0;
      List<String> ex = new ArrayList<>();
      for (Map.Entry<String, List<Ack>> entry : new TreeMap<>(byProducerPartition).entrySet()) {
        List<Ack> list = entry.getValue();
        list.sort(Comparator.comparingLong(Ack::seq));
        for (int i = 1; i < list.size(); i++) {
          Ack before = list.get(i - 1);
          Ack after = list.get(i);
          if (after.offset() <= before.offset()) {
            violations++;
            if (ex.size() < MAX_EXAMPLES) {
              ex.add(entry.getKey() + ": seq " + before.seq() + " at offset " + before.offset() + " but later seq "
                  + after.seq() + " at offset " + after.offset());
            }
          }
        }
      }
      return Result.of(ORDER, violations, "0 order violations", violations + " order violations", ex);
    });
  }

  /** Nothing read that no producer sent. */
  public static Check noUnexpectedReads() {
    return of(UNEXPECTED, e -> {
      long unexpected = 0;
      List<String> ex = new ArrayList<>();
      for (Map.Entry<Integer, TreeMap<Long, String>> p : e.finalReads.entrySet()) {
        for (Map.Entry<Long, String> r : p.getValue().entrySet()) {
          if (!e.sent.containsKey(r.getValue())) {
            unexpected++;
            if (ex.size() < MAX_EXAMPLES) {
              ex.add("final read " + r.getValue() + " at partition " + p.getKey() + " offset " + r.getKey());
            }
          }
        }
      }
      for (Read r : e.liveReads) {
        if (!e.sent.containsKey(r.value())) {
          unexpected++;
          if (ex.size() < MAX_EXAMPLES) {
            ex.add(r.process() + " read " + r.value() + " at partition " + r.partition() + " offset " + r.offset()
                + " (t=" + r.time() + ")");
          }
        }
      }
      return Result.of(UNEXPECTED, unexpected, "0 unexpected reads", unexpected + " reads of records never sent", ex);
    });
  }

  /**
   * What a consumer read during the run is still there, unchanged, at the end: consumers never see a
   * record that is later truncated away (reads stay below the high watermark).
   */
  public static Check liveReadsStable() {
    return of(LIVE_STABLE, e -> {
      if (e.liveReads.isEmpty()) {
        return Result.notChecked(LIVE_STABLE, "no live reads in the history");
      }
      long unstable = e.conflictingFinalReads.size();
      List<String> ex = new ArrayList<>();
      for (Read r : e.conflictingFinalReads) {
        if (ex.size() < MAX_EXAMPLES) {
          ex.add("final reads disagree at partition " + r.partition() + " offset " + r.offset() + ": " + r.value());
        }
      }
      for (Read r : e.liveReads) {
        TreeMap<Long, String> p = e.finalReads.get(r.partition());
        String there = p == null ? null : p.get(r.offset());
        if (!r.value().equals(there)) {
          unstable++;
          if (ex.size() < MAX_EXAMPLES) {
            ex.add(r.process() + " read " + r.value() + " at partition " + r.partition() + " offset " + r.offset()
                + " (t=" + r.time() + "), but at the end that offset holds " + (there == null ? "nothing" : there));
          }
        }
      }
      return Result.of(LIVE_STABLE, unstable, e.liveReads.size() + " live reads, all still there at the end",
          unstable + " reads later vanished or changed", ex);
    });
  }

  /** Records stored more than once (at several offsets): expected now and then without idempotence. */
  static Map<String, List<String>> duplicatesIn(Evidence e) {
    Map<String, List<String>> where = new HashMap<>();
    e.finalReads.forEach((p, m) -> m.forEach((o, v) -> where.computeIfAbsent(v, k -> new ArrayList<>()).add(p + "@" + o)));
    where.values().removeIf(l -> l.size() < 2);
    return where;
  }

  static long extraCopies(Map<String, List<String>> duplicates) {
    return duplicates.values().stream().mapToLong(l -> l.size() - 1).sum();
  }

  /** Counts duplicates of records from producers without idempotence; informative, never a failure. */
  public static Check duplicates() {
    return of(DUPLICATES, e -> {
      Map<String, List<String>> dups = duplicatesIn(e);
      dups.keySet().removeIf(v -> e.idempotentProducers.contains(Evidence.producerOf(v)));
      long extra = extraCopies(dups);
      List<String> ex = new ArrayList<>();
      new TreeMap<>(dups).forEach((v, at) -> {
        if (ex.size() < MAX_EXAMPLES) {
          ex.add(v + " stored at " + at);
        }
      });
      return new Result(DUPLICATES, Status.INFO, extra, extra + " extra copies of " + dups.size()
          + " records (a retried batch whose first attempt was stored; allowed without idempotence)", ex);
    });
  }

  /** Producers with idempotence never store a record twice. */
  public static Check idempotentNoDuplicates() {
    return of(IDEMPOTENT, e -> {
      if (e.idempotentProducers.isEmpty()) {
        return Result.notChecked(IDEMPOTENT, "idempotence not available (no idempotent producer in the history)");
      }
      Map<String, List<String>> dups = duplicatesIn(e);
      dups.keySet().removeIf(v -> !e.idempotentProducers.contains(Evidence.producerOf(v)));
      List<String> ex = new ArrayList<>();
      new TreeMap<>(dups).forEach((v, at) -> {
        if (ex.size() < MAX_EXAMPLES) {
          ex.add(v + " stored at " + at);
        }
      });
      long extra = extraCopies(dups);
      return Result.of(IDEMPOTENT, extra, "0 duplicates from idempotent producers " + e.idempotentProducers,
          extra + " duplicates from idempotent producers", ex);
    });
  }

  /**
   * A consumer group's committed offset for a partition never decreases, in real time: an
   * observation asked for after another one was answered never shows a smaller offset (or none).
   * Observations that overlap in time are not ordered, so a slow answer from a coordinator that was
   * just replaced is no violation by itself.
   */
  public static Check groupOffsetsNeverGoBack() {
    return of(GROUP_OFFSETS, e -> {
      if (e.commits.isEmpty()) {
        return Result.notChecked(GROUP_OFFSETS, "consumer groups not available (no commit events in the history)");
      }
      Map<String, List<Commit>> byPartition = new TreeMap<>();
      for (Commit c : e.commits) {
        byPartition.computeIfAbsent(c.group() + "/" + c.partition(), k -> new ArrayList<>()).add(c);
      }
      long violations = 0;
      List<String> ex = new ArrayList<>();
      for (Map.Entry<String, List<Commit>> entry : byPartition.entrySet()) {
        List<Commit> byAnswer = new ArrayList<>(entry.getValue());
        byAnswer.sort(Comparator.comparingLong(Commit::time));
        List<Commit> byRequest = new ArrayList<>(entry.getValue());
        byRequest.sort(Comparator.comparingLong(Commit::requested));
        int next = 0;
        Commit highest = null;
        for (Commit c : byRequest) {
          while (next < byAnswer.size() && byAnswer.get(next).time() < c.requested()) {
            Commit a = byAnswer.get(next++);
            if (highest == null || a.offset() > highest.offset()) {
              highest = a;
            }
          }
          if (highest != null && c.offset() < highest.offset()) {
            violations++;
            if (ex.size() < MAX_EXAMPLES) {
              ex.add(entry.getKey() + ": committed offset " + highest.offset() + " seen by t=" + highest.time() + ", then "
                  + (c.offset() < 0 ? "none" : Long.toString(c.offset())) + " in an answer asked for at t="
                  + c.requested() + " (answered t=" + c.time() + ") by " + c.process());
            }
          }
        }
      }
      return Result.of(GROUP_OFFSETS, violations, e.commits.size() + " committed offsets observed, none went back",
          violations + " committed offsets went back", ex);
    });
  }

  /**
   * How long group members held a partition together: from a member being given a partition while
   * another still held it, until one of them gave it up (at the end of the run if never). Information,
   * not a failure: Kafka's groups allow it too, for a member whose session expired while it still
   * read (a coordinator paused past the session, say), until its next heartbeat tells it.
   */
  public static Check groupOwners() {
    return of(GROUP_OWNERS, e -> {
      if (e.ownership.isEmpty()) {
        return Result.notChecked(GROUP_OWNERS, "consumer groups not available (no assignments in the history)");
      }
      Map<Integer, List<Evidence.Ownership>> byPartition = new TreeMap<>();
      for (Evidence.Ownership o : e.ownership) {
        byPartition.computeIfAbsent(o.partition(), p -> new ArrayList<>()).add(o);
      }
      long episodes = 0;
      long sharedMs = 0;
      List<String> ex = new ArrayList<>();
      for (Map.Entry<Integer, List<Evidence.Ownership>> entry : byPartition.entrySet()) {
        List<Evidence.Ownership> changes = new ArrayList<>(entry.getValue());
        changes.sort(Comparator.comparingLong(Evidence.Ownership::time)); // stable: history order within a ms
        Set<String> holders = new TreeSet<>();
        long sharedSince = -1;
        String who = "";
        for (Evidence.Ownership o : changes) {
          if (o.assigned()) {
            holders.add(o.member());
          } else {
            holders.remove(o.member());
          }
          if (holders.size() > 1 && sharedSince < 0) {
            sharedSince = o.time();
            who = String.join(" and ", holders);
          } else if (holders.size() <= 1 && sharedSince >= 0) {
            episodes++;
            sharedMs += o.time() - sharedSince;
            if (ex.size() < MAX_EXAMPLES) {
              ex.add("partition " + entry.getKey() + ": " + who + " from t=" + sharedSince + " for "
                  + (o.time() - sharedSince) + " ms");
            }
            sharedSince = -1;
          }
        }
        if (sharedSince >= 0) {
          episodes++;
          sharedMs += e.lastTime - sharedSince;
          if (ex.size() < MAX_EXAMPLES) {
            ex.add("partition " + entry.getKey() + ": " + who + " from t=" + sharedSince + " to the end");
          }
        }
      }
      return new Result(GROUP_OWNERS, Status.INFO, episodes, episodes == 0
          ? e.ownership.size() + " assignments and releases, no partition held by two members at once"
          : episodes + " times two members held a partition together, " + sharedMs + " ms in all", ex);
    });
  }

  /**
   * Every node's metadata log holds the same entries (epoch and bytes) at every offset up to the
   * quorum's high watermark, as far as each log reaches.
   */
  public static Check metadataLogsAgree() {
    return of(METADATA, e -> {
      List<MetadataLogView> logs = e.metadataLogs;
      if (logs.size() < 2) {
        return Result.notChecked(METADATA, "fewer than two metadata logs were read");
      }
      MetadataLogView reference = logs.stream().filter(MetadataLogView::voter)
          .max(Comparator.comparingLong(MetadataLogView::endOffset)).orElse(logs.get(0));
      long committed = e.metadataHighWatermark >= 0 ? e.metadataHighWatermark : Long.MAX_VALUE;
      long violations = 0;
      long compared = 0;
      long commonUpTo = Long.MAX_VALUE;
      List<String> ex = new ArrayList<>();
      Map<Long, MetadataEntry> refByOffset = new HashMap<>();
      for (MetadataEntry m : reference.entries()) {
        refByOffset.put(m.offset(), m);
      }
      for (MetadataLogView log : logs) {
        if (log == reference) {
          continue;
        }
        long from = Math.max(reference.startOffset(), log.startOffset());
        long to = Math.min(committed, Math.min(reference.endOffset(), log.endOffset()));
        if (log.voter()) {
          commonUpTo = Math.min(commonUpTo, to);
        }
        for (MetadataEntry m : log.entries()) {
          if (m.offset() < from || m.offset() >= to) {
            continue;
          }
          compared++;
          MetadataEntry r = refByOffset.get(m.offset());
          if (r == null || r.epoch() != m.epoch() || !Arrays.equals(r.payload(), m.payload())) {
            violations++;
            if (ex.size() < MAX_EXAMPLES) {
              ex.add("node " + log.nodeId() + " offset " + m.offset() + " epoch " + m.epoch() + " differs from node "
                  + reference.nodeId() + (r == null ? " (missing there)" : " (epoch " + r.epoch() + ")"));
            }
          }
        }
      }
      StringBuilder ends = new StringBuilder();
      for (MetadataLogView log : logs) {
        ends.append(ends.length() == 0 ? "" : ", ").append(log.nodeId()).append(log.voter() ? "" : " (observer)")
            .append(": ").append(log.startOffset()).append("..").append(log.endOffset());
      }
      String range = "voters agree on every entry below offset " + (commonUpTo == Long.MAX_VALUE ? "?" : commonUpTo)
          + " (high watermark " + e.metadataHighWatermark + "); " + compared + " entries compared; logs " + ends;
      return Result.of(METADATA, violations, range, violations + " metadata entries differ; " + range, ex);
    });
  }

  /**
   * Every broker's replica of a partition, read from disk after the stop, holds exactly what the final
   * read found below the end offset (the high watermark): in-sync replicas never diverge below it.
   */
  public static Check replicaLogsAgree() {
    return of(REPLICAS, e -> {
      if (e.replicaLogs.isEmpty() || e.finalEndOffsets == null) {
        return Result.notChecked(REPLICAS, "no replica logs were read");
      }
      long violations = 0;
      long compared = 0;
      List<String> ex = new ArrayList<>();
      for (Evidence.ReplicaLogView r : e.replicaLogs) {
        long end = e.finalEndOffsets.getOrDefault(r.partition(), 0L);
        TreeMap<Long, String> read = e.finalReads.getOrDefault(r.partition(), new TreeMap<>());
        if (r.endOffset() < end) {
          violations++;
          if (ex.size() < MAX_EXAMPLES) {
            ex.add("node " + r.nodeId() + " partition " + r.partition() + " ends at " + r.endOffset()
                + ", below the high watermark " + end);
          }
        }
        for (long o = Math.max(r.startOffset(), 0); o < Math.min(end, r.endOffset()); o++) {
          compared++;
          String mine = r.records().get(o);
          String theirs = read.get(o);
          if (mine == null ? theirs != null : !mine.equals(theirs)) {
            violations++;
            if (ex.size() < MAX_EXAMPLES) {
              ex.add("node " + r.nodeId() + " partition " + r.partition() + " offset " + o + " holds " + mine
                  + ", the leader served " + theirs);
            }
          }
        }
      }
      return Result.of(REPLICAS, violations, e.replicaLogs.size() + " replicas hold what the leaders served ("
          + compared + " records compared)", violations + " replica records differ from what the leaders served", ex);
    });
  }

  /** After each fault the cluster came back: every node up, quorum caught up, every partition's ISR full. */
  public static Check recovery() {
    return of(RECOVERY, e -> {
      long timeouts = 0;
      List<String> ex = new ArrayList<>();
      for (Fault f : e.faults) {
        if (f.phase().equals("heal-timeout")) {
          timeouts++;
          if (ex.size() < MAX_EXAMPLES) {
            ex.add("t=" + f.time() + ": " + f.detail());
          }
        }
      }
      return Result.of(RECOVERY, timeouts, "recovered after every fault",
          timeouts + " faults after which the cluster did not recover in time", ex);
    });
  }
}
