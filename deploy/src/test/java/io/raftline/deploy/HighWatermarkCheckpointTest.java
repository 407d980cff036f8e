package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.raftline.broker.log.ReplicationOffsetCheckpoint;
import io.raftline.client.Producer;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.raftline.client.RecordMetadata;
import io.raftline.metadata.TopicPartition;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker's replication-offset-checkpoint through a real node: written on the
 * replica.high.watermark.checkpoint.interval.ms schedule while the high watermark moves, and on a
 * clean stop after the logs close, in the log dir holding the partition.
 */
class HighWatermarkCheckpointTest {
  private static final long TIMEOUT_MS = 30_000;

  @TempDir Path dir;
  private Vertx vertx;
  private RaftlineNode node;
  private NodeConfig config;

  private void startNode(long checkpointIntervalMs) throws Exception {
    Properties p = TestNodes.combined(dir, 0, 0);
    p.setProperty("replica.high.watermark.checkpoint.interval.ms", Long.toString(checkpointIntervalMs));
    config = NodeConfig.from(p);
    Storage.format(config, Storage.randomClusterId(), false);
    vertx = Vertx.vertx();
    node = Await.await(RaftlineNode.start(vertx, config, Storage.check(config)));
  }

  @AfterEach
  void stop() throws Exception {
    if (node != null) {
      Await.await(node.stop());
    }
    if (vertx != null) {
      Await.await(vertx.close());
    }
  }

  private Map<TopicPartition, Long> checkpoint() throws Exception {
    return ReplicationOffsetCheckpoint.read(config.logDirs().get(0).resolve(ReplicationOffsetCheckpoint.FILE_NAME));
  }

  /** Produces {@code count} records with acks=all and returns the offset after the last one. */
  private long produce(String topic, int count) throws Exception {
    RaftlineClient client = RaftlineClient.create(vertx,
        Map.of("bootstrap.servers", "127.0.0.1:" + node.brokerPort(), "acks", "all"));
    Await.await(client.admin().createTopic(topic, 1, 1, Map.of()));
    Producer producer = client.producer();
    List<Future<RecordMetadata>> sends = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      sends.add(producer.send(ProducerRecord.of(topic, null, ("v" + i).getBytes(StandardCharsets.UTF_8))));
    }
    long next = 0;
    for (Future<RecordMetadata> f : sends) {
      next = Await.await(f).offset() + 1;
    }
    Await.await(client.close());
    return next;
  }

  @Test
  void theCheckpointFollowsTheHighWatermarkOnItsSchedule() throws Exception {
    startNode(100);
    long end = produce("scheduled", 200);
    assertEquals(200, end);
    TopicPartition tp = new TopicPartition("scheduled", 0);
    Await.waitFor("the checkpoint to reach " + end, Await.TIMEOUT_MS, () -> Long.valueOf(end).equals(checkpoint().get(tp)),
        () -> "checkpoint " + checkpoint());
  }

  @Test
  void aCleanStopWritesTheFinalHighWatermarks() throws Exception {
    // The schedule never comes round in this test: only the stop can have written the file.
    startNode(3_600_000);
    long end = produce("stopped", 150);
    assertEquals(Map.of(), checkpoint(), "nothing written before the stop");
    Await.await(node.stop());
    node = null;
    assertEquals(end, checkpoint().get(new TopicPartition("stopped", 0)));
  }
}
