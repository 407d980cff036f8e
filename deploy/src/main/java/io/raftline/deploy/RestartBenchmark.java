package io.raftline.deploy;

import com.google.protobuf.ByteString;
import io.raftline.client.RaftlineClient;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.ListOffsetsRequest;
import io.raftline.protocol.client.ListOffsetsResponse;
import io.raftline.protocol.client.PartitionOffset;
import io.raftline.protocol.client.PartitionProduceResult;
import io.raftline.protocol.client.PartitionRecords;
import io.raftline.protocol.client.PartitionTimestamp;
import io.raftline.protocol.client.ProduceRequest;
import io.raftline.protocol.client.RecordsGrpcClient;
import io.raftline.protocol.records.RecordBatchBuilder;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.Map;

/**
 * Broker restart at scale (issue 5's target: 10,000 partitions serving again within 10 s): one local
 * combined node (a real process), {@code topics × partitions} partitions of RF 1 each given a few
 * records, then rounds of a clean stop (SIGTERM) or a kill -9, each followed by a start timed from
 * launch to the node's ready line and to the first moment every partition's leader answers a
 * ListOffsets (latest) with its end offset.
 */
final class RestartBenchmark {
  private static final long TIMEOUT_MS = 300_000;
  /** Partitions per ListOffsets / Produce request. */
  private static final int REQUEST_PARTITIONS = 1000;

  private RestartBenchmark() {}

  /**
   * A node prints its ready line once its broker is registered; the controller unfences it a moment
   * later, and until then a topic cannot get a replica (INVALID_REPLICATION_FACTOR): ask again.
   */
  private static void createOnceUnfenced(RaftlineClient client, String topic, int partitions) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
    while (true) {
      try {
        RaftlineCli.await(client.admin().createTopic(topic, partitions, 1), TIMEOUT_MS);
        return;
      } catch (io.raftline.client.RaftlineException e) {
        if (e.errorCode() != io.raftline.protocol.ErrorCode.INVALID_REPLICATION_FACTOR || System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(100);
      }
    }
  }

  static void run(int topics, int partitionsPerTopic, int rounds, Path baseDir, PrintWriter out) throws Exception {
    Path dir = baseDir != null ? baseDir : Files.createTempDirectory("raftline-perf-restart");
    LocalCluster cluster = LocalCluster.prepare(dir, 1, out);
    Vertx vertx = Vertx.vertx();
    GrpcClient grpc = GrpcClient.client(vertx);
    try {
      cluster.start(out);
      String[] hostPort = cluster.bootstrapServers().split(",")[0].split(":");
      RecordsGrpcClient records = RecordsGrpcClient.create(grpc,
          SocketAddress.inetSocketAddress(Integer.parseInt(hostPort[1]), hostPort[0]));
      RaftlineClient client = RaftlineClient.create(vertx, Map.of("bootstrap.servers", cluster.bootstrapServers(),
          "request.timeout.ms", "60000"));
      long createStart = System.nanoTime();
      for (int t = 0; t < topics; t++) {
        createOnceUnfenced(client, topic(t), partitionsPerTopic);
      }
      RaftlineCli.await(client.close(), 10_000);
      int partitions = topics * partitionsPerTopic;
      long[] expected = new long[partitions];
      waitServed(records, topics, partitionsPerTopic, null, System.nanoTime());
      out.printf("created %d topics x %d partitions (RF 1) in %.1f s%n", topics, partitionsPerTopic,
          (System.nanoTime() - createStart) / 1e9);
      produce(records, topics, partitionsPerTopic, expected);
      out.printf("wrote 3 records to each of %d partitions%n", partitions);
      out.flush();

      List<Long> cleanReady = new ArrayList<>();
      List<Long> cleanServed = new ArrayList<>();
      List<Long> killReady = new ArrayList<>();
      List<Long> killServed = new ArrayList<>();
      for (int round = 0; round < rounds; round++) {
        for (boolean clean : new boolean[] {true, false}) {
          if (clean) {
            cluster.stopNode(1);
          } else {
            cluster.killNode(1);
          }
          long launched = System.nanoTime();
          cluster.restartNode(1);
          long ready = (System.nanoTime() - launched) / 1_000_000;
          long served = waitServed(records, topics, partitionsPerTopic, expected, launched);
          (clean ? cleanReady : killReady).add(ready);
          (clean ? cleanServed : killServed).add(served);
          out.printf("round %d, %s: ready line after %d ms, all %d partitions served after %d ms%n", round + 1,
              clean ? "clean stop" : "kill -9", ready, partitions, served);
          out.flush();
        }
      }
      out.printf("%d partitions; restart after a clean stop: median ready %d ms, served %d ms; after kill -9: "
              + "median ready %d ms, served %d ms (%d rounds)%n", partitions, median(cleanReady), median(cleanServed),
          median(killReady), median(killServed), rounds);
    } finally {
      cluster.requestStop();
      cluster.stop();
      RaftlineCli.await(vertx.close(), 10_000);
    }
  }

