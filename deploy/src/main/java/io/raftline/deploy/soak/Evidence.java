package io.raftline.deploy.soak;

import io.raftline.deploy.soak.History.Event;
import io.raftline.deploy.soak.History.Kind;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What the checks look at: the history file folded into lookup tables, plus the metadata logs read from
 * the stopped nodes. Built once; every {@link Check} only reads it.
 */
public final class Evidence {
  /** A record handed to a producer: who sent it and its sequence number in that producer. */
  public record Sent(String producer, long seq, long time, boolean idempotent) {}

  /** Where an acknowledgement said the record is, and when it arrived. */
  public record Ack(String producer, long seq, int partition, long offset, long time) {}

  /** A record a consumer read. */
  public record Read(String process, int partition, long offset, String value, long time) {}

  /**
   * A committed consumer-group offset as observed (commit acknowledged, or fetched back): asked for at
   * {@code requested}, answered at {@code time} (ms since start); -1 means the group had none.
   */
  public record Commit(String process, String group, int partition, long offset, long requested, long time) {}

  /** A group member was given a partition ({@code assigned}) or gave it up, at {@code time}. */
  public record Ownership(String member, int partition, boolean assigned, long time) {}

  /**
   * One nemesis line: {@code <kind> <phase> key=value...}, e.g. {@code kill-leader start node=2 led=0,2}.
   * Phases: {@code start}, {@code end}, {@code recovered}, {@code heal-timeout}.
   */
  public record Fault(long time, String kind, String phase, Map<String, String> attrs, String detail) {
    public int node() {
      String n = attrs.get("node");
      return n == null ? -1 : Integer.parseInt(n);
    }

    /** The partitions listed under {@code key} (comma-separated), empty if absent. */
    public List<Integer> partitions(String key) {
      String v = attrs.get(key);
      List<Integer> out = new ArrayList<>();
      if (v != null && !v.isEmpty() && !v.equals("-")) {
        for (String s : v.split(",")) {
          out.add(Integer.parseInt(s.trim()));
        }
      }
      return out;
    }

    static Fault parse(long time, String detail) {
      String[] words = detail.trim().split(" ");
      Map<String, String> attrs = new LinkedHashMap<>();
      for (int i = 2; i < words.length; i++) {
        int eq = words[i].indexOf('=');
        if (eq > 0) {
          attrs.put(words[i].substring(0, eq), words[i].substring(eq + 1));
        }
      }
      return new Fault(time, words[0], words.length > 1 ? words[1] : "", attrs, detail);
    }
  }

  /** One entry of a node's metadata log: offset, leader epoch, and its payload. */
  public record MetadataEntry(long offset, int epoch, byte[] payload) {}

  /** A node's metadata log as read after the cluster stopped. */
  public record MetadataLogView(int nodeId, boolean voter, long startOffset, long endOffset,
      List<MetadataEntry> entries) {}

  /** A stopped broker's replica of a partition: its offsets and the values below the final end offset. */
  public record ReplicaLogView(int nodeId, int partition, long startOffset, long endOffset,
      TreeMap<Long, String> records) {}

  final Map<String, Sent> sent = new HashMap<>();
  final Map<String, Ack> acks = new HashMap<>();
  final Map<String, String> failed = new HashMap<>();
  /** Final reads by partition, then offset; the first value read there. */
  final Map<Integer, TreeMap<Long, String>> finalReads = new TreeMap<>();
  /** Final reads of one offset that disagreed with an earlier read of it. */
  final List<Read> conflictingFinalReads = new ArrayList<>();
  final List<Read> liveReads = new ArrayList<>();
  final List<Commit> commits = new ArrayList<>();
  final List<Ownership> ownership = new ArrayList<>();
  final List<Fault> faults = new ArrayList<>();
  /** Ack times by partition, in history order. */
  final Map<Integer, List<Long>> ackTimes = new TreeMap<>();
  final List<Long> allAckTimes = new ArrayList<>();
  long sends;
  /** FAIL lines that are not about a sent record (a consumer's error). */
  long clientErrors;
  long readsTotal;
  long lastTime;
  /** When the first and the last record were handed to a producer (ms since start), -1 if never. */
  long firstSend = -1;
  long lastSend = -1;
  List<MetadataLogView> metadataLogs = List.of();
  /** The quorum's high watermark as the leader reported it just before the stop, -1 if unknown. */
  long metadataHighWatermark = -1;
  final Set<String> idempotentProducers = new HashSet<>();
  /** Each partition's end offset (high watermark) when the final read began; null if the run did not say. */
  Map<Integer, Long> finalEndOffsets;
  boolean finalReadComplete;

  private Evidence() {}

