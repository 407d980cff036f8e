package io.raftline.deploy.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.deploy.soak.Check.Result;
import io.raftline.deploy.soak.Check.Status;
import io.raftline.deploy.soak.Evidence.MetadataEntry;
import io.raftline.deploy.soak.Evidence.MetadataLogView;
import io.raftline.deploy.soak.Evidence.ReplicaLogView;
import io.raftline.deploy.soak.History.Event;
import io.raftline.deploy.soak.History.Kind;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checker over hand-made histories: each check passes on a clean one and catches its own violation. */
class CheckerTest {
  private final List<Event> events = new ArrayList<>();
  private long time;

  private void send(String value) {
    events.add(new Event(++time, Evidence.producerOf(value), Kind.SEND, "soak", -1, -1, value, "key=k"));
  }

  private void ack(String value, int partition, long offset) {
    events.add(new Event(++time, Evidence.producerOf(value), Kind.ACK, "soak", partition, offset, value, "-"));
  }

  private void read(String reader, String value, int partition, long offset) {
    events.add(new Event(++time, reader, Kind.READ, "soak", partition, offset, value, "-"));
  }

  private void fault(String detail) {
    events.add(new Event(++time, "nemesis", Kind.FAULT, "-", -1, -1, "-", detail));
  }

  /** p1-1..3 and p2-1 acknowledged in partitions 0 and 1, read live and at the end. */
  private void cleanRun() {
    send("p1-1");
    send("p1-2");
    send("p2-1");
    send("p1-3");
    ack("p1-1", 0, 0);
    ack("p1-2", 0, 1);
    ack("p2-1", 1, 0);
    ack("p1-3", 0, 2);
    read(Workload.LIVE_READER, "p1-1", 0, 0);
    read(Workload.LIVE_READER, "p2-1", 1, 0);
    read(Workload.FINAL_READER, "p1-1", 0, 0);
    read(Workload.FINAL_READER, "p1-2", 0, 1);
    read(Workload.FINAL_READER, "p1-3", 0, 2);
    read(Workload.FINAL_READER, "p2-1", 1, 0);
  }

  private Evidence evidence() {
    return Evidence.fromEvents(events).withFinalRead(Map.of(0, 3L, 1, 1L), true);
  }

  private static Result result(Evidence e, Check check) {
    return check.run(e);
  }

  @Test
  void aCleanHistoryPassesEveryCheck() {
    cleanRun();
    Evidence e = evidence();
    List<Result> results = Checks.runAll(Checks.standard(), e);
    for (Result r : results) {
      assertFalse(r.failed(), r.toString());
    }
    assertEquals(Status.PASS, result(e, Checks.acknowledgedReadBack()).status());
    assertEquals(Status.PASS, result(e, Checks.liveReadsStable()).status());
    assertEquals(4, e.acknowledged());
  }

  @Test
  void anAcknowledgedRecordMissingOrElsewhereIsLost() {
    cleanRun();
    send("p2-2");
    ack("p2-2", 1, 1); // never read: the partition ends at 1
    send("p2-3");
    ack("p2-3", 1, 5);
    read(Workload.FINAL_READER, "p2-3", 1, 2); // read, but not where the ack said
    Result r = result(evidence(), Checks.acknowledgedReadBack());
    assertEquals(Status.FAIL, r.status());
    assertEquals(2, r.violations());
    assertTrue(r.examples().get(0).contains("p2-2") && r.examples().get(0).contains("not read anywhere"), r.toString());
    assertTrue(r.examples().get(1).contains("read at [1@2]"), r.toString());
  }

  @Test
  void aRecordOverwrittenAtItsOffsetIsLost() {
    cleanRun();
    send("p2-2");
    ack("p2-2", 0, 3);
    read(Workload.FINAL_READER, "p1-9", 0, 3);
    send("p1-9");
    Result r = result(Evidence.fromEvents(events).withFinalRead(Map.of(0, 4L, 1, 1L), true), Checks.acknowledgedReadBack());
    assertEquals(1, r.violations());
    assertTrue(r.examples().get(0).contains("holds p1-9"), r.toString());
  }