  private static String topic(int t) {
    return String.format("restart-%04d", t);
  }

  private static long median(List<Long> values) {
    long[] sorted = values.stream().mapToLong(Long::longValue).toArray();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  /** Three records into every partition, acks=1; records each partition's end offset in {@code ends}. */
  private static void produce(RecordsGrpcClient records, int topics, int partitionsPerTopic, long[] ends)
      throws Exception {
    ProduceRequest.Builder request = ProduceRequest.newBuilder().setAcks(1).setTimeoutMs(30_000);
    List<Future<?>> sent = new ArrayList<>();
    for (int t = 0; t < topics; t++) {
      for (int p = 0; p < partitionsPerTopic; p++) {
        RecordBatchBuilder batch = new RecordBatchBuilder();
        for (int i = 0; i < 3; i++) {
          batch.append(System.currentTimeMillis(), null, ("value-" + i).getBytes(StandardCharsets.UTF_8), List.of());
        }
        request.addPartitions(PartitionRecords.newBuilder().setTopic(topic(t)).setPartition(p)
            .setRecords(ByteString.copyFrom(batch.build())));
        ends[t * partitionsPerTopic + p] = 3;
        if (request.getPartitionsCount() == REQUEST_PARTITIONS) {
          sent.add(checkProduced(records.produce(request.build())));
          request = ProduceRequest.newBuilder().setAcks(1).setTimeoutMs(30_000);
        }
      }
    }
    if (request.getPartitionsCount() > 0) {
      sent.add(checkProduced(records.produce(request.build())));
    }
    RaftlineCli.await(Future.all(sent), TIMEOUT_MS);
  }

  private static Future<?> checkProduced(Future<io.raftline.protocol.client.ProduceResponse> answer) {
    return answer.compose(r -> {
      for (PartitionProduceResult result : r.getResultsList()) {
        if (result.getError() != ErrorCode.NONE) {
          return Future.failedFuture(result.getTopic() + "-" + result.getPartition() + ": " + result.getError());
        }
      }
      return Future.succeededFuture();
    });
  }

  /**
   * Asks for every partition's latest offset until all are answered without error (and equal
   * {@code expected}, if given); returns the milliseconds since {@code since}.
   */
  private static long waitServed(RecordsGrpcClient records, int topics, int partitionsPerTopic, long[] expected,
      long since) throws Exception {
    int partitions = topics * partitionsPerTopic;
    boolean[] served = new boolean[partitions];
    int remaining = partitions;
    long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
    while (remaining > 0) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(remaining + " partitions still not served after " + TIMEOUT_MS + " ms");
      }
      List<Future<ListOffsetsResponse>> asked = new ArrayList<>();
      ListOffsetsRequest.Builder request = ListOffsetsRequest.newBuilder();
      for (int i = 0; i < partitions; i++) {
        if (served[i]) {
          continue;
        }
        request.addPartitions(PartitionTimestamp.newBuilder().setTopic(topic(i / partitionsPerTopic))
            .setPartition(i % partitionsPerTopic).setTimestamp(-1));
        if (request.getPartitionsCount() == REQUEST_PARTITIONS) {
          asked.add(records.listOffsets(request.build()));
          request = ListOffsetsRequest.newBuilder();
        }
      }
      if (request.getPartitionsCount() > 0) {
        asked.add(records.listOffsets(request.build()));
      }
      // A node still starting refuses connections: those requests fail and are asked again.
      RaftlineCli.await(Future.join(asked).otherwiseEmpty(), TIMEOUT_MS);
      for (Future<ListOffsetsResponse> answer : asked) {
        if (answer.failed()) {
          continue;
        }
        for (PartitionOffset po : answer.result().getPartitionsList()) {
          int i = Integer.parseInt(po.getTopic().substring("restart-".length())) * partitionsPerTopic + po.getPartition();
          if (po.getError() == ErrorCode.NONE && !served[i] && (expected == null || po.getOffset() == expected[i])) {
            served[i] = true;
            remaining--;
          }
        }
      }
      if (remaining > 0) {
        // Polling interval, not synchronisation: the node gives no signal when its last partition opens.
        Thread.sleep(20);
      }
    }
    return (System.nanoTime() - since) / 1_000_000;
  }
}
