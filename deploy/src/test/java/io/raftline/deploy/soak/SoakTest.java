package io.raftline.deploy.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bounded CI soak: for each topology one run with a fixed seed that injects every fault kind at
 * least once (about 80 s each on two cores) against real node processes, and must lose nothing.
 * A failure prints the summary; the run directory (history.tsv, node logs) is the test's temp dir.
 */
class SoakTest {
  /** Kept when a test fails: history.tsv, summary.txt and the node logs are the evidence. */
  @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir;

  @AfterEach
  void noNodeLeftBehind() {
    // SoakRun kills its nodes itself; this only catches a bug there, and only processes of this run.
    ProcessHandle.current().descendants()
        .filter(p -> p.info().arguments().map(a -> String.join(" ", a).contains(dir.toString())).orElse(false))
        .forEach(p -> {
          p.destroyForcibly();
          p.onExit().orTimeout(10, TimeUnit.SECONDS);
        });
  }

  private SoakSummary soak(long seed, Topology topology) throws Exception {
    SoakConfig config = SoakConfig.defaults(seed, Duration.ofSeconds(30), topology, dir)
        .withClassPath(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")))
        .withEveryFaultOnce(true)
        .withQuiet(1_500, 3_000);
    StringWriter progress = new StringWriter();
    SoakSummary summary = SoakRun.run(config, new PrintWriter(progress, true));
    StringWriter printed = new StringWriter();
    summary.print(new PrintWriter(printed, true));
    System.out.println(printed);
    String report = printed + "\nprogress:\n" + progress;

    assertNull(summary.problem(), report);
    assertEquals(0, summary.lost(), report);
    assertEquals(0, summary.orderViolations(), report);
    assertEquals(0, summary.unexpectedReads(), report);
    assertTrue(summary.acknowledged() > 2_000, "the workload ran: " + report);
    Set<FaultKind> expected = EnumSet.allOf(FaultKind.class);
    if (!SoakCluster.prlimitAvailable()) {
      expected.remove(FaultKind.FULL_DISK);
    }
    Map<String, Integer> injected = summary.faultsByKind();
    for (FaultKind kind : expected) {
      assertTrue(injected.getOrDefault(kind.label(), 0) >= 1, kind.label() + " was injected: " + report);
    }
    // Idempotent producers and consumer groups are part of the workload, so their checks really ran.
    assertEquals(Check.Status.PASS, summary.result(Checks.IDEMPOTENT).status(), report);
    assertEquals(Check.Status.PASS, summary.result(Checks.GROUP_OFFSETS).status(), report);
    assertTrue(summary.passed(), "every check passes: " + report);
    return summary;
  }

  @Test
  @Timeout(value = 8, unit = TimeUnit.MINUTES)
  void threeCombinedNodesLoseNoAcknowledgedWrite() throws Exception {
    soak(1, Topology.COMBINED3);
  }

  @Test
  @Timeout(value = 8, unit = TimeUnit.MINUTES)
  void threeControllersAndThreeBrokersLoseNoAcknowledgedWrite() throws Exception {
    soak(2, Topology.SPLIT);
  }
}