  @Test
  void laterSendsAtLowerOffsetsAreOrderViolations() {
    send("p1-1");
    send("p1-2");
    send("p1-3");
    ack("p1-1", 0, 5);
    ack("p1-2", 0, 4);
    ack("p1-3", 1, 0); // another partition: no order relation
    Result r = result(evidence(), Checks.producerOrder());
    assertEquals(1, r.violations());
    assertTrue(r.examples().get(0).startsWith("p1/0: seq 1 at offset 5"), r.toString());
  }

  @Test
  void aReadOfSomethingNeverSentIsUnexpected() {
    cleanRun();
    read(Workload.FINAL_READER, "p3-1", 1, 1);
    read(Workload.LIVE_READER, "garbage", 1, 1);
    Result r = result(evidence(), Checks.noUnexpectedReads());
    assertEquals(2, r.violations());
  }

  @Test
  void aLiveReadThatLaterVanishedIsCaught() {
    cleanRun();
    send("p2-2");
    read(Workload.LIVE_READER, "p2-2", 1, 1); // read live, then truncated away
    Result r = result(evidence(), Checks.liveReadsStable());
    assertEquals(Status.FAIL, r.status());
    assertEquals(1, r.violations());
  }

  @Test
  void duplicatesAreCountedButOnlyFailWithIdempotence() {
    cleanRun();
    read(Workload.FINAL_READER, "p1-3", 0, 3); // the retried batch's second copy
    Evidence e = evidence();
    Result dups = result(e, Checks.duplicates());
    assertEquals(Status.INFO, dups.status());
    assertEquals(1, dups.violations());
    Result idem = result(e, Checks.idempotentNoDuplicates());
    assertEquals(Status.NOT_CHECKED, idem.status());
    assertTrue(idem.summary().contains("not checked: idempotence not available"), idem.summary());

    events.add(new Event(++time, "i1", Kind.SEND, "soak", -1, -1, "i1-1", "key=k idempotent=true"));
    ack("i1-1", 1, 1);
    read(Workload.FINAL_READER, "i1-1", 1, 1);
    read(Workload.FINAL_READER, "i1-1", 1, 2);
    Evidence withIdempotence = Evidence.fromEvents(events).withFinalRead(Map.of(0, 4L, 1, 3L), true);
    Result caught = result(withIdempotence, Checks.idempotentNoDuplicates());
    assertEquals(Status.FAIL, caught.status());
    assertEquals(1, caught.violations());
    assertEquals(1, result(withIdempotence, Checks.duplicates()).violations(), "i1's copy is not counted there");
  }

  @Test
  void groupOffsetsAreNotCheckedWithoutCommitsAndMayNeverGoBack() {
    cleanRun();
    Result none = result(evidence(), Checks.groupOffsetsNeverGoBack());
    assertEquals(Status.NOT_CHECKED, none.status());
    assertTrue(none.summary().contains("consumer groups not available"), none.summary());
    commit(0, 10, 100, 110);
    commit(0, 12, 120, 130);
    commit(1, 3, 120, 130);
    commit(0, 11, 125, 140); // overlaps the answer with 12: not ordered, no violation
    assertEquals(Status.PASS, result(evidence(), Checks.groupOffsetsNeverGoBack()).status());
    commit(0, 11, 135, 150); // asked after 12 was seen
    commit(1, -1, 200, 210); // the group's offset vanished
    Result r = result(evidence(), Checks.groupOffsetsNeverGoBack());
    assertEquals(2, r.violations(), r.toString());
    assertTrue(r.examples().get(0).contains("12") && r.examples().get(0).contains("then 11"), r.toString());
    assertTrue(r.examples().get(1).contains("then none"), r.toString());
  }

  private void own(String member, int partition, boolean assigned, long at) {
    events.add(new Event(at, member, assigned ? Kind.ASSIGN : Kind.RELEASE, "soak", partition, -1, "g",
        assigned ? "assigned" : "revoked"));
  }

