package io.raftline.client;

import io.raftline.client.ClientConfig.HostPort;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.BrokerNode;
import io.raftline.protocol.client.DescribeTopicsRequest;
import io.raftline.protocol.client.DescribeTopicsResponse;
import io.raftline.protocol.client.PartitionDescription;
import io.raftline.protocol.client.RecordsClient;
import io.raftline.protocol.client.RecordsGrpcClient;
import io.raftline.protocol.client.TopicAdminClient;
import io.raftline.protocol.client.TopicAdminGrpcClient;
import io.raftline.protocol.client.TopicDescription;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

  private final Vertx vertx;
  private final Context context;
  private final ClientConfig config;
  private final GrpcClient grpc;
  private final Map<HostPort, RecordsClient> recordClients = new HashMap<>();
  private final Map<HostPort, TopicAdminClient> adminClients = new HashMap<>();
  private final Map<String, TopicInfo> topics = new HashMap<>();
  /** When each cached topic was fetched; older than metadata.max.age.ms means fetch again. */
  private final Map<String, Long> fetchedAt = new HashMap<>();
  private final Map<Integer, HostPort> brokers = new HashMap<>();
  private final Map<String, Future<TopicInfo>> refreshing = new HashMap<>();
  private final Admin admin;
  private final List<Producer> producers = new ArrayList<>();
  private final List<TopicSubscription> subscriptions = new ArrayList<>();
  private boolean closed;

  private RaftlineClient(Vertx vertx, ClientConfig config) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.config = config;
    this.grpc = GrpcClient.client(vertx, new GrpcClientOptions().setMaxMessageSize(MAX_GRPC_MESSAGE_BYTES)
        .setTimeout(config.positiveInt("request.timeout.ms")).setTimeoutUnit(TimeUnit.MILLISECONDS)
        .setScheduleDeadlineAutomatically(true));
    this.admin = new Admin(this);
  }

  /**
   * @param settings Kafka-style client settings; {@code bootstrap.servers} is required
   * @throws IllegalArgumentException for an unknown key or an invalid value, naming the key
   */
  public static RaftlineClient create(Vertx vertx, Map<String, String> settings) {
    return new RaftlineClient(vertx, ClientConfig.from(settings));
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

  /** Flushes producers, stops subscriptions and closes connections. */
  public Future<Void> close() {
    return call(() -> {
      closed = true;
      List<Future<Void>> flushing = new ArrayList<>();
      producers.forEach(p -> flushing.add(p.close()));
      subscriptions.forEach(TopicSubscription::close);
      return Future.join(flushing).transform(ar -> grpc.close());
    });
  }

  // ---- shared plumbing for Admin, Producer and TopicSubscription ---------------------------------

  /** The Vert.x instance this client runs on. */
  public Vertx vertx() {
    return vertx;
  }

  boolean isClosed() {
    return closed;
  }

  /** Runs {@code action} on the client's context. */
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

  RecordsClient records(HostPort broker) {
    return recordClients.computeIfAbsent(broker,
        b -> RecordsGrpcClient.create(grpc, SocketAddress.inetSocketAddress(b.port(), b.host())));
  }

  TopicAdminClient topicAdmin(HostPort broker) {
    return adminClients.computeIfAbsent(broker,
        b -> TopicAdminGrpcClient.create(grpc, SocketAddress.inetSocketAddress(b.port(), b.host())));
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

  /** The cached description of {@code topic}, fetched if absent or if {@code refresh}. */
  Future<TopicInfo> topic(String topic, boolean refresh) {
    TopicInfo cached = topics.get(topic);
    long maxAge = config.positiveInt("metadata.max.age.ms");
    if (cached != null && !refresh && System.currentTimeMillis() - fetchedAt.getOrDefault(topic, 0L) < maxAge) {
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
