package io.raftline.broker.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.metadata.TopicPartition;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplicationOffsetCheckpointTest {
  @TempDir Path dir;

  private Path file() {
    return dir.resolve(ReplicationOffsetCheckpoint.FILE_NAME);
  }

  @Test
  void roundTripsEveryPartitionInKafkasLayout() throws IOException {
    Map<TopicPartition, Long> offsets = Map.of(new TopicPartition("orders", 0), 42L,
        new TopicPartition("orders", 10), 0L, new TopicPartition("__consumer_offsets", 7), 1234567890123L,
        new TopicPartition("a.b-c_d", 2), 5L);
    ReplicationOffsetCheckpoint.write(file(), offsets);
    assertEquals(offsets, ReplicationOffsetCheckpoint.read(file()));
    assertEquals(List.of("0", "4", "__consumer_offsets 7 1234567890123", "a.b-c_d 2 5", "orders 0 42", "orders 10 0"),
        Files.readAllLines(file()), "version, count, then topic partition offset lines");
    assertFalse(Files.exists(dir.resolve(ReplicationOffsetCheckpoint.FILE_NAME + ".tmp")), "the temp file was renamed");

    ReplicationOffsetCheckpoint.write(file(), Map.of(new TopicPartition("orders", 0), 50L));
    assertEquals(Map.of(new TopicPartition("orders", 0), 50L), ReplicationOffsetCheckpoint.read(file()),
        "a rewrite replaces the whole file");
    ReplicationOffsetCheckpoint.write(file(), Map.of());
    assertEquals(Map.of(), ReplicationOffsetCheckpoint.read(file()));
  }

  @Test
  void aMissingFileIsNoCheckpoint() throws IOException {
    assertEquals(Map.of(), ReplicationOffsetCheckpoint.read(file()));
  }

  @Test
  void aCorruptFileIsRefusedWholeNeverReadInPart() throws IOException {
    List<String> corrupt = List.of(
        "",                                       // empty
        "1\n1\norders 0 5\n",                     // unknown version
        "0\n2\norders 0 5\n",                     // fewer entries than announced (torn)
        "0\n1\norders 0 5\norders 1 6\n",         // more entries than announced
        "0\nmany\norders 0 5\n",                  // unreadable count
        "0\n2\norders 0 5\norders 1 x\n",         // unreadable offset after a good line
        "0\n1\norders 0\n",                       // missing field
        "0\n1\norders 0 -3\n",                    // negative offset
        "0\n2\norders 0 5\norders 0 6\n",         // the same partition twice
        "\u0000\u0000\u0000");                    // zeroed blocks after a crash
    for (String text : corrupt) {
      Files.writeString(file(), text, StandardCharsets.UTF_8);
      IOException e = assertThrows(IOException.class, () -> ReplicationOffsetCheckpoint.read(file()),
          () -> "should refuse: " + text);
      assertTrue(e.getMessage().contains(ReplicationOffsetCheckpoint.FILE_NAME), e.getMessage());
    }
  }
}