  @Test
  void partitionsHeldByTwoMembersAtOnceAreReportedNotFailed() {
    cleanRun();
    assertEquals(Status.NOT_CHECKED, result(evidence(), Checks.groupOwners()).status());
    own("g1", 0, true, 100);
    own("g2", 1, true, 100);
    own("g1", 0, false, 200);
    own("g2", 0, true, 210); // handed over after the release
    Result clean = result(evidence(), Checks.groupOwners());
    assertEquals(Status.INFO, clean.status());
    assertEquals(0, clean.violations(), clean.toString());
    own("g1", 1, true, 300); // g2 still holds partition 1
    own("g2", 1, false, 470);
    own("g1", 0, true, 500); // g2 holds partition 0 to the end
    Result shared = result(evidence(), Checks.groupOwners());
    assertEquals(Status.INFO, shared.status(), "information, never a failure");
    assertEquals(2, shared.violations(), shared.toString());
    assertTrue(shared.examples().contains("partition 1: g1 and g2 from t=300 for 170 ms"), shared.toString());
    assertTrue(shared.examples().contains("partition 0: g1 and g2 from t=500 to the end"), shared.toString());
  }

  private void commit(int partition, long offset, long requested, long answered) {
    events.add(new Event(answered, Workload.GROUP_OBSERVER, Kind.COMMIT, "soak", partition, offset, "g",
        "fetched requested=" + requested));
  }

  @Test
  void metadataLogsMustAgreeBelowTheHighWatermark() {
    cleanRun();
    List<MetadataEntry> a = List.of(entry(0, 1, "x"), entry(1, 1, "y"), entry(2, 2, "z"), entry(3, 2, "tail"));
    List<MetadataEntry> b = List.of(entry(0, 1, "x"), entry(1, 1, "y"), entry(2, 2, "z"), entry(3, 3, "other"));
    List<MetadataEntry> c = List.of(entry(0, 1, "x"), entry(1, 1, "y"));
    Evidence agree = evidence().withMetadataLogs(List.of(view(1, a), view(2, b), view(3, c)), 3);
    Result ok = result(agree, Checks.metadataLogsAgree());
    assertEquals(Status.PASS, ok.status(), ok.toString());
    assertTrue(ok.summary().contains("below offset 2"), ok.summary());

    Evidence diverged = evidence().withMetadataLogs(List.of(view(1, a), view(2, b)), 4);
    Result bad = result(diverged, Checks.metadataLogsAgree());
    assertEquals(Status.FAIL, bad.status());
    assertTrue(bad.examples().get(0).contains("offset 3"), bad.toString());
    assertEquals(Status.NOT_CHECKED, result(evidence(), Checks.metadataLogsAgree()).status());
  }