  /** Folds a history file. */
  public static Evidence fromHistory(Path file) throws IOException {
    Evidence e = new Evidence();
    History.read(file, e::add);
    return e;
  }

  /** Folds events (tests). */
  public static Evidence fromEvents(List<Event> events) {
    Evidence e = new Evidence();
    events.forEach(e::add);
    return e;
  }

  /** Adds what was read from the nodes' metadata logs after the stop. */
  public Evidence withMetadataLogs(List<MetadataLogView> logs, long highWatermark) {
    this.metadataLogs = List.copyOf(logs);
    this.metadataHighWatermark = highWatermark;
    return this;
  }

  List<ReplicaLogView> replicaLogs = List.of();

  /** Adds every broker's replica of every partition, read after the stop. */
  public Evidence withReplicaLogs(List<ReplicaLogView> replicas) {
    this.replicaLogs = List.copyOf(replicas);
    return this;
  }

  /** Says how far the final read had to go and whether it got there. */
  public Evidence withFinalRead(Map<Integer, Long> endOffsets, boolean complete) {
    this.finalEndOffsets = endOffsets == null ? null : Map.copyOf(endOffsets);
    this.finalReadComplete = complete;
    return this;
  }

  private void add(Event e) {
    lastTime = Math.max(lastTime, e.time());
    switch (e.kind()) {
      case SEND -> {
        sends++;
        firstSend = firstSend < 0 ? e.time() : firstSend;
        lastSend = e.time();
        boolean idempotent = e.detail().contains("idempotent=true");
        if (idempotent) {
          idempotentProducers.add(e.process());
        }
        sent.put(e.value(), new Sent(e.process(), seqOf(e.value()), e.time(), idempotent));
      }
      case ACK -> {
        Ack a = new Ack(e.process(), seqOf(e.value()), e.partition(), e.offset(), e.time());
        acks.put(e.value(), a);
        ackTimes.computeIfAbsent(e.partition(), p -> new ArrayList<>()).add(e.time());
        allAckTimes.add(e.time());
      }
      case FAIL -> {
        if (sent.containsKey(e.value())) {
          failed.put(e.value(), e.detail());
        } else {
          clientErrors++;
        }
      }
      case READ -> {
        readsTotal++;
        Read r = new Read(e.process(), e.partition(), e.offset(), e.value(), e.time());
        if (e.process().equals(Workload.FINAL_READER)) {
          String before = finalReads.computeIfAbsent(e.partition(), p -> new TreeMap<>()).putIfAbsent(e.offset(), e.value());
          if (before != null && !before.equals(e.value())) {
            conflictingFinalReads.add(r);
          }
        } else {
          liveReads.add(r);
        }
      }
      case COMMIT -> commits.add(new Commit(e.process(), e.value(), e.partition(), e.offset(),
          requestedAt(e.detail(), e.time()), e.time()));
      case FAULT -> faults.add(Fault.parse(e.time(), e.detail()));
      case ASSIGN -> ownership.add(new Ownership(e.process(), e.partition(), true, e.time()));
      case RELEASE -> ownership.add(new Ownership(e.process(), e.partition(), false, e.time()));
      default -> throw new IllegalStateException("unknown kind " + e.kind());
    }
  }

  /** The {@code requested=<ms>} of a detail, else {@code fallback}. */
  static long requestedAt(String detail, long fallback) {
    for (String word : detail.split(" ")) {
      if (word.startsWith("requested=")) {
        try {
          return Long.parseLong(word.substring("requested=".length()));
        } catch (NumberFormatException e) {
          return fallback;
        }
      }
    }
    return fallback;
  }

  /** The sequence number in a value {@code <producer>-<seq>}, -1 if it has none. */
  static long seqOf(String value) {
    int dash = value.lastIndexOf('-');
    if (dash < 0) {
      return -1;
    }
    try {
      return Long.parseLong(value.substring(dash + 1));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** The producer in a value {@code <producer>-<seq>}. */
  static String producerOf(String value) {
    int dash = value.lastIndexOf('-');
    return dash < 0 ? value : value.substring(0, dash);
  }

  public long sends() {
    return sends;
  }

  public int acknowledged() {
    return acks.size();
  }

  public int failedSends() {
    return failed.size();
  }

  public long reads() {
    return readsTotal;
  }

  public List<Fault> faults() {
    return Collections.unmodifiableList(faults);
  }

  /** How many faults of each kind were started, by kind. */
  public Map<String, Integer> faultsByKind() {
    Map<String, Integer> out = new TreeMap<>();
    for (Fault f : faults) {
      if (f.phase().equals("start")) {
        out.merge(f.kind(), 1, Integer::sum);
      }
    }
    return out;
  }
}
