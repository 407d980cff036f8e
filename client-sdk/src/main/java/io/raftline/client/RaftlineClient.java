package io.raftline.client;

import io.raftline.client.ClientConfig.HostPort;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.BrokerNode;
import io.raftline.protocol.client.DescribeTopicsRequest;
import io.raftline.protocol.client.DescribeTopicsResponse;
import io.raftline.protocol.client.PartitionDescription;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.RecordsClient;
import io.raftline.protocol.client.RecordsGrpcClient;
import io.raftline.protocol.client.TopicAdminClient;
import io.raftline.protocol.client.TopicAdminGrpcClient;
import io.raftline.protocol.client.TopicDescription;
import io.raftline.protocol.client.ListOffsetsRequest;
import io.raftline.protocol.client.PartitionOffset;
import io.raftline.protocol.client.PartitionTimestamp;
import io.raftline.protocol.group.FindCoordinatorRequest;
import io.raftline.protocol.group.GroupCoordinatorClient;
import io.raftline.protocol.group.GroupCoordinatorGrpcClient;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The client's entry point: holds the connections and the cluster metadata cache, and hands out the
 * admin client, producers and consumer streams. Create one per application and close it at the end.
 *
 * <pre>{@code
 * RaftlineClient client = RaftlineClient.create(vertx, Map.of("bootstrap.servers", "127.0.0.1:9092"));
 * client.admin().createTopic("orders", 6, 1)
 *     .compose(t -> client.producer().send(ProducerRecord.of("orders", key, value)))
 *     .onSuccess(md -> System.out.println("stored at offset " + md.offset()));
 * }</pre>
 */
public final class RaftlineClient {
  private static final long MAX_GRPC_MESSAGE_BYTES = 128L * 1024 * 1024;
  /** HTTP/2 stream receive window: a default-sized fetch answer (6 partitions of 1 MiB) in one go. */
  private static final int RECEIVE_WINDOW_BYTES = 8 << 20;
  private static final int MAX_FRAME_BYTES = 1 << 20;

  private final Vertx vertx;
  private final Context context;
  private final ClientConfig config;
  private final GrpcClient grpc;
  private final FetchTransport fetches;
  private final Map<HostPort, RecordsClient> recordClients = new HashMap<>();
  private final Map<HostPort, TopicAdminClient> adminClients = new HashMap<>();
  private final Map<HostPort, GroupCoordinatorClient> groupClients = new HashMap<>();
  /** The coordinator of each group this client talked to, until it answers NOT_COORDINATOR. */
  private final Map<String, HostPort> coordinators = new HashMap<>();
  private final Map<String, TopicInfo> topics = new HashMap<>();
  /** When each cached topic was fetched; older than metadata.max.age.ms means fetch again. */
  private final Map<String, Long> fetchedAt = new HashMap<>();
  private final Map<Integer, HostPort> brokers = new HashMap<>();
  private final Map<String, Future<TopicInfo>> refreshing = new HashMap<>();
  private final Admin admin;
  private final List<Producer> producers = new ArrayList<>();
  private final List<TopicSubscription> subscriptions = new ArrayList<>();
  private final List<GroupConsumer> groupConsumers = new ArrayList<>();
  private final ClientMetrics metrics;
  private boolean closed;

