package io.raftline.deploy;

import static io.raftline.deploy.Await.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.MeterRegistry;
import io.raftline.client.Producer;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.PartitionData;
import io.raftline.protocol.client.PartitionFetch;
import io.raftline.protocol.client.RecordsGrpcClient;
import io.raftline.protocol.records.Record;
import io.raftline.protocol.records.RecordBatch;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.streams.ReadStream;
import io.vertx.grpc.client.GrpcClient;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Subscribe stream against a real node: records arrive in order without asking again; a caller
 * that stops reading stops the broker's reads for it (HTTP/2 flow control), so the broker sends a
 * bounded amount however much is produced meanwhile; reading again delivers the rest; cancelling
 * ends the subscription on the broker; bad subscriptions are answered with an error and ended.
 */
class SubscribeTest {
  private static final long TIMEOUT_MS = 30_000;
  private static final int RECORD_BYTES = 1024;

  @TempDir Path dir;
  private Vertx vertx;
  private RaftlineNode node;
  private RaftlineClient client;
  private GrpcClient grpc;

  @BeforeEach
  void start() throws Exception {
    NodeConfig config = NodeConfig.from(TestNodes.combined(dir, 0, 0));
    Storage.format(config, Storage.randomClusterId(), false);
    vertx = Vertx.vertx();
    node = Await.await(RaftlineNode.start(vertx, config, Storage.check(config)));
    // 16 KiB batches: an answer holds at least one whole batch, so with the default 1 MiB batches the
    // 16 KiB answers below would be 1 MiB each and the paused caller's queues would hold far more.
    client = RaftlineClient.create(vertx, Map.of("bootstrap.servers", "127.0.0.1:" + node.brokerPort(), "acks", "1",
        "batch.size", "16384"));
    grpc = grpcClient();
  }

  /** As the SDK's: answers of up to the broker's fetch sizes pass (gRPC's default limit is 256 KiB). */
  private GrpcClient grpcClient() {
    return GrpcClient.client(vertx, new io.vertx.grpc.client.GrpcClientOptions().setMaxMessageSize(64 << 20));
  }

  @AfterEach
  void stop() throws Exception {
    Await.await(grpc.close());
    Await.await(client.close());
    Await.await(node.stop());
    Await.await(vertx.close());
  }

  private void produce(String topic, int from, int count) throws Exception {
    Producer producer = client.producer();
    byte[] padding = new byte[RECORD_BYTES - 16];
    for (int i = from; i < from + count; i++) {
      byte[] value = new byte[RECORD_BYTES];
      byte[] label = String.format("%015d|", i).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      System.arraycopy(label, 0, value, 0, label.length);
      System.arraycopy(padding, 0, value, label.length, RECORD_BYTES - label.length);
      producer.send(ProducerRecord.of(topic, null, value));
    }
    Await.await(producer.flush());
  }

  /**
   * Subscribes from a Vert.x context and runs {@code setup} on the stream as it opens, in the same
   * event-loop turn, so no answer (nor the end) can arrive before its handlers. Registered later from
   * the test thread, they could miss an answer and end that came in the read that opened the stream.
   */
  private Future<ReadStream<FetchResponse>> subscribe(FetchRequest request,
      io.vertx.core.Handler<ReadStream<FetchResponse>> setup) {
    io.vertx.core.Promise<ReadStream<FetchResponse>> opened = io.vertx.core.Promise.promise();
    vertx.getOrCreateContext().runOnContext(v -> RecordsGrpcClient.create(grpc,
            SocketAddress.inetSocketAddress(node.brokerPort(), "127.0.0.1"))
        .subscribe(request).onSuccess(setup).onComplete(opened));
    return opened.future();
  }

  /**
   * From offset 0, at most 16 KiB an answer: what a paused caller ends up holding is its client's
   * queues of answers plus the HTTP/2 windows, so small answers keep that far below what is produced.
   */
  private static FetchRequest fromStart(String topic) {
    return FetchRequest.newBuilder().setReplicaId(-1).setMaxWaitMs(200).setMaxBytes(16 << 10)
        .addPartitions(PartitionFetch.newBuilder().setTopic(topic).setPartition(0).setFetchOffset(0)
            .setPartitionMaxBytes(16 << 10))
        .build();
  }

