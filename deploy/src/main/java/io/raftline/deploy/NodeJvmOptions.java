package io.raftline.deploy;

import java.util.ArrayList;
import java.util.List;

/**
 * The JVM options a node process starts with: Raftline's defaults for the machine, then the
 * operator's {@code RAFTLINE_JAVA_OPTS}, which win where they repeat a flag (the JVM takes the last).
 *
 * <p>On two or fewer CPUs a node compiles with C1 only. C2's compilations of a fresh node took about
 * four CPU-seconds each in its first minute here, a third of a three-node cluster's CPU on two cores,
 * while C1-only nodes produced, replicated and committed metadata at least as fast once warm (issue 5's
 * note has the figures). With more CPUs the compiler runs beside the node, and C2's faster code for
 * the CPU-heavy paths (metadata image, compression) is worth its compile time. {@code bin/raftline}
 * applies the same rule to every command it runs; keep the two in step.
 */
final class NodeJvmOptions {
  static final String C1_ONLY = "-XX:TieredStopAtLevel=1";
  static final int SMALL_MACHINE_CPUS = 2;

  private NodeJvmOptions() {}

  /** Raftline's defaults for a machine with {@code cpus} processors. */
  static List<String> defaults(int cpus) {
    return cpus <= SMALL_MACHINE_CPUS ? List.of(C1_ONLY) : List.of();
  }

  /** The defaults for this machine, then the words of {@code operatorOptions} (null or blank: none). */
  static List<String> forNode(int cpus, String operatorOptions) {
    List<String> options = new ArrayList<>(defaults(cpus));
    if (operatorOptions != null && !operatorOptions.isBlank()) {
      options.addAll(List.of(operatorOptions.trim().split("\\s+")));
    }
    return options;
  }

  /** {@link #forNode} for this JVM's processors and environment. */
  static List<String> forNodeHere() {
    return forNode(Runtime.getRuntime().availableProcessors(), System.getenv("RAFTLINE_JAVA_OPTS"));
  }
}
