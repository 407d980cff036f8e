package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import io.raftline.client.ConsumerRecord;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.raftline.client.TopicSubscription;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.InitProducerIdRequest;
import io.raftline.protocol.client.InitProducerIdResponse;
import io.raftline.protocol.client.PartitionProduceResult;
import io.raftline.protocol.client.PartitionRecords;
import io.raftline.protocol.client.ProduceRequest;
import io.raftline.protocol.client.RecordsClient;
import io.raftline.protocol.client.RecordsGrpcClient;
import io.raftline.protocol.records.RecordBatchBuilder;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The idempotent producer against a real node: producer ids from the controller's blocks, a resent
 * batch answered with its first offsets and stored once, a gap refused, and the SDK producing with
 * idempotence on by default.
 */
class IdempotentProduceTest {
  @TempDir Path dir;
  private Vertx vertx;
  private RaftlineNode node;
  private GrpcClient grpc;
  private RecordsClient records;

  @BeforeEach
  void start() throws Exception {
    NodeConfig config = NodeConfig.from(TestNodes.combined(dir, 0, 0));
    Storage.format(config, Storage.randomClusterId(), false);
    vertx = Vertx.vertx();
    node = Await.await(RaftlineNode.start(vertx, config, Storage.check(config)));
    grpc = GrpcClient.client(vertx);
    records = RecordsGrpcClient.create(grpc, SocketAddress.inetSocketAddress(node.brokerPort(), "127.0.0.1"));
  }

  @AfterEach
  void stop() throws Exception {
    if (grpc != null) {
      Await.await(grpc.close());
    }
    if (node != null) {
      Await.await(node.stop());
    }
    Await.await(vertx.close());
  }

  private ProduceRequest request(long producerId, int sequence, String... values) {
    RecordBatchBuilder b = new RecordBatchBuilder().producer(producerId, (short) 0, sequence);
    for (String v : values) {
      b.append(System.currentTimeMillis(), null, v.getBytes(StandardCharsets.UTF_8), List.of());
    }
    return ProduceRequest.newBuilder().setAcks(-1).setTimeoutMs(10_000).addPartitions(PartitionRecords.newBuilder()
        .setTopic("once").setPartition(0).setRecords(ByteString.copyFrom(b.build()))).build();
  }

  private static final java.util.Set<ErrorCode> RETRIABLE = java.util.EnumSet.of(ErrorCode.NOT_LEADER_OR_FOLLOWER,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.LEADER_NOT_AVAILABLE);

  private PartitionProduceResult produce(ProduceRequest request) throws Exception {
    return Await.await(records.produce(request)).getResults(0);
  }

  @Test
  void aResentBatchIsStoredOnceAndAGapIsRefused() throws Exception {
    RaftlineClient client = RaftlineClient.create(vertx, Map.of("bootstrap.servers", "127.0.0.1:" + node.brokerPort()));
    Await.await(client.admin().createTopic("once", 1, 1));
    InitProducerIdResponse first = Await.await(records.initProducerId(InitProducerIdRequest.getDefaultInstance()));
    InitProducerIdResponse second = Await.await(records.initProducerId(InitProducerIdRequest.getDefaultInstance()));
    assertEquals(ErrorCode.NONE, first.getError());
    assertNotEquals(first.getProducerId(), second.getProducerId());
    long pid = first.getProducerId();

    // The broker serves the new topic once its own image has it, a moment after the create commits;
    // until then it answers a retriable error, as Kafka does, and a client tries again.
    PartitionProduceResult firstWrite = produce(request(pid, 0, "a", "b"));
    long deadline = System.currentTimeMillis() + 30_000;
    while (RETRIABLE.contains(firstWrite.getError()) && System.currentTimeMillis() < deadline) {
      Thread.sleep(20);
      firstWrite = produce(request(pid, 0, "a", "b"));
    }
    assertEquals(ErrorCode.NONE, firstWrite.getError(), firstWrite.getErrorMessage());
    assertEquals(0, firstWrite.getBaseOffset());
    PartitionProduceResult again = produce(request(pid, 0, "a", "b"));
    assertEquals(ErrorCode.NONE, again.getError());
    assertEquals(0, again.getBaseOffset(), "the retry is answered with the original offset");
    assertEquals(2, produce(request(pid, 2, "c")).getBaseOffset());
    PartitionProduceResult gap = produce(request(pid, 7, "d"));
    assertEquals(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, gap.getError());
    assertEquals(ErrorCode.INVALID_REQUEST,
        Await.await(records.initProducerId(InitProducerIdRequest.newBuilder().setTransactionalId("tx").build()))
            .getError());

    // The SDK is idempotent by default; its records follow, each stored once.
    for (int i = 0; i < 20; i++) {
      Await.await(client.producer().send(ProducerRecord.of("once", null, ("sdk-" + i).getBytes())));
    }
    List<String> read = new ArrayList<>();
    Promise<Void> done = Promise.promise();
    TopicSubscription s = client.subscribeFromBeginning("once");
    s.exceptionHandler(done::tryFail);
    s.handler((ConsumerRecord r) -> {
      read.add(new String(r.value(), StandardCharsets.UTF_8));
      if (read.size() == 23) {
        s.close();
        done.tryComplete();
      }
    });
    Await.await(done.future());
    assertEquals(List.of("a", "b", "c"), read.subList(0, 3));
    assertEquals("sdk-19", read.get(22));
  }

  @Test
  void idempotenceNeedsAcksAll() {
    assertThrows(IllegalArgumentException.class, () -> RaftlineClient.create(vertx, Map.of(
        "bootstrap.servers", "127.0.0.1:1", "acks", "1", "enable.idempotence", "true")));
    // Left unset, it is simply off with acks=1.
    RaftlineClient.create(vertx, Map.of("bootstrap.servers", "127.0.0.1:1", "acks", "1")).close();
  }
}
