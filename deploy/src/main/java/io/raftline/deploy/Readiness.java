package io.raftline.deploy;

import io.raftline.quorum.QuorumStatus;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether a node should receive traffic, and if not, what is missing, computed from snapshots that
 * other threads publish (the quorum status, the broker epoch), so it never touches a verticle's state.
 *
 * <p>Ready means: the node is not stopping; its quorum member runs, is not halted, knows a leader, and
 * has applied the metadata log up to the high watermark it has learned; and, with the broker role, the
 * broker is registered with the controller and unfenced (its own metadata image says so, so a broker
 * the controller fenced for missed heartbeats stops taking traffic too). A node that knows no leader counts as not ready because
 * the high watermark it holds may be arbitrarily old, so "caught up" would mean nothing.
 *
 * @param missing what keeps the node from being ready, in words; empty when it is ready
 * @param details the figures the decision was made on, for the JSON body
 */
public record Readiness(List<String> missing, JsonObject details) {

  public boolean ready() {
    return missing.isEmpty();
  }

  /**
   * @param quorum the quorum member's latest status, or null while it is not deployed
   * @param brokerRole whether the node has the broker role
   * @param brokerEpoch the broker's epoch, -1 until it is registered (ignored without the broker role)
   * @param brokerFenced whether the broker is fenced (ignored without the broker role)
   */
  public static Readiness of(int nodeId, boolean stopping, QuorumStatus quorum, boolean brokerRole, long brokerEpoch,
      boolean brokerFenced) {
    List<String> missing = new ArrayList<>();
    JsonObject details = new JsonObject().put("node.id", nodeId);
    if (stopping) {
      missing.add("the node is stopping");
    }
    if (quorum == null) {
      missing.add("the quorum member has not started");
    } else {
      details.put("quorum", new JsonObject()
          .put("role", quorum.role().name())
          .put("leader", quorum.leaderId())
          .put("epoch", quorum.epoch())
          .put("high.watermark", quorum.highWatermark())
          .put("applied.offset", quorum.appliedOffset())
          .put("halted", quorum.halted()));
      if (quorum.halted()) {
        missing.add("the quorum member halted after a disk error");
      } else if (quorum.leaderId() < 0) {
        missing.add("no quorum leader is known");
      } else if (quorum.appliedOffset() < quorum.highWatermark() - 1) {
        missing.add("metadata applied up to offset " + quorum.appliedOffset() + ", behind the high watermark "
            + quorum.highWatermark());
      }
    }
    if (brokerRole) {
      details.put("broker.epoch", brokerEpoch).put("broker.fenced", brokerFenced);
      if (brokerEpoch < 0) {
        missing.add("the broker is not registered with the controller");
      } else if (brokerFenced) {
        missing.add("the broker is fenced");
      }
    }
    return new Readiness(List.copyOf(missing), details);
  }

  /** The body of {@code /health/ready}: {@code status} ready or not ready, what is missing, and the figures. */
  public JsonObject toJson() {
    JsonObject json = new JsonObject().put("status", ready() ? "ready" : "not ready");
    if (!ready()) {
      json.put("missing", new JsonArray(missing));
    }
    return json.mergeIn(details);
  }
}
