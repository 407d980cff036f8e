package io.raftline.metadata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The hand-written equals and hashCode keep a record's contract: equal exactly when both fields are. */
class TopicPartitionTest {

  @Test
  void equalExactlyWhenTopicAndIndexAre() {
    TopicPartition a = new TopicPartition("orders", 3);
    TopicPartition same = new TopicPartition(new String("orders"), 3);
    assertEquals(a, same);
    assertEquals(a.hashCode(), same.hashCode());
    assertNotEquals(a, new TopicPartition("orders", 4));
    assertNotEquals(a, new TopicPartition("order", 3));
    assertNotEquals(a, new TopicPartition("orders3", 0));
    assertNotEquals(a, null);
    assertNotEquals(a, (Object) "orders-3");
    assertEquals("orders-3", a.toString());
  }

  @Test
  void findsItsEntryInAMapWhateverInstanceAsks() {
    Map<TopicPartition, Integer> byPartition = new HashMap<>();
    for (int t = 0; t < 50; t++) {
      for (int p = 0; p < 20; p++) {
        byPartition.put(new TopicPartition("topic-" + t, p), t * 100 + p);
      }
    }
    assertEquals(1000, byPartition.size());
    for (int t = 0; t < 50; t++) {
      for (int p = 0; p < 20; p++) {
        assertEquals(t * 100 + p, byPartition.get(new TopicPartition("topic-" + t, p)));
      }
    }
  }
}
