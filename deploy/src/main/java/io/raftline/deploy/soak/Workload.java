package io.raftline.deploy.soak;

import io.raftline.client.ConsumerGroupDescription;
import io.raftline.client.ConsumerRecord;
import io.raftline.client.GroupConsumer;
import io.raftline.client.Producer;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.raftline.client.RecordMetadata;
import io.raftline.client.TopicPartition;
import io.raftline.client.TopicSubscription;
import io.raftline.deploy.soak.History.Kind;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The soak's clients: acks=all producers sending unique values {@code <producer>-<seq>} with keys at a
 * steady rate (odd-numbered ones with {@code enable.idempotence=true}, even-numbered ones without), a
 * live consumer reading the topic from the beginning throughout, members of a consumer group
 * ({@code enable.auto.commit} every second) with an observer that reads the group's committed offsets
 * every second (DescribeGroups), and at the end a fresh consumer reading everything up to the end
 * offsets. Everything they do goes into the {@link History}.
 */
final class Workload {
  static final String FINAL_READER = "final";
  static final String LIVE_READER = "live";
  static final String GROUP = "soak-group";
  static final String GROUP_OBSERVER = "group-observer";
  private static final int KEYS = 64;
  private static final long TICK_MS = 20;

  /** Producer settings: acks=all, retries on retriable errors until delivery.timeout.ms. */
  static final Map<String, String> PRODUCER_SETTINGS = Map.of(
      "acks", "all",
      "linger.ms", "5",
      // Above replica.lag.time.max.ms: a produce waiting for a dead follower to leave the ISR is not retried.
      "request.timeout.ms", "8000",
      "delivery.timeout.ms", "30000",
      "retry.backoff.ms", "100",
      "metadata.max.age.ms", "5000");
  static final Map<String, String> GROUP_SETTINGS = Map.of(
      "group.id", GROUP,
      "enable.auto.commit", "true",
      "auto.commit.interval.ms", "1000",
      "auto.offset.reset", "earliest",
      "session.timeout.ms", "10000",
      "request.timeout.ms", "8000",
      "fetch.max.wait.ms", "200",
      "metadata.max.age.ms", "5000");
  static final Map<String, String> CONSUMER_SETTINGS = Map.of(
      "request.timeout.ms", "8000",
      "fetch.max.wait.ms", "200",
      "metadata.max.age.ms", "5000");

  private final Vertx vertx;
  private final History history;
  private final String bootstrap;
  private final String topic;
  private final int producers;
  private final int recordsPerSecond;
  private final int groupMembers;
  private final List<GroupConsumer> members = new ArrayList<>();
  private RaftlineClient observer;
  private volatile boolean observing;
  private final AtomicLong commitsSeen = new AtomicLong();
  private final int maxOutstanding;
  // Locked: clients are made on the harness's threads (producers, consumers, observer) and closed from another.
  private final List<RaftlineClient> clients = new ArrayList<>();
  private final List<Long> timers = new ArrayList<>();
  private final AtomicLong outstanding = new AtomicLong();
  private final AtomicLong acked = new AtomicLong();
  private final AtomicLong skipped = new AtomicLong();
  private TopicSubscription live;
  private volatile boolean sending;

  Workload(Vertx vertx, History history, String bootstrap, String topic, int producers, int recordsPerSecond,
      int groupMembers) {
    this.groupMembers = groupMembers;
    this.vertx = vertx;
    this.history = history;
    this.bootstrap = bootstrap;
    this.topic = topic;
    this.producers = producers;
    this.recordsPerSecond = recordsPerSecond;
    // As many as the producer can have in flight within its delivery timeout, and no more.
    this.maxOutstanding = recordsPerSecond * 30;
  }

  RaftlineClient client(Map<String, String> settings) {
    Map<String, String> all = new HashMap<>(settings);
    all.put("bootstrap.servers", bootstrap);
    RaftlineClient c = RaftlineClient.create(vertx, all);
    synchronized (clients) {
      clients.add(c);
    }
    return c;
  }

  /** Starts the producers and the live reader. */
  void start() {
    sending = true;
    for (int i = 1; i <= producers; i++) {
      String id = "p" + i;
      boolean idempotent = i % 2 == 1;
      Map<String, String> settings = new HashMap<>(PRODUCER_SETTINGS);
      settings.put("enable.idempotence", Boolean.toString(idempotent));
      Producer producer = client(settings).producer();
      long[] seq = {0};
      double[] credit = {0};
      timers.add(vertx.setPeriodic(TICK_MS, t -> {
        if (!sending) {
          return;
        }
        credit[0] += recordsPerSecond * TICK_MS / 1000.0;
        while (credit[0] >= 1) {
          credit[0] -= 1;
          if (outstanding.get() >= maxOutstanding * (long) producers) {
            skipped.incrementAndGet();
            continue;
          }
          send(id, idempotent, producer, ++seq[0]);
        }
      }));
    }
    live = client(CONSUMER_SETTINGS).subscribeFromBeginning(topic);
    live.exceptionHandler(t -> history.record(LIVE_READER, Kind.FAIL, topic, -1, -1, null, "consumer: " + t.getMessage()));
    live.handler(r -> read(LIVE_READER, r));
    for (int i = 1; i <= groupMembers; i++) {
      String id = "g" + i;
      GroupConsumer member = client(GROUP_SETTINGS).subscribe(List.of(topic));
      member.exceptionHandler(t -> history.record(id, Kind.FAIL, topic, -1, -1, null, "group member: " + t));
      member.handler(r -> read(id, r));
      member.partitionsAssignedHandler(ps -> ps.forEach(tp ->
          history.record(id, Kind.ASSIGN, topic, tp.partition(), -1, GROUP, "assigned")));
      member.partitionsRevokedHandler(ps -> ps.forEach(tp ->
          history.record(id, Kind.RELEASE, topic, tp.partition(), -1, GROUP, "revoked")));
      member.partitionsLostHandler(ps -> ps.forEach(tp ->
          history.record(id, Kind.RELEASE, topic, tp.partition(), -1, GROUP, "lost")));
      members.add(member);
    }
    if (groupMembers > 0) {
      observer = client(Map.of("request.timeout.ms", "3000"));
      timers.add(vertx.setPeriodic(1_000, t -> observeCommits()));
    }
  }