  private double meter(String name) {
    MeterRegistry registry = node.meterRegistry();
    var gauge = registry.find(name).gauge();
    if (gauge != null) {
      return gauge.value();
    }
    return registry.find(name).counter().count();
  }

  @Test
  void aCallerThatStopsReadingStopsTheBrokerAndGetsTheRestLater() throws Exception {
    Await.await(client.admin().createTopic("pushed", 1, 1));
    int first = 30_000; // about 30 MiB: far more than any flow-control window
    produce("pushed", 0, first);

    List<Long> offsets = new CopyOnWriteArrayList<>();
    AtomicBoolean ended = new AtomicBoolean();
    ReadStream<FetchResponse> stream = Await.await(subscribe(fromStart("pushed"), s -> {
      s.pause(); // a subscriber with no demand
      s.handler(r -> {
        for (PartitionData d : r.getPartitionsList()) {
          assertEquals(ErrorCode.NONE, d.getError(), d.getErrorMessage());
          for (RecordBatch b : RecordBatch.parse(d.getRecords().asReadOnlyByteBuffer())) {
            for (Record rec : b.records()) {
              offsets.add(rec.offset());
            }
          }
        }
      });
      s.endHandler(v -> ended.set(true));
    }));

    waitFor("the broker to stop for lack of demand", TIMEOUT_MS,
        () -> meter("raftline.broker.subscriptions.waiting.for.demand") == 1, () -> "subscriptions " + meter("raftline.broker.subscriptions") + ", responses pushed "
            + meter("raftline.broker.subscription.responses") + ", bytes out " + meter("raftline.broker.bytes.out")
            + ", offsets received " + offsets.size());
    // The caller's client keeps taking answers into its own queues for a while after it paused, so the
    // broker may go on a little; what matters is that it stops at a bound that does not grow with what
    // is produced.
    int more = 20_000;
    produce("pushed", first, more);
    waitFor("the broker to stop again", () -> meter("raftline.broker.subscriptions.waiting.for.demand") == 1);
    double sentWhilePaused = meter("raftline.broker.bytes.out");
    long produced = (long) (first + more) * RECORD_BYTES;
    System.out.printf("a paused subscriber stopped the broker after %.0f bytes of %d produced%n", sentWhilePaused,
        produced);
    // Measured here: about 0.6 MB with 16 KiB batches (8.6 MB when the producer wrote 256 KiB ones), the
    // client's HTTP/2 windows and queues; the bound leaves room for both.
    assertTrue(sentWhilePaused < 12 << 20, "a paused caller holds the broker to a bounded amount: " + sentWhilePaused
        + " bytes sent of " + produced + " produced");

    stream.resume();
    int total = first + more;
    waitFor("every record", () -> offsets.size() >= total);
    assertEquals(total, offsets.size());
    for (int i = 0; i < total; i++) {
      assertEquals(i, offsets.get(i), "in order, each once");
    }
    assertEquals(1, meter("raftline.broker.subscriptions"));

    Await.await(grpc.close()); // the caller goes away
    grpc = grpcClient();
    waitFor("the broker to drop the subscription", () -> meter("raftline.broker.subscriptions") == 0);
  }

  @Test
  void badSubscriptionsAreAnsweredAndEnded() throws Exception {
    List<PartitionData> unknown = answersUntilEnd(fromStart("no-such-topic"));
    assertEquals(1, unknown.size());
    assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, unknown.get(0).getError());

    List<PartitionData> follower = answersUntilEnd(fromStart("no-such-topic").toBuilder().setReplicaId(2).build());
    assertEquals(ErrorCode.INVALID_REQUEST, follower.get(0).getError());
    assertTrue(follower.get(0).getErrorMessage().contains("followers use Fetch"), follower.get(0).getErrorMessage());
    assertEquals(0, meter("raftline.broker.subscriptions"));
  }

  private List<PartitionData> answersUntilEnd(FetchRequest request) throws Exception {
    List<PartitionData> seen = new CopyOnWriteArrayList<>();
    io.vertx.core.Promise<Void> ended = io.vertx.core.Promise.promise();
    subscribe(request, stream -> {
      stream.handler(r -> seen.addAll(r.getPartitionsList()));
      stream.exceptionHandler(ended::tryFail);
      stream.endHandler(x -> ended.tryComplete());
    }).onFailure(ended::tryFail);
    Await.await(ended.future());
    return seen;
  }
}
