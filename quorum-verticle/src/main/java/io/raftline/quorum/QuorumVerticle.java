package io.raftline.quorum;


import io.raftline.metadata.QuorumVoter;
import io.raftline.metadata.image.MetadataDelta;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.projection.MetadataUpdate;
import io.raftline.metadata.record.BrokerEndpoint;
import io.raftline.metadata.record.MetadataRecord;
import io.raftline.metadata.record.MetadataRecordCodec;
import io.raftline.protocol.Answers;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.AlterConfigsRequest;
import io.raftline.protocol.client.CreatePartitionsRequest;
import io.raftline.protocol.client.CreateTopicsRequest;
import io.raftline.protocol.controller.ControllerAlterConfigsResponse;
import io.raftline.protocol.client.DeleteTopicsRequest;
import io.raftline.protocol.client.TopicResult;
import io.raftline.protocol.controller.AllocateProducerIdsRequest;
import io.raftline.protocol.controller.AllocateProducerIdsResponse;
import io.raftline.protocol.controller.AlterPartitionRequest;
import io.raftline.protocol.controller.AlterPartitionResponse;
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
import io.raftline.metadata.snapshot.MetadataSnapshot;
import io.raftline.metadata.snapshot.SnapshotId;
import io.raftline.protocol.quorum.FetchSnapshotRequest;
import io.raftline.protocol.quorum.FetchSnapshotResponse;
import io.raftline.quorum.raft.LogEntry;
import io.raftline.quorum.raft.OffsetAndEpoch;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
import io.vertx.core.Completable;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.WorkerExecutor;
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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
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
  /** A voter's controller meters; null on an observer. */
  private ControllerMetrics controllerMetrics;
  /** The image last applied, for meters read on other threads (images are immutable). */
  private volatile MetadataImage publishedImage = MetadataImage.EMPTY;
  /** When the voter lag gauges were last brought up to date (ms, {@link #now()}). */
  private long voterLagPublishedMs;
  /** Whether the voter lag gauges were last published as the leader's. */
  private boolean voterLagLeading;
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
  /**
   * On the leader: the committed image plus every record proposed since, except those of this turn's
   * decisions still open on {@link #proposing}; null elsewhere. Read it through {@link #proposedImage()}.
   */
  private MetadataImage proposedImage;
  /**
   * On the leader: the delta this event-loop turn's decisions replay onto, so that one turn copies each
   * image trie node once (null when none is open). {@link #turnProposals} are its records, to rebuild
   * it when a decision fails halfway.
   */
  private MetadataDelta proposing;
  private final List<OwnProposal> turnProposals = new ArrayList<>();
  /** Proposals waiting to commit, in log order (one leadership proposes at increasing offsets). */
  private final ArrayDeque<PendingCommit> pendingCommits = new ArrayDeque<>();
  /** On the leader: its own proposed records in log order, so a commit applies them without decoding. */
  private final ArrayDeque<OwnProposal> ownProposals = new ArrayDeque<>();
  /**
   * On the leader: payloads of the decisions taken since the last propose. Decisions of one event-loop
   * turn go to the core as one proposal (like Kafka's batch accumulator, without a linger), so the log
   * write, the fetch answers and the fsync cover the turn instead of each decision.
   */
  private final List<byte[]> unproposed = new ArrayList<>();
  private boolean proposeScheduled;
  /** Requests from peers whose Raft response the core has not produced yet. */
  private final Map<ReplyKey, Promise<RaftMessage>> pendingReplies = new HashMap<>();

  /** The newest snapshot on disk ((0, 0) if none). */
  private SnapshotId latestSnapshot = new SnapshotId(0, 0);
  private long bytesSinceSnapshot;
  private long lastSnapshotAtMs;
  private boolean snapshotting;
  private boolean downloading;
  private static final int SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
  private static final int SNAPSHOTS_KEPT = 2;
  private Future<Void> lastStateWrite = Future.succeededFuture();
  private boolean flushInFlight;
  /**
   * The metadata log's own disk thread: on Vert.x's shared worker pool its fsyncs would queue behind a
   * combined node's partition-log work (a topic of 1,000 partitions is 1,000 blocking opens), and every
   * commit would wait for them.
   */
  private WorkerExecutor diskWorker;
  private long truncatedWhileFlushing = Long.MAX_VALUE;
  private long tickTimer = -1;
  private long tickDue = Long.MAX_VALUE;
  private boolean halted;
  private long elections;

  private record PendingCommit(int epoch, long endOffset, Promise<Long> promise, long proposedAtNanos) {}

  private record OwnProposal(long offset, MetadataRecord record) {}

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
    diskWorker = vertx.createSharedWorkerExecutor("raftline-metadata-log-" + config.nodeId(), 1);
    registerLocalCodec(MetadataUpdate.class);
    registerLocalCodec(MetadataImage.class);
    localDelivery = new DeliveryOptions().setLocalOnly(true);
    metrics = new QuorumMetrics(registry, config.nodeId(), () -> status);
    if (config.isVoter()) {
      controllerMetrics = new ControllerMetrics(registry, config.nodeId(), () -> status, () -> publishedImage);
    }
    controller = new QuorumController(config.controller(), new SplittableRandom());
    stateFile = new QuorumStateFile(config.metadataLogDir().resolve("quorum-state"));
    record Recovered(QuorumState state, List<LogEntry> entries, SnapshotId snapshot, MetadataImage image) {}
    onDisk(() -> {
      log = MetadataLog.open(config.metadataLogDir(), MetadataLogConfig.defaults());
      SnapshotOnDisk snapshot = newestUsableSnapshot(log.startOffset());
      if (log.endOffset() < snapshot.id().endOffset()) {
        // The log ends before the snapshot does (a crash during an install): nothing in it is needed.
        log.resetTo(snapshot.id().endOffset());
      }
      List<LogEntry> tail = new ArrayList<>();
      for (LogEntry e : log.readAll()) {
        if (e.offset() >= snapshot.id().endOffset()) {
          tail.add(e);
        }
      }
      return new Recovered(stateFile.read().orElse(QuorumState.initial()), tail, snapshot.id(), snapshot.image());
    }).compose(recovered -> {
      java.util.Set<Integer> voterIds = config.voters().stream().map(QuorumVoter::id).collect(Collectors.toSet());
      RaftConfig raftConfig = RaftConfig.of(config.nodeId(), voterIds)
          .withElection(config.electionTimeoutMs(), config.electionTimeoutMs());
      raftConfig = raftConfig.withFetch(config.fetchTimeoutMs(), raftConfig.fetchMaxWaitMs(),
          raftConfig.requestTimeoutMs())
          // One fetch round trip includes the follower's fsync, so each should carry a lot.
          .withLimits(MAX_FETCH_ENTRIES, MAX_FETCH_BYTES, raftConfig.maxBatchEntries());
      QuorumState s = recovered.state();
      image = recovered.image();
      latestSnapshot = recovered.snapshot();
      lastSnapshotAtMs = now();
      node = new RaftNode(raftConfig, new PersistentState(s.epoch(), s.votedFor(), s.leaderId()),
          new OffsetAndEpoch(recovered.snapshot().endOffset(), recovered.snapshot().epoch()), recovered.entries(),
          now(), new SplittableRandom());
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
    if (controllerMetrics != null) {
      controllerMetrics.close();
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
    Future.join(closing).<Void>mapEmpty().eventually(() -> diskWorker.close()).onComplete(stopPromise);
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

  /** Runs blocking disk work in order on the metadata log's own thread. */
  private <T> Future<T> onDisk(Callable<T> work) {
    return diskWorker.executeBlocking(work, true);
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
    publishedImage = image;
    long nowMs = now();
    boolean leading = node.role() == RaftRole.LEADER;
    // At once when leadership begins or ends, so the gauges come and go with it; in between at most
    // once a second (a gauge scraped every few seconds needs no more, and this runs after every message).
    if (leading != voterLagLeading || (leading && nowMs - voterLagPublishedMs >= 1_000)) {
      metrics.voterLag(node.replicaStates(), node.logEndOffset(), config.nodeId());
      voterLagPublishedMs = nowMs;
      voterLagLeading = leading;
    }
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
    ready.snapshotToFetch().ifPresent(this::downloadSnapshot);
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
    // Answers cross Answers.toCaller: a held fetch or a vote can outlive its caller (see Answers).
    @Override
    protected void fetch(io.raftline.protocol.quorum.RaftFetchRequest request, Completable<io.raftline.protocol.quorum.RaftFetchResponse> answer) {
      fetch(request).onComplete(Answers.toCaller("Fetch", answer));
    }

    @Override
    protected void vote(io.raftline.protocol.quorum.RaftVoteRequest request, Completable<io.raftline.protocol.quorum.RaftVoteResponse> answer) {
      vote(request).onComplete(Answers.toCaller("Vote", answer));
    }

    @Override
    protected void beginQuorumEpoch(io.raftline.protocol.quorum.BeginQuorumEpochRequest request, Completable<io.raftline.protocol.quorum.BeginQuorumEpochResponse> answer) {
      beginQuorumEpoch(request).onComplete(Answers.toCaller("BeginQuorumEpoch", answer));
    }

    @Override
    protected void endQuorumEpoch(io.raftline.protocol.quorum.EndQuorumEpochRequest request, Completable<io.raftline.protocol.quorum.EndQuorumEpochResponse> answer) {
      endQuorumEpoch(request).onComplete(Answers.toCaller("EndQuorumEpoch", answer));
    }

    @Override
    protected void describeQuorum(io.raftline.protocol.quorum.DescribeQuorumRequest request, Completable<io.raftline.protocol.quorum.DescribeQuorumResponse> answer) {
      describeQuorum(request).onComplete(Answers.toCaller("DescribeQuorum", answer));
    }

    @Override
    protected void fetchSnapshot(io.raftline.protocol.quorum.FetchSnapshotRequest request, Completable<io.raftline.protocol.quorum.FetchSnapshotResponse> answer) {
      fetchSnapshot(request).onComplete(Answers.toCaller("FetchSnapshot", answer));
    }

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

    /** Serves a chunk of a snapshot file this node holds; files are immutable once written. */
    @Override
    public Future<FetchSnapshotResponse> fetchSnapshot(FetchSnapshotRequest request) {
      if (wrongCluster(request.getClusterId())) {
        return Future.succeededFuture(FetchSnapshotResponse.newBuilder().setError("INCONSISTENT_CLUSTER_ID").build());
      }
      Path file = config.metadataLogDir().resolve(
          new SnapshotId(request.getSnapshotOffset(), request.getSnapshotEpoch()).fileName());
      int max = Math.max(1, Math.min(SNAPSHOT_CHUNK_BYTES, request.getMaxBytes() <= 0 ? SNAPSHOT_CHUNK_BYTES
          : request.getMaxBytes()));
      return vertx.executeBlocking(() -> {
        if (!Files.exists(file)) {
          return FetchSnapshotResponse.newBuilder().setError("SNAPSHOT_NOT_FOUND").build();
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
          long size = ch.size();
          if (request.getPosition() < 0 || request.getPosition() > size) {
            return FetchSnapshotResponse.newBuilder().setError("INVALID_REQUEST").setSize(size).build();
          }
          ByteBuffer buf = ByteBuffer.allocate((int) Math.min(max, size - request.getPosition()));
          while (buf.hasRemaining() && ch.read(buf, request.getPosition() + buf.position()) > 0) {
            // read until the chunk is full
          }
          buf.flip();
          return FetchSnapshotResponse.newBuilder().setError("NONE").setSize(size).setPosition(request.getPosition())
              .setBytes(com.google.protobuf.ByteString.copyFrom(buf)).build();
        }
      }, false);
    }
  }

  // ---- snapshots ---------------------------------------------------------------------------------

  /** A snapshot found on disk at start-up, with its image. */
  private record SnapshotOnDisk(SnapshotId id, MetadataImage image) {}

  /**
   * The newest snapshot that loads and covers everything below the log's start (runs on the disk
   * queue at start-up). A damaged newest snapshot falls back to the one before it.
   */
  private SnapshotOnDisk newestUsableSnapshot(long logStartOffset) throws java.io.IOException {
    List<SnapshotId> ids = snapshotIds();
    for (int i = ids.size() - 1; i >= 0; i--) {
      SnapshotId id = ids.get(i);
      if (id.endOffset() < logStartOffset) {
        break;
      }
      try {
        return new SnapshotOnDisk(id, MetadataSnapshot.load(config.metadataLogDir().resolve(id.fileName())));
      } catch (io.raftline.metadata.snapshot.CorruptSnapshotException e) {
        LOG.log(System.Logger.Level.WARNING, "skipping a damaged snapshot: {0}", e.getMessage());
      }
    }
    if (logStartOffset > 0) {
      throw new java.io.IOException("the metadata log in " + config.metadataLogDir() + " starts at offset "
          + logStartOffset + " but no usable snapshot covers the offsets below it");
    }
    return new SnapshotOnDisk(new SnapshotId(0, 0), MetadataImage.EMPTY);
  }

  private List<SnapshotId> snapshotIds() throws java.io.IOException {
    try (java.util.stream.Stream<Path> files = Files.list(config.metadataLogDir())) {
      return files.map(f -> SnapshotId.parse(f.getFileName().toString())).flatMap(java.util.Optional::stream)
          .sorted().toList();
    }
  }

  /** Keeps the newest few snapshots; a follower may still be downloading the one before the newest. */
  private void deleteOldSnapshots() throws java.io.IOException {
    List<SnapshotId> ids = snapshotIds();
    for (int i = 0; i < ids.size() - SNAPSHOTS_KEPT; i++) {
      Files.deleteIfExists(config.metadataLogDir().resolve(ids.get(i).fileName()));
    }
  }

  /**
   * Snapshots the image once enough has been committed since the last snapshot (or enough time has
   * passed with something new), then lets the log and the core drop what the snapshot covers.
   */
  private void maybeSnapshot() {
    if (snapshotting || downloading || halted || image.offset() < 0) {
      return;
    }
    boolean due = bytesSinceSnapshot >= config.snapshotMaxBytes()
        || (bytesSinceSnapshot > 0 && now() - lastSnapshotAtMs >= config.snapshotIntervalMs());
    long end = image.offset() + 1;
    if (!due || end <= latestSnapshot.endOffset() || image.offset() < node.logStartOffset()) {
      return;
    }
    java.util.OptionalInt epoch = node.entryEpoch(image.offset());
    if (epoch.isEmpty()) {
      return;
    }
    MetadataImage at = image;
    SnapshotId id = new SnapshotId(end, epoch.getAsInt());
    snapshotting = true;
    bytesSinceSnapshot = 0;
    lastSnapshotAtMs = now();
    // The log is fsynced up to the snapshot first: otherwise a crash could bring back, above the
    // snapshot, entries that were truncated away before it was taken.
    onDisk(() -> log.flush())
        .compose(durable -> vertx.executeBlocking(() -> MetadataSnapshot.write(config.metadataLogDir(), id, at), false))
        .compose(file -> onDisk(() -> {
          log.deleteSegmentsBelow(id.endOffset());
          deleteOldSnapshots();
          return (Void) null;
        }))
        .onComplete(ar -> {
          snapshotting = false;
          if (halted) {
            return;
          }
          if (ar.failed()) {
            LOG.log(System.Logger.Level.WARNING, "snapshot at " + id.endOffset() + " failed; will try again", ar.cause());
            return;
          }
          latestSnapshot = id;
          node.snapshotTaken(new OffsetAndEpoch(id.endOffset(), id.epoch()));
          drain();
        });
  }

  /**
   * Downloads a snapshot the leader named (this node's log is below the leader's log start), installs
   * it as the image, and empties the log to start at the snapshot.
   */
  private void downloadSnapshot(Ready.SnapshotFetch fetch) {
    if (downloading) {
      return;
    }
    RaftQuorumClient peer = peers.get(fetch.leaderId());
    if (peer == null) {
      node.snapshotFetchFailed(now());
      drain();
      return;
    }
    downloading = true;
    SnapshotId id = new SnapshotId(fetch.snapshot().offset(), fetch.snapshot().epoch());
    Path target = config.metadataLogDir().resolve(id.fileName());
    Path partial = config.metadataLogDir().resolve(id.fileName() + ".download");
    LOG.log(System.Logger.Level.INFO, "node {0}: downloading snapshot {1} from {2}", config.nodeId(), id.fileName(),
        fetch.leaderId());
    vertx.executeBlocking(() -> FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING), false)
        .compose(channel -> fetchChunks(peer, id, channel, 0).eventually(() -> vertx.executeBlocking(() -> {
          channel.close();
          return null;
        }, false)))
        .compose(v -> onDisk(() -> {
          Files.move(partial, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
              java.nio.file.StandardCopyOption.REPLACE_EXISTING);
          MetadataImage loaded = MetadataSnapshot.load(target);
          log.resetTo(id.endOffset());
          deleteOldSnapshots();
          return loaded;
        }))
        .onComplete(ar -> {
          downloading = false;
          if (halted) {
            return;
          }
          if (ar.failed()) {
            LOG.log(System.Logger.Level.WARNING, "node " + config.nodeId() + ": snapshot download failed: "
                + ar.cause().getMessage());
            vertx.executeBlocking(() -> Files.deleteIfExists(partial), false);
            node.snapshotFetchFailed(now());
            drain();
            return;
          }
          image = ar.result();
          latestSnapshot = id;
          bytesSinceSnapshot = 0;
          if (flushInFlight) {
            // That fsync covered the old log, which is gone: it may vouch for the snapshot offset at most.
            truncatedWhileFlushing = Math.min(truncatedWhileFlushing, id.endOffset());
          }
          publishStatus();
          // A new base: listeners see a base they did not have and compare whole images.
          vertx.eventBus().publish(config.metadataAddress(), new MetadataUpdate(image, new MetadataDelta(image)),
              localDelivery);
          node.snapshotInstalled(fetch.snapshot(), now());
          drain();
        });
  }

  private Future<Void> fetchChunks(RaftQuorumClient peer, SnapshotId id, FileChannel out, long position) {
    FetchSnapshotRequest request = FetchSnapshotRequest.newBuilder().setClusterId(config.clusterId())
        .setReplicaId(config.nodeId()).setSnapshotOffset(id.endOffset()).setSnapshotEpoch(id.epoch())
        .setPosition(position).setMaxBytes(SNAPSHOT_CHUNK_BYTES).build();
    return peer.fetchSnapshot(request).compose(chunk -> {
      if (!chunk.getError().equals("NONE")) {
        return Future.failedFuture(new IllegalStateException("FetchSnapshot answered " + chunk.getError()));
      }
      if (chunk.getBytes().isEmpty() && position < chunk.getSize()) {
        return Future.failedFuture(new IllegalStateException("FetchSnapshot returned no bytes at " + position));
      }
      long next = position + chunk.getBytes().size();
      return vertx.executeBlocking(() -> {
        ByteBuffer b = chunk.getBytes().asReadOnlyByteBuffer();
        long at = position;
        while (b.hasRemaining()) {
          at += out.write(b, at);
        }
        if (next >= chunk.getSize()) {
          out.force(true);
        }
        return (Void) null;
      }, false).compose(v -> next >= chunk.getSize() ? Future.succeededFuture() : fetchChunks(peer, id, out, next));
    });
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
    // Queued payloads belong to the leadership that just ended; their commits fail below (or failed when it did).
    unproposed.clear();
    proposing = null;
    turnProposals.clear();
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
        bytesSinceSnapshot += e.payload().length;
        while (!ownProposals.isEmpty() && ownProposals.peekFirst().offset() < e.offset()) {
          ownProposals.pollFirst();
        }
        MetadataRecord own = !ownProposals.isEmpty() && ownProposals.peekFirst().offset() == e.offset()
            ? ownProposals.pollFirst().record() : null;
        // An own proposal is used only if the entry still holds it (same epoch as proposed).
        delta.replay(e.offset(), own != null && e.epoch() == node.epoch() ? own : MetadataRecordCodec.decode(e.payload()));
      }
    } catch (RuntimeException e) {
      // Every node replays the same log; skipping a record would let their images differ.
      halt(e);
      return;
    }
    image = delta.apply();
    maybeSnapshot();
    // Whoever learns of a commit below must already see it in the status.
    publishStatus();
    vertx.eventBus().publish(config.metadataAddress(), new MetadataUpdate(image, delta), localDelivery);
    while (!pendingCommits.isEmpty() && pendingCommits.peekFirst().endOffset() <= highWatermark) {
      PendingCommit pc = pendingCommits.pollFirst();
      if (node.entryEpoch(pc.endOffset - 1).orElse(-1) == pc.epoch) {
        metrics.recordCommit(System.nanoTime() - pc.proposedAtNanos);
        pc.promise.tryComplete(pc.endOffset - 1);
      } else {
        pc.promise.tryFail(new ControllerException(ErrorCode.NOT_CONTROLLER, "the change was lost in a leader change"));
      }
    }
  }

  private void failPending(ErrorCode code, String message) {
    for (PendingCommit pc : pendingCommits) {
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
    if (!activeController()) {
      return notController();
    }
    MetadataImage img = proposedImage();
    ControllerResult<T> result;
    try {
      result = decision.apply(img);
    } catch (ControllerException e) {
      return Future.failedFuture(e);
    }
    if (result.records().isEmpty()) {
      return Future.succeededFuture(new Decided<>(result.response(), img.offset()));
    }
    Future<Long> committed = result.atomic() ? propose(result.records()) : proposeInBatches(result.records());
    return committed.map(at -> new Decided<>(result.response(), at));
  }

  private boolean activeController() {
    return !halted && node.role() == RaftRole.LEADER && proposedImage != null;
  }

  private <T> Future<T> notController() {
    return Future.failedFuture(new ControllerException(ErrorCode.NOT_CONTROLLER, "node " + config.nodeId()
        + " is not the active controller"));
  }

  /** The committed image plus every record proposed since; closes this turn's open delta. */
  private MetadataImage proposedImage() {
    if (proposing != null) {
      proposedImage = proposing.apply();
      proposing = null;
      turnProposals.clear();
    }
    return proposedImage;
  }

  /**
   * Queues a decision's records for the log (see {@link #unproposed}) and completes with the offset of
   * the last one once they commit. Only for the active controller.
   */
  private Future<Long> propose(List<MetadataRecord> records) {
    int maxBatch = node.config().maxBatchEntries();
    if (records.size() > maxBatch) {
      return Future.failedFuture(new ControllerException(ErrorCode.INVALID_REQUEST,
          "the metadata log refused the change: " + RaftError.RECORD_LIST_TOO_LARGE + " (" + records.size()
              + " records must be appended together, and one batch holds at most " + maxBatch + ")"));
    }
    if (unproposed.size() + records.size() > maxBatch) {
      proposeQueued();
    }
    // Replay on the proposed state first: a record that cannot apply is refused here, before it
    // reaches the log, where it would stop every node's replay.
    MetadataDelta delta = proposing != null ? proposing : new MetadataDelta(proposedImage);
    long base = proposedEndOffset();
    long offset = base;
    try {
      for (MetadataRecord r : records) {
        delta.replay(offset++, r);
      }
    } catch (RuntimeException e) {
      if (delta == proposing && offset - 1 > base) {
        // Records of this decision before the bad one are on the shared delta: rebuild it without them.
        proposing = turnProposals.isEmpty() ? null : new MetadataDelta(proposedImage);
        for (OwnProposal p : turnProposals) {
          proposing.replay(p.offset(), p.record());
        }
      }
      return Future.failedFuture(new ControllerException(ErrorCode.INVALID_REQUEST, e.getMessage()));
    }
    proposing = delta;
    long recordOffset = base;
    for (MetadataRecord r : records) {
      unproposed.add(MetadataRecordCodec.encode(r));
      OwnProposal own = new OwnProposal(recordOffset++, r);
      ownProposals.addLast(own);
      turnProposals.add(own);
    }
    Promise<Long> committed = Promise.promise();
    pendingCommits.addLast(new PendingCommit(node.epoch(), recordOffset, committed, System.nanoTime()));
    if (!proposeScheduled) {
      // Runs after the tasks already queued on this event loop, so their decisions join this proposal.
      proposeScheduled = true;
      context.runOnContext(v -> {
        proposeScheduled = false;
        if (!halted) {
          proposeQueued();
          if (proposedImage != null) {
            proposedImage();
          }
          drain();
        }
      });
    }
    return committed.future();
  }

  /**
   * Proposes a non-atomic decision's records in consecutive batches of at most one batch's size
   * (a broker hosting 10,000 partitions is fenced with more records than that); completes with the
   * offset of the last record once every batch committed, or fails if any did not.
   */
  private Future<Long> proposeInBatches(List<MetadataRecord> records) {
    int maxBatch = node.config().maxBatchEntries();
    if (records.size() <= maxBatch) {
      return propose(records);
    }
    List<Future<Long>> batches = new ArrayList<>();
    for (int from = 0; from < records.size(); from += maxBatch) {
      batches.add(propose(records.subList(from, Math.min(records.size(), from + maxBatch))));
    }
    return Future.all(batches).map(all -> batches.get(batches.size() - 1).result());
  }

  /** Where the log will end once the queued decisions are proposed: the offset the next record gets. */
  private long proposedEndOffset() {
    return node.logEndOffset() + unproposed.size();
  }

  /** Hands the queued decisions to the core as one proposal. */
  private void proposeQueued() {
    if (unproposed.isEmpty()) {
      return;
    }
    long base = node.logEndOffset();
    ProposeResult proposed = node.propose(unproposed, now());
    unproposed.clear();
    if (proposed instanceof ProposeResult.Rejected rejected) {
      // Not expected: a lost leadership clears the queue first and decide keeps batches within the
      // limit. Fail what was queued and rebuild the proposed image without it.
      while (!pendingCommits.isEmpty() && pendingCommits.peekLast().endOffset() > base) {
        pendingCommits.pollLast().promise().tryFail(new ControllerException(
            rejected.error() == RaftError.NOT_LEADER_OR_FOLLOWER ? ErrorCode.NOT_CONTROLLER : ErrorCode.INVALID_REQUEST,
            "the metadata log refused the change: " + rejected.error()));
      }
      while (!ownProposals.isEmpty() && ownProposals.peekLast().offset() >= base) {
        ownProposals.pollLast();
      }
      proposing = null;
      turnProposals.clear();
      if (proposedImage != null) {
        MetadataDelta delta = new MetadataDelta(image);
        for (LogEntry e : node.entries(image.offset() + 1, node.logEndOffset())) {
          delta.replay(e.offset(), MetadataRecordCodec.decode(e.payload()));
        }
        proposedImage = delta.apply();
      }
    }
  }

  /**
   * Appends records to the metadata log as the active controller and completes with the offset of the
   * last one once they commit. Fails with {@link ControllerException} NOT_CONTROLLER on a node that
   * does not lead, and INVALID_REQUEST for records that do not apply to the current image. Callable
   * from any thread.
   */
  public Future<Long> append(List<MetadataRecord> records) {
    Promise<Long> result = Promise.promise();
    // No decision reads the image here, so the records join this turn's open delta.
    context.runOnContext(v -> (activeController() ? propose(records) : this.<Long>notController()).onComplete(result));
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
    // Answers wait for the commit and can outlive their caller; see RaftApi.
    @Override
    protected void registerBroker(io.raftline.protocol.controller.RegisterBrokerRequest request, Completable<io.raftline.protocol.controller.RegisterBrokerResponse> answer) {
      registerBroker(request).onComplete(Answers.toCaller("RegisterBroker", answer));
    }

    @Override
    protected void brokerHeartbeat(io.raftline.protocol.controller.BrokerHeartbeatRequest request, Completable<io.raftline.protocol.controller.BrokerHeartbeatResponse> answer) {
      brokerHeartbeat(request).onComplete(Answers.toCaller("BrokerHeartbeat", answer));
    }

    @Override
    protected void allocateProducerIds(io.raftline.protocol.controller.AllocateProducerIdsRequest request, Completable<io.raftline.protocol.controller.AllocateProducerIdsResponse> answer) {
      allocateProducerIds(request).onComplete(Answers.toCaller("AllocateProducerIds", answer));
    }

    @Override
    protected void createTopics(io.raftline.protocol.client.CreateTopicsRequest request, Completable<io.raftline.protocol.controller.ControllerTopicsResponse> answer) {
      createTopics(request).onComplete(Answers.toCaller("CreateTopics", answer));
    }

    @Override
    protected void deleteTopics(io.raftline.protocol.client.DeleteTopicsRequest request, Completable<io.raftline.protocol.controller.ControllerTopicsResponse> answer) {
      deleteTopics(request).onComplete(Answers.toCaller("DeleteTopics", answer));
    }

    @Override
    protected void createPartitions(io.raftline.protocol.client.CreatePartitionsRequest request, Completable<io.raftline.protocol.controller.ControllerTopicsResponse> answer) {
      createPartitions(request).onComplete(Answers.toCaller("CreatePartitions", answer));
    }

    @Override
    protected void incrementalAlterConfigs(io.raftline.protocol.client.AlterConfigsRequest request, Completable<io.raftline.protocol.controller.ControllerAlterConfigsResponse> answer) {
      incrementalAlterConfigs(request).onComplete(Answers.toCaller("IncrementalAlterConfigs", answer));
    }

    @Override
    protected void alterPartition(io.raftline.protocol.controller.AlterPartitionRequest request, Completable<io.raftline.protocol.controller.AlterPartitionResponse> answer) {
      alterPartition(request).onComplete(Answers.toCaller("AlterPartition", answer));
    }

    @Override
    public Future<RegisterBrokerResponse> registerBroker(RegisterBrokerRequest request) {
      if (!request.getClusterId().equals(config.clusterId())) {
        return Future.succeededFuture(RegisterBrokerResponse.newBuilder().setError(ErrorCode.INVALID_REQUEST)
            .setErrorMessage("broker belongs to cluster " + request.getClusterId() + ", this is " + config.clusterId())
            .setLeaderId(node.leaderId()).build());
      }
      List<BrokerEndpoint> listeners = request.getListenersList().stream()
          .map(e -> new BrokerEndpoint(e.getListenerName(), e.getHost(), e.getPort())).toList();
      return decide(img -> controller.registerBroker(img, proposedEndOffset(), request.getBrokerId(),
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

    @Override
    public Future<AlterPartitionResponse> alterPartition(AlterPartitionRequest request) {
      return decide(img -> controller.alterPartition(img, request))
          .map(d -> d.response().toBuilder().setLeaderId(config.nodeId()).setMetadataOffset(d.offset()).build())
          .recover(t -> Future.succeededFuture(AlterPartitionResponse.newBuilder().setError(codeOf(t))
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
