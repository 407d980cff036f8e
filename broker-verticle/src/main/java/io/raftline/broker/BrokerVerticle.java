package io.raftline.broker;

import io.raftline.broker.log.OffsetOutOfRangeException;
import io.raftline.metadata.TopicName;
import io.raftline.metadata.TopicPartition;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.metadata.image.TopicImage;
import io.raftline.metadata.projection.LocalReplicaChanges;
import io.raftline.metadata.projection.MetadataUpdate;
import io.raftline.protocol.Endpoint;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.Answers;
import io.raftline.protocol.FrameCumulation;
import io.raftline.protocol.UnaryGrpcCall;
import io.raftline.protocol.UnaryGrpcRoute;
import io.raftline.protocol.client.BrokerNode;
import io.raftline.protocol.client.CreateTopicsRequest;
import io.raftline.protocol.client.CreateTopicsResponse;
import io.raftline.protocol.client.DeleteTopicsRequest;
import io.raftline.protocol.client.DeleteTopicsResponse;
import io.raftline.protocol.client.DescribeTopicsRequest;
import io.raftline.protocol.client.DescribeTopicsResponse;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.ListOffsetsRequest;
import io.raftline.protocol.client.ListOffsetsResponse;
import io.raftline.protocol.client.ListTopicsRequest;
import io.raftline.protocol.client.ListTopicsResponse;
import io.raftline.protocol.client.PartitionData;
import io.raftline.protocol.client.PartitionDescription;
import io.raftline.protocol.client.PartitionFetch;
import io.raftline.protocol.client.PartitionOffset;
import io.raftline.protocol.client.PartitionProduceResult;
import io.raftline.protocol.client.PartitionRecords;
import io.raftline.protocol.client.PartitionTimestamp;
import io.raftline.protocol.client.ProduceRequest;
import io.raftline.protocol.client.ProduceResponse;
import io.raftline.protocol.client.RecordsGrpcService;
import io.raftline.protocol.client.RecordsService;
import io.raftline.protocol.client.TopicAdminGrpcService;
import io.raftline.protocol.client.TopicAdminService;
import io.raftline.protocol.client.TopicDescription;
import io.raftline.protocol.client.TopicResult;
import io.raftline.protocol.controller.BrokerHeartbeatRequest;
import io.raftline.protocol.controller.BrokerHeartbeatResponse;
import io.raftline.protocol.controller.ControllerTopicsResponse;
import io.raftline.protocol.controller.ControllerAlterConfigsResponse;
import io.raftline.protocol.client.AlterConfigsRequest;
import io.raftline.protocol.client.AlterConfigsResponse;
import io.raftline.protocol.client.ConfigEntry;
import io.raftline.protocol.client.ConfigResourceName;
import io.raftline.protocol.client.CreatePartitionsRequest;
import io.raftline.protocol.client.CreatePartitionsResponse;
import io.raftline.protocol.client.DescribeConfigsRequest;
import io.raftline.protocol.client.DescribeConfigsResponse;
import io.raftline.protocol.client.ResourceConfigs;
import io.raftline.protocol.client.ResourceResult;
import io.raftline.metadata.TopicConfigs;
import io.raftline.metadata.record.ConfigResource;
import io.raftline.protocol.controller.AlterPartitionRequest;
import io.raftline.protocol.controller.AlterPartitionResponse;
import io.raftline.protocol.controller.PartitionIsrChange;
import io.raftline.protocol.controller.PartitionIsrResult;
import io.raftline.protocol.client.EpochEndOffset;
import io.raftline.broker.log.LeaderEpochCache;
import io.raftline.protocol.controller.RegisterBrokerRequest;
import io.raftline.protocol.controller.RegisterBrokerResponse;
import io.raftline.protocol.records.InvalidRecordBatchException;
import io.raftline.protocol.records.RecordBatch;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Completable;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerOptions;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The broker's IO shell. It serves the client API on its listener, hosts the partitions the metadata
 * image assigns to it, and follows metadata updates published on {@link BrokerConfig#metadataAddress()}.
 * Everything here runs on the verticle's event loop; log IO goes to workers through
 * {@link HostedPartition}.
 *
 * <p>Start-up order: take the current image, open the listener, then register with the controller and
 * wait to see the registration in the image, so a started broker is one topics can be placed on.
 */
public final class BrokerVerticle extends AbstractVerticle {
  private static final System.Logger LOG = System.getLogger(BrokerVerticle.class.getName());
  /** Suffix of the event-bus address that answers with the current image. */
  public static final String CURRENT_IMAGE_SUFFIX = ".current";
  static final long MAX_GRPC_MESSAGE_BYTES = 128L * 1024 * 1024;
  /**
   * HTTP/2 receive settings of this broker's server (produce requests come in) and of its client
   * (replica fetch answers come in from partition leaders). With HTTP/2's defaults (64 KiB windows,
   * 16 KiB frames) a 1 MiB batch crossed in about thirty window-update round trips and sixty-four
   * frames, each a wake-up or a pass through the codec on both ends; on three nodes sharing two cores
   * the replication rate rose 8% without them (interleaved runs, issue 5's note). A unary message is
   * buffered whole on arrival anyway, so the wider window holds no memory it would not hold. Subscribe
   * streams flow the other way: the consumer's own window stays their backpressure bound.
   */
  private static final int RECEIVE_WINDOW_BYTES = 8 << 20;
  private static final int MAX_FRAME_BYTES = 1 << 20;
  /** The Records service's Produce method, its records decoded without a copy (AliasingDecoder). */
  private static final io.vertx.grpc.common.ServiceMethod<ProduceRequest, ProduceResponse> PRODUCE =
      io.vertx.grpc.common.ServiceMethod.server(RecordsGrpcService.SERVICE_NAME, "Produce",
          io.vertx.grpc.common.GrpcMessageEncoder.encoder(),
          io.raftline.protocol.AliasingDecoder.of(ProduceRequest.getDefaultInstance()));
  private static final long ADMIN_TIMEOUT_MS = 30_000;
  /** How long past replica.fetch.wait.max.ms a follower waits for a fetch's answer before it retries. */
  private static final long REPLICA_FETCH_ANSWER_GRACE_MS = 10_000;
  private static final int DEFAULT_PARTITION_FETCH_BYTES = 1024 * 1024;
  private static final int MAX_FETCH_WAIT_MS = 30_000;
  /** The records of a partition read that found none (read-only: shared by every such answer). */
  private static final ByteBuffer NO_RECORDS = ByteBuffer.allocate(0).asReadOnlyBuffer();

  private final BrokerConfig config;
  private final io.micrometer.core.instrument.MeterRegistry meterRegistry;
  private BrokerMetrics metrics;
  /** Open Subscribe streams, ended when the broker stops. */
  private final List<ConsumerSubscription> subscriptions = new ArrayList<>();
  private RecordsApi records;
  /** The group coordinator for the __consumer_offsets partitions this broker leads. */
  private io.raftline.broker.group.GroupCoordinatorApi groups;
  private Future<Void> offsetsTopicCreation;
  private final String incarnationId = UUID.randomUUID().toString();
  private final Map<TopicPartition, HostedPartition> partitions = new HashMap<>();
  /** Held follower fetches, woken by appends; held consumer fetches, woken by the high watermark. */
  private final Map<TopicPartition, List<FetchWaiter>> replicaWaiters = new HashMap<>();
  private final Map<TopicPartition, List<FetchWaiter>> consumerWaiters = new HashMap<>();
  /**
   * What a partition's read returns when its fetch session needs no answer about it
   * (FetchSessionCache.Session#answeredAlready): a marker compared by identity, never completed.
   */
  private static final Future<PartitionData> ANSWERED_ALREADY = Promise.<PartitionData>promise().future();
  /**
   * Incremental fetch sessions of the brokers (and clients) fetching from this one. As in Kafka, a
   * session unused for two minutes may give its place to a new one when all slots are taken.
   */
  private final FetchSessionCache fetchSessions;
  private static final long FETCH_SESSION_EVICTABLE_AFTER_MS = 120_000;
  /** One fetch loop per broker this broker follows partitions of, by leader id. */
  private final Map<Integer, ReplicaFetcher> fetchers = new HashMap<>();
  private long isrCheckTimer = -1;
  /** This broker's block of producer ids: the next to hand out and the end; a fetch of a new block. */
  private long nextProducerId = -1;
  private long producerIdBlockEnd = -1;
  private Future<Void> producerIdBlock;
  /** Logs still being closed or deleted; a partition of the same name opens only after. */
  private final Map<TopicPartition, Future<Void>> closing = new HashMap<>();
  private final List<OffsetWaiter> offsetWaiters = new ArrayList<>();
  private MetadataImage image = MetadataImage.EMPTY;
  /**
   * High watermarks read from each log dir's replication-offset-checkpoint at start-up, by absolute
   * log dir; an entry is taken by the partition's first open (later opens are a new topic's log).
   */
  private final Map<Path, Map<TopicPartition, Long>> checkpointedHighWatermarks = new HashMap<>();
  /** What each log dir's checkpoint file holds now, so an unchanged state is not written again. */
  private Map<Path, Map<TopicPartition, Long>> writtenHighWatermarks = new HashMap<>();
  private long highWatermarkCheckpointTimer = -1;
  /** The checkpoint write in progress (one at a time), or a completed future. */
  private Future<Void> highWatermarkCheckpointWrite = Future.succeededFuture();
  /** Fsync policies by topic, valid for {@link #flushPoliciesImage}. */
  private final Map<String, io.raftline.broker.log.FlushPolicy> flushPolicies = new HashMap<>();
  private MetadataImage flushPoliciesImage;
  private MessageConsumer<MetadataUpdate> metadataConsumer;
  private HttpServer server;
  private GrpcClient grpcClient;
  private io.vertx.core.http.HttpClient replicaHttp;
  private UnaryGrpcCall replicaCalls;
  private ControllerChannel controller;
  // Read by health checks on other threads.
  private volatile long brokerEpoch = -1;
  private long heartbeatTimer = -1;
  private boolean stopping;
  /** True once this incarnation's registration is in the image: only then does the broker lead. */
  private boolean registered;
  private boolean fenced = true;
  /** This broker's fencing as its metadata image says; read by health checks on other threads. */
  private volatile boolean fencedInImage = true;
  /** Completes the first time the controller reports this broker unfenced: start-up is done then. */
  private final Promise<Void> unfenced = Promise.promise();
  private static final long CONTROLLED_SHUTDOWN_TIMEOUT_MS = 5_000;
  /** Where cleaning passes build their segments; null until the first one. */
  private io.vertx.core.WorkerExecutor logCleaner;
  private static final long ISR_RETRY_BACKOFF_MS = 1_000;
  private static final long DEFAULT_PRODUCE_TIMEOUT_MS = 30_000;
  /** While fenced, heartbeat often, so a caught-up broker is unfenced (and serving) soon. */
  private static final long FENCED_HEARTBEAT_MS = 50;

  public BrokerVerticle(BrokerConfig config) {
    this(config, new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
  }

  /** A broker whose meters go to {@code registry} (the node's Prometheus registry). */
  public BrokerVerticle(BrokerConfig config, io.micrometer.core.instrument.MeterRegistry registry) {
    this.config = config;
    this.meterRegistry = registry;
    this.fetchSessions = new FetchSessionCache(config.maxFetchSessions(), FETCH_SESSION_EVICTABLE_AFTER_MS,
        new java.util.Random());
  }

  /** The port the client listener bound to (useful when configured as 0). */
  public int port() {
    return server == null ? -1 : server.actualPort();
  }

  public long brokerEpoch() {
    return brokerEpoch;
  }

  /** Serves a unary method with {@code handler}, as the generated service binding would. */
  private static <Q, A> void serveUnary(GrpcServer grpc, io.vertx.grpc.common.ServiceMethod<Q, A> method,
      java.util.function.BiConsumer<Q, Completable<A>> handler) {
    grpc.callHandler(method, request -> request.handler(msg -> handler.accept(msg, (res, err) -> {
      if (err == null) {
        request.response().end(res);
      } else {
        request.response().fail(err);
      }
    })));
  }

  /**
   * The HTTP/2 settings both ends of the broker announce. A fresh Http2Settings would announce an
   * unlimited number of concurrent streams; Vert.x's default of 100 is kept, which bounds what one
   * connection can make the broker hold in requests not yet answered.
   */
  private static Http2Settings receiveSettings() {
    return new Http2Settings().setInitialWindowSize(RECEIVE_WINDOW_BYTES).setMaxFrameSize(MAX_FRAME_BYTES)
        .setMaxConcurrentStreams(HttpServerOptions.DEFAULT_INITIAL_SETTINGS_MAX_CONCURRENT_STREAMS);
  }

  /** The broker's HTTP/2 (prior knowledge) client connections, with its receive settings. */
  private static HttpClientOptions clientOptions() {
    return new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false)
        .setInitialSettings(receiveSettings()).setHttp2ConnectionWindowSize(2 * RECEIVE_WINDOW_BYTES);
  }

  /** True while this broker's own metadata image shows it fenced (or not registered); any thread. */
  public boolean isFenced() {
    return fencedInImage;
  }

  @Override
  public void start(Promise<Void> startPromise) {
    metrics = new BrokerMetrics(meterRegistry, config.nodeId());
    metadataConsumer = vertx.eventBus().localConsumer(config.metadataAddress(), msg -> onMetadata(msg.body()));
    grpcClient = GrpcClient.client(vertx, new GrpcClientOptions().setMaxMessageSize(MAX_GRPC_MESSAGE_BYTES)
        .setTimeout(10).setTimeoutUnit(TimeUnit.SECONDS).setScheduleDeadlineAutomatically(true), clientOptions());
    // Followers fetch over their own HTTP/2 client: answers of megabytes are gathered once, at their
    // size (UnaryGrpcCall), on connections whose frames spanning reads are linked, not copied.
    replicaHttp = vertx.httpClientBuilder().with(clientOptions()).withConnectHandler(FrameCumulation::linkReads)
        .build();
    replicaCalls = new UnaryGrpcCall(replicaHttp, REPLICA_FETCH_ANSWER_GRACE_MS, MAX_GRPC_MESSAGE_BYTES);
    controller = new ControllerChannel(vertx, grpcClient, config.voters());
    GrpcServer grpc = GrpcServer.server(vertx, new GrpcServerOptions().setMaxMessageSize(MAX_GRPC_MESSAGE_BYTES));
    grpc.addService(TopicAdminGrpcService.of(new TopicAdminApi()));
    RecordsApi recordsApi = new RecordsApi();
    records = recordsApi;
    List<io.vertx.grpc.common.ServiceMethod<?, ?>> recordMethods = new ArrayList<>(RecordsGrpcService.all());
    recordMethods.remove(RecordsGrpcService.Fetch);
    recordMethods.remove(RecordsGrpcService.Produce);
    grpc.addService(RecordsGrpcService.builder(recordsApi).bind(recordMethods).build());
    // Produce and Fetch carry records: served from the HTTP/2 request itself, which keeps from copying
    // them; the gRPC server's bindings (with their own no-copy codecs) take the other wire formats.
    serveUnary(grpc, PRODUCE, recordsApi::produce);
    serveUnary(grpc, FetchAnswerEncoder.FETCH, recordsApi::fetch);
    UnaryGrpcRoute recordsRoute = new UnaryGrpcRoute(grpc, MAX_GRPC_MESSAGE_BYTES)
        .serve(RecordsGrpcService.SERVICE_NAME, "Produce", ProduceRequest.parser(),
            UnaryGrpcRoute.<ProduceResponse>plainEncoder(), recordsApi::produce)
        .serve(RecordsGrpcService.SERVICE_NAME, "Fetch", FetchRequest.parser(), FetchAnswerEncoder::body,
            recordsApi::fetch);
    groups = new io.raftline.broker.group.GroupCoordinatorApi(context, new OffsetsTopic(),
        io.raftline.broker.group.GroupCoordinator.Config.DEFAULT);
    grpc.addService(io.raftline.protocol.group.GroupCoordinatorGrpcService.of(groups));
    groups.start();
    readHighWatermarkCheckpoints()
        .compose(v -> currentImage())
        .compose(v -> {
          // Only now are the image's partitions hosted: a checkpoint written earlier would drop them.
          highWatermarkCheckpointTimer = vertx.setPeriodic(config.highWatermarkCheckpointIntervalMs(),
              id -> checkpointHighWatermarks());
          return Future.<Void>succeededFuture();
        })
        .compose(v -> vertx.createHttpServer(new HttpServerOptions().setHost(config.host()).setPort(config.port())
                .setInitialSettings(receiveSettings()).setHttp2ConnectionWindowSize(2 * RECEIVE_WINDOW_BYTES))
            .connectionHandler(FrameCumulation::linkReads).requestHandler(recordsRoute).listen())
        .compose(s -> {
          server = s;
          return registerUntilDone();
        })
        .compose(v -> {
          heartbeat();
          return unfenced.future();
        })
        .onSuccess(v -> {
          scheduleRetention();
          scheduleCleaning();
          scheduleIsrCheck();
        })
        .onComplete(startPromise);
  }

  @Override
  public void stop(Promise<Void> stopPromise) {
    stopping = true;
    subscriptions.forEach(ConsumerSubscription::close);
    subscriptions.clear();
    vertx.cancelTimer(heartbeatTimer);
    vertx.cancelTimer(isrCheckTimer);
    vertx.cancelTimer(highWatermarkCheckpointTimer);
    controlledShutdown().onComplete(ar -> release(stopPromise));
  }

  /**
   * Asks the controller to move this broker's leaderships away and fence it, so clients move on
   * before the broker goes. Bounded: a controller that cannot be reached does not hold the stop.
   */
  private Future<Void> controlledShutdown() {
    if (brokerEpoch < 0 || controller == null) {
      return Future.succeededFuture();
    }
    BrokerHeartbeatRequest request = BrokerHeartbeatRequest.newBuilder().setBrokerId(config.nodeId())
        .setBrokerEpoch(brokerEpoch).setCurrentMetadataOffset(image.offset()).setWantShutDown(true).build();
    return controller.call(c -> c.brokerHeartbeat(request), BrokerHeartbeatResponse::getError,
            BrokerHeartbeatResponse::getLeaderId, CONTROLLED_SHUTDOWN_TIMEOUT_MS)
        .onSuccess(r -> LOG.log(System.Logger.Level.INFO, "broker {0}: controlled shutdown {1}", config.nodeId(),
            r.getShouldShutDown() ? "done" : "refused: " + r.getError()))
        .onFailure(t -> LOG.log(System.Logger.Level.WARNING, "broker {0}: controlled shutdown skipped: {1}",
            config.nodeId(), t.getMessage()))
        .<Void>mapEmpty().recover(t -> Future.succeededFuture());
  }

  private void release(Promise<Void> stopPromise) {
    List<Future<?>> closingAll = new ArrayList<>(closing.values());
    if (metadataConsumer != null) {
      closingAll.add(metadataConsumer.unregister());
    }
    if (server != null) {
      closingAll.add(server.close());
    }
    if (grpcClient != null) {
      closingAll.add(grpcClient.close());
    }
    if (replicaHttp != null) {
      closingAll.add(replicaHttp.close());
    }
    fetchers.values().forEach(ReplicaFetcher::stop);
    fetchers.clear();
    // Taken before the logs close: what they hold now is what the next start may serve at once.
    Map<Path, Map<TopicPartition, Long>> finalHighWatermarks = highWatermarksByLogDir();
    for (HostedPartition p : partitions.values()) {
      p.failPendingAcks(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      closingAll.add(p.close(false));
    }
    partitions.clear();
    if (logCleaner != null) {
      // A pass still building finds its partition closed at the swap and discards its files.
      closingAll.add(logCleaner.close());
    }
    metrics.close();
    if (groups != null) {
      groups.close();
    }
    Future.join(closingAll)
        .transform(closed -> highWatermarkCheckpointWrite.transform(ar -> writeHighWatermarks(finalHighWatermarks))
            .transform(written -> closed.succeeded() ? Future.<Void>succeededFuture() : Future.<Void>failedFuture(closed.cause())))
        .onComplete(stopPromise);
  }

  // ---- metadata ----------------------------------------------------------------------------------

  private Future<Void> currentImage() {
    Promise<Void> done = Promise.promise();
    askForImage(done);
    return done.future();
  }

  private void askForImage(Promise<Void> done) {
    vertx.eventBus().<MetadataImage>request(config.metadataAddress() + CURRENT_IMAGE_SUFFIX, null)
        .onSuccess(reply -> {
          onImage(reply.body());
          done.complete();
        })
        .onFailure(t -> vertx.setTimer(50, id -> askForImage(done)));
  }

  private void onMetadata(MetadataUpdate update) {
    if (update.image().offset() <= image.offset()) {
      return;
    }
    LocalReplicaChanges changes = update.baseOffset() == image.offset()
        ? LocalReplicaChanges.of(update.delta(), update.image(), config.nodeId())
        : LocalReplicaChanges.between(image, update.image(), config.nodeId());
    apply(update.image(), changes);
  }

  private void onImage(MetadataImage next) {
    if (next.offset() > image.offset()) {
      apply(next, LocalReplicaChanges.between(image, next, config.nodeId()));
    }
  }

  private void apply(MetadataImage next, LocalReplicaChanges changes) {
    changes.fenced().ifPresent(nowFenced -> {
      fencedInImage = nowFenced;
      LOG.log(System.Logger.Level.INFO, "broker {0} is {1} in the metadata image", config.nodeId(),
          nowFenced ? "fenced" : "unfenced");
    });
    for (TopicPartition tp : changes.deletes()) {
      stopFollowing(tp);
      HostedPartition gone = partitions.remove(tp);
      groupLeadershipLost(tp);
      if (gone != null) {
        gone.leadership = null;
        gone.failPendingAcks(ErrorCode.NOT_LEADER_OR_FOLLOWER);
        retire(tp, gone);
      }
      wakeFetchers(tp);
    }
    Map<TopicPartition, PartitionRegistration> hosted = new HashMap<>(changes.leaders());
    hosted.putAll(changes.followers());
    hosted.forEach((tp, registration) -> {
      UUID topicId = next.topic(tp.topic()).orElseThrow().id();
      HostedPartition current = partitions.get(tp);
      if (current != null && current.topicId.equals(topicId)) {
        current.registration = registration;
        return;
      }
      if (current != null) {
        stopFollowing(tp);
        current.leadership = null;
        current.failPendingAcks(ErrorCode.NOT_LEADER_OR_FOLLOWER);
        retire(tp, current);
      }
      Future<Void> previousClosed = closing.getOrDefault(tp, Future.succeededFuture());
      partitions.put(tp, new HostedPartition(vertx, tp, topicId, registration, previousClosed,
          () -> locateLogDir(tp), logConfigFor(next, tp.topic()), () -> flushPolicyFor(tp.topic()),
          logDir -> takeCheckpointedHighWatermark(logDir, tp)));
    });
    image = next;
    if (!stopping) {
      long now = System.currentTimeMillis();
      changes.leaders().forEach((tp, registration) -> becomeLeader(partitions.get(tp), registration, now));
      changes.followers().forEach((tp, registration) -> becomeFollower(partitions.get(tp), registration));
    }
    countLeaderships();
    for (Iterator<OffsetWaiter> it = offsetWaiters.iterator(); it.hasNext(); ) {
      OffsetWaiter w = it.next();
      if (image.offset() >= w.offset) {
        it.remove();
        vertx.cancelTimer(w.timerId);
        w.promise.complete();
      }
    }
  }

  // ---- replication -------------------------------------------------------------------------------

  /**
   * This broker leads {@code hp} as of {@code registration}. A new leadership first records its epoch
   * in the log (so followers of the old epoch learn where it ended here), then starts tracking the
   * followers; until then produce and fetch answer LEADER_NOT_AVAILABLE. The same leadership with a
   * new ISR or replica set only updates the tracking.
   */
  private void becomeLeader(HostedPartition hp, PartitionRegistration registration, long now) {
    stopFollowing(hp.topicPartition);
    if (!registered) {
      // The image may be this broker's own from before a crash: leading from it could continue a
      // leader epoch with a shorter log than the followers hold. This incarnation's registration
      // moves such leaderships away (with new epochs); roles are taken once it is in the image.
      return;
    }
    InSyncReplicas current = hp.leadership;
    if (current != null && current.registration().leaderEpoch() == registration.leaderEpoch()) {
      if (current.registrationChanged(registration, now)) {
        highWatermarkAdvanced(hp);
      }
      return;
    }
    hp.leadership = null;
    int epoch = registration.leaderEpoch();
    record Start(long startOffset, long endOffset, int latestEpoch) {}
    hp.submit(log -> {
      log.assignEpochStart(epoch);
      return new Start(log.startOffset(), log.endOffset(), log.latestEpoch());
    }).onSuccess(start -> {
      if (partitions.get(hp.topicPartition) != hp || hp.registration.leader() != config.nodeId()
          || hp.registration.leaderEpoch() != epoch || hp.leadership != null || stopping) {
        return;
      }
      hp.endOffset = start.endOffset();
      hp.logStartOffset = start.startOffset();
      hp.latestEpoch = start.latestEpoch();
      hp.leadership = new InSyncReplicas(config.nodeId(), hp.registration, start.endOffset(), start.endOffset(),
          Math.max(hp.highWatermark, start.startOffset()), System.currentTimeMillis());
      LOG.log(System.Logger.Level.DEBUG, "broker {0} leads {1} in epoch {2} from offset {3}", config.nodeId(),
          hp.topicPartition, epoch, start.endOffset());
      highWatermarkAdvanced(hp);
      if (hp.topicPartition.topic().equals(io.raftline.broker.group.GroupCoordinator.OFFSETS_TOPIC)) {
        groups.onLeadershipGained(hp.topicPartition.partition(), epoch);
      }
    }).onFailure(t -> LOG.log(System.Logger.Level.WARNING, "broker " + config.nodeId() + " could not take the lead of "
        + hp.topicPartition, t));
  }

  /** Leads or follows every hosted partition as the current image says (after registering). */
  private void takeRolesFromImage() {
    long now = System.currentTimeMillis();
    for (HostedPartition hp : List.copyOf(partitions.values())) {
      if (hp.registration.leader() == config.nodeId()) {
        becomeLeader(hp, hp.registration, now);
      } else {
        becomeFollower(hp, hp.registration);
      }
    }
  }

  /** Publishes the leadership gauges (as the image says, so a partition still opening counts too). */
  private void countLeaderships() {
    int leading = 0;
    int under = 0;
    int underMinIsr = 0;
    Map<String, Integer> minIsrByTopic = new HashMap<>();
    for (HostedPartition hp : partitions.values()) {
      if (hp.registration.leader() == config.nodeId()) {
        leading++;
        int isr = hp.registration.isr().size();
        if (isr < hp.registration.replicas().size()) {
          under++;
        }
        String topic = hp.topicPartition.topic();
        if (isr < minIsrByTopic.computeIfAbsent(topic,
            t -> Integer.parseInt(effectiveConfig(image, t, "min.insync.replicas")))) {
          underMinIsr++;
        }
      }
    }
    metrics.leaderPartitions.set(leading);
    metrics.underReplicatedPartitions.set(under);
    metrics.underMinIsrPartitions.set(underMinIsr);
  }

  /** This broker follows {@code hp}: acks waiting on its leadership fail, and fetching starts. */
  private void becomeFollower(HostedPartition hp, PartitionRegistration registration) {
    TopicPartition tp = hp.topicPartition;
    if (hp.leadership != null) {
      hp.leadership = null;
      hp.failPendingAcks(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      wakeFetchers(tp);
    }
    groupLeadershipLost(tp);
    int leader = registration.leader();
    if (leader == PartitionRegistration.NO_LEADER) {
      stopFollowing(tp);
      return;
    }
    ReplicaFetcher fetcher = fetchers.get(leader);
    if (fetcher != null && fetcher.follows(tp, registration.leaderEpoch())) {
      return;
    }
    stopFollowing(tp);
    fetchers.computeIfAbsent(leader, id -> new ReplicaFetcher(vertx, replicaCalls, config.nodeId(), id, config,
            () -> Optional.ofNullable(image.brokers().get(id)).flatMap(b -> b.listener(config.listenerName()))
                .map(l -> io.vertx.core.net.SocketAddress.inetSocketAddress(l.port(), l.host())),
            partitions::get, () -> { }))
        .add(tp, registration.leaderEpoch());
  }

  private void groupLeadershipLost(TopicPartition tp) {
    if (tp.topic().equals(io.raftline.broker.group.GroupCoordinator.OFFSETS_TOPIC)) {
      groups.onLeadershipLost(tp.partition());
    }
  }

  private void stopFollowing(TopicPartition tp) {
    for (Iterator<ReplicaFetcher> it = fetchers.values().iterator(); it.hasNext(); ) {
      ReplicaFetcher f = it.next();
      f.remove(tp);
      if (f.isEmpty()) {
        f.stop();
        it.remove();
      }
    }
  }

  /** The leader's high watermark moved up: acks=all produces below it complete, consumers wake. */
  private void highWatermarkAdvanced(HostedPartition hp) {
    if (hp.leadership != null) {
      hp.highWatermark = Math.max(hp.highWatermark, hp.leadership.highWatermark());
    }
    hp.completeAcksBelowHighWatermark();
    wakeWaiters(consumerWaiters, hp.topicPartition);
  }

  private void scheduleIsrCheck() {
    isrCheckTimer = vertx.setTimer(Math.max(1, config.replicaLagTimeMaxMs() / 2), id -> {
      if (stopping) {
        return;
      }
      for (HostedPartition hp : List.copyOf(partitions.values())) {
        maybeChangeIsr(hp);
      }
      scheduleIsrCheck();
    });
  }

  /**
   * Asks the controller for the ISR this leader now wants (laggers out, caught-up replicas in), one
   * change at a time per partition. The image brings the committed result; a refusal (stale partition
   * epoch, fenced leader epoch, ineligible replica) is retried after a pause, by when the image has
   * usually settled the cause.
   */
  private void maybeChangeIsr(HostedPartition hp) {
    InSyncReplicas leadership = hp.leadership;
    long now = System.currentTimeMillis();
    if (leadership == null || brokerEpoch < 0 || now < hp.isrRetryAtMs) {
      return;
    }
    leadership.proposeIsrChange(now, config.replicaLagTimeMaxMs()).ifPresent(isr -> {
      PartitionRegistration base = leadership.registration();
      LOG.log(System.Logger.Level.INFO, "broker {0}: asking to change the ISR of {1} from {2} to {3}",
          config.nodeId(), hp.topicPartition, base.isr(), isr);
      AlterPartitionRequest request = AlterPartitionRequest.newBuilder().setBrokerId(config.nodeId())
          .setBrokerEpoch(brokerEpoch)
          .addPartitions(PartitionIsrChange.newBuilder().setTopic(hp.topicPartition.topic())
              .setPartition(hp.topicPartition.partition()).setLeaderEpoch(base.leaderEpoch())
              .setPartitionEpoch(base.partitionEpoch()).addAllNewIsr(isr))
          .build();
      controller.call(c -> c.alterPartition(request), AlterPartitionResponse::getError,
              AlterPartitionResponse::getLeaderId, ADMIN_TIMEOUT_MS)
          .onComplete(ar -> {
            if (hp.leadership != leadership) {
              return;
            }
            PartitionIsrResult result = ar.succeeded() && ar.result().getError() == ErrorCode.NONE
                && ar.result().getResultsCount() == 1 ? ar.result().getResults(0) : null;
            if (result == null || result.getError() != ErrorCode.NONE) {
              String why = ar.failed() ? ar.cause().getMessage() : result == null
                  ? ar.result().getError() + " " + ar.result().getErrorMessage()
                  : result.getError() + " " + result.getErrorMessage();
              LOG.log(System.Logger.Level.INFO, "broker {0}: ISR change of {1} refused: {2}", config.nodeId(),
                  hp.topicPartition, why);
              leadership.proposalFailed();
              hp.isrRetryAtMs = System.currentTimeMillis() + ISR_RETRY_BACKOFF_MS;
            } else if (result.getPartitionEpoch() == base.partitionEpoch()) {
              // Nothing needed writing (the ISR already was this): no image change will settle it.
              leadership.proposalFailed();
            } else {
              (isr.size() < base.isr().size() ? metrics.isrShrinks : metrics.isrExpands).increment();
            }
          });
    });
  }

  // ---- high watermark checkpoint -----------------------------------------------------------------

  /**
   * Reads every log dir's replication-offset-checkpoint on a worker. A missing file is no checkpoint;
   * one that cannot be read whole is ignored with a warning: the high watermark is an optimisation,
   * and starting from the log start (until the followers fetch) is always safe.
   */
  private Future<Void> readHighWatermarkCheckpoints() {
    return vertx.executeBlocking(() -> {
      Map<Path, Map<TopicPartition, Long>> read = new HashMap<>();
      for (Path dir : config.logDirs()) {
        Path logDir = dir.toAbsolutePath().normalize();
        Path file = logDir.resolve(io.raftline.broker.log.ReplicationOffsetCheckpoint.FILE_NAME);
        try {
          read.put(logDir, new HashMap<>(io.raftline.broker.log.ReplicationOffsetCheckpoint.read(file)));
        } catch (java.io.IOException | RuntimeException e) {
          LOG.log(System.Logger.Level.WARNING, "broker {0}: ignoring {1}, which cannot be read ({2}); high "
              + "watermarks start at the log start", config.nodeId(), file, e.getMessage());
        }
      }
      return read;
    }, false).map(read -> {
      read.forEach((dir, offsets) -> {
        checkpointedHighWatermarks.put(dir, offsets);
        writtenHighWatermarks.put(dir, Map.copyOf(offsets));
      });
      return (Void) null;
    });
  }

  /** The checkpointed high watermark of {@code tp} in {@code logDir}, or -1; each is used once. */
  private long takeCheckpointedHighWatermark(Path logDir, TopicPartition tp) {
    Map<TopicPartition, Long> offsets = checkpointedHighWatermarks.get(logDir);
    Long offset = offsets == null ? null : offsets.remove(tp);
    return offset == null ? -1 : offset;
  }

  /**
   * The high watermark of every hosted partition by log dir: an open log's current one, and for a
   * log still opening the value read at start-up, so a checkpoint written meanwhile keeps it.
   */
  private Map<Path, Map<TopicPartition, Long>> highWatermarksByLogDir() {
    Map<Path, Map<TopicPartition, Long>> byDir = new HashMap<>();
    for (Path dir : config.logDirs()) {
      byDir.put(dir.toAbsolutePath().normalize(), new HashMap<>());
    }
    checkpointedHighWatermarks.forEach((dir, offsets) -> offsets.forEach((tp, offset) -> {
      HostedPartition hp = partitions.get(tp);
      if (hp != null && !hp.isOpen() && byDir.containsKey(dir)) {
        byDir.get(dir).put(tp, offset);
      }
    }));
    for (HostedPartition hp : partitions.values()) {
      if (hp.isOpen() && hp.logDir != null && byDir.containsKey(hp.logDir)) {
        byDir.get(hp.logDir).put(hp.topicPartition, hp.highWatermark);
      }
    }
    return byDir;
  }

  /** Writes the log dirs whose high watermarks changed, unless a write is still in progress. */
  private void checkpointHighWatermarks() {
    if (stopping || !highWatermarkCheckpointWrite.isComplete()) {
      return;
    }
    highWatermarkCheckpointWrite = writeHighWatermarks(highWatermarksByLogDir());
  }

  /** Writes, on a worker, each log dir's checkpoint whose contents differ from the file's. */
  private Future<Void> writeHighWatermarks(Map<Path, Map<TopicPartition, Long>> byDir) {
    Map<Path, Map<TopicPartition, Long>> changed = new HashMap<>();
    byDir.forEach((dir, offsets) -> {
      if (!offsets.equals(writtenHighWatermarks.getOrDefault(dir, Map.of()))) {
        changed.put(dir, offsets);
      }
    });
    if (changed.isEmpty()) {
      return Future.succeededFuture();
    }
    return vertx.executeBlocking(() -> {
      for (Map.Entry<Path, Map<TopicPartition, Long>> e : changed.entrySet()) {
        io.raftline.broker.log.ReplicationOffsetCheckpoint.write(
            e.getKey().resolve(io.raftline.broker.log.ReplicationOffsetCheckpoint.FILE_NAME), e.getValue());
      }
      return (Void) null;
    }, false).onSuccess(v -> writtenHighWatermarks.putAll(changed))
        .onFailure(t -> LOG.log(System.Logger.Level.WARNING, "broker " + config.nodeId()
            + ": writing the high watermark checkpoint failed", t))
        .recover(t -> Future.succeededFuture());
  }

  // ---- retention and compaction ------------------------------------------------------------------

  private String effectiveConfig(MetadataImage img, String topic, String key) {
    return TopicConfigs.effective(img.configsOf(new ConfigResource(ConfigResource.Type.TOPIC, topic)),
        img.configsOf(new ConfigResource(ConfigResource.Type.BROKER, "")), key);
  }

  /**
   * The largest record batch a topic accepts: its {@code max.message.bytes}, else the cluster-wide
   * {@code message.max.bytes}, else this node's own {@code message.max.bytes} (Kafka's order).
   */
  private int maxMessageBytes(MetadataImage img, String topic) {
    Map<String, String> topicConfigs = img.configsOf(new ConfigResource(ConfigResource.Type.TOPIC, topic));
    Map<String, String> clusterDefaults = img.configsOf(new ConfigResource(ConfigResource.Type.BROKER, ""));
    if (!topicConfigs.containsKey("max.message.bytes") && !clusterDefaults.containsKey("message.max.bytes")) {
      return config.maxMessageBytes();
    }
    return Integer.parseInt(TopicConfigs.effective(topicConfigs, clusterDefaults, "max.message.bytes"));
  }

  /** Segment settings of a topic's logs, from its configs (set when the log opens). */
  private io.raftline.broker.log.LogConfig logConfigFor(MetadataImage img, String topic) {
    return io.raftline.broker.log.LogConfig.DEFAULT
        .withSegmentBytes(Long.parseLong(effectiveConfig(img, topic, "segment.bytes")))
        .withSegmentMs(Long.parseLong(effectiveConfig(img, topic, "segment.ms")));
  }

  /**
   * A topic's fsync policy: flush.messages / flush.ms set on the topic, else the cluster-wide dynamic
   * default, else this node's log.flush.interval.messages / log.flush.interval.ms. Asked for at every
   * append, so it is cached until the image changes.
   */
  private io.raftline.broker.log.FlushPolicy flushPolicyFor(String topic) {
    if (flushPoliciesImage != image) {
      flushPolicies.clear();
      flushPoliciesImage = image;
    }
    return flushPolicies.computeIfAbsent(topic, t -> {
      Map<String, String> defaults = new HashMap<>();
      defaults.put("log.flush.interval.messages", Long.toString(config.logFlushIntervalMessages()));
      defaults.put("log.flush.interval.ms", Long.toString(config.logFlushIntervalMs()));
      defaults.putAll(image.configsOf(new ConfigResource(ConfigResource.Type.BROKER, "")));
      Map<String, String> topicConfigs = image.configsOf(new ConfigResource(ConfigResource.Type.TOPIC, t));
      try {
        return new io.raftline.broker.log.FlushPolicy(
            Long.parseLong(TopicConfigs.effective(topicConfigs, defaults, "flush.messages")),
            Long.parseLong(TopicConfigs.effective(topicConfigs, defaults, "flush.ms")));
      } catch (IllegalArgumentException e) {
        // The controller validates configs; should a bad one get through, the node's own policy holds.
        LOG.log(System.Logger.Level.WARNING, "topic {0}: ignoring an invalid flush config ({1})", t, e.getMessage());
        return new io.raftline.broker.log.FlushPolicy(config.logFlushIntervalMessages(), config.logFlushIntervalMs());
      }
    });
  }

  private void scheduleRetention() {
    vertx.setTimer(config.retentionCheckIntervalMs(), id -> {
      if (stopping) {
        return;
      }
      enforceRetention().onComplete(ar -> scheduleRetention());
    });
  }

  /**
   * One pass over the hosted partitions: delete segments past retention.ms / retention.bytes for
   * cleanup.policy=delete, in the partition's worker queue between appends. Compaction is the
   * cleaner's ({@link #cleanCompacted}).
   */
  Future<Void> enforceRetention() {
    MetadataImage img = image;
    long now = System.currentTimeMillis();
    List<Future<?>> passes = new ArrayList<>();
    for (HostedPartition hp : partitions.values()) {
      String topic = hp.topicPartition.topic();
      if (!effectiveConfig(img, topic, "cleanup.policy").contains("delete")) {
        continue;
      }
      long highWatermark = hp.leadership != null ? hp.highWatermark : Long.MAX_VALUE;
      long retentionMs = Long.parseLong(effectiveConfig(img, topic, "retention.ms"));
      long retentionBytes = Long.parseLong(effectiveConfig(img, topic, "retention.bytes"));
      passes.add(hp.submit(log -> {
        log.deleteExpiredSegments(now, retentionMs, retentionBytes, highWatermark);
        return log.startOffset();
      }).onSuccess(start -> hp.logStartOffset = start)
          .onFailure(t -> LOG.log(System.Logger.Level.WARNING, "retention of " + hp.topicPartition + " failed", t)));
    }
    return Future.join(passes).<Void>mapEmpty().recover(t -> Future.succeededFuture());
  }

  /** Every log.cleaner.backoff.ms the cleaner looks for work; with log.cleaner.enable=false, never. */
  private void scheduleCleaning() {
    if (!config.cleaner().enable()) {
      LOG.log(System.Logger.Level.INFO, "broker " + config.nodeId() + ": log.cleaner.enable=false, compacted "
          + "topics are not cleaned");
      return;
    }
    vertx.setTimer(config.cleaner().backoffMs(), id -> {
      if (stopping) {
        return;
      }
      cleanCompacted();
      scheduleCleaning();
    });
  }

  /**
   * Starts a cleaning pass ({@link HostedPartition#clean}) on every hosted cleanup.policy=compact
   * partition not being cleaned; a pass runs only if its dirty share reaches the topic's
   * min.cleanable.dirty.ratio. The long part runs on the cleaner's own threads, so produce is never
   * stalled behind it; this does not wait for the passes.
   */
  private void cleanCompacted() {
    MetadataImage img = image;
    long now = System.currentTimeMillis();
    long mapBytes = config.cleaner().mapBytesPerPass();
    int uncleanable = 0;
    for (HostedPartition hp : partitions.values()) {
      String topic = hp.topicPartition.topic();
      if (hp.uncleanable()) {
        uncleanable++;
      }
      if (!effectiveConfig(img, topic, "cleanup.policy").contains("compact") || !hp.isOpen()) {
        continue;
      }
      long deleteRetentionMs = Long.parseLong(effectiveConfig(img, topic, "delete.retention.ms"));
      double ratio = minCleanableDirtyRatio(img.configsOf(new ConfigResource(ConfigResource.Type.TOPIC, topic)),
          img.configsOf(new ConfigResource(ConfigResource.Type.BROKER, "")), config.cleaner());
      boolean wasUncleanable = hp.uncleanable();
      hp.clean(logCleaner(), new HostedPartition.CleaningSettings(now, deleteRetentionMs, ratio, mapBytes),
              HostedPartition.CleanerHook.NONE)
          .onSuccess(r -> {
            if (!wasUncleanable && hp.uncleanable()) {
              // Shown at once; the next look recounts (a partition that went or moved on drops out).
              metrics.uncleanablePartitions.incrementAndGet();
            }
          })
          .onFailure(t -> LOG.log(System.Logger.Level.WARNING, "cleaning " + hp.topicPartition + " failed", t));
    }
    metrics.uncleanablePartitions.set(uncleanable);
  }

  /**
   * A topic's min.cleanable.dirty.ratio: set on the topic, else the cluster-wide dynamic
   * log.cleaner.min.cleanable.ratio, else this node's log.cleaner.min.cleanable.ratio. A bad value (the
   * controller validates them, so only an old one) falls back to the node's.
   */
  static double minCleanableDirtyRatio(Map<String, String> topicConfigs, Map<String, String> clusterDefaults,
      BrokerConfig.Cleaner cleaner) {
    Map<String, String> defaults = new HashMap<>();
    defaults.put("log.cleaner.min.cleanable.ratio", Double.toString(cleaner.minCleanableRatio()));
    defaults.putAll(clusterDefaults);
    String value = TopicConfigs.effective(topicConfigs, defaults, "min.cleanable.dirty.ratio");
    if (TopicConfigs.problem("min.cleanable.dirty.ratio", value).isPresent()) {
      return cleaner.minCleanableRatio();
    }
    return Double.parseDouble(value.trim());
  }

  /**
   * The log cleaner's threads, shared by every partition (log.cleaner.threads), created on first use
   * so a node without compacted topics holds none.
   */
  private io.vertx.core.WorkerExecutor logCleaner() {
    if (logCleaner == null) {
      logCleaner = vertx.createSharedWorkerExecutor("raftline-log-cleaner-" + config.nodeId(),
          config.cleaner().threads());
    }
    return logCleaner;
  }

  /** Deletes a partition's log; until that is done, a new partition of the same name waits. */
  private void retire(TopicPartition tp, HostedPartition partition) {
    Future<Void> deleted = partition.close(true)
        .onFailure(t -> LOG.log(System.Logger.Level.WARNING, "deleting " + tp + " failed", t));
    closing.put(tp, deleted);
    deleted.onComplete(ar -> closing.remove(tp, deleted));
  }

  /** Runs on a worker: an existing directory for the partition, else the log dir holding the fewest. */
  private Path locateLogDir(TopicPartition tp) throws java.io.IOException {
    String name = tp.topic() + "-" + tp.partition();
    for (Path dir : config.logDirs()) {
      if (Files.isDirectory(dir.resolve(name))) {
        return dir.resolve(name);
      }
    }
    if (config.logDirs().size() == 1) {
      return config.logDirs().get(0).resolve(name);
    }
    Path best = null;
    long fewest = Long.MAX_VALUE;
    for (Path dir : config.logDirs()) {
      Files.createDirectories(dir);
      long count;
      try (var entries = Files.list(dir)) {
        count = entries.count();
      }
      if (count < fewest) {
        fewest = count;
        best = dir;
      }
    }
    return best.resolve(name);
  }

  /** Completes once the local image has applied {@code offset}. */
  private Future<Void> awaitImageOffset(long offset) {
    if (image.offset() >= offset) {
      return Future.succeededFuture();
    }
    OffsetWaiter w = new OffsetWaiter(offset, Promise.promise());
    w.timerId = vertx.setTimer(ADMIN_TIMEOUT_MS, id -> {
      offsetWaiters.remove(w);
      w.promise.fail(new ControllerChannel.ControllerUnavailableException(
          "the change committed at metadata offset " + offset + " did not reach this broker in time"));
    });
    offsetWaiters.add(w);
    return w.promise.future();
  }

  private static final class OffsetWaiter {
    final long offset;
    final Promise<Void> promise;
    long timerId;

    OffsetWaiter(long offset, Promise<Void> promise) {
      this.offset = offset;
      this.promise = promise;
    }
  }

  private Future<Void> registerUntilDone() {
    RegisterBrokerRequest request = RegisterBrokerRequest.newBuilder()
        .setBrokerId(config.nodeId()).setIncarnationId(incarnationId).setClusterId(config.clusterId())
        .setRack(config.rack())
        .addListeners(Endpoint.newBuilder().setListenerName(config.listenerName())
            .setHost(config.advertised() != null ? config.advertised().host() : config.host())
            .setPort(config.advertised() != null ? config.advertised().port() : server.actualPort()))
        .build();
    return controller.call(c -> c.registerBroker(request), RegisterBrokerResponse::getError,
            RegisterBrokerResponse::getLeaderId, ADMIN_TIMEOUT_MS)
        .compose(r -> r.getError() == ErrorCode.NONE ? awaitImageOffset(r.getMetadataOffset()).map(v -> {
          brokerEpoch = r.getBrokerEpoch();
          LOG.log(System.Logger.Level.INFO, "broker {0} registered with epoch {1}", config.nodeId(), brokerEpoch);
          if (!registered) {
            registered = true;
            takeRolesFromImage();
          }
          return (Void) null;
        }) : Future.failedFuture(new IllegalStateException("registration refused: " + r.getError() + " "
            + r.getErrorMessage())))
        .recover(t -> {
          if (t instanceof IllegalStateException) {
            return Future.failedFuture(t);
          }
          LOG.log(System.Logger.Level.WARNING, "broker registration not done yet, retrying: {0}", t.getMessage());
          return registerUntilDone();
        });
  }

  /** One heartbeat, then the next one scheduled; re-registers if the controller forgot this broker. */
  private void heartbeat() {
    if (stopping) {
      return;
    }
    BrokerHeartbeatRequest request = BrokerHeartbeatRequest.newBuilder().setBrokerId(config.nodeId())
        .setBrokerEpoch(brokerEpoch).setCurrentMetadataOffset(image.offset()).build();
    controller.call(c -> c.brokerHeartbeat(request), BrokerHeartbeatResponse::getError,
            BrokerHeartbeatResponse::getLeaderId, config.heartbeatIntervalMs())
        .onComplete(ar -> {
          if (stopping) {
            return;
          }
          if (ar.succeeded() && (ar.result().getError() == ErrorCode.STALE_BROKER_EPOCH
              || ar.result().getError() == ErrorCode.BROKER_ID_NOT_REGISTERED)) {
            LOG.log(System.Logger.Level.WARNING, "broker {0}: {1}; registering again", config.nodeId(),
                ar.result().getErrorMessage());
            registerUntilDone().onComplete(v -> heartbeat());
            return;
          }
          if (ar.succeeded() && ar.result().getError() == ErrorCode.NONE) {
            boolean wasFenced = fenced;
            fenced = ar.result().getIsFenced();
            if (wasFenced != fenced) {
              LOG.log(System.Logger.Level.INFO, "broker {0} is {1}", config.nodeId(), fenced ? "fenced" : "unfenced");
            }
            if (!fenced) {
              // Serve once this broker's own image shows the unfencing and the leaderships it brought.
              awaitImageOffset(ar.result().getMetadataOffset()).onComplete(x -> unfenced.tryComplete());
            }
          }
          heartbeatTimer = vertx.setTimer(fenced ? FENCED_HEARTBEAT_MS : config.heartbeatIntervalMs(),
              id -> heartbeat());
        });
  }

  // ---- topic admin -------------------------------------------------------------------------------

  private final class TopicAdminApi extends TopicAdminService {
    // The calls that wait for the controller's commit can outlive their caller; see RecordsApi.
    @Override
    protected void createTopics(CreateTopicsRequest request, Completable<CreateTopicsResponse> answer) {
      createTopics(request).onComplete(Answers.toCaller("CreateTopics", answer));
    }

    @Override
    protected void deleteTopics(DeleteTopicsRequest request, Completable<DeleteTopicsResponse> answer) {
      deleteTopics(request).onComplete(Answers.toCaller("DeleteTopics", answer));
    }

    @Override
    protected void createPartitions(CreatePartitionsRequest request, Completable<CreatePartitionsResponse> answer) {
      createPartitions(request).onComplete(Answers.toCaller("CreatePartitions", answer));
    }

    @Override
    protected void incrementalAlterConfigs(AlterConfigsRequest request, Completable<AlterConfigsResponse> answer) {
      incrementalAlterConfigs(request).onComplete(Answers.toCaller("IncrementalAlterConfigs", answer));
    }

    @Override
    public Future<CreateTopicsResponse> createTopics(CreateTopicsRequest request) {
      List<String> names = request.getTopicsList().stream().map(t -> t.getName()).toList();
      return forward(c -> c.createTopics(request), names)
          .map(results -> CreateTopicsResponse.newBuilder().addAllResults(results).build());
    }

    @Override
    public Future<DeleteTopicsResponse> deleteTopics(DeleteTopicsRequest request) {
      return forward(c -> c.deleteTopics(request), request.getNamesList())
          .map(results -> DeleteTopicsResponse.newBuilder().addAllResults(results).build());
    }

    @Override
    public Future<ListTopicsResponse> listTopics(ListTopicsRequest request) {
      List<String> names = image.topicIdsByName().keySet().stream()
          .filter(n -> request.getIncludeInternal() || !TopicName.isInternal(n)).sorted().toList();
      return Future.succeededFuture(ListTopicsResponse.newBuilder().addAllNames(names).build());
    }

    @Override
    public Future<DescribeTopicsResponse> describeTopics(DescribeTopicsRequest request) {
      MetadataImage snapshot = image;
      List<String> names = request.getNamesCount() > 0 ? request.getNamesList()
          : snapshot.topicIdsByName().keySet().stream().filter(n -> !TopicName.isInternal(n)).sorted().toList();
      DescribeTopicsResponse.Builder response = DescribeTopicsResponse.newBuilder();
      for (String name : names) {
        Optional<TopicImage> topic = snapshot.topic(name);
        if (topic.isEmpty()) {
          response.addTopics(TopicDescription.newBuilder().setName(name).setError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
              .setErrorMessage("topic " + name + " does not exist"));
          continue;
        }
        TopicDescription.Builder d = TopicDescription.newBuilder().setName(name).setTopicId(topic.get().id().toString());
        topic.get().partitions().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> d.addPartitions(
            PartitionDescription.newBuilder().setPartition(e.getKey()).setLeader(e.getValue().leader())
                .setLeaderEpoch(e.getValue().leaderEpoch()).addAllReplicas(e.getValue().replicas())
                .addAllIsr(e.getValue().isr())));
        response.addTopics(d);
      }
      snapshot.brokers().values().stream().sorted(Comparator.comparingInt(b -> b.id())).forEach(b ->
          b.listener(config.listenerName()).ifPresent(l -> response.addBrokers(BrokerNode.newBuilder()
              .setId(b.id()).setHost(l.host()).setPort(l.port()).setRack(b.rack()))));
      return Future.succeededFuture(response.build());
    }

    @Override
    public Future<CreatePartitionsResponse> createPartitions(CreatePartitionsRequest request) {
      List<String> names = request.getTopicsList().stream().map(t -> t.getTopic()).toList();
      return forward(c -> c.createPartitions(request), names)
          .map(results -> CreatePartitionsResponse.newBuilder().addAllResults(results).build());
    }

    @Override
    public Future<AlterConfigsResponse> incrementalAlterConfigs(AlterConfigsRequest request) {
      return controller.call(c -> c.incrementalAlterConfigs(request), ControllerAlterConfigsResponse::getError,
              ControllerAlterConfigsResponse::getLeaderId, ADMIN_TIMEOUT_MS)
          .compose(r -> r.getError() != ErrorCode.NONE
              ? Future.succeededFuture(failAllResources(request, r.getError(), r.getErrorMessage()))
              : awaitImageOffset(r.getMetadataOffset()).map(v -> AlterConfigsResponse.newBuilder()
                  .addAllResults(r.getResultsList()).build()))
          .recover(t -> Future.succeededFuture(failAllResources(request, ErrorCode.REQUEST_TIMED_OUT, t.getMessage())));
    }

    private AlterConfigsResponse failAllResources(AlterConfigsRequest request, ErrorCode code, String message) {
      AlterConfigsResponse.Builder b = AlterConfigsResponse.newBuilder();
      request.getResourcesList().forEach(r -> b.addResults(ResourceResult.newBuilder().setResource(r.getResource())
          .setError(code).setErrorMessage(String.valueOf(message))));
      return b.build();
    }

    /**
     * Every known topic config with its value and source: set on the topic, set as a cluster-wide
     * broker default, or Raftline's default. BROKER resources list what was set on them.
     */
    @Override
    public Future<DescribeConfigsResponse> describeConfigs(DescribeConfigsRequest request) {
      MetadataImage snapshot = image;
      DescribeConfigsResponse.Builder response = DescribeConfigsResponse.newBuilder();
      Map<String, String> clusterDefaults = snapshot.configsOf(new ConfigResource(ConfigResource.Type.BROKER, ""));
      for (ConfigResourceName name : request.getResourcesList()) {
        ResourceConfigs.Builder out = ResourceConfigs.newBuilder().setResource(name);
        if (name.getType().equals("TOPIC")) {
          if (snapshot.topic(name.getName()).isEmpty()) {
            response.addResults(out.setError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
                .setErrorMessage("topic " + name.getName() + " does not exist"));
            continue;
          }
          Map<String, String> set = snapshot.configsOf(new ConfigResource(ConfigResource.Type.TOPIC, name.getName()));
          Map<String, String> brokerNames = new HashMap<>();
          TopicConfigs.BROKER_DEFAULT_NAMES.forEach((brokerKey, topicKey) -> brokerNames.put(topicKey, brokerKey));
          TopicConfigs.keys().forEach((key, def) -> {
            String clusterValue = brokerNames.containsKey(key) ? clusterDefaults.get(brokerNames.get(key)) : null;
            if (set.containsKey(key)) {
              out.addEntries(ConfigEntry.newBuilder().setName(key).setValue(set.get(key)).setSource("DYNAMIC_TOPIC_CONFIG"));
            } else if (clusterValue != null) {
              out.addEntries(ConfigEntry.newBuilder().setName(key).setValue(clusterValue)
                  .setSource("DYNAMIC_DEFAULT_BROKER_CONFIG"));
            } else {
              out.addEntries(ConfigEntry.newBuilder().setName(key).setValue(def.defaultValue()).setSource("DEFAULT_CONFIG"));
            }
          });
          response.addResults(out.setError(ErrorCode.NONE));
        } else if (name.getType().equals("BROKER")) {
          snapshot.configsOf(new ConfigResource(ConfigResource.Type.BROKER, name.getName())).forEach((k, v) ->
              out.addEntries(ConfigEntry.newBuilder().setName(k).setValue(v).setSource(name.getName().isEmpty()
                  ? "DYNAMIC_DEFAULT_BROKER_CONFIG" : "DYNAMIC_BROKER_CONFIG")));
          response.addResults(out.setError(ErrorCode.NONE));
        } else {
          response.addResults(out.setError(ErrorCode.INVALID_REQUEST)
              .setErrorMessage("resource type must be TOPIC or BROKER, got '" + name.getType() + "'"));
        }
      }
      return Future.succeededFuture(response.build());
    }

    /** Sends a topic change to the controller, then waits until this broker's image shows it. */
    private Future<List<TopicResult>> forward(
        Function<io.raftline.protocol.controller.ControllerClient, Future<ControllerTopicsResponse>> op,
        List<String> names) {
      return controller.call(op, ControllerTopicsResponse::getError, ControllerTopicsResponse::getLeaderId,
              ADMIN_TIMEOUT_MS)
          .compose(r -> {
            if (r.getError() != ErrorCode.NONE) {
              return Future.succeededFuture(failAll(names, r.getError(), r.getErrorMessage()));
            }
            return awaitImageOffset(r.getMetadataOffset()).map(v -> r.getResultsList());
          })
          .recover(t -> Future.succeededFuture(failAll(names, ErrorCode.REQUEST_TIMED_OUT, t.getMessage())));
    }

    private List<TopicResult> failAll(List<String> names, ErrorCode code, String message) {
      return names.stream().map(n -> TopicResult.newBuilder().setName(n).setError(code).setErrorMessage(message)
          .build()).toList();
    }
  }

  // ---- produce and fetch -------------------------------------------------------------------------

  /** The partition if this broker leads it, else the error to answer with (and the leader, if known). */
  private record Lookup(HostedPartition partition, ErrorCode error, String message, int leader) {}

  private Lookup leaderLookup(String topic, int partition) {
    Optional<TopicImage> t = image.topic(topic);
    PartitionRegistration reg = t.map(ti -> ti.partition(partition)).orElse(null);
    if (reg == null) {
      return new Lookup(null, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          t.isEmpty() ? "topic " + topic + " does not exist" : "topic " + topic + " has no partition " + partition, -1);
    }
    if (reg.leader() != config.nodeId()) {
      return new Lookup(null, ErrorCode.NOT_LEADER_OR_FOLLOWER,
          "broker " + config.nodeId() + " does not lead " + topic + "-" + partition + "; leader is " + reg.leader(),
          reg.leader());
    }
    HostedPartition hp = partitions.get(new TopicPartition(topic, partition));
    if (hp == null || hp.leadership == null) {
      return new Lookup(null, ErrorCode.LEADER_NOT_AVAILABLE,
          "broker " + config.nodeId() + " is still taking the lead of " + topic + "-" + partition, reg.leader());
    }
    return new Lookup(hp, ErrorCode.NONE, "", reg.leader());
  }

  private static ErrorCode errorCodeOf(Throwable t) {
    if (t instanceof io.raftline.broker.log.ProducerStateTable.ProducerStateException e) {
      return e.errorCode();
    }
    if (t instanceof StorageException || t instanceof java.io.IOException) {
      return ErrorCode.KAFKA_STORAGE_ERROR;
    }
    if (t instanceof OffsetOutOfRangeException) {
      return ErrorCode.OFFSET_OUT_OF_RANGE;
    }
    return ErrorCode.UNKNOWN_SERVER_ERROR;
  }

  private final class RecordsApi extends RecordsService {
    // Every answer crosses Answers.toCaller: a produce waiting for the high watermark or a held fetch
    // is often answered after its caller gave up, and that must not throw into the loop releasing it.
    // Requests that come from outside (both wire paths land here) are timed; a subscription's fetches
    // are not requests and go to the Future methods directly.
    @Override
    protected void produce(ProduceRequest request, Completable<ProduceResponse> answer) {
      long start = System.nanoTime();
      produce(request).onSuccess(r -> metrics.answered(BrokerMetrics.Api.PRODUCE, start,
              () -> r.getResultsList().stream().map(PartitionProduceResult::getError).iterator()))
          .onComplete(Answers.toCaller("Produce", answer));
    }

    @Override
    protected void fetch(FetchRequest request, Completable<FetchResponse> answer) {
      long start = System.nanoTime();
      BrokerMetrics.Api api = request.getReplicaId() >= 0 ? BrokerMetrics.Api.FOLLOWER_FETCH : BrokerMetrics.Api.FETCH;
      FetchSessionCache.Resolution resolved = fetchSessions.resolve(request, System.currentTimeMillis());
      if (request.hasSessionEpoch()) {
        metrics.fetchSessions.set(fetchSessions.size());
        metrics.fetchSessionPartitions.set(fetchSessions.partitionCount());
      }
      Future<FetchResponse> answering;
      if (resolved instanceof FetchSessionCache.Refused refused) {
        answering = Future.succeededFuture(refused.answer());
      } else if (resolved instanceof FetchSessionCache.InSession session) {
        answering = fetchIn(session.request(), session.session()).map(session::answer);
      } else {
        answering = fetch(((FetchSessionCache.Sessionless) resolved).request());
      }
      answering.onSuccess(r -> metrics.answered(api, start, () -> java.util.stream.Stream.concat(
              java.util.stream.Stream.of(r.getError()).filter(e -> e != ErrorCode.NONE),
              r.getPartitionsList().stream().map(PartitionData::getError)).iterator()))
          .onComplete(Answers.toCaller("Fetch", answer));
    }

    @Override
    protected void listOffsets(ListOffsetsRequest request, Completable<ListOffsetsResponse> answer) {
      long start = System.nanoTime();
      listOffsets(request).onSuccess(r -> metrics.answered(BrokerMetrics.Api.LIST_OFFSETS, start,
              () -> r.getPartitionsList().stream().map(PartitionOffset::getError).iterator()))
          .onComplete(Answers.toCaller("ListOffsets", answer));
    }

    @Override
    protected void subscribe(FetchRequest request, io.vertx.core.streams.WriteStream<FetchResponse> stream) {
      ConsumerSubscription subscription = new ConsumerSubscription(request, this::fetch, stream, metrics);
      subscriptions.add(subscription);
      subscription.start(request.getReplicaId());
      // Forget it once over; checked lazily since a subscription ends on its own (cancel, error, end).
      subscriptions.removeIf(ConsumerSubscription::isClosed);
    }

    @Override
    protected void initProducerId(io.raftline.protocol.client.InitProducerIdRequest request,
        Completable<io.raftline.protocol.client.InitProducerIdResponse> answer) {
      initProducerId(request).onComplete(Answers.toCaller("InitProducerId", answer));
    }

    @Override
    public Future<ProduceResponse> produce(ProduceRequest request) {
      int acks = request.getAcks();
      long timeoutMs = request.getTimeoutMs() > 0 ? request.getTimeoutMs() : DEFAULT_PRODUCE_TIMEOUT_MS;
      List<Future<PartitionProduceResult>> results = new ArrayList<>();
      for (PartitionRecords pr : request.getPartitionsList()) {
        if (acks != 0 && acks != 1 && acks != -1) {
          results.add(Future.succeededFuture(produceError(pr, ErrorCode.INVALID_REQUIRED_ACKS,
              "acks must be 0, 1 or -1 (all), got " + acks, -1)));
        } else {
          results.add(producePartition(pr, acks, timeoutMs));
        }
      }
      return Future.all(results).map(all -> ProduceResponse.newBuilder()
          .addAllResults(results.stream().map(Future::result).toList()).build());
    }

    private Future<PartitionProduceResult> producePartition(PartitionRecords pr, int acks, long timeoutMs) {
      Lookup lookup = leaderLookup(pr.getTopic(), pr.getPartition());
      if (lookup.error != ErrorCode.NONE) {
        return Future.succeededFuture(produceError(pr, lookup.error, lookup.message, lookup.leader));
      }
      List<RecordBatch> batches;
      try {
        // The leader stamps offsets into these bytes: the request's own (ProducedRecords).
        batches = RecordBatch.validateAll(ProducedRecords.stampable(pr.getRecords()),
            maxMessageBytes(image, pr.getTopic()));
      } catch (InvalidRecordBatchException e) {
        return Future.succeededFuture(produceError(pr, e.errorCode(), e.getMessage(), lookup.leader));
      }
      HostedPartition hp = lookup.partition;
      InSyncReplicas leadership = hp.leadership;
      int minIsr = acks == -1 ? Integer.parseInt(effectiveConfig(image, pr.getTopic(), "min.insync.replicas")) : 0;
      if (acks == -1 && leadership.isr().size() < minIsr) {
        return Future.succeededFuture(produceError(pr, ErrorCode.NOT_ENOUGH_REPLICAS, "the ISR of " + hp.topicPartition
            + " is " + leadership.isr() + ", fewer than min.insync.replicas=" + minIsr, lookup.leader));
      }
      int leaderEpoch = leadership.registration().leaderEpoch();
      record Appended(long baseOffset, long nextOffset, long endOffset, long startOffset, boolean duplicate) {}
      long bytes = batches.stream().mapToLong(RecordBatch::sizeInBytes).sum();
      return hp.submit(log -> {
        io.raftline.broker.log.PartitionLog.LeaderAppend a = log.appendAsLeader(batches, leaderEpoch,
            System.currentTimeMillis());
        return new Appended(a.baseOffset(), a.nextOffset(), log.endOffset(), log.startOffset(), a.duplicate());
      }).compose(appended -> {
        hp.endOffset = Math.max(hp.endOffset, appended.endOffset());
        hp.logStartOffset = appended.startOffset();
        if (appended.nextOffset() > appended.baseOffset() && !appended.duplicate()) {
          metrics.bytesIn.increment(bytes);
          metrics.messagesIn.increment(appended.nextOffset() - appended.baseOffset());
        }
        hp.latestEpoch = Math.max(hp.latestEpoch, leaderEpoch);
        if (hp.leadership == leadership && leadership.leaderAppended(appended.endOffset())) {
          highWatermarkAdvanced(hp);
        }
        wakeWaiters(replicaWaiters, hp.topicPartition);
        PartitionProduceResult ok = PartitionProduceResult.newBuilder().setTopic(pr.getTopic())
            .setPartition(pr.getPartition()).setError(ErrorCode.NONE).setBaseOffset(appended.baseOffset())
            .setLogStartOffset(appended.startOffset()).setCurrentLeader(config.nodeId()).build();
        if (acks != -1) {
          return Future.succeededFuture(ok);
        }
        return hp.awaitHighWatermark(leadership, appended.nextOffset(), timeoutMs).map(code -> {
          if (code == ErrorCode.NONE && leadership.isr().size() < minIsr) {
            return produceError(pr, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, "the records were written, but the ISR"
                + " of " + hp.topicPartition + " shrank to " + leadership.isr() + ", fewer than min.insync.replicas="
                + minIsr, config.nodeId());
          }
          return code == ErrorCode.NONE ? ok : produceError(pr, code, code == ErrorCode.REQUEST_TIMED_OUT
              ? "the in-sync replicas did not confirm the records within " + timeoutMs + " ms"
              : "leadership of " + hp.topicPartition + " moved before the in-sync replicas confirmed the records",
              code == ErrorCode.REQUEST_TIMED_OUT ? config.nodeId() : hp.registration.leader());
        });
      }).otherwise(t -> produceError(pr, errorCodeOf(t), String.valueOf(t.getMessage()), lookup.leader));
    }

    @Override
    public Future<io.raftline.protocol.client.InitProducerIdResponse> initProducerId(
        io.raftline.protocol.client.InitProducerIdRequest request) {
      io.raftline.protocol.client.InitProducerIdResponse.Builder response =
          io.raftline.protocol.client.InitProducerIdResponse.newBuilder().setProducerId(-1).setProducerEpoch(-1);
      if (!request.getTransactionalId().isEmpty()) {
        return Future.succeededFuture(response.setError(ErrorCode.INVALID_REQUEST)
            .setErrorMessage("transactions are not supported; leave transactional_id empty").build());
      }
      return nextProducerId()
          .map(id -> response.setError(ErrorCode.NONE).setProducerId(id).setProducerEpoch(0).build())
          .otherwise(t -> response.setError(ErrorCode.COORDINATOR_NOT_AVAILABLE)
              .setErrorMessage("no producer id available: " + t.getMessage()).build());
    }

    private PartitionProduceResult produceError(PartitionRecords pr, ErrorCode code, String message, int leader) {
      return PartitionProduceResult.newBuilder().setTopic(pr.getTopic()).setPartition(pr.getPartition())
          .setError(code).setErrorMessage(message).setBaseOffset(-1).setCurrentLeader(leader).build();
    }

    @Override
    public Future<FetchResponse> fetch(FetchRequest request) {
      return fetchIn(request, null);
    }

    /**
     * {@code request}, read in {@code session} (null: outside any): a partition the session finds
     * answered already is not read, and left out of the answer.
     */
    private Future<FetchResponse> fetchIn(FetchRequest request, FetchSessionCache.Session session) {
      return readAll(request, session).compose(first -> {
        int minBytes = Math.max(1, request.getMinBytes());
        int maxWait = Math.min(request.getMaxWaitMs(), MAX_FETCH_WAIT_MS);
        if (maxWait <= 0 || bytesIn(first) >= minBytes || hasError(first)) {
          return Future.succeededFuture(first);
        }
        return waitForData(request, maxWait).compose(v -> readAll(request, session));
      });
    }

    private Future<FetchResponse> readAll(FetchRequest request, FetchSessionCache.Session session) {
      int maxBytes = request.getMaxBytes() > 0 ? request.getMaxBytes() : 50 * 1024 * 1024;
      List<Future<PartitionData>> reads = new ArrayList<>();
      for (PartitionFetch pf : request.getPartitionsList()) {
        int partitionMax = Math.min(maxBytes,
            pf.getPartitionMaxBytes() > 0 ? pf.getPartitionMaxBytes() : DEFAULT_PARTITION_FETCH_BYTES);
        Future<PartitionData> read = request.getReplicaId() >= 0
            ? readForFollower(pf, partitionMax, request.getReplicaId(), session)
            : readPartition(pf, partitionMax, session);
        if (read != ANSWERED_ALREADY) {
          reads.add(read);
        }
      }
      return Future.all(reads).map(all -> {
        FetchResponse.Builder answer = FetchResponse.newBuilder();
        for (Future<PartitionData> read : reads) {
          answer.addPartitions(read.result());
        }
        return answer.build();
      });
    }

    private Future<PartitionData> readPartition(PartitionFetch pf, int maxBytes, FetchSessionCache.Session session) {
      PartitionData.Builder data = PartitionData.newBuilder().setTopic(pf.getTopic()).setPartition(pf.getPartition());
      Lookup lookup = leaderLookup(pf.getTopic(), pf.getPartition());
      if (lookup.error != ErrorCode.NONE) {
        return Future.succeededFuture(notLeading(data, lookup));
      }
      HostedPartition hp = lookup.partition;
      // Consumers read only what every in-sync replica holds.
      long highWatermark = hp.highWatermark;
      record Read(ByteBuffer bytes, long startOffset) {}
      // A consumer at the high watermark has nothing to read: answered without a log task.
      boolean caughtUp = pf.getFetchOffset() == highWatermark && highWatermark >= hp.logStartOffset;
      if (caughtUp && session != null && session.answeredAlready(hp.topicPartition, highWatermark,
          hp.logStartOffset, hp.registration.leaderEpoch())) {
        return ANSWERED_ALREADY;
      }
      // The log read allocates a fresh buffer per call, so the answer wraps it instead of copying it.
      return (caughtUp ? Future.succeededFuture(new Read(NO_RECORDS, hp.logStartOffset))
          : hp.submit(log -> new Read(log.read(pf.getFetchOffset(), maxBytes, highWatermark), log.startOffset())))
          .map(read -> {
            metrics.bytesOut.increment(read.bytes.remaining());
            return read;
          })
          .map(read -> data.setError(ErrorCode.NONE).setHighWatermark(highWatermark).setLogStartOffset(read.startOffset)
              .setRecords(com.google.protobuf.UnsafeByteOperations.unsafeWrap(read.bytes)).setCurrentLeader(config.nodeId())
              .setLeaderEpoch(hp.registration.leaderEpoch()).build())
          .otherwise(t -> data.setError(errorCodeOf(t)).setErrorMessage(String.valueOf(t.getMessage()))
              .setHighWatermark(highWatermark).setLogStartOffset(hp.logStartOffset).setCurrentLeader(config.nodeId())
              .build());
    }

    private PartitionData notLeading(PartitionData.Builder data, Lookup lookup) {
      return data.setError(lookup.error).setErrorMessage(lookup.message).setCurrentLeader(lookup.leader)
          .setHighWatermark(-1).build();
    }

    /**
     * A follower's fetch: checked against this leadership's epoch, answered with a diverging epoch
     * when the follower's last batch does not match this log, else with records up to the log end.
     * The fetch offset is the follower's log end, which moves the high watermark and may let the
     * follower back into the ISR.
     */
    private Future<PartitionData> readForFollower(PartitionFetch pf, int maxBytes, int replicaId,
        FetchSessionCache.Session session) {
      PartitionData.Builder data = PartitionData.newBuilder().setTopic(pf.getTopic()).setPartition(pf.getPartition());
      Lookup lookup = leaderLookup(pf.getTopic(), pf.getPartition());
      if (lookup.error != ErrorCode.NONE) {
        return Future.succeededFuture(notLeading(data, lookup));
      }
      HostedPartition hp = lookup.partition;
      InSyncReplicas leadership = hp.leadership;
      int epoch = leadership.registration().leaderEpoch();
      data.setCurrentLeader(config.nodeId()).setLeaderEpoch(epoch);
      if (pf.hasCurrentLeaderEpoch() && pf.getCurrentLeaderEpoch() != epoch) {
        boolean older = pf.getCurrentLeaderEpoch() < epoch;
        return Future.succeededFuture(data.setError(older ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH)
            .setErrorMessage("follower " + replicaId + " fetches " + hp.topicPartition + " in leader epoch "
                + pf.getCurrentLeaderEpoch() + "; broker " + config.nodeId() + " leads it in epoch " + epoch)
            .setHighWatermark(-1).build());
      }
      if (!leadership.registration().replicas().contains(replicaId)) {
        return Future.succeededFuture(data.setError(ErrorCode.NOT_LEADER_OR_FOLLOWER).setErrorMessage("broker "
            + replicaId + " is not a replica of " + hp.topicPartition).setHighWatermark(-1).build());
      }
      long offset = pf.getFetchOffset();
      int lastFetchedEpoch = pf.hasLastFetchedEpoch() ? pf.getLastFetchedEpoch() : LeaderEpochCache.UNDEFINED_EPOCH;
      record FollowerRead(ByteBuffer bytes, LeaderEpochCache.EpochEndOffset diverging, long startOffset) {}
      // A follower at this log's end, in this log's latest epoch, has nothing to read and nothing
      // diverging (one epoch has one leader); one without epochs is not checked for divergence on
      // the log either. Either is answered without a log task: an idle follower's fetch names every
      // partition it follows from this leader, and each long poll reads them twice.
      boolean caughtUp = offset == hp.endOffset
          && (lastFetchedEpoch < 0 || (hp.latestEpoch >= 0 && lastFetchedEpoch == hp.latestEpoch));
      if (caughtUp && session != null) {
        // An idle session's partitions are all like this, every fetch: the follower's position
        // counts (it keeps the follower in the ISR), and the partition is read no further when its
        // last answer in the session still holds.
        followerAt(hp, leadership, replicaId, offset);
        if (session.answeredAlready(hp.topicPartition, hp.highWatermark, hp.logStartOffset, epoch)) {
          return ANSWERED_ALREADY;
        }
      }
      Future<FollowerRead> reading = caughtUp
          ? Future.succeededFuture(new FollowerRead(NO_RECORDS, null, hp.logStartOffset))
          : hp.submit(log -> {
            if (lastFetchedEpoch >= 0) {
              LeaderEpochCache.EpochEndOffset end = log.endOffsetForEpoch(lastFetchedEpoch);
              if (end.epoch() != LeaderEpochCache.UNDEFINED_EPOCH
                  && (end.epoch() < lastFetchedEpoch || end.endOffset() < offset)) {
                return new FollowerRead(null, end, log.startOffset());
              }
            }
            return new FollowerRead(log.read(offset, maxBytes), null, log.startOffset());
          });
      return reading.map(read -> {
        if (read.diverging == null && hp.leadership == leadership) {
          followerAt(hp, leadership, replicaId, offset);
        }
        data.setError(ErrorCode.NONE).setHighWatermark(hp.highWatermark).setLogStartOffset(read.startOffset);
        if (read.diverging != null) {
          data.setDivergingEpoch(EpochEndOffset.newBuilder().setEpoch(read.diverging.epoch())
              .setEndOffset(read.diverging.endOffset()));
        } else {
          metrics.replicationBytesOut.increment(read.bytes.remaining());
          data.setRecords(com.google.protobuf.UnsafeByteOperations.unsafeWrap(read.bytes));
        }
        return data.build();
      }).otherwise(t -> data.setError(errorCodeOf(t)).setErrorMessage(String.valueOf(t.getMessage()))
          .setHighWatermark(hp.highWatermark).setLogStartOffset(hp.logStartOffset).build());
    }

    /** Follower {@code replicaId} holds {@code hp}'s log up to {@code offset}: the high watermark and ISR may move. */
    private void followerAt(HostedPartition hp, InSyncReplicas leadership, int replicaId, long offset) {
      if (leadership.followerFetched(replicaId, offset, System.currentTimeMillis())) {
        highWatermarkAdvanced(hp);
      }
      if (!leadership.isr().contains(replicaId)) {
        maybeChangeIsr(hp);
      }
    }

    private int bytesIn(FetchResponse response) {
      int total = 0;
      for (PartitionData d : response.getPartitionsList()) {
        total += d.getRecords().size();
      }
      return total;
    }

    private boolean hasError(FetchResponse response) {
      return response.getPartitionsList().stream().anyMatch(d -> d.getError() != ErrorCode.NONE);
    }

    @Override
    public Future<ListOffsetsResponse> listOffsets(ListOffsetsRequest request) {
      List<Future<PartitionOffset>> answers = new ArrayList<>();
      for (PartitionTimestamp pt : request.getPartitionsList()) {
        PartitionOffset.Builder answer = PartitionOffset.newBuilder().setTopic(pt.getTopic()).setPartition(pt.getPartition());
        Lookup lookup = leaderLookup(pt.getTopic(), pt.getPartition());
        if (lookup.error != ErrorCode.NONE) {
          answers.add(Future.succeededFuture(answer.setError(lookup.error).setErrorMessage(lookup.message).setOffset(-1).build()));
        } else if (pt.getTimestamp() >= 0) {
          // The first offset whose timestamp is at or after the one asked for; -1 if none (as in Kafka).
          long highWatermark = lookup.partition.highWatermark;
          answers.add(lookup.partition.submit(log -> log.offsetForTimestamp(pt.getTimestamp()).orElse(-1L))
              .map(offset -> offset >= highWatermark ? -1L : offset)
              .map(offset -> answer.setError(ErrorCode.NONE).setOffset(offset).build())
              .otherwise(t -> answer.setError(errorCodeOf(t)).setErrorMessage(String.valueOf(t.getMessage()))
                  .setOffset(-1).build()));
        } else if (pt.getTimestamp() != -1 && pt.getTimestamp() != -2) {
          answers.add(Future.succeededFuture(answer.setError(ErrorCode.INVALID_REQUEST)
              .setErrorMessage("timestamp must be >= 0, -1 (latest) or -2 (earliest); got " + pt.getTimestamp())
              .setOffset(-1).build()));
        } else {
          boolean earliest = pt.getTimestamp() == -2;
          HostedPartition hp = lookup.partition;
          // Latest is the high watermark: the end a consumer can read to (Kafka's read_uncommitted).
          answers.add((earliest ? hp.submit(log -> log.startOffset()) : Future.succeededFuture(hp.highWatermark))
              .map(offset -> answer.setError(ErrorCode.NONE).setOffset(offset).build())
              .otherwise(t -> answer.setError(errorCodeOf(t)).setErrorMessage(String.valueOf(t.getMessage()))
                  .setOffset(-1).build()));
        }
      }
      return Future.all(answers).map(all -> ListOffsetsResponse.newBuilder()
          .addAllPartitions(answers.stream().map(Future::result).toList()).build());
    }
  }

  // ---- consumer groups ---------------------------------------------------------------------------

  /**
   * The group coordinator's way to {@code __consumer_offsets}: commits are produced to the offsets
   * partition this broker leads with acks=all, loading reads the partition's whole log, and the topic
   * is created (compacted) the first time a coordinator is looked up.
   */
  private final class OffsetsTopic implements io.raftline.broker.group.CoordinatorContext {
    private static final String TOPIC = io.raftline.broker.group.GroupCoordinator.OFFSETS_TOPIC;

    @Override
    public Future<Void> append(int partition, List<io.raftline.broker.group.OffsetRecord> entries) {
      io.raftline.protocol.records.RecordBatchBuilder batch = new io.raftline.protocol.records.RecordBatchBuilder();
      long now = System.currentTimeMillis();
      for (io.raftline.broker.group.OffsetRecord r : entries) {
        batch.append(now, r.key(), r.value(), List.of());
      }
      PartitionRecords pr = PartitionRecords.newBuilder().setTopic(TOPIC).setPartition(partition)
          .setRecords(com.google.protobuf.ByteString.copyFrom(batch.build())).build();
      return records.producePartition(pr, -1, ADMIN_TIMEOUT_MS).compose(r -> r.getError() == ErrorCode.NONE
          ? Future.succeededFuture()
          : Future.failedFuture(new IllegalStateException(r.getError() + ": " + r.getErrorMessage())));
    }

    @Override
    public Future<List<io.raftline.broker.group.OffsetRecord>> readAll(int partition) {
      HostedPartition hp = partitions.get(new TopicPartition(TOPIC, partition));
      if (hp == null) {
        return Future.failedFuture(new IllegalStateException(TOPIC + "-" + partition + " is not hosted here"));
      }
      return hp.submit(log -> {
        List<io.raftline.broker.group.OffsetRecord> out = new ArrayList<>();
        long offset = log.startOffset();
        while (offset < log.endOffset()) {
          ByteBuffer bytes = log.read(offset, DEFAULT_PARTITION_FETCH_BYTES);
          for (RecordBatch batch : RecordBatch.parse(bytes)) {
            for (io.raftline.protocol.records.Record r : batch.records()) {
              if (r.key() != null) {
                out.add(new io.raftline.broker.group.OffsetRecord(r.key(), r.value()));
              }
            }
            offset = batch.nextOffset();
          }
        }
        return out;
      });
    }

    @Override
    public int offsetsPartitions() {
      return config.offsetsTopicPartitions();
    }

    @Override
    public Optional<io.raftline.broker.group.CoordinatorNode> coordinatorOf(int partition) {
      Optional<TopicImage> topic = image.topic(TOPIC);
      if (topic.isEmpty()) {
        createOffsetsTopic();
        return Optional.empty();
      }
      PartitionRegistration p = topic.get().partition(partition);
      if (p == null || p.leader() < 0) {
        return Optional.empty();
      }
      return Optional.ofNullable(image.brokers().get(p.leader())).flatMap(b -> b.listener(config.listenerName()))
          .map(l -> new io.raftline.broker.group.CoordinatorNode(p.leader(), l.host(), l.port()));
    }

    @Override
    public int localNodeId() {
      return config.nodeId();
    }

    @Override
    public int partitionCount(String topic) {
      return image.topic(topic).map(t -> t.partitions().size()).orElse(-1);
    }

    /** Creates the topic once (per attempt): compacted, with as many replicas as brokers allow. */
    private void createOffsetsTopic() {
      if (offsetsTopicCreation != null) {
        return;
      }
      int brokers = (int) image.brokers().values().stream().filter(b -> !b.fenced()).count();
      int rf = Math.max(1, Math.min(config.offsetsTopicReplicationFactor(), brokers));
      CreateTopicsRequest request = CreateTopicsRequest.newBuilder().addTopics(
          io.raftline.protocol.client.TopicToCreate.newBuilder().setName(TOPIC)
              .setNumPartitions(config.offsetsTopicPartitions()).setReplicationFactor(rf)
              .putConfigs("cleanup.policy", "compact")).build();
      LOG.log(System.Logger.Level.INFO, "broker {0}: creating {1} ({2} partitions, replication factor {3})",
          config.nodeId(), TOPIC, config.offsetsTopicPartitions(), rf);
      offsetsTopicCreation = controller.call(c -> c.createTopics(request), ControllerTopicsResponse::getError,
              ControllerTopicsResponse::getLeaderId, ADMIN_TIMEOUT_MS)
          .<Void>mapEmpty()
          .onComplete(ar -> offsetsTopicCreation = null);
    }
  }

  // ---- producer ids ------------------------------------------------------------------------------

  /** The next producer id of this broker's block, fetching a new block from the controller when used up. */
  private Future<Long> nextProducerId() {
    if (nextProducerId >= 0 && nextProducerId < producerIdBlockEnd) {
      return Future.succeededFuture(nextProducerId++);
    }
    if (producerIdBlock == null) {
      io.raftline.protocol.controller.AllocateProducerIdsRequest request =
          io.raftline.protocol.controller.AllocateProducerIdsRequest.newBuilder().setBrokerId(config.nodeId())
              .setBrokerEpoch(brokerEpoch).build();
      producerIdBlock = controller.call(c -> c.allocateProducerIds(request),
              io.raftline.protocol.controller.AllocateProducerIdsResponse::getError,
              io.raftline.protocol.controller.AllocateProducerIdsResponse::getLeaderId, ADMIN_TIMEOUT_MS)
          .compose(r -> {
            if (r.getError() != ErrorCode.NONE) {
              return Future.failedFuture(r.getError() + ": " + r.getErrorMessage());
            }
            nextProducerId = r.getProducerIdStart();
            producerIdBlockEnd = r.getProducerIdStart() + r.getProducerIdLen();
            return Future.<Void>succeededFuture();
          })
          .onComplete(ar -> producerIdBlock = null);
    }
    return producerIdBlock.compose(v -> nextProducerId());
  }

  // ---- long-poll fetch ---------------------------------------------------------------------------

  /**
   * A fetch waiting for new data on any of its partitions, or for its max wait to pass. A follower's
   * fetch waits for appends; a consumer's waits for the high watermark, since it reads nothing above.
   */
  private final class FetchWaiter {
    final Promise<Void> promise = Promise.promise();
    final List<TopicPartition> partitions;
    final Map<TopicPartition, List<FetchWaiter>> registry;
    long timerId;
    boolean done;

    FetchWaiter(List<TopicPartition> partitions, Map<TopicPartition, List<FetchWaiter>> registry) {
      this.partitions = partitions;
      this.registry = registry;
    }

    void fire() {
      if (done) {
        return;
      }
      done = true;
      vertx.cancelTimer(timerId);
      for (TopicPartition tp : partitions) {
        List<FetchWaiter> list = registry.get(tp);
        if (list != null) {
          list.remove(this);
          if (list.isEmpty()) {
            registry.remove(tp);
          }
        }
      }
      try {
        promise.complete();
      } catch (RuntimeException e) {
        // Answering this fetch failed (its client may have gone); that must not stop the caller,
        // which wakes other fetches or answers a produce whose records are already appended.
        LOG.log(System.Logger.Level.DEBUG, "a held fetch could not be answered", e);
      }
    }
  }

  private Future<Void> waitForData(FetchRequest request, int maxWaitMs) {
    boolean follower = request.getReplicaId() >= 0;
    List<TopicPartition> tps = request.getPartitionsList().stream()
        .map(pf -> new TopicPartition(pf.getTopic(), pf.getPartition())).toList();
    FetchWaiter waiter = new FetchWaiter(tps, follower ? replicaWaiters : consumerWaiters);
    for (TopicPartition tp : tps) {
      waiter.registry.computeIfAbsent(tp, k -> new ArrayList<>()).add(waiter);
    }
    waiter.timerId = vertx.setTimer(maxWaitMs, id -> waiter.fire());
    // The first read ran on a worker: data that arrived since then woke nobody. Without this check
    // the fetch would sleep its whole max wait with data waiting.
    for (PartitionFetch pf : request.getPartitionsList()) {
      HostedPartition hp = partitions.get(new TopicPartition(pf.getTopic(), pf.getPartition()));
      if (hp != null && (follower ? hp.endOffset : hp.highWatermark) > pf.getFetchOffset()) {
        waiter.fire();
        break;
      }
    }
    return waiter.promise.future();
  }

  /** Wakes every fetch held on {@code tp} (the partition went away or changed hands). */
  private void wakeFetchers(TopicPartition tp) {
    wakeWaiters(replicaWaiters, tp);
    wakeWaiters(consumerWaiters, tp);
  }

  private static void wakeWaiters(Map<TopicPartition, List<FetchWaiter>> registry, TopicPartition tp) {
    List<FetchWaiter> waiting = registry.get(tp);
    if (waiting != null) {
      for (FetchWaiter w : List.copyOf(waiting)) {
        w.fire();
      }
    }
  }
}