  private static MetadataEntry entry(long offset, int epoch, String payload) {
    return new MetadataEntry(offset, epoch, payload.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  private static MetadataLogView view(int node, List<MetadataEntry> entries) {
    return new MetadataLogView(node, true, 0, entries.size(), entries);
  }

  @Test
  void replicasMustHoldWhatTheLeaderServed() {
    cleanRun();
    TreeMap<Long, String> good = new TreeMap<>(Map.of(0L, "p1-1", 1L, "p1-2", 2L, "p1-3"));
    TreeMap<Long, String> divergent = new TreeMap<>(Map.of(0L, "p1-1", 1L, "p2-9", 2L, "p1-3"));
    TreeMap<Long, String> shortOne = new TreeMap<>(Map.of(0L, "p1-1"));
    Evidence ok = evidence().withReplicaLogs(List.of(new ReplicaLogView(1, 0, 0, 3, good),
        new ReplicaLogView(2, 0, 0, 4, good)));
    assertEquals(Status.PASS, result(ok, Checks.replicaLogsAgree()).status());
    Evidence bad = evidence().withReplicaLogs(List.of(new ReplicaLogView(1, 0, 0, 3, divergent),
        new ReplicaLogView(3, 0, 0, 1, shortOne)));
    Result r = result(bad, Checks.replicaLogsAgree());
    assertEquals(2, r.violations(), r.toString());
  }

  @Test
  void aFaultTheClusterDidNotRecoverFromFailsTheRecoveryCheck() {
    cleanRun();
    fault("kill-leader start node=2 led=0");
    fault("kill-leader end node=2 restarted");
    fault("kill-leader recovered node=2 after=4000ms");
    assertEquals(Status.PASS, result(evidence(), Checks.recovery()).status());
    fault("pause heal-timeout node=3 problem=x");
    assertEquals(1, result(evidence(), Checks.recovery()).violations());
    assertEquals(Map.of("kill-leader", 1), evidence().faultsByKind());
  }

  @Test
  void anIncompleteFinalReadFails() {
    cleanRun();
    Result r = Checks.finalRead().run(Evidence.fromEvents(events).withFinalRead(Map.of(0, 9L, 1, 1L), false));
    assertEquals(Status.FAIL, r.status());
  }

  @Test
  void availabilityMeasuresGapsAndTheFirstAckAfterAKill() {
    events.add(new Event(1000, "p1", Kind.SEND, "soak", -1, -1, "p1-1", "-"));
    events.add(new Event(1010, "p1", Kind.ACK, "soak", 0, 0, "p1-1", "-"));
    events.add(new Event(1020, "p1", Kind.ACK, "soak", 1, 0, "p1-2", "-"));
    events.add(new Event(2000, "nemesis", Kind.FAULT, "-", -1, -1, "-", "kill-leader start node=1 led=0"));
    events.add(new Event(2100, "p1", Kind.ACK, "soak", 1, 1, "p1-3", "-"));
    events.add(new Event(4500, "p1", Kind.ACK, "soak", 0, 1, "p1-4", "-"));
    events.add(new Event(5000, "p1", Kind.SEND, "soak", -1, -1, "p1-9", "-"));
    Availability a = Availability.of(Evidence.fromEvents(events));
    assertEquals(2400, a.longest().length());
    assertEquals(3490, a.longestPerPartition().length());
    assertEquals(0, a.longestPerPartition().partition());
    assertEquals(2500, a.medianAfterKill("kill-leader"));
    assertEquals(1, a.countAfterKill(null));
  }

  @Test
  void theHistoryFileRoundTrips(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("h.tsv");
    try (History h = History.create(file, "seed=1")) {
      h.record("p1", Kind.SEND, "soak", -1, -1, "p1-1", "key=k1\twith tab");
      h.record("p1", Kind.ACK, "soak", 2, 7, "p1-1", null);
      h.record(Workload.FINAL_READER, Kind.READ, "soak", 2, 7, "p1-1", null);
      h.fault("pause start node=3 paused=4000ms");
    }
    List<Event> back = History.readAll(file);
    assertEquals(4, back.size());
    assertEquals("key=k1 with tab", back.get(0).detail());
    assertEquals(7, back.get(1).offset());
    assertEquals("-", back.get(1).detail());
    Evidence e = Evidence.fromHistory(file).withFinalRead(Map.of(2, 8L), true);
    assertEquals(0, Checks.acknowledgedReadBack().run(e).violations());
    assertEquals(Map.of("pause", 1), e.faultsByKind());
  }

  @Test
  void durationsAndNames() {
    assertEquals(java.time.Duration.ofMinutes(30), SoakConfig.parseDuration("30m"));
    assertEquals(java.time.Duration.ofSeconds(90), SoakConfig.parseDuration("90s"));
    assertEquals(java.time.Duration.ofHours(2), SoakConfig.parseDuration("2h"));
    assertEquals(java.time.Duration.ofMinutes(5), SoakConfig.parseDuration("PT5M"));
    assertEquals(FaultKind.TORN_TAIL, FaultKind.parse("torn-tail"));
    assertEquals(Topology.SPLIT, Topology.parse("split"));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> SoakConfig.parseDuration("soon"));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> FaultKind.parse("meteor"));
  }
}
