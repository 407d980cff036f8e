package io.raftline.deploy;

import io.raftline.broker.BrokerConfig;
import io.raftline.broker.BrokerVerticle;
import io.raftline.metadata.QuorumVoter;
import io.raftline.quorum.QuorumConfig;
import io.raftline.quorum.QuorumVerticle;
import io.raftline.quorum.controller.ControllerConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.UUID;

/**
 * One Raftline node inside a Vert.x instance: the quorum verticle (a voter on controllers, an
 * observer on broker-only nodes, since every broker follows the metadata log) and, with the broker
 * role, the broker verticle. Any Vert.x application can start one.
 */
public final class RaftlineNode {
  private final Vertx vertx;
  private final NodeConfig config;
  private final String clusterId;
  private QuorumVerticle quorum;
  private BrokerVerticle broker;
  private String quorumDeployment;
  private String brokerDeployment;

  private RaftlineNode(Vertx vertx, NodeConfig config, String clusterId) {
    this.vertx = vertx;
    this.config = config;
    this.clusterId = clusterId;
  }

  /** Deploys the node's verticles; completes when the broker (if any) is registered and serving. */
  public static Future<RaftlineNode> start(Vertx vertx, NodeConfig config, String clusterId) {
    RaftlineNode node = new RaftlineNode(vertx, config, clusterId);
    return node.deploy().map(v -> node).recover(t -> node.stop().transform(ignored -> Future.failedFuture(t)));
  }

  private Future<Void> deploy() {
    String metadataAddress = "raftline.node-" + config.nodeId() + "." + UUID.randomUUID() + ".metadata";
    NodeConfig.Listener controllerListener = config.controllerListener();
    quorum = new QuorumVerticle(new QuorumConfig(
        config.nodeId(), config.voters(),
        controllerListener == null ? null : controllerListener.host(),
        controllerListener == null ? 0 : controllerListener.port(),
        config.metadataLogDir().resolve("__cluster_metadata-0"),
        clusterId, metadataAddress,
        config.intSetting("controller.quorum.election.timeout.ms"),
        config.intSetting("controller.quorum.fetch.timeout.ms"),
        new ControllerConfig(config.intSetting("num.partitions"), config.intSetting("default.replication.factor"))));
    return vertx.deployVerticle(quorum).compose(id -> {
      quorumDeployment = id;
      if (!config.isBroker()) {
        return Future.succeededFuture();
      }
      NodeConfig.Listener listener = config.brokerListener();
      broker = new BrokerVerticle(new BrokerConfig(config.nodeId(), listener.name(), listener.host(), listener.port(),
          config.logDirs(), votersWithBoundPort(), metadataAddress, config.intSetting("message.max.bytes"),
          clusterId, config.stringSetting("broker.rack")));
      return vertx.deployVerticle(broker).map(bid -> {
        brokerDeployment = bid;
        return (Void) null;
      });
    });
  }

  /** The voters, with this node's own controller port filled in when it was configured as 0. */
  private List<QuorumVoter> votersWithBoundPort() {
    return config.voters().stream()
        .map(v -> v.id() == config.nodeId() && v.port() == 0 ? new QuorumVoter(v.id(), v.host(), quorum.port()) : v)
        .toList();
  }

  /** Stops the broker, then the quorum member (which resigns leadership first if it leads). */
  public Future<Void> stop() {
    Future<Void> brokerStopped = brokerDeployment == null ? Future.succeededFuture() : vertx.undeploy(brokerDeployment);
    return brokerStopped.transform(ar -> {
      brokerDeployment = null;
      return quorumDeployment == null ? Future.<Void>succeededFuture() : vertx.undeploy(quorumDeployment);
    }).andThen(ar -> quorumDeployment = null);
  }

  public NodeConfig config() {
    return config;
  }

  public String clusterId() {
    return clusterId;
  }

  /** The bound client port, -1 without the broker role. */
  public int brokerPort() {
    return broker == null ? -1 : broker.port();
  }

  /** The bound controller port, -1 without the controller role. */
  public int controllerPort() {
    return quorum == null ? -1 : quorum.port();
  }

  /** One line naming the node's addresses, printed when it is ready. */
  public String describe() {
    StringBuilder b = new StringBuilder("Raftline node ").append(config.nodeId()).append(" ready:");
    if (config.isBroker()) {
      b.append(" broker at ").append(config.brokerListener().host()).append(':').append(brokerPort());
    }
    if (config.isController()) {
      b.append(config.isBroker() ? "," : "").append(" controller at ").append(config.controllerListener().host())
          .append(':').append(controllerPort());
    }
    return b.append(" (cluster ").append(clusterId).append(", data in ")
        .append(config.logDirs().get(0).toAbsolutePath().normalize()).append(')').toString();
  }
}
