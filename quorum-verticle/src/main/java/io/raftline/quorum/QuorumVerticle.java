package io.raftline.quorum;

import io.raftline.metadata.QuorumVoter;
import io.raftline.metadata.image.MetadataDelta;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.projection.MetadataUpdate;
import io.raftline.metadata.record.BrokerEndpoint;
import io.raftline.metadata.record.MetadataRecord;
import io.raftline.metadata.record.MetadataRecordCodec;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.AlterConfigsRequest;
import io.raftline.protocol.client.CreatePartitionsRequest;
import io.raftline.protocol.client.CreateTopicsRequest;
import io.raftline.protocol.controller.ControllerAlterConfigsResponse;
import io.raftline.protocol.client.DeleteTopicsRequest;
import io.raftline.protocol.client.TopicResult;
import io.raftline.protocol.controller.AllocateProducerIdsRequest;
import io.raftline.protocol.controller.AllocateProducerIdsResponse;
import io.raftline.protocol.controller.BrokerHeartbeatRequest;
import io.raftline.protocol.controller.BrokerHeartbeatResponse;
import io.raftline.protocol.controller.ControllerGrpcService;
import io.raftline.protocol.controller.ControllerService;
import io.raftline.protocol.controller.ControllerTopicsResponse;
import io.raftline.protocol.controller.RegisterBrokerRequest;
import io.raftline.protocol.controller.RegisterBrokerResponse;
import io.raftline.protocol.quorum.BeginQuorumEpochRequest;
import io.raftline.protocol.quorum.BeginQuorumEpochResponse;
import io.raftline.protocol.quorum.DescribeQuorumRequest;
import io.raftline.protocol.quorum.DescribeQuorumResponse;
import io.raftline.protocol.quorum.EndQuorumEpochRequest;
import io.raftline.protocol.quorum.EndQuorumEpochResponse;
import io.raftline.protocol.quorum.RaftFetchRequest;
import io.raftline.protocol.quorum.RaftFetchResponse;
import io.raftline.protocol.quorum.RaftQuorumClient;
import io.raftline.protocol.quorum.RaftQuorumGrpcClient;
import io.raftline.protocol.quorum.RaftQuorumGrpcService;
import io.raftline.protocol.quorum.RaftQuorumService;
import io.raftline.protocol.quorum.RaftVoteRequest;
import io.raftline.protocol.quorum.RaftVoteResponse;
import io.raftline.protocol.quorum.ReplicaDescription;
import io.raftline.quorum.controller.ControllerException;
import io.raftline.quorum.controller.ControllerResult;
import io.raftline.quorum.controller.QuorumController;
import io.raftline.quorum.log.MetadataLog;
import io.raftline.quorum.log.MetadataLogConfig;
import io.raftline.quorum.log.QuorumState;
import io.raftline.quorum.log.QuorumStateFile;
import io.raftline.quorum.raft.LogEntry;
import io.raftline.quorum.raft.PersistentState;
import io.raftline.quorum.raft.ProposeResult;
import io.raftline.quorum.raft.RaftConfig;
import io.raftline.quorum.raft.RaftError;
import io.raftline.quorum.raft.RaftMessage;
import io.raftline.quorum.raft.RaftNode;
import io.raftline.quorum.raft.RaftRole;
import io.raftline.quorum.raft.Ready;
import io.raftline.quorum.raft.ReplicaState;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageCodec;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerOptions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The IO shell around the Raft core: it owns the {@link RaftNode}, the durable {@link MetadataLog}
 * and quorum-state file, the gRPC traffic between voters, and — on the leader — the active
 * {@link QuorumController}. Everything runs on this verticle's event loop except disk work, which goes
 * to one ordered worker queue so disk operations happen in the order the core asked for them.
 *
 * <p>Durability rules, from {@link Ready}: a new quorum state is fsynced before any message of the same
 * Ready leaves; log appends go to the page cache and one fsync covers every append made while the
 * previous fsync ran (group commit); only then is the core told they are durable.
 *
 * <p>Committed entries are applied to the {@link MetadataImage}, and each new image is published with
 * its delta on {@link QuorumConfig#metadataAddress()}; {@code <address>.current} answers with the
 * latest image. Voters and observers behave the same here, so a broker-only node runs this verticle
 * as an observer.
 */
public final class QuorumVerticle extends AbstractVerticle {
  private static final System.Logger LOG = System.getLogger(QuorumVerticle.class.getName());
  private static final long MAX_GRPC_MESSAGE_BYTES = 128L * 1024 * 1024;
  private static final String CURRENT_SUFFIX = ".current";
  private static final int MAX_FETCH_ENTRIES = 50_000;
  private static final int MAX_FETCH_BYTES = 8 * 1024 * 1024;

  private final QuorumConfig config;
  private final MeterRegistry registry;
  private QuorumMetrics metrics;
  private volatile QuorumStatus status = QuorumStatus.STARTING;
  private RaftNode node;
  private MetadataLog log;
  private QuorumStateFile stateFile;
  private QuorumController controller;
  private HttpServer server;
  private GrpcClient grpcClient;
  private final Map<Integer, RaftQuorumClient> peers = new HashMap<>();
  private MessageConsumer<Object> currentImageConsumer;
  private DeliveryOptions localDelivery;

  private MetadataImage image = MetadataImage.EMPTY;
  /** On the leader: the committed image plus every record proposed since; null elsewhere. */
  private MetadataImage proposedImage;
  /** Proposals waiting to commit, by the offset after their last entry. */
  private final TreeMap<Long, PendingCommit> pendingCommits = new TreeMap<>();
  /** On the leader: its own proposed records by offset, so a commit applies them without decoding. */
  private final TreeMap<Long, MetadataRecord> ownProposals = new TreeMap<>();
  /** Requests from peers whose Raft response the core has not produced yet. */
  private final Map<ReplyKey, Promise<RaftMessage>> pendingReplies = new HashMap<>();

  private Future<Void> lastStateWrite = Future.succeededFuture();
  private boolean flushInFlight;
  private long truncatedWhileFlushing = Long.MAX_VALUE;
  private long tickTimer = -1;
  private long tickDue = Long.MAX_VALUE;
  private boolean halted;
  private long elections;

  private record PendingCommit(int epoch, long endOffset, Promise<Long> promise, long proposedAtNanos) {}

  private record ReplyKey(int peer, Class<? extends RaftMessage> type) {}

  /** A quorum member whose meters go to {@code registry}. */
  public QuorumVerticle(QuorumConfig config, MeterRegistry registry) {
    this.config = config;
    this.registry = registry;
  }

  public QuorumVerticle(QuorumConfig config) {
    this(config, new SimpleMeterRegistry());
  }

  /** The latest view of the quorum; safe to call from any thread. */
  public QuorumStatus status() {
    return status;
  }

  /** The port the controller listener bound to, -1 for an observer. */
  public int port() {
    return server == null ? -1 : server.actualPort();
  }

  @Override
  public void start(Promise<Void> startPromise) {
    registerLocalCodec(MetadataUpdate.class);
    registerLocalCodec(MetadataImage.class);
    localDelivery = new DeliveryOptions().setLocalOnly(true);
    metrics = new QuorumMetrics(registry, config.nodeId(), () -> status);
    controller = new QuorumController(config.controller(), new SplittableRandom());
    stateFile = new QuorumStateFile(config.metadataLogDir().resolve("quorum-state"));
    record Recovered(QuorumState state, List<LogEntry> entries, long startOffset) {}
    onDisk(() -> {
      log = MetadataLog.open(config.metadataLogDir(), MetadataLogConfig.defaults());
      return new Recovered(stateFile.read().orElse(QuorumState.initial()), log.readAll(), log.startOffset());
    }).compose(recovered -> {
      java.util.Set<Integer> voterIds = config.voters().stream().map(QuorumVoter::id).collect(Collectors.toSet());
      RaftConfig raftConfig = RaftConfig.of(config.nodeId(), voterIds)
          .withElection(config.electionTimeoutMs(), config.electionTimeoutMs());
      raftConfig = raftConfig.withFetch(config.fetchTimeoutMs(), raftConfig.fetchMaxWaitMs(),
          raftConfig.requestTimeoutMs())
          // One fetch round trip includes the follower's fsync, so each should carry a lot.
          .withLimits(MAX_FETCH_ENTRIES, MAX_FETCH_BYTES, raftConfig.maxBatchEntries());
      QuorumState s = recovered.state();
      node = new RaftNode(raftConfig, new PersistentState(s.epoch(), s.votedFor(), s.leaderId()),
          recovered.entries(), recovered.startOffset(), now(), new SplittableRandom());
      grpcClient = GrpcClient.client(vertx, new GrpcClientOptions().setMaxMessageSize(MAX_GRPC_MESSAGE_BYTES)
          .setTimeout(Math.max(5_000, raftConfig.fetchMaxWaitMs() + raftConfig.requestTimeoutMs()))
          .setTimeoutUnit(TimeUnit.MILLISECONDS).setScheduleDeadlineAutomatically(true));
      for (QuorumVoter v : config.voters()) {
        if (v.id() != config.nodeId()) {
          peers.put(v.id(), RaftQuorumGrpcClient.create(grpcClient, SocketAddress.inetSocketAddress(v.port(), v.host())));
        }
      }
      currentImageConsumer = vertx.eventBus().localConsumer(config.metadataAddress() + CURRENT_SUFFIX,
          msg -> msg.reply(image, localDelivery));
      if (!config.isVoter()) {
        return Future.<Void>succeededFuture();
      }
      GrpcServer grpc = GrpcServer.server(vertx, new GrpcServerOptions().setMaxMessageSize(MAX_GRPC_MESSAGE_BYTES));
      grpc.addService(RaftQuorumGrpcService.of(new RaftApi()));
      grpc.addService(ControllerGrpcService.of(new ControllerApi()));
      return vertx.createHttpServer(new HttpServerOptions().setHost(config.host()).setPort(config.port()))
          .requestHandler(grpc).listen().<Void>map(listening -> {
            server = listening;
            return null;
          });
    }).onSuccess(v -> drain()).onComplete(startPromise);
  }

  @Override
  public void stop(Promise<Void> stopPromise) {
    if (node != null && !halted && node.resign(now())) {
      // Tell the other voters at once, so they elect a successor without waiting for a timeout.
      drain();
    }
    halted = true;
    if (metrics != null) {
      metrics.close();
    }
    if (tickTimer >= 0) {
      vertx.cancelTimer(tickTimer);
    }
    failPending(ErrorCode.NOT_CONTROLLER, "the controller is shutting down");
    pendingReplies.values().forEach(p -> p.tryFail("shutting down"));
    pendingReplies.clear();
    List<Future<?>> closing = new ArrayList<>();
    // Let the resignation messages go out before the client closes.
    closing.add(lastStateWrite.recover(t -> Future.succeededFuture())
        .compose(v -> {
          Promise<Void> p = Promise.promise();
          vertx.setTimer(50, id -> p.complete());
          return p.future();
        })
        .compose(v -> grpcClient == null ? Future.succeededFuture() : grpcClient.close()));
    if (server != null) {
      closing.add(server.close());
    }
    if (currentImageConsumer != null) {
      closing.add(currentImageConsumer.unregister());
    }
    closing.add(onDisk(() -> {
      if (log != null) {
        log.close();
      }
      return null;
    }));
    Future.join(closing).<Void>mapEmpty().onComplete(stopPromise);
  }

  private void registerLocalCodec(Class<?> type) {
    try {
      @SuppressWarnings({"unchecked", "rawtypes"})
      MessageCodec<Object, Object> codec = new LocalObjectCodec(type);
      @SuppressWarnings("unchecked")
      Class<Object> t = (Class<Object>) type;
      vertx.eventBus().registerDefaultCodec(t, codec);
    } catch (IllegalStateException alreadyRegistered) {
      // Another node in this Vert.x instance registered it first; one codec serves all.
    }
  }

  private static long now() {
    return System.nanoTime() / 1_000_000;
  }

  /** Runs blocking disk work on this verticle's ordered worker queue. */
  private <T> Future<T> onDisk(Callable<T> work) {
    return vertx.executeBlocking(work, true);
  }

  // ---- driving the core --------------------------------------------------------------------------

  /** Carries out everything the core asked for, then re-arms the timer for its next deadline. */
  private void drain() {
    if (halted) {
      return;
    }
    while (node.hasReady()) {
      handle(node.ready());
    }
    publishStatus();
    scheduleTick();
  }

  private void publishStatus() {
    status = new QuorumStatus(node.role(), node.epoch(), node.leaderId(), node.highWatermark(), node.logEndOffset(),
        image.offset(), elections, halted);
  }

  private void handle(Ready ready) {
    Future<Void> stateDurable = lastStateWrite;
    if (ready.state().isPresent()) {
      PersistentState s = ready.state().get();
      QuorumState qs = new QuorumState(s.epoch(), s.votedFor(), s.leaderId());
      stateDurable = onDisk(() -> {
        stateFile.write(qs);
        return (Void) null;
      });
      stateDurable.onFailure(this::halt);
      lastStateWrite = stateDurable;
    }
    if (ready.truncateTo().isPresent() || !ready.entries().isEmpty()) {
      long truncateTo = ready.truncateTo().orElse(-1);
      if (truncateTo >= 0 && flushInFlight) {
        truncatedWhileFlushing = Math.min(truncatedWhileFlushing, truncateTo);
      }
      List<LogEntry> entries = ready.entries();
      onDisk(() -> {
        if (truncateTo >= 0) {
          log.truncateTo(truncateTo);
        }
        log.append(entries);
        return null;
      }).onFailure(this::halt);
      scheduleFlush();
    }
    List<RaftMessage> messages = ready.messages();
    if (!messages.isEmpty()) {
      stateDurable.onSuccess(v -> messages.forEach(this::send));
    }
    ready.roleChange().ifPresent(this::onRoleChange);
    ready.highWatermark().ifPresent(this::onHighWatermark);
  }

  /** Group commit: one fsync at a time, covering every append queued before it. */
  private void scheduleFlush() {
    if (flushInFlight) {
      return;
    }
    flushInFlight = true;
    truncatedWhileFlushing = Long.MAX_VALUE;
    onDisk(() -> log.flush()).onComplete(ar -> {
      flushInFlight = false;
      if (halted) {
        return;
      }
      if (ar.failed()) {
        halt(ar.cause());
        return;
      }
      node.appendDurable(Math.min(ar.result(), truncatedWhileFlushing));
      drain();
      if (node.durableEndOffset() < node.logEndOffset()) {
        scheduleFlush();
      }
    });
  }

  private void scheduleTick() {
    long due = node.nextDeadlineMs();
    if (due == Long.MAX_VALUE || (tickTimer >= 0 && tickDue <= due)) {
      return;
    }
    if (tickTimer >= 0) {
      vertx.cancelTimer(tickTimer);
    }
    tickDue = due;
    tickTimer = vertx.setTimer(Math.max(1, due - now()), id -> {
      tickTimer = -1;
      tickDue = Long.MAX_VALUE;
      if (!halted) {
        node.tick(now());
        drain();
      }
    });
  }

  /** A disk error: the log can no longer be trusted, so this node stops taking part. */
  private void halt(Throwable cause) {
    if (halted) {
      return;
    }
    halted = true;
    if (node != null) {
      publishStatus();
    }
    LOG.log(System.Logger.Level.ERROR, "metadata log IO failed on node " + config.nodeId()
        + "; this quorum member stops taking part until restarted", cause);
    failPending(ErrorCode.KAFKA_STORAGE_ERROR, "metadata log IO failed: " + cause.getMessage());
  }

  private void step(RaftMessage message) {
    if (!halted) {
      node.step(message, now());
      drain();
    }
  }

  // ---- messages ----------------------------------------------------------------------------------

  private void send(RaftMessage m) {
    if (m instanceof RaftMessage.FetchResponse || m instanceof RaftMessage.VoteResponse
        || m instanceof RaftMessage.BeginQuorumEpochResponse || m instanceof RaftMessage.EndQuorumEpochResponse) {
      Promise<RaftMessage> waiting = pendingReplies.remove(new ReplyKey(m.to(), m.getClass()));
      if (waiting != null) {
        waiting.tryComplete(m);
      }
      return;
    }
    RaftQuorumClient peer = peers.get(m.to());
    if (peer == null) {
      return;
    }
    String cluster = config.clusterId();
    Future<? extends RaftMessage> reply;
    if (m instanceof RaftMessage.FetchRequest r) {
      reply = peer.fetch(RaftWire.toWire(r, cluster)).map(RaftWire::fromWire);
    } else if (m instanceof RaftMessage.VoteRequest r) {
      reply = peer.vote(RaftWire.toWire(r, cluster)).map(RaftWire::fromWire);
    } else if (m instanceof RaftMessage.BeginQuorumEpochRequest r) {
      reply = peer.beginQuorumEpoch(RaftWire.toWire(r, cluster)).map(RaftWire::fromWire);
    } else if (m instanceof RaftMessage.EndQuorumEpochRequest r) {
      reply = peer.endQuorumEpoch(RaftWire.toWire(r, cluster)).map(RaftWire::fromWire);
    } else {
      throw new IllegalStateException("unknown Raft message " + m);
    }
    // A lost request or reply is like a dropped message: the core's timers retry. A fetch that could
    // not even reach the leader (refused, or the connection died under it) is worth telling the core.
    reply.onSuccess(this::step).onFailure(t -> {
      if (m instanceof RaftMessage.FetchRequest && !halted && isConnectionLoss(t)) {
        node.leaderUnreachable(m.to(), now());
        drain();
      }
    });
  }

  /** A refused or dropped connection, as opposed to a slow answer. */
  private static boolean isConnectionLoss(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof java.net.ConnectException || c instanceof io.vertx.core.http.HttpClosedException
          || c instanceof java.nio.channels.ClosedChannelException) {
        return true;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return false;
  }

  /** Steps a peer's request into the core and completes with the response the core produces for it. */
  private <R extends RaftMessage> Future<R> exchange(RaftMessage request, Class<R> responseType, long waitMs) {
    if (halted) {
      return Future.failedFuture("this quorum member has stopped");
    }
    ReplyKey key = new ReplyKey(request.from(), responseType);
    Promise<RaftMessage> promise = Promise.promise();
    Promise<RaftMessage> superseded = pendingReplies.put(key, promise);
    if (superseded != null) {
      superseded.tryFail("superseded by a newer request");
    }
    long timer = vertx.setTimer(waitMs, id -> {
      if (pendingReplies.remove(key, promise)) {
        promise.tryFail("no Raft response within " + waitMs + " ms");
      }
    });
    step(request);
    return promise.future().andThen(ar -> vertx.cancelTimer(timer)).map(responseType::cast);
  }

  private boolean wrongCluster(String clusterId) {
    return !clusterId.equals(config.clusterId());
  }

  private final class RaftApi extends RaftQuorumService {
    private long replyWindow() {
      return node.config().fetchMaxWaitMs() + node.config().requestTimeoutMs();
    }

    @Override
    public Future<RaftFetchResponse> fetch(RaftFetchRequest request) {
      if (wrongCluster(request.getClusterId())) {
        return Future.succeededFuture(RaftFetchResponse.newBuilder().setError("INCONSISTENT_CLUSTER_ID")
            .setFrom(config.nodeId()).setTo(request.getFrom()).build());
      }
      return exchange(RaftWire.fromWire(request), RaftMessage.FetchResponse.class, replyWindow())
          .map(RaftWire::toWire);
    }

    @Override
    public Future<RaftVoteResponse> vote(RaftVoteRequest request) {
      if (wrongCluster(request.getClusterId())) {
        return Future.succeededFuture(RaftVoteResponse.newBuilder().setError("INCONSISTENT_CLUSTER_ID")
            .setFrom(config.nodeId()).setTo(request.getFrom()).build());
      }
      return exchange(RaftWire.fromWire(request), RaftMessage.VoteResponse.class, replyWindow()).map(RaftWire::toWire);
    }

    @Override
    public Future<BeginQuorumEpochResponse> beginQuorumEpoch(BeginQuorumEpochRequest request) {
      if (wrongCluster(request.getClusterId())) {
        return Future.succeededFuture(BeginQuorumEpochResponse.newBuilder().setError("INCONSISTENT_CLUSTER_ID").build());
      }
      return exchange(RaftWire.fromWire(request), RaftMessage.BeginQuorumEpochResponse.class, replyWindow())
          .map(RaftWire::toWire);
    }

    @Override
    public Future<EndQuorumEpochResponse> endQuorumEpoch(EndQuorumEpochRequest request) {
      if (wrongCluster(request.getClusterId())) {
        return Future.succeededFuture(EndQuorumEpochResponse.newBuilder().setError("INCONSISTENT_CLUSTER_ID").build());
      }
      return exchange(RaftWire.fromWire(request), RaftMessage.EndQuorumEpochResponse.class, replyWindow())
          .map(RaftWire::toWire);
    }

    @Override
    public Future<DescribeQuorumResponse> describeQuorum(DescribeQuorumRequest request) {
      return Future.succeededFuture(describe());
    }
  }

  /** The quorum as the leader sees it; a non-leader answers NOT_LEADER_OR_FOLLOWER with the leader. */
  DescribeQuorumResponse describe() {
    DescribeQuorumResponse.Builder b = DescribeQuorumResponse.newBuilder().setLeaderId(node.leaderId())
        .setLeaderEpoch(node.epoch()).setHighWatermark(node.highWatermark());
    config.voters().stream().filter(v -> v.id() == node.leaderId()).findFirst()
        .ifPresent(v -> b.setLeaderHost(v.host()).setLeaderPort(v.port()));
    if (node.role() != RaftRole.LEADER) {
      return b.setError(RaftError.NOT_LEADER_OR_FOLLOWER.name()).build();
    }
    long monoNow = now();
    long wallNow = System.currentTimeMillis();
    for (ReplicaState r : node.replicaStates()) {
      ReplicaDescription.Builder d = ReplicaDescription.newBuilder().setReplicaId(r.replicaId())
          .setLogEndOffset(r.endOffset())
          .setLastFetchTimestamp(r.lastFetchMs() < 0 ? -1 : wallNow - (monoNow - r.lastFetchMs()))
          .setLastCaughtUpTimestamp(r.lastCaughtUpMs() < 0 ? -1 : wallNow - (monoNow - r.lastCaughtUpMs()));
      if (r.replicaId() == config.nodeId()) {
        d.setLastFetchTimestamp(wallNow).setLastCaughtUpTimestamp(wallNow);
      }
      if (r.voter()) {
        b.addVoters(d);
      } else {
        b.addObservers(d);
      }
    }
    return b.setError(RaftError.NONE.name()).build();
  }

  // ---- commits and images ------------------------------------------------------------------------

  private void onRoleChange(Ready.RoleChange change) {
    LOG.log(System.Logger.Level.INFO, "node {0}: {1} in epoch {2}, leader {3}", config.nodeId(), change.role(),
        change.epoch(), change.leaderId());
    if (change.role() == RaftRole.LEADER) {
      elections++;
      // Uncommitted entries from earlier epochs will commit under this leader: include them.
      MetadataDelta delta = new MetadataDelta(image);
      for (LogEntry e : node.entries(image.offset() + 1, node.logEndOffset())) {
        delta.replay(e.offset(), MetadataRecordCodec.decode(e.payload()));
      }
      proposedImage = delta.apply();
      controller.becomeActive(proposedImage, now());
      scheduleFencing();
    } else {
      proposedImage = null;
      ownProposals.clear();
      failPending(ErrorCode.NOT_CONTROLLER, "leadership moved to " + change.leaderId() + " before the change committed");
    }
  }

  private void onHighWatermark(long highWatermark) {
    if (highWatermark <= image.offset() + 1) {
      return;
    }
    MetadataDelta delta = new MetadataDelta(image);
    try {
      for (LogEntry e : node.entries(image.offset() + 1, highWatermark)) {
        MetadataRecord own = ownProposals.remove(e.offset());
        // An own proposal is used only if the entry still holds it (same epoch as proposed).
        delta.replay(e.offset(), own != null && e.epoch() == node.epoch() ? own : MetadataRecordCodec.decode(e.payload()));
      }
    } catch (RuntimeException e) {
      // Every node replays the same log; skipping a record would let their images differ.
      halt(e);
      return;
    }
    image = delta.apply();
    // Whoever learns of a commit below must already see it in the status.
    publishStatus();
    vertx.eventBus().publish(config.metadataAddress(), new MetadataUpdate(image, delta), localDelivery);
    for (Iterator<PendingCommit> it = pendingCommits.headMap(highWatermark, true).values().iterator(); it.hasNext(); ) {
      PendingCommit pc = it.next();
      it.remove();
      if (node.entry(pc.endOffset - 1).epoch() == pc.epoch) {
        metrics.recordCommit(System.nanoTime() - pc.proposedAtNanos);
        pc.promise.tryComplete(pc.endOffset - 1);
      } else {
        pc.promise.tryFail(new ControllerException(ErrorCode.NOT_CONTROLLER, "the change was lost in a leader change"));
      }
    }
  }

  private void failPending(ErrorCode code, String message) {
    for (PendingCommit pc : pendingCommits.values()) {
      pc.promise.tryFail(new ControllerException(code, message));
    }
    pendingCommits.clear();
  }

  /** What a controller request returns: its response and the metadata offset that holds its effect. */
  private record Decided<T>(T response, long offset) {}

  /**
   * Runs a controller decision against the proposed image, appends its records, and completes when
   * they commit. Fails with {@link ControllerException} NOT_CONTROLLER unless this node leads.
   */
  private <T> Future<Decided<T>> decide(Function<MetadataImage, ControllerResult<T>> decision) {
    if (halted || node.role() != RaftRole.LEADER || proposedImage == null) {
      return Future.failedFuture(new ControllerException(ErrorCode.NOT_CONTROLLER, "node " + config.nodeId()
          + " is not the active controller"));
    }
    ControllerResult<T> result;
    try {
      result = decision.apply(proposedImage);
    } catch (ControllerException e) {
      return Future.failedFuture(e);
    }
    if (result.records().isEmpty()) {
      return Future.succeededFuture(new Decided<>(result.response(), proposedImage.offset()));
    }
    // Replay on the proposed image first: a record that cannot apply is refused here, before it
    // reaches the log, where it would stop every node's replay.
    MetadataDelta delta = new MetadataDelta(proposedImage);
    long offset = node.logEndOffset();
    try {
      for (MetadataRecord r : result.records()) {
        delta.replay(offset++, r);
      }
    } catch (RuntimeException e) {
      return Future.failedFuture(new ControllerException(ErrorCode.INVALID_REQUEST, e.getMessage()));
    }
    List<byte[]> payloads = result.records().stream().map(MetadataRecordCodec::encode).toList();
    ProposeResult proposed = node.propose(payloads, now());
    if (proposed instanceof ProposeResult.Rejected rejected) {
      return Future.failedFuture(new ControllerException(
          rejected.error() == RaftError.NOT_LEADER_OR_FOLLOWER ? ErrorCode.NOT_CONTROLLER : ErrorCode.INVALID_REQUEST,
          "the metadata log refused the change: " + rejected.error()));
    }
    ProposeResult.Accepted accepted = (ProposeResult.Accepted) proposed;
    proposedImage = delta.apply();
    long recordOffset = accepted.baseOffset();
    for (MetadataRecord r : result.records()) {
      ownProposals.put(recordOffset++, r);
    }
    Promise<Long> committed = Promise.promise();
    pendingCommits.put(accepted.endOffset(), new PendingCommit(accepted.epoch(), accepted.endOffset(), committed, System.nanoTime()));
    drain();
    return committed.future().map(at -> new Decided<>(result.response(), at));
  }

  /**
   * Appends records to the metadata log as the active controller and completes with the offset of the
   * last one once they commit. Fails with {@link ControllerException} NOT_CONTROLLER on a node that
   * does not lead, and INVALID_REQUEST for records that do not apply to the current image. Callable
   * from any thread.
   */
  public Future<Long> append(List<MetadataRecord> records) {
    Promise<Long> result = Promise.promise();
    context.runOnContext(v -> decide(img -> new ControllerResult<>(records, (Void) null))
        .map(Decided::offset).onComplete(result));
    return result.future();
  }

  /** While leading, fences brokers whose session expired; checks a few times per session timeout. */
  private void scheduleFencing() {
    long every = Math.max(50, config.controller().brokerSessionTimeoutMs() / 4);
    int epoch = node.epoch();
    vertx.setTimer(every, id -> {
      // One chain per leadership: a chain from an earlier term ends here.
      if (halted || node.role() != RaftRole.LEADER || node.epoch() != epoch || proposedImage == null) {
        return;
      }
      decide(img -> controller.fenceExpiredBrokers(img, now()))
          .onSuccess(d -> {
            if (!d.response().isEmpty()) {
              LOG.log(System.Logger.Level.INFO, "fenced brokers {0}: no heartbeat within {1} ms", d.response(),
                  config.controller().brokerSessionTimeoutMs());
            }
          })
          .onComplete(ar -> scheduleFencing());
    });
  }

  private final class ControllerApi extends ControllerService {
    @Override
    public Future<RegisterBrokerResponse> registerBroker(RegisterBrokerRequest request) {
      if (!request.getClusterId().equals(config.clusterId())) {
        return Future.succeededFuture(RegisterBrokerResponse.newBuilder().setError(ErrorCode.INVALID_REQUEST)
            .setErrorMessage("broker belongs to cluster " + request.getClusterId() + ", this is " + config.clusterId())
            .setLeaderId(node.leaderId()).build());
      }
      List<BrokerEndpoint> listeners = request.getListenersList().stream()
          .map(e -> new BrokerEndpoint(e.getListenerName(), e.getHost(), e.getPort())).toList();
      return decide(img -> controller.registerBroker(img, node.logEndOffset(), request.getBrokerId(),
              request.getIncarnationId(), listeners, request.getRack()))
          .map(d -> RegisterBrokerResponse.newBuilder().setError(ErrorCode.NONE).setLeaderId(config.nodeId())
              .setBrokerEpoch(d.response()).setMetadataOffset(d.offset()).build())
          .recover(t -> Future.succeededFuture(RegisterBrokerResponse.newBuilder().setError(codeOf(t))
              .setErrorMessage(String.valueOf(t.getMessage())).setLeaderId(node.leaderId()).build()));
    }

    @Override
    public Future<BrokerHeartbeatResponse> brokerHeartbeat(BrokerHeartbeatRequest request) {
      return decide(img -> controller.heartbeat(img, now(), request.getBrokerId(), request.getBrokerEpoch(),
              request.getCurrentMetadataOffset(), request.getWantShutDown()))
          .map(d -> BrokerHeartbeatResponse.newBuilder().setError(d.response().error())
              .setErrorMessage(d.response().message()).setLeaderId(config.nodeId()).setIsFenced(d.response().fenced())
              .setShouldShutDown(d.response().shouldShutDown()).setMetadataOffset(d.offset()).build())
          .recover(t -> Future.succeededFuture(BrokerHeartbeatResponse.newBuilder().setError(codeOf(t))
              .setErrorMessage(String.valueOf(t.getMessage())).setLeaderId(node.leaderId()).setIsFenced(true).build()));
    }

    @Override
    public Future<ControllerTopicsResponse> createTopics(CreateTopicsRequest request) {
      return topics(decide(img -> controller.createTopics(img, request)));
    }

    @Override
    public Future<ControllerTopicsResponse> deleteTopics(DeleteTopicsRequest request) {
      return topics(decide(img -> controller.deleteTopics(img, request.getNamesList())));
    }

    @Override
    public Future<AllocateProducerIdsResponse> allocateProducerIds(AllocateProducerIdsRequest request) {
      return decide(img -> controller.allocateProducerIds(img, request.getBrokerId(), request.getBrokerEpoch()))
          .map(d -> AllocateProducerIdsResponse.newBuilder().setError(ErrorCode.NONE).setLeaderId(config.nodeId())
              .setProducerIdStart(d.response().start()).setProducerIdLen(d.response().length()).build())
          .recover(t -> Future.succeededFuture(AllocateProducerIdsResponse.newBuilder().setError(codeOf(t))
              .setErrorMessage(String.valueOf(t.getMessage())).setLeaderId(node.leaderId()).build()));
    }

    @Override
    public Future<ControllerTopicsResponse> createPartitions(CreatePartitionsRequest request) {
      return topics(decide(img -> controller.createPartitions(img, request)));
    }

    @Override
    public Future<ControllerAlterConfigsResponse> incrementalAlterConfigs(AlterConfigsRequest request) {
      return decide(img -> controller.incrementalAlterConfigs(img, request))
          .map(d -> ControllerAlterConfigsResponse.newBuilder().setError(ErrorCode.NONE).setLeaderId(config.nodeId())
              .setMetadataOffset(d.offset()).addAllResults(d.response()).build())
          .recover(t -> Future.succeededFuture(ControllerAlterConfigsResponse.newBuilder().setError(codeOf(t))
              .setErrorMessage(String.valueOf(t.getMessage())).setLeaderId(node.leaderId()).build()));
    }

    private Future<ControllerTopicsResponse> topics(Future<Decided<List<TopicResult>>> decided) {
      return decided
          .map(d -> ControllerTopicsResponse.newBuilder().setError(ErrorCode.NONE).setLeaderId(config.nodeId())
              .setMetadataOffset(d.offset()).addAllResults(d.response()).build())
          .recover(t -> Future.succeededFuture(ControllerTopicsResponse.newBuilder().setError(codeOf(t))
              .setErrorMessage(String.valueOf(t.getMessage())).setLeaderId(node.leaderId()).build()));
    }

    private ErrorCode codeOf(Throwable t) {
      return t instanceof ControllerException ce ? ce.errorCode() : ErrorCode.UNKNOWN_SERVER_ERROR;
    }
  }
}
