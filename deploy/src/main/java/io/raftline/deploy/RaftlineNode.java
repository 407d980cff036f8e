package io.raftline.deploy;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.raftline.broker.BrokerConfig;
import io.raftline.broker.BrokerVerticle;
import io.raftline.metadata.QuorumVoter;
import io.raftline.quorum.QuorumConfig;
import io.raftline.quorum.QuorumVerticle;
import io.raftline.quorum.controller.ControllerConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.UUID;

/**
 * One Raftline node inside a Vert.x instance: the quorum verticle (a voter on controllers, an
 * observer on broker-only nodes, since every broker follows the metadata log), with the broker role
 * the broker verticle, and unless {@code http.listener=none} the HTTP listener for metrics and
 * health. Each node has its own Prometheus registry, so several nodes in one JVM (tests, embedding)
 * never mix their meters. Any Vert.x application can start one.
 */
public final class RaftlineNode {
  private final Vertx vertx;
  private final NodeConfig config;
  private final String clusterId;
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gcMetrics = new JvmGcMetrics();
  // Volatile: the HTTP verticle reads these from its own event loop to answer /health/ready.
  private volatile QuorumVerticle quorum;
  private volatile BrokerVerticle broker;
  private volatile boolean stopping;
  private NodeHttpVerticle http;
  private String httpDeployment;
  private String quorumDeployment;
  private String brokerDeployment;
  private final Promise<String> halted = Promise.promise();
  private long haltWatch = -1;

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
    new JvmMemoryMetrics().bindTo(registry);
    gcMetrics.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    // The HTTP listener goes first, so /health/live answers (and /health/ready says "starting")
    // while the quorum member recovers its log, which can take a while on a big metadata log.
    NodeConfig.Listener httpListener = config.httpListener();
    if (httpListener == null) {
      return deployVerticles();
    }
    http = new NodeHttpVerticle(httpListener.host(), httpListener.port(), registry, this::readiness);
    return vertx.deployVerticle(http).compose(id -> {
      httpDeployment = id;
      return deployVerticles();
    });
  }

  private Future<Void> deployVerticles() {
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
        new ControllerConfig(config.intSetting("num.partitions"), config.intSetting("default.replication.factor"),
            config.intSetting("broker.session.timeout.ms")),
        config.intSetting("metadata.log.max.record.bytes.between.snapshots"),
        config.intSetting("metadata.log.max.snapshot.interval.ms")),
        registry);
    return vertx.deployVerticle(quorum).compose(id -> {
      quorumDeployment = id;
      watchForHalt();
      if (!config.isBroker()) {
        return Future.succeededFuture();
      }
      NodeConfig.Listener listener = config.brokerListener();
      broker = new BrokerVerticle(new BrokerConfig(config.nodeId(), listener.name(), listener.host(), listener.port(),
          config.logDirs(), votersWithBoundPort(), metadataAddress, config.intSetting("message.max.bytes"),
          clusterId, config.stringSetting("broker.rack"), config.intSetting("broker.heartbeat.interval.ms"),
          config.intSetting("log.retention.check.interval.ms"), config.intSetting("replica.lag.time.max.ms"),
          config.intSetting("replica.fetch.wait.max.ms"), config.intSetting("replica.fetch.max.bytes"),
          config.intSetting("offsets.topic.num.partitions"), config.intSetting("offsets.topic.replication.factor"),
          advertised(), config.longSetting("log.flush.interval.messages"), config.longSetting("log.flush.interval.ms"),
          config.longSetting("replica.high.watermark.checkpoint.interval.ms"),
          config.intSetting("max.incremental.fetch.session.cache.slots"),
          new BrokerConfig.Cleaner(config.booleanSetting("log.cleaner.enable"), config.intSetting("log.cleaner.threads"),
              config.longSetting("log.cleaner.dedupe.buffer.size"),
              config.doubleSetting("log.cleaner.min.cleanable.ratio"), config.longSetting("log.cleaner.backoff.ms"))),
          registry);
      return vertx.deployVerticle(broker).map(bid -> {
        brokerDeployment = bid;
        return (Void) null;
      });
    });
  }

  /**
   * Completes, with the reason, once a disk error stopped this node's quorum member. The embedding
   * application decides what to do; {@code raftline node} exits, as Kafka does when its metadata log
   * fails: a member that can no longer write its log must not keep answering as a voter (or, if it
   * led, as the leader of its old epoch) and a combined node's broker must not serve a frozen image.
   */
  public Future<String> halted() {
    return halted.future();
  }

  // The quorum publishes its status for any thread to read; a light poll keeps this module out of
  // the quorum verticle's internals.
  private void watchForHalt() {
    haltWatch = vertx.setPeriodic(HALT_CHECK_MS, t -> {
      QuorumVerticle q = quorum;
      if (q != null && q.status().halted()) {
        vertx.cancelTimer(t);
        halted.tryComplete("the metadata log of node " + config.nodeId() + " failed (disk error); see the log above");
      }
    });
  }

  static final long HALT_CHECK_MS = 250;

  private BrokerConfig.Advertised advertised() {
    NodeConfig.Listener a = config.advertisedBrokerListener();
    return a == null ? null : new BrokerConfig.Advertised(a.host(), a.port());
  }

  /** The voters, with this node's own controller port filled in when it was configured as 0. */
  private List<QuorumVoter> votersWithBoundPort() {
    return config.voters().stream()
        .map(v -> v.id() == config.nodeId() && v.port() == 0 ? new QuorumVoter(v.id(), v.host(), quorum.port()) : v)
        .toList();
  }

  /**
   * Stops the broker, then the quorum member (which resigns leadership first if it leads), then the
   * HTTP listener: until the end, /health/ready answers 503 so a load balancer stops sending traffic.
   */
  public Future<Void> stop() {
    stopping = true;
    if (haltWatch >= 0) {
      vertx.cancelTimer(haltWatch);
    }
    Future<Void> brokerStopped = brokerDeployment == null ? Future.succeededFuture() : vertx.undeploy(brokerDeployment);
    return brokerStopped.transform(ar -> {
      brokerDeployment = null;
      return quorumDeployment == null ? Future.<Void>succeededFuture() : vertx.undeploy(quorumDeployment);
    }).andThen(ar -> quorumDeployment = null).transform(ar -> {
      Future<Void> httpStopped = httpDeployment == null ? Future.succeededFuture() : vertx.undeploy(httpDeployment);
      return httpStopped.andThen(ignored -> {
        httpDeployment = null;
        gcMetrics.close();
        registry.close();
      }).transform(ignored -> ar.succeeded() ? Future.<Void>succeededFuture() : Future.<Void>failedFuture(ar.cause()));
    });
  }

  /** Whether the node should receive traffic now; safe from any thread. */
  public Readiness readiness() {
    QuorumVerticle q = quorum;
    BrokerVerticle b = broker;
    return Readiness.of(config.nodeId(), stopping, q == null ? null : q.status(), config.isBroker(),
        b == null ? -1 : b.brokerEpoch(), b == null || b.isFenced());
  }

  /** The node's meters (quorum, JVM), as served on /metrics; an embedding application may add its own. */
  public MeterRegistry meterRegistry() {
    return registry;
  }

  /** The bound HTTP port, -1 when {@code http.listener=none}. */
  public int httpPort() {
    return http == null ? -1 : http.port();
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
    NodeConfig.Listener httpListener = config.httpListener();
    if (httpListener != null) {
      b.append(", http at ").append(hostForUrl(httpListener.host())).append(':').append(httpPort());
    }
    return b.append(" (cluster ").append(clusterId).append(", data in ")
        .append(config.logDirs().get(0).toAbsolutePath().normalize()).append(')').toString();
  }

  private static String hostForUrl(String host) {
    return host.contains(":") ? "[" + host + "]" : host;
  }
}
