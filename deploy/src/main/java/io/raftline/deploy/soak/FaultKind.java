package io.raftline.deploy.soak;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The faults the nemesis injects; each run cycles through the enabled ones in seeded random order. */
public enum FaultKind {
  /** kill -9 of the active controller (the quorum leader), restarted on the same directories. */
  KILL_CONTROLLER,
  /** kill -9 of the broker leading a random partition, restarted on the same directories. */
  KILL_LEADER,
  /** kill -9 of a random node, restarted on the same directories. */
  KILL_RANDOM,
  /** SIGSTOP of a node (a partition leader half of the time) for longer than broker.session.timeout.ms, then SIGCONT. */
  PAUSE,
  /** kill -9, then the last bytes of the newest partition segments and metadata log segment cut off, then restart. */
  TORN_TAIL,
  /** Every file write of one broker fails (RLIMIT_FSIZE 0 via prlimit, EFBIG like ENOSPC) for a while. */
  FULL_DISK,
  /** One node's controller-quorum traffic cut (both ways) through the harness's TCP proxies, then healed. */
  NETWORK_CUT;

  /** {@code kill-controller}, ... as in the history and on the command line. */
  public String label() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  public static FaultKind parse(String label) {
    for (FaultKind k : values()) {
      if (k.label().equals(label.trim().toLowerCase(Locale.ROOT))) {
        return k;
      }
    }
    throw new IllegalArgumentException("unknown fault '" + label + "'; known: " + labels());
  }

  public static List<String> labels() {
    List<String> out = new ArrayList<>();
    for (FaultKind k : values()) {
      out.add(k.label());
    }
    return out;
  }
}