  /** Records the group's committed offsets as the coordinator reports them (-1: none); one ask at a time. */
  private void observeCommits() {
    if (observing) {
      return;
    }
    observing = true;
    long requested = history.now();
    observer.admin().describeGroup(GROUP).onComplete(ar -> observing = false).onSuccess(d -> {
      for (Map.Entry<TopicPartition, ConsumerGroupDescription.OffsetLag> e : d.offsets().entrySet()) {
        if (e.getKey().topic().equals(topic)) {
          commitsSeen.incrementAndGet();
          history.record(GROUP_OBSERVER, Kind.COMMIT, topic, e.getKey().partition(), e.getValue().committedOffset(),
              GROUP, "fetched requested=" + requested + " state=" + d.state());
        }
      }
    });
  }

  long commitsSeen() {
    return commitsSeen.get();
  }

  private void send(String producerId, boolean idempotent, Producer producer, long seq) {
    String value = producerId + "-" + seq;
    String key = "k" + (seq % KEYS);
    outstanding.incrementAndGet();
    history.record(producerId, Kind.SEND, topic, -1, -1, value, "key=" + key + " idempotent=" + idempotent);
    producer.send(ProducerRecord.of(topic, key.getBytes(StandardCharsets.UTF_8),
        value.getBytes(StandardCharsets.UTF_8))).onComplete(ar -> {
      outstanding.decrementAndGet();
      if (ar.succeeded()) {
        RecordMetadata md = ar.result();
        acked.incrementAndGet();
        history.record(producerId, Kind.ACK, topic, md.partition(), md.offset(), value, null);
      } else {
        history.record(producerId, Kind.FAIL, topic, -1, -1, value, ar.cause().toString());
      }
    });
  }

  private void read(String reader, ConsumerRecord r) {
    String value = r.value() == null ? "(null)" : new String(r.value(), StandardCharsets.UTF_8);
    history.record(reader, Kind.READ, topic, r.partition(), r.offset(), value, null);
  }

  long acked() {
    return acked.get();
  }

  long outstanding() {
    return outstanding.get();
  }

  long skipped() {
    return skipped.get();
  }

  /** Stops offering records and observing the group; waits until every send so far is acknowledged or failed. */
  boolean stopSending(long timeoutMs) throws InterruptedException {
    sending = false;
    for (long t : timers) {
      vertx.cancelTimer(t);
    }
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (outstanding.get() > 0 && System.currentTimeMillis() < deadline) {
      Thread.sleep(50);
    }
    return outstanding.get() == 0;
  }

  /** Waits until {@code subscription} has fetched past {@code ends} in every partition. */
  static boolean awaitPositions(TopicSubscription subscription, Map<Integer, Long> ends, long timeoutMs)
      throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (System.currentTimeMillis() < deadline) {
      long[] positions = SoakRun.await(subscription.positions(), 10_000);
      boolean done = positions.length >= ends.size();
      for (Map.Entry<Integer, Long> e : ends.entrySet()) {
        if (!done || positions[e.getKey()] < e.getValue()) {
          done = false;
          break;
        }
      }
      if (done) {
        return true;
      }
      Thread.sleep(100);
    }
    return false;
  }

  /** Lets the live reader catch up to {@code ends}, then stops it. */
  boolean stopLive(Map<Integer, Long> ends, long timeoutMs) throws Exception {
    boolean caughtUp = awaitPositions(live, ends, timeoutMs);
    // Records fetched but not yet handed to the handler are delivered on the client's context first.
    Thread.sleep(200);
    live.close();
    return caughtUp;
  }

  /** Lets the group members commit and leave (committing what they read). */
  void closeGroupMembers() throws Exception {
    List<Future<Void>> closing = new ArrayList<>();
    members.forEach(m -> closing.add(m.close()));
    members.clear();
    SoakRun.await(Future.join(closing), 30_000);
  }

  /** Reads every partition from the beginning up to {@code ends} with a new client. */
  boolean finalRead(Map<Integer, Long> ends, long timeoutMs) throws Exception {
    RaftlineClient c = client(CONSUMER_SETTINGS);
    TopicSubscription s = c.subscribeFromBeginning(topic);
    s.exceptionHandler(t -> history.record(FINAL_READER, Kind.FAIL, topic, -1, -1, null, "consumer: " + t.getMessage()));
    s.handler(r -> read(FINAL_READER, r));
    boolean complete = awaitPositions(s, ends, timeoutMs);
    Thread.sleep(200);
    s.close();
    return complete;
  }

  /** Closes every client (flushing nothing more: sending has stopped). */
  void close() throws Exception {
    sending = false;
    List<Future<Void>> closing = new ArrayList<>();
    synchronized (clients) {
      clients.forEach(c -> closing.add(c.close()));
    }
    SoakRun.await(Future.join(closing), 30_000);
  }
}
