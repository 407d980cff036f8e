package io.raftline.client;

import com.google.protobuf.ByteString;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.BrokerNode;
import io.raftline.protocol.client.DescribeTopicsRequest;
import io.raftline.protocol.client.DescribeTopicsResponse;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.ListOffsetsRequest;
import io.raftline.protocol.client.ListOffsetsResponse;
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
import io.raftline.protocol.group.GroupCoordinatorGrpcService;
import io.raftline.protocol.records.InvalidRecordBatchException;
import io.raftline.protocol.records.RecordBatch;
import io.raftline.protocol.records.RecordBatchBuilder;
import java.nio.charset.StandardCharsets;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.grpc.server.GrpcServer;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A one-node, in-memory broker speaking the client gRPC API, for client tests (client-sdk may not
 * depend on the real broker). Like the real one it validates produced batches with
 * {@link RecordBatch#validateAll} (CRC and codec id, no decompression), stamps base offsets, stores the
 * batches' bytes as they came and serves them back as they are; it answers an empty fetch after a short
 * wait. Topics are fixed at start, each partition led by this node (id 1). It is also the coordinator
 * of every consumer group: see {@link FakeGroupCoordinator}.
 */
final class FakeBroker {
  /** The largest batch a produce may carry (the real broker's max.message.bytes). */
  private volatile int maxBatchBytes = 16 << 20;

  private final Vertx vertx;
  private final Map<String, List<List<RecordBatch>>> logs = new HashMap<>();
  private final List<RecordBatch> produced = new ArrayList<>();
  private final FakeGroupCoordinator groups;
  private HttpServer server;
  /** How long produce answers are held back (a slow broker); 0 answers at once. */
  private volatile int produceDelayMs;

  private FakeBroker(Vertx vertx, Map<String, Integer> topics) {
    this.vertx = vertx;
    topics.forEach((name, partitions) -> {
      List<List<RecordBatch>> log = new ArrayList<>();
      for (int p = 0; p < partitions; p++) {
        log.add(new ArrayList<>());
      }
      logs.put(name, log);
    });
    this.groups = new FakeGroupCoordinator(() -> server.actualPort(), t -> {
      List<List<RecordBatch>> log = logs.get(t);
      return log == null ? -1 : log.size();
    }, GROUP_HEARTBEAT_INTERVAL_MS);
  }

  /** The heartbeat interval the fake coordinator asks group members for. */
  static final int GROUP_HEARTBEAT_INTERVAL_MS = 50;

  FakeGroupCoordinator groups() {
    return groups;
  }

  /**
   * Appends {@code count} records to a partition directly (no producer), each valued
   * {@code "<topic>-<partition>@<offset>"}.
   */
  synchronized void append(String topic, int partition, int count) {
    append(topic, partition, count, System.currentTimeMillis());
  }

  /** {@link #append(String, int, int)} with every record stamped {@code timestamp}. */
  synchronized void append(String topic, int partition, int count, long timestamp) {
    List<RecordBatch> log = partition(topic, partition);
    long base = endOffset(log);
    RecordBatchBuilder builder = new RecordBatchBuilder();
    for (int i = 0; i < count; i++) {
      builder.append(timestamp, null,
          (topic + "-" + partition + "@" + (base + i)).getBytes(StandardCharsets.UTF_8), List.of());
    }
    try {
      for (RecordBatch b : RecordBatch.validateAll(builder.build(), Integer.MAX_VALUE)) {
        b.setBaseOffset(base);
        b.setPartitionLeaderEpoch(0);
        base = b.nextOffset();
        log.add(b);
      }
    } catch (InvalidRecordBatchException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Refuses later produced batches over {@code bytes} with RECORD_TOO_LARGE, as a topic's max.message.bytes. */
  void maxBatchBytes(int bytes) {
    maxBatchBytes = bytes;
  }

  /** Holds back every later produce answer by {@code ms} (the batches are stored at once). */
  void produceDelay(int ms) {
    produceDelayMs = ms;
  }

  /** The next offset of a partition. */
  synchronized long endOffset(String topic, int partition) {
    return endOffset(partition(topic, partition));
  }

  /** Starts on a random loopback port with {@code topics} (name to partition count). */
  static Future<FakeBroker> start(Vertx vertx, Map<String, Integer> topics) {
    FakeBroker broker = new FakeBroker(vertx, topics);
    GrpcServer grpc = GrpcServer.server(vertx);
    grpc.addService(TopicAdminGrpcService.of(broker.new Admin()));
    grpc.addService(RecordsGrpcService.of(broker.new Records()));
    grpc.addService(GroupCoordinatorGrpcService.of(broker.groups));
    return vertx.createHttpServer().requestHandler(grpc).listen(0, "127.0.0.1").map(s -> {
      broker.server = s;
      return broker;
    });
  }

  String bootstrap() {
    return "127.0.0.1:" + server.actualPort();
  }

  Future<Void> close() {
    return server.close();
  }

  /** Every batch accepted so far, in arrival order. */
  synchronized List<RecordBatch> produced() {
    return List.copyOf(produced);
  }

  private synchronized long endOffset(List<RecordBatch> log) {
    return log.isEmpty() ? 0 : log.get(log.size() - 1).nextOffset();
  }

  private final class Admin extends TopicAdminService {
    @Override
    public Future<DescribeTopicsResponse> describeTopics(DescribeTopicsRequest request) {
      DescribeTopicsResponse.Builder response = DescribeTopicsResponse.newBuilder()
          .addBrokers(BrokerNode.newBuilder().setId(1).setHost("127.0.0.1").setPort(server.actualPort()));
      for (String name : request.getNamesList()) {
        TopicDescription.Builder d = TopicDescription.newBuilder().setName(name);
        List<List<RecordBatch>> log = logs.get(name);
        if (log == null) {
          d.setError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).setErrorMessage("no topic " + name);
        } else {
          d.setTopicId("fake-" + name);
          for (int p = 0; p < log.size(); p++) {
            d.addPartitions(PartitionDescription.newBuilder().setPartition(p).setLeader(1).setLeaderEpoch(0)
                .addReplicas(1).addIsr(1));
          }
        }
        response.addTopics(d);
      }
      return Future.succeededFuture(response.build());
    }
  }

  private final class Records extends RecordsService {
    private long nextProducerId = 1000;

    @Override
    public Future<io.raftline.protocol.client.InitProducerIdResponse> initProducerId(
        io.raftline.protocol.client.InitProducerIdRequest request) {
      return Future.succeededFuture(io.raftline.protocol.client.InitProducerIdResponse.newBuilder()
          .setError(io.raftline.protocol.ErrorCode.NONE).setProducerId(nextProducerId++).setProducerEpoch(0).build());
    }

    @Override
    public Future<ProduceResponse> produce(ProduceRequest request) {
      ProduceResponse.Builder response = ProduceResponse.newBuilder();
      for (PartitionRecords pr : request.getPartitionsList()) {
        PartitionProduceResult.Builder r =
            PartitionProduceResult.newBuilder().setTopic(pr.getTopic()).setPartition(pr.getPartition());
        List<RecordBatch> log = partition(pr.getTopic(), pr.getPartition());
        if (log == null) {
          response.addResults(r.setError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
          continue;
        }
        try {
          List<RecordBatch> batches =
              RecordBatch.validateAll(ByteBuffer.wrap(pr.getRecords().toByteArray()), maxBatchBytes);
          synchronized (FakeBroker.this) {
            long base = endOffset(log);
            r.setBaseOffset(base);
            for (RecordBatch b : batches) {
              b.setBaseOffset(base);
              b.setPartitionLeaderEpoch(0);
              base = b.nextOffset();
              log.add(b);
              produced.add(b);
            }
          }
        } catch (InvalidRecordBatchException e) {
          r.setError(e.errorCode()).setErrorMessage(e.getMessage());
        }
        response.addResults(r);
      }
      int delay = produceDelayMs;
      if (delay > 0) {
        Promise<ProduceResponse> later = Promise.promise();
        vertx.setTimer(delay, id -> later.complete(response.build()));
        return later.future();
      }
      return Future.succeededFuture(response.build());
    }

    @Override
    public Future<FetchResponse> fetch(FetchRequest request) {
      FetchResponse.Builder response = FetchResponse.newBuilder();
      boolean any = false;
      for (PartitionFetch pf : request.getPartitionsList()) {
        PartitionData.Builder d = PartitionData.newBuilder().setTopic(pf.getTopic()).setPartition(pf.getPartition());
        List<RecordBatch> log = partition(pf.getTopic(), pf.getPartition());
        if (log == null) {
          response.addPartitions(d.setError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
          continue;
        }
        synchronized (FakeBroker.this) {
          long end = endOffset(log);
          d.setHighWatermark(end).setLogStartOffset(0);
          if (pf.getFetchOffset() > end || pf.getFetchOffset() < 0) {
            d.setError(ErrorCode.OFFSET_OUT_OF_RANGE);
          } else {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (RecordBatch b : log) {
              if (b.nextOffset() <= pf.getFetchOffset()) {
                continue;
              }
              if (out.size() > 0 && out.size() + b.sizeInBytes() > pf.getPartitionMaxBytes()) {
                break;
              }
              ByteBuffer bytes = b.buffer();
              byte[] copy = new byte[bytes.remaining()];
              bytes.get(copy);
              out.writeBytes(copy);
            }
            any |= out.size() > 0;
            d.setRecords(ByteString.copyFrom(out.toByteArray()));
          }
        }
        response.addPartitions(d);
      }
      if (any) {
        return Future.succeededFuture(response.build());
      }
      Promise<FetchResponse> later = Promise.promise();
      vertx.setTimer(Math.max(1, Math.min(request.getMaxWaitMs(), 20)), id -> later.complete(response.build()));
      return later.future();
    }

    @Override
    public Future<ListOffsetsResponse> listOffsets(ListOffsetsRequest request) {
      ListOffsetsResponse.Builder response = ListOffsetsResponse.newBuilder();
      for (PartitionTimestamp pt : request.getPartitionsList()) {
        PartitionOffset.Builder o = PartitionOffset.newBuilder().setTopic(pt.getTopic()).setPartition(pt.getPartition());
        List<RecordBatch> log = partition(pt.getTopic(), pt.getPartition());
        if (log == null) {
          o.setError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        } else if (pt.getTimestamp() == -2) {
          o.setOffset(0);
        } else if (pt.getTimestamp() == -1) {
          o.setOffset(endOffset(log));
        } else {
          o.setOffset(offsetForTimestamp(log, pt.getTimestamp()));
        }
        response.addPartitions(o);
      }
      return Future.succeededFuture(response.build());
    }
  }

  /** The first offset whose record's timestamp is at or after {@code timestamp}, or -1 (Kafka's answer). */
  private synchronized long offsetForTimestamp(List<RecordBatch> log, long timestamp) {
    for (RecordBatch b : log) {
      for (io.raftline.protocol.records.Record r : b.records()) {
        if (r.timestamp() >= timestamp) {
          return r.offset();
        }
      }
    }
    return -1;
  }

  private List<RecordBatch> partition(String topic, int partition) {
    List<List<RecordBatch>> log = logs.get(topic);
    return log == null || partition < 0 || partition >= log.size() ? null : log.get(partition);
  }
}
