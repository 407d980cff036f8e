package io.raftline.client;

import static io.raftline.client.Await.await;
import static io.raftline.client.Await.awaitFailure;
import static io.raftline.client.Await.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Seeking a group member's assigned partitions, and its lag, against the fake broker and coordinator. */
class GroupConsumerSeekTest {
  private static final TopicPartition P0 = new TopicPartition("two", 0);
  private static final TopicPartition P1 = new TopicPartition("two", 1);

  private Vertx vertx;
  private FakeBroker broker;
  private RaftlineClient client;
  private GroupConsumer consumer;
  private final List<ConsumerRecord> records = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    broker = await(FakeBroker.start(vertx, Map.of("two", 2)));
    broker.append("two", 0, 10, 1_000);
    broker.append("two", 0, 10, 2_000);
    broker.append("two", 1, 5, 1_000);
    client = RaftlineClient.create(vertx, new HashMap<>(Map.of("bootstrap.servers", broker.bootstrap(),
        "retry.backoff.ms", "20", "fetch.max.wait.ms", "50", "auto.offset.reset", "earliest",
        "auto.commit.interval.ms", "60000")));
    consumer = client.subscribe("g", List.of("two"));
    consumer.handler(records::add);
    waitFor("all 25 records", () -> records.size() == 25);
  }

  @AfterEach
  void stop() throws Exception {
    await(client.close());
    await(broker.close());
    await(vertx.close());
  }

  private static String value(ConsumerRecord r) {
    return new String(r.value(), StandardCharsets.UTF_8);
  }

  @Test
  void seekToAnOffsetReadsAgainFromThereAndIsCommitted() throws Exception {
    records.clear();
    await(consumer.seek(P0, 17));
    waitFor("offsets 17-19 of partition 0 again", () -> records.size() == 3);
    assertEquals(List.of("two-0@17", "two-0@18", "two-0@19"), records.stream().map(GroupConsumerSeekTest::value).toList());
    await(consumer.commit());
    assertEquals(20L, broker.groups().committed("g").get(P0));
    await(consumer.seek(P0, 5));
    waitFor("offsets 5-19 of partition 0 again", () -> records.size() == 18);
    assertEquals("two-0@5", value(records.get(3)));
  }

  @Test
  void seekToBeginningAndEnd() throws Exception {
    records.clear();
    await(consumer.seekToBeginning(Set.of(P1)));
    waitFor("partition 1 again", () -> records.size() == 5);
    assertEquals("two-1@0", value(records.get(0)));
    records.clear();
    await(consumer.seekToEnd(Set.of(P0, P1)));
    broker.append("two", 1, 2);
    waitFor("the new records of partition 1", () -> records.size() == 2);
    assertEquals(List.of("two-1@5", "two-1@6"), records.stream().map(GroupConsumerSeekTest::value).toList());
  }

  @Test
  void seekToTimestampGoesToTheFirstRecordAtOrAfterItOrToTheEnd() throws Exception {
    records.clear();
    await(consumer.seekToTimestamp(Set.of(P0, P1), 1_500));
    waitFor("partition 0 from offset 10", () -> records.size() == 10);
    assertEquals("two-0@10", value(records.get(0)));
    assertTrue(records.stream().allMatch(r -> r.partition() == 0), "partition 1 has nothing after 1500: " + records);
    broker.append("two", 1, 1);
    waitFor("the new record of partition 1", () -> records.size() == 11);
    assertEquals("two-1@5", value(records.get(10)));
  }

  @Test
  void seekingAPartitionNotAssignedFails() throws Exception {
    Throwable t = awaitFailure(consumer.seek(new TopicPartition("two", 7), 0));
    assertTrue(t instanceof IllegalStateException && t.getMessage().contains("two-7"), t.toString());
    assertTrue(awaitFailure(consumer.seek(P0, -3)) instanceof IllegalArgumentException);
  }

  @Test
  void lagIsTheHighWatermarkMinusTheNextOffsetToHandOver() throws Exception {
    waitFor("lag 0 on both partitions", () -> {
      try {
        return await(consumer.lag()).equals(Map.of(P0, 0L, P1, 0L));
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    consumer.pause();
    broker.append("two", 0, 4);
    // The paused consumer still fetches up to max.poll.records, which the lag counts as not consumed.
    waitFor("lag 4 on partition 0", () -> {
      try {
        return await(consumer.lag()).get(P0) == 4L;
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    consumer.resume();
    waitFor("lag 0 again", () -> {
      try {
        return await(consumer.lag()).get(P0) == 0L;
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
  }

  @Test
  void theMemberCarriesItsPreferredAssignorAndStopsOnUnsupportedAssignor() throws Exception {
    assertTrue(broker.groups().serverAssignors().stream().allMatch("uniform"::equals),
        "the default group.remote.assignor is uniform: " + broker.groups().serverAssignors());
    RaftlineClient other = RaftlineClient.create(vertx, Map.of("bootstrap.servers", broker.bootstrap(),
        "group.remote.assignor", "range", "retry.backoff.ms", "20"));
    await(consumer.close()); // its heartbeats would take the injected error
    try {
      List<Throwable> errors = new CopyOnWriteArrayList<>();
      broker.groups().failNextHeartbeats(io.raftline.protocol.ErrorCode.UNSUPPORTED_ASSIGNOR);
      GroupConsumer ranged = other.subscribe("h", List.of("two"));
      ranged.exceptionHandler(errors::add).handler(r -> { });
      waitFor("the refusal", () -> !errors.isEmpty());
      RaftlineException e = (RaftlineException) errors.get(0);
      assertEquals(io.raftline.protocol.ErrorCode.UNSUPPORTED_ASSIGNOR, e.errorCode());
      assertTrue(e.getMessage().contains("group.remote.assignor=range"), e.getMessage());
      int heartbeats = broker.groups().serverAssignors().size();
      // No retry follows: a second consumer's heartbeats are the only ones that arrive.
      GroupConsumer second = other.subscribe("h2", List.of("two"));
      second.handler(r -> { });
      waitFor("the second member's heartbeat", () -> broker.groups().serverAssignors().size() > heartbeats);
      assertEquals("range", broker.groups().serverAssignors().get(heartbeats));
      assertEquals(List.of(), await(ranged.assignment()).stream().toList());
    } finally {
      await(other.close());
    }
  }
}