  private RaftlineClient(Vertx vertx, ClientConfig config, ClientMetrics metrics) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.config = config;
    this.metrics = metrics;
    this.grpc = GrpcClient.client(vertx, new GrpcClientOptions().setMaxMessageSize(MAX_GRPC_MESSAGE_BYTES)
        .setTimeout(config.positiveInt("request.timeout.ms")).setTimeoutUnit(TimeUnit.MILLISECONDS)
        .setScheduleDeadlineAutomatically(true));
    this.fetches = new FetchTransport(vertx, receiveSettings(), config.positiveInt("request.timeout.ms"),
        MAX_GRPC_MESSAGE_BYTES);
    this.admin = new Admin(this);
  }

  /**
   * The consumer's fetch connections: HTTP/2 as the gRPC client sets it, with larger receive windows
   * and frames. With the 64 KiB defaults a fetch answer of megabytes crosses in dozens of window-update
   * round trips and thousands of 16 KiB frames, each one a wake-up of both ends. An answer is bounded
   * anyway (fetch.max.bytes) and the consumer buffers it whole, so a wider window adds no memory a
   * fetch does not already use. The gRPC client keeps the defaults: a Subscribe stream's flow-control
   * window is its backpressure bound.
   */
  private static HttpClientOptions receiveSettings() {
    return new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false)
        .setInitialSettings(new Http2Settings().setInitialWindowSize(RECEIVE_WINDOW_BYTES)
            .setMaxFrameSize(MAX_FRAME_BYTES))
        .setHttp2ConnectionWindowSize(2 * RECEIVE_WINDOW_BYTES);
  }

  /**
   * @param settings Kafka-style client settings; {@code bootstrap.servers} is required
   * @throws IllegalArgumentException for an unknown key or an invalid value, naming the key
   */
  public static RaftlineClient create(Vertx vertx, Map<String, String> settings) {
    return new RaftlineClient(vertx, ClientConfig.from(settings), ClientMetrics.NONE);
  }

  /**
   * As {@link #create(Vertx, Map)}, with the client's meters on {@code registry}: producer send
   * latency and errors, buffered bytes, and consumer lag per partition (see {@link ClientMetrics}).
   */
  public static RaftlineClient create(Vertx vertx, Map<String, String> settings,
      io.micrometer.core.instrument.MeterRegistry registry) {
    ClientConfig config = ClientConfig.from(settings);
    return new RaftlineClient(vertx, config, new ClientMetrics(registry, config.clientId()));
  }

  ClientMetrics metrics() {
    return metrics;
  }

  public ClientConfig config() {
    return config;
  }

  public Admin admin() {
    return admin;
  }

  /** A new producer sharing this client's connections. */
  public Producer producer() {
    Producer p = new Producer(this);
    onContext(() -> producers.add(p));
    return p;
  }

  /**
   * A stream of the records of every partition of {@code topic}, starting where
   * {@code auto.offset.reset} says. The subscriber's demand drives fetching; at most
   * {@code max.poll.records} records are buffered ahead of it.
   */
  public TopicSubscription subscribe(String topic) {
    TopicSubscription s = new TopicSubscription(this, topic, config.autoOffsetResetEarliest());
    onContext(() -> subscriptions.add(s));
    return s;
  }

  /** Like {@link #subscribe(String)} but from the first offset of each partition. */
  public TopicSubscription subscribeFromBeginning(String topic) {
    TopicSubscription s = new TopicSubscription(this, topic, true);
    onContext(() -> subscriptions.add(s));
    return s;
  }

  /**
   * Joins consumer group {@code groupId} as a new member reading {@code topics}: the group's
   * coordinator assigns it a share of their partitions, which it reads from the group's committed
   * offsets (or as {@code auto.offset.reset} says where none is committed). Joining starts when a
   * handler is set. See {@link GroupConsumer}.
   */
  public GroupConsumer subscribe(String groupId, Collection<String> topics) {
    if (groupId == null || groupId.isEmpty()) {
      throw new IllegalArgumentException("a group consumer needs a group id");
    }
    if (topics.isEmpty() || topics.stream().anyMatch(t -> t == null || t.isEmpty())) {
      throw new IllegalArgumentException("a group consumer needs one or more topic names, got " + topics);
    }
    GroupConsumer c = new GroupConsumer(this, groupId, topics);
    onContext(() -> groupConsumers.add(c));
    return c;
  }

  /** {@link #subscribe(String, Collection)} with the {@code group.id} setting. */
  public GroupConsumer subscribe(Collection<String> topics) {
    if (config.groupId().isEmpty()) {
      throw new IllegalArgumentException("group.id is not set: give a group id to subscribe(groupId, topics)");
    }
    return subscribe(config.groupId(), topics);
  }

  /** Leaves groups (committing first if enable.auto.commit), flushes producers, stops subscriptions and closes connections. */
  public Future<Void> close() {
    return call(() -> {
      List<Future<Void>> leaving = new ArrayList<>();
      groupConsumers.forEach(c -> leaving.add(c.close()));
      return Future.join(leaving).transform(left -> {
        closed = true;
        List<Future<Void>> flushing = new ArrayList<>();
        producers.forEach(p -> flushing.add(p.close()));
        subscriptions.forEach(TopicSubscription::close);
        return Future.join(flushing).transform(ar -> {
          metrics.close();
          return Future.join(grpc.close(), fetches.close()).mapEmpty();
        });
      });
    });
  }

  // ---- shared plumbing for Admin, Producer and TopicSubscription ---------------------------------

  /** The Vert.x context the client's state lives on (its callbacks run there). */
  public Context context() {
    return context;
  }

  /** The Vert.x instance this client runs on. */
  public Vertx vertx() {
    return vertx;
  }

  boolean isClosed() {
    return closed;
  }

  /** Runs {@code action} on the client's context. */
  /** Whether the caller runs on the client's context (its event loop). */
  boolean onOwnContext() {
    return Vertx.currentContext() == context;
  }

  void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  /** Runs {@code action} on the client's context and relays its outcome to the caller. */
  <T> Future<T> call(Supplier<Future<T>> action) {
    if (Vertx.currentContext() == context) {
      return action.get();
    }
    Promise<T> promise = Promise.promise();
    context.runOnContext(v -> action.get().onComplete(promise));
    return promise.future();
  }

  /** A consumer's fetch from {@code broker}; the answer's records alias the received message. */
  Future<FetchResponse> fetch(HostPort broker, FetchRequest request) {
    return fetches.fetch(broker, request);
  }

  RecordsClient records(HostPort broker) {
    return recordClients.computeIfAbsent(broker,
        b -> RecordsGrpcClient.create(grpc, SocketAddress.inetSocketAddress(b.port(), b.host())));
  }

  TopicAdminClient topicAdmin(HostPort broker) {
    return adminClients.computeIfAbsent(broker,
        b -> TopicAdminGrpcClient.create(grpc, SocketAddress.inetSocketAddress(b.port(), b.host())));
  }

  GroupCoordinatorClient groupCoordinator(HostPort broker) {
    return groupClients.computeIfAbsent(broker,
        b -> GroupCoordinatorGrpcClient.create(grpc, SocketAddress.inetSocketAddress(b.port(), b.host())));
  }

  /** The coordinator of {@code groupId}, cached; FindCoordinator against any broker otherwise. */
  Future<HostPort> coordinator(String groupId) {
    HostPort cached = coordinators.get(groupId);
    if (cached != null) {
      return Future.succeededFuture(cached);
    }
    FindCoordinatorRequest request = FindCoordinatorRequest.newBuilder().setGroupId(groupId).build();
    return anyBroker(b -> groupCoordinator(b).findCoordinator(request)).compose(r -> {
      if (r.getError() != ErrorCode.NONE) {
        return Future.failedFuture(new RaftlineException(r.getError(), r.getErrorMessage()));
      }
      HostPort found = new HostPort(r.getHost(), r.getPort());
      coordinators.put(groupId, found);
      return Future.succeededFuture(found);
    });
  }

  /** Forgets the cached coordinator of {@code groupId} (it moved, or cannot be reached). */
  void forgetCoordinator(String groupId) {
    coordinators.remove(groupId);
  }

  static boolean isCoordinatorError(ErrorCode code) {
    return code == ErrorCode.NOT_COORDINATOR || code == ErrorCode.COORDINATOR_NOT_AVAILABLE
        || code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  }

  /**
   * Runs {@code op} against the coordinator of {@code groupId}, finding it again and retrying (every
   * {@code retry.backoff.ms}, for up to {@code request.timeout.ms}) while the coordinator cannot be
   * reached or answers NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or COORDINATOR_LOAD_IN_PROGRESS
   * ({@code errorOf} reads that from an answer).
   */
  <T> Future<T> withCoordinator(String groupId, Function<GroupCoordinatorClient, Future<T>> op,
      Function<T, ErrorCode> errorOf) {
    return withCoordinator(groupId, op, errorOf, System.currentTimeMillis() + config.positiveInt("request.timeout.ms"));
  }

  private <T> Future<T> withCoordinator(String groupId, Function<GroupCoordinatorClient, Future<T>> op,
      Function<T, ErrorCode> errorOf, long deadline) {
    return coordinator(groupId).compose(c -> op.apply(groupCoordinator(c))).transform(ar -> {
      ErrorCode code;
      if (ar.succeeded()) {
        code = errorOf.apply(ar.result());
      } else {
        code = ar.cause() instanceof RaftlineException e ? e.errorCode() : ErrorCode.COORDINATOR_NOT_AVAILABLE;
        if (code == ErrorCode.REQUEST_TIMED_OUT) {
          code = ErrorCode.COORDINATOR_NOT_AVAILABLE; // no broker reachable
        }
      }
      Future<T> outcome = ar.succeeded() ? Future.succeededFuture(ar.result()) : Future.failedFuture(ar.cause());
      if (!isCoordinatorError(code)) {
        return outcome;
      }
      if (code != ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
        forgetCoordinator(groupId);
      }
      long backoff = config.nonNegativeInt("retry.backoff.ms");
      if (closed || System.currentTimeMillis() + backoff >= deadline) {
        return outcome;
      }
      Promise<T> retried = Promise.promise();
      vertx.setTimer(Math.max(1, backoff), id -> withCoordinator(groupId, op, errorOf, deadline).onComplete(retried));
      return retried.future();
    });
  }

  /** The brokers this client knows (bootstrap servers and those learned from metadata). */
  List<HostPort> knownBrokers() {
    List<HostPort> out = new ArrayList<>(config.bootstrapServers());
    for (HostPort b : brokers.values()) {
      if (!out.contains(b)) {
        out.add(b);
      }
    }
    return out;
  }

  /** Learns every registered broker (from any broker's metadata answer). */
  Future<List<HostPort>> allBrokers() {
    DescribeTopicsRequest request = DescribeTopicsRequest.newBuilder().addNames("__consumer_offsets").build();
    return anyBroker(b -> topicAdmin(b).describeTopics(request)).map(r -> {
      learnBrokers(r);
      List<HostPort> out = new ArrayList<>();
      r.getBrokersList().forEach(b -> out.add(new HostPort(b.getHost(), b.getPort())));
      return out.isEmpty() ? knownBrokers() : out;
    });
  }

  /**
   * The offsets of {@code partitions} at {@code timestamp} (-2 earliest, -1 latest), asking their
   * leaders; a partition whose leader could not answer is missing from the result.
   */
  Future<Map<TopicPartition, Long>> listOffsets(Collection<TopicPartition> partitions, long timestamp) {
    Set<String> names = new HashSet<>();
    partitions.forEach(tp -> names.add(tp.topic()));
    List<Future<TopicInfo>> metadata = new ArrayList<>();
    names.forEach(t -> metadata.add(topic(t, false)));
    return Future.join(metadata).transform(ignored -> {
      Map<HostPort, ListOffsetsRequest.Builder> requests = new HashMap<>();
      for (TopicPartition tp : partitions) {
        HostPort leader = leaderOf(tp.topic(), tp.partition());
        if (leader != null) {
          requests.computeIfAbsent(leader, l -> ListOffsetsRequest.newBuilder()).addPartitions(PartitionTimestamp
              .newBuilder().setTopic(tp.topic()).setPartition(tp.partition()).setTimestamp(timestamp));
        }
      }
      Map<TopicPartition, Long> out = new HashMap<>();
      List<Future<?>> answers = new ArrayList<>();
      requests.forEach((leader, request) -> answers.add(records(leader).listOffsets(request.build()).onSuccess(r -> {
        for (PartitionOffset po : r.getPartitionsList()) {
          if (po.getError() == ErrorCode.NONE) {
            out.put(new TopicPartition(po.getTopic(), po.getPartition()), po.getOffset());
          }
        }
      })));
      return Future.join(answers).transform(done -> Future.succeededFuture(out));
    });
  }

  /**
   * Tries {@code op} on each bootstrap server in turn until one answers (a transport failure moves on;
   * an answer, even an error answer, is returned).
   */
  <T> Future<T> anyBroker(Function<HostPort, Future<T>> op) {
    List<HostPort> candidates = new ArrayList<>(config.bootstrapServers());
    for (HostPort b : brokers.values()) {
      if (!candidates.contains(b)) {
        candidates.add(b);
      }
    }
    return tryEach(candidates, 0, op, null);
  }

  private <T> Future<T> tryEach(List<HostPort> candidates, int i, Function<HostPort, Future<T>> op, Throwable last) {
    if (i >= candidates.size()) {
      return Future.failedFuture(new RaftlineException(ErrorCode.REQUEST_TIMED_OUT,
          "no broker reachable at " + candidates + (last == null ? "" : ": " + last.getMessage())));
    }
    return op.apply(candidates.get(i)).recover(t -> tryEach(candidates, i + 1, op, t));
  }

  /** The cached description of {@code topic} if it is younger than metadata.max.age.ms, else null. */
  TopicInfo freshTopic(String topic) {
    TopicInfo cached = topics.get(topic);
    long maxAge = config.positiveInt("metadata.max.age.ms");
    return cached != null && System.currentTimeMillis() - fetchedAt.getOrDefault(topic, 0L) < maxAge ? cached : null;
  }

  /** The cached description of {@code topic}, fetched if absent or if {@code refresh}. */
  Future<TopicInfo> topic(String topic, boolean refresh) {
    TopicInfo cached = refresh ? null : freshTopic(topic);
    if (cached != null) {
      return Future.succeededFuture(cached);
    }
    Future<TopicInfo> inFlight = refreshing.get(topic);
    if (inFlight != null) {
      return inFlight;
    }
    Future<TopicInfo> fetched = anyBroker(b -> topicAdmin(b).describeTopics(
            DescribeTopicsRequest.newBuilder().addNames(topic).build()))
        .compose(response -> {
          learnBrokers(response);
          TopicDescription d = response.getTopics(0);
          if (d.getError() != ErrorCode.NONE) {
            topics.remove(topic);
            return Future.failedFuture(new RaftlineException(d.getError(), d.getErrorMessage()));
          }
          TopicInfo info = toTopicInfo(d);
          topics.put(topic, info);
          fetchedAt.put(topic, System.currentTimeMillis());
          return Future.succeededFuture(info);
        });
    refreshing.put(topic, fetched);
    fetched.onComplete(ar -> refreshing.remove(topic));
    return fetched;
  }

  void learnBrokers(DescribeTopicsResponse response) {
    for (BrokerNode b : response.getBrokersList()) {
      brokers.put(b.getId(), new HostPort(b.getHost(), b.getPort()));
    }
  }

  static TopicInfo toTopicInfo(TopicDescription d) {
    List<TopicInfo.PartitionInfo> partitions = new ArrayList<>();
    for (PartitionDescription p : d.getPartitionsList()) {
      partitions.add(new TopicInfo.PartitionInfo(p.getPartition(), p.getLeader(), p.getLeaderEpoch(),
          List.copyOf(p.getReplicasList()), List.copyOf(p.getIsrList())));
    }
    return new TopicInfo(d.getName(), d.getTopicId(), List.copyOf(partitions));
  }

  /** The address of the broker leading a partition, from the cache. */
  HostPort leaderOf(String topic, int partition) {
    TopicInfo info = topics.get(topic);
    if (info == null || partition >= info.partitions().size()) {
      return null;
    }
    int leader = info.partitions().get(partition).leader();
    return brokers.get(leader);
  }
}
