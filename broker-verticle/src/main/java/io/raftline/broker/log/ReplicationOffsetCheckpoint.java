package io.raftline.broker.log;

import io.raftline.metadata.TopicPartition;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Kafka's {@code replication-offset-checkpoint}: the high watermark of every partition in one log
 * dir. Text lines: the format version ({@code 0}), the entry count, then {@code topic partition
 * offset} per partition (topic names hold no whitespace). Replaced atomically like
 * {@link OffsetCheckpoint}: a temporary file, fsynced, renamed over the old one, so a crash leaves
 * the old or the new file, never a torn one. A file that does not parse whole is refused whole.
 */
public final class ReplicationOffsetCheckpoint {
  public static final String FILE_NAME = "replication-offset-checkpoint";
  private static final String VERSION = "0";

  private ReplicationOffsetCheckpoint() {}

  /**
   * The offsets in {@code file}; empty if there is no file.
   *
   * @throws IOException if the file cannot be read or is not a complete version-0 checkpoint
   */
  public static Map<TopicPartition, Long> read(Path file) throws IOException {
    if (!Files.exists(file)) {
      return Map.of();
    }
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    if (lines.size() < 2 || !VERSION.equals(lines.get(0).trim())) {
      throw new IOException(file + " is not a version " + VERSION + " replication offset checkpoint");
    }
    int count;
    try {
      count = Integer.parseInt(lines.get(1).trim());
    } catch (NumberFormatException e) {
      throw new IOException(file + ": unreadable entry count '" + lines.get(1) + "'", e);
    }
    List<String> entries = lines.subList(2, lines.size()).stream().filter(l -> !l.isBlank()).toList();
    if (count < 0 || entries.size() != count) {
      throw new IOException(file + " announces " + count + " entries but holds " + entries.size());
    }
    Map<TopicPartition, Long> offsets = new HashMap<>();
    for (String line : entries) {
      String[] parts = line.trim().split("\\s+");
      try {
        if (parts.length != 3) {
          throw new NumberFormatException("expected 'topic partition offset'");
        }
        TopicPartition tp = new TopicPartition(parts[0], Integer.parseInt(parts[1]));
        long offset = Long.parseLong(parts[2]);
        if (tp.partition() < 0 || offset < 0 || offsets.put(tp, offset) != null) {
          throw new NumberFormatException("a negative or repeated entry");
        }
      } catch (NumberFormatException e) {
        throw new IOException(file + ": unreadable entry '" + line + "' (" + e.getMessage() + ")", e);
      }
    }
    return offsets;
  }

  /** Replaces {@code file} with {@code offsets}, atomically and durably. */
  public static void write(Path file, Map<TopicPartition, Long> offsets) throws IOException {
    StringBuilder text = new StringBuilder(32 + offsets.size() * 32).append(VERSION).append('\n')
        .append(offsets.size()).append('\n');
    // Sorted, so equal contents give equal files (easy to diff and to read by eye).
    Map<TopicPartition, Long> sorted = new TreeMap<>(
        Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
    sorted.putAll(offsets);
    sorted.forEach((tp, offset) -> text.append(tp.topic()).append(' ').append(tp.partition()).append(' ')
        .append(offset).append('\n'));
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer bytes = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
      while (bytes.hasRemaining()) {
        ch.write(bytes);
      }
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    // The rename itself is durable once the directory is.
    try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
      dir.force(true);
    } catch (IOException e) {
      // Some platforms cannot open a directory; the rename stays atomic, only its durability waits.
    }
  }
}
