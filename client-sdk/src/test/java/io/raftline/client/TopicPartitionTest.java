package io.raftline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Equality as a record's (both fields), and the order partitions are listed in (topic, then index). */
class TopicPartitionTest {

  @Test
  void equalExactlyWhenTopicAndIndexAre() {
    TopicPartition a = new TopicPartition("orders", 3);
    TopicPartition same = new TopicPartition(new String("orders"), 3);
    assertEquals(a, same);
    assertEquals(a.hashCode(), same.hashCode());
    assertNotEquals(a, new TopicPartition("orders", 4));
    assertNotEquals(a, new TopicPartition("order", 3));
    assertNotEquals(a, null);
    assertEquals(0, a.compareTo(same));
  }

  @Test
  void ordersByTopicThenIndex() {
    TreeSet<TopicPartition> sorted = new TreeSet<>(List.of(new TopicPartition("b", 0), new TopicPartition("a", 10),
        new TopicPartition("a", 2)));
    assertEquals(List.of(new TopicPartition("a", 2), new TopicPartition("a", 10), new TopicPartition("b", 0)),
        List.copyOf(sorted));
    assertTrue(new TopicPartition("a", 2).compareTo(new TopicPartition("a", 10)) < 0);
  }
}
