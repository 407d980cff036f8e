package io.raftline.deploy.soak;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code raftline soak}: a fault-injection soak of a real local cluster; exit 1 if any check fails. */
@Command(name = "soak", mixinStandardHelpOptions = true, description = "Fault-injection soak (Jepsen style): run a local cluster of real node processes, "
    + "write with acks=all while killing, pausing, cutting off, tearing and filling up nodes on a seeded schedule, "
    + "then read everything back and check that no acknowledged record was lost or reordered. Prints a summary; "
    + "exits 1 if any check fails.")
public final class SoakCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--seed", required = true, description = "seed of the fault schedule") long seed;

  @Option(names = "--duration", required = true, paramLabel = "DURATION",
      description = "how long the workload runs under faults: 90s, 30m, 2h") String duration;

  @Option(names = "--topology", defaultValue = "combined3",
      description = "combined3 (3 combined nodes) or split (3 controllers + 3 brokers); default ${DEFAULT-VALUE}")
  String topology;

  @Option(names = "--dir", paramLabel = "DIR", description = "where configs, data, logs, history.tsv and summary.txt "
      + "go (default: a new temporary directory); must be empty or absent") Path dir;

  @Option(names = "--faults", split = ",", paramLabel = "KIND",
      description = "fault kinds to inject (default: all): kill-controller, kill-leader, kill-random, pause, torn-tail, "
          + "full-disk, network-cut")
  List<String> faults = new ArrayList<>();

  @Option(names = "--producers", defaultValue = "2", description = "acks=all producers, odd-numbered ones idempotent (default ${DEFAULT-VALUE})")
  int producers;

  @Option(names = "--group-members", defaultValue = "2",
      description = "members of consumer group soak-group reading the topic; 0 for none (default ${DEFAULT-VALUE})")
  int groupMembers;

  @Option(names = "--rate", defaultValue = "100", description = "records per second per producer (default ${DEFAULT-VALUE})")
  int rate;

  @Option(names = "--partitions", defaultValue = "3", description = "partitions of the soak topic (default ${DEFAULT-VALUE})")
  int partitions;

  @Option(names = "--every-fault-once", description = "run past --duration until each fault kind was injected once")
  boolean everyFaultOnce;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Duration d = SoakConfig.parseDuration(duration);
    Path where = dir != null ? dir : Files.createTempDirectory("raftline-soak-");
    if (Files.isDirectory(where)) {
      try (var files = Files.list(where)) {
        if (files.findAny().isPresent()) {
          throw new IllegalArgumentException("--dir " + where + " is not empty; a soak starts from a new cluster");
        }
      }
    }
    Set<FaultKind> kinds = EnumSet.allOf(FaultKind.class);
    if (!faults.isEmpty()) {
      kinds = EnumSet.noneOf(FaultKind.class);
      for (String f : faults) {
        kinds.add(FaultKind.parse(f));
      }
    }
    SoakConfig base = SoakConfig.defaults(seed, d, Topology.parse(topology), where);
    SoakConfig config = new SoakConfig(seed, d, base.topology(), where, partitions, producers, groupMembers, rate, kinds,
        everyFaultOnce, base.quietMinMs(), base.quietMaxMs(), base.healTimeout(), true, base.classPath(),
        base.javaOptions());
    SoakSummary summary = SoakRun.run(config, out);
    summary.print(out);
    return summary.passed() ? 0 : 1;
  }
}
