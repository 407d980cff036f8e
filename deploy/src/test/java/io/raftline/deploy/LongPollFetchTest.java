package io.raftline.deploy;

import io.raftline.client.Producer;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.raftline.client.TopicSubscription;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A held (long-poll) fetch must be answered as soon as a record is appended, even when the append
 * lands between the fetch's first read and its registration as a waiter. The consumer here waits up
 * to a minute per fetch, so a lost wake-up holds a record for a minute and trips the 30 s deadline of
 * each step; one record at a time makes that race frequent.
 */
class LongPollFetchTest {
  @TempDir Path dir;

  @Test
  void recordsSentOneAtATimeArriveWithoutWaitingOutTheFetch() throws Exception {
    NodeConfig config = NodeConfig.from(TestNodes.combined(dir, 0, 0));
    Storage.format(config, Storage.randomClusterId(), false);
    Vertx vertx = Vertx.vertx();
    RaftlineNode node = Await.await(RaftlineNode.start(vertx, config, Storage.check(config)));
    RaftlineClient client = RaftlineClient.create(vertx, Map.of("bootstrap.servers", "127.0.0.1:" + node.brokerPort(),
        "linger.ms", "0", "auto.offset.reset", "earliest", "fetch.max.wait.ms", "60000"));
    try {
      Await.await(client.admin().createTopic("one-at-a-time", 1, 1));
      Map<Long, Promise<Void>> waiting = new ConcurrentHashMap<>();
      TopicSubscription subscription = client.subscribe("one-at-a-time");
      subscription.handler(r -> {
        Promise<Void> p = waiting.remove(ByteBuffer.wrap(r.value()).getLong());
        if (p != null) {
          p.tryComplete();
        }
      });
      Producer producer = client.producer();
      for (long i = 0; i < 300; i++) {
        Promise<Void> arrived = Promise.promise();
        waiting.put(i, arrived);
        producer.send(ProducerRecord.of("one-at-a-time", null, ByteBuffer.allocate(16).putLong(i).array()));
        Await.await(arrived.future());
      }
      subscription.close();
    } finally {
      Await.await(client.close());
      Await.await(node.stop());
      Await.await(vertx.close());
    }
  }
}
