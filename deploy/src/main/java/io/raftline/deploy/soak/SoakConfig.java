package io.raftline.deploy.soak;

import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What a soak run does.
 *
 * @param seed seeds the fault schedule (which fault, which node, how long, how many bytes to cut); the
 *     cluster's own timing is not reproducible, so a seed replays the same plan, not the same run
 * @param duration how long the workload runs under faults (the run takes longer: start-up, the final
 *     read and the checks come on top)
 * @param dir where node configs, data, logs and the history go
 * @param partitions partitions of the soak topic (replication factor 3, min.insync.replicas 2)
 * @param producers acks=all producers, each with its own client; odd-numbered ones idempotent
 * @param groupMembers members of consumer group {@code soak-group} reading the topic (0: no group)
 * @param recordsPerSecond records each producer offers per second
 * @param faults the fault kinds the nemesis picks from
 * @param everyFaultOnce keep going past {@code duration} until each kind in {@code faults} was injected
 * @param quietMinMs shortest pause between the end of one fault's recovery and the next fault
 * @param quietMaxMs longest such pause
 * @param healTimeout how long the cluster may take to recover from a fault before the run counts it
 * @param proxy route quorum traffic through {@link TcpProxy} (needed for network cuts)
 * @param classPath class path of the node processes
 * @param javaOptions JVM options of the node processes
 */
public record SoakConfig(long seed, Duration duration, Topology topology, Path dir, int partitions, int producers,
    int groupMembers, int recordsPerSecond, Set<FaultKind> faults, boolean everyFaultOnce, long quietMinMs,
    long quietMaxMs, Duration healTimeout, boolean proxy, String classPath, List<String> javaOptions) {

  /** Node JVMs: small heaps and C1 only, since a 2-core machine runs six of them beside the harness. */
  public static final List<String> DEFAULT_JAVA_OPTIONS = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
      "-Xmx384m", "-Xss512k");

  public SoakConfig {
    faults = faults.isEmpty() ? EnumSet.noneOf(FaultKind.class) : EnumSet.copyOf(faults);
    javaOptions = List.copyOf(javaOptions);
    if (partitions < 1 || producers < 1 || recordsPerSecond < 1 || groupMembers < 0) {
      throw new IllegalArgumentException("partitions, producers and records per second must be at least 1, group "
          + "members at least 0");
    }
    if (quietMinMs < 0 || quietMaxMs < quietMinMs) {
      throw new IllegalArgumentException("0 <= quietMinMs <= quietMaxMs");
    }
    if (faults.contains(FaultKind.NETWORK_CUT) && !proxy) {
      throw new IllegalArgumentException("network-cut needs the quorum proxy");
    }
  }

  /** Defaults for everything but seed, duration, topology and directory. */
  public static SoakConfig defaults(long seed, Duration duration, Topology topology, Path dir) {
    String opts = System.getenv("RAFTLINE_JAVA_OPTS");
    List<String> javaOptions = opts != null && !opts.isBlank() ? List.of(opts.trim().split("\\s+"))
        : DEFAULT_JAVA_OPTIONS;
    return new SoakConfig(seed, duration, topology, dir, 3, 2, 2, 100, EnumSet.allOf(FaultKind.class), false, 2_000,
        5_000, Duration.ofSeconds(60), true, System.getProperty("java.class.path"), javaOptions);
  }

  public SoakConfig withClassPath(String cp) {
    return new SoakConfig(seed, duration, topology, dir, partitions, producers, groupMembers, recordsPerSecond, faults,
        everyFaultOnce, quietMinMs, quietMaxMs, healTimeout, proxy, cp, javaOptions);
  }

  public SoakConfig withEveryFaultOnce(boolean every) {
    return new SoakConfig(seed, duration, topology, dir, partitions, producers, groupMembers, recordsPerSecond, faults, every,
        quietMinMs, quietMaxMs, healTimeout, proxy, classPath, javaOptions);
  }

  public SoakConfig withFaults(Set<FaultKind> kinds) {
    return new SoakConfig(seed, duration, topology, dir, partitions, producers, groupMembers, recordsPerSecond, kinds,
        everyFaultOnce, quietMinMs, quietMaxMs, healTimeout, proxy, classPath, javaOptions);
  }

  public SoakConfig withQuiet(long minMs, long maxMs) {
    return new SoakConfig(seed, duration, topology, dir, partitions, producers, groupMembers, recordsPerSecond, faults,
        everyFaultOnce, minMs, maxMs, healTimeout, proxy, classPath, javaOptions);
  }

  public SoakConfig withLoad(int producers, int recordsPerSecond) {
    return new SoakConfig(seed, duration, topology, dir, partitions, producers, groupMembers, recordsPerSecond, faults,
        everyFaultOnce, quietMinMs, quietMaxMs, healTimeout, proxy, classPath, javaOptions);
  }

  /** Parses {@code 90s}, {@code 30m}, {@code 2h}, {@code 1500ms} or an ISO-8601 duration ({@code PT30M}). */
  public static Duration parseDuration(String s) {
    String v = s.trim().toLowerCase(Locale.ROOT);
    try {
      if (v.startsWith("pt") || v.startsWith("p")) {
        return Duration.parse(v.toUpperCase(Locale.ROOT));
      }
      if (v.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
      }
      long n = Long.parseLong(v.substring(0, v.length() - 1));
      switch (v.charAt(v.length() - 1)) {
        case 's':
          return Duration.ofSeconds(n);
        case 'm':
          return Duration.ofMinutes(n);
        case 'h':
          return Duration.ofHours(n);
        default:
          break;
      }
    } catch (RuntimeException e) {
      // fall through to the message below
    }
    throw new IllegalArgumentException("duration '" + s + "' is not like 90s, 30m, 2h or PT30M");
  }
}
