package io.raftline.deploy.soak;

import java.util.List;
import java.util.Locale;

/** Which nodes a soak runs. */
public enum Topology {
  /** Three nodes, each broker and controller (ids 1-3). */
  COMBINED3,
  /** Three controllers (ids 1-3) and three brokers (ids 4-6). */
  SPLIT;

  /** A node of the topology and its roles. */
  public record NodeSpec(int id, boolean broker, boolean controller) {
    String roles() {
      return broker && controller ? "broker,controller" : broker ? "broker" : "controller";
    }
  }

  public List<NodeSpec> nodes() {
    if (this == COMBINED3) {
      return List.of(new NodeSpec(1, true, true), new NodeSpec(2, true, true), new NodeSpec(3, true, true));
    }
    return List.of(new NodeSpec(1, false, true), new NodeSpec(2, false, true), new NodeSpec(3, false, true),
        new NodeSpec(4, true, false), new NodeSpec(5, true, false), new NodeSpec(6, true, false));
  }

  public String label() {
    return this == COMBINED3 ? "combined3" : "split";
  }

  public static Topology parse(String s) {
    switch (s.trim().toLowerCase(Locale.ROOT)) {
      case "combined3":
      case "combined":
        return COMBINED3;
      case "split":
        return SPLIT;
      default:
        throw new IllegalArgumentException("unknown topology '" + s + "'; use combined3 or split");
    }
  }
}
