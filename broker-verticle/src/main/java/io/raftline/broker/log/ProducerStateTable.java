package io.raftline.broker.log;

import io.raftline.protocol.ErrorCode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The idempotent producers of one partition: for each producer id, its epoch and its last few
 * batches (sequence range and offsets). A leader checks every idempotent batch against it before
 * appending, so a retried batch is answered with its original offsets instead of being written twice,
 * and a gap in the sequence is refused (Kafka's rules, with the last five batches cached as the
 * client keeps at most five in flight).
 *
 * <p>The table is derived from the log: every replica updates it as it appends (leader or
 * follower), so a new leader already knows what its predecessor accepted. It is rebuilt from batch
 * headers after a truncation or an unclean stop, and checkpointed as {@code producer-state} on a
 * clean close so a clean restart reads no log. Not thread-safe: owned by its {@link PartitionLog}.
 */
public final class ProducerStateTable {
  public static final String CHECKPOINT = "producer-state";
  static final int CACHED_BATCHES = 5;

  /** A batch an idempotent producer wrote: its sequence range and where it went. */
  public record BatchMetadata(int firstSequence, int lastSequence, long firstOffset, long lastOffset) {}

  /** An idempotent batch refused by the sequence or epoch rules, with Kafka's error code. */
  public static final class ProducerStateException extends RuntimeException {
    private final ErrorCode code;

    ProducerStateException(ErrorCode code, String message) {
      super(message);
      this.code = code;
    }

    public ErrorCode errorCode() {
      return code;
    }
  }

  private static final class Entry {
    short epoch;
    final ArrayDeque<BatchMetadata> batches = new ArrayDeque<>();

    Entry(short epoch) {
      this.epoch = epoch;
    }
  }

  private final Map<Long, Entry> producers = new HashMap<>();

  /** The sequence after {@code sequence}; sequences wrap to 0 after Integer.MAX_VALUE, as in Kafka. */
  static int nextSequence(int sequence) {
    return sequence == Integer.MAX_VALUE ? 0 : sequence + 1;
  }

  /** The last sequence of a batch of {@code records} records starting at {@code firstSequence}. */
  static int lastSequence(int firstSequence, int lastOffsetDelta) {
    long last = (long) firstSequence + lastOffsetDelta;
    return (int) (last > Integer.MAX_VALUE ? last - Integer.MAX_VALUE - 1 : last);
  }

  /**
   * Checks an idempotent batch before a leader appends it.
   *
   * @return the batch it duplicates (answer with those offsets, append nothing), or empty to append
   * @throws ProducerStateException INVALID_PRODUCER_EPOCH for an older epoch, OUT_OF_ORDER_SEQUENCE_NUMBER
   *     for a sequence that does not continue the producer's last batch
   */
  public Optional<BatchMetadata> check(long producerId, short epoch, int firstSequence, int lastSequence) {
    Entry entry = producers.get(producerId);
    if (entry == null) {
      // Unknown here (new, or its batches went with retention): its first batch sets the sequence.
      return Optional.empty();
    }
    if (epoch < entry.epoch) {
      throw new ProducerStateException(ErrorCode.INVALID_PRODUCER_EPOCH, "producer " + producerId + " epoch " + epoch
          + " is older than its current epoch " + entry.epoch);
    }
    if (epoch > entry.epoch) {
      if (firstSequence != 0) {
        throw new ProducerStateException(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, "producer " + producerId
            + " starts epoch " + epoch + " at sequence " + firstSequence + ", not 0");
      }
      return Optional.empty();
    }
    for (BatchMetadata b : entry.batches) {
      if (b.firstSequence() == firstSequence && b.lastSequence() == lastSequence) {
        return Optional.of(b);
      }
    }
    BatchMetadata last = entry.batches.peekLast();
    if (last != null && firstSequence != nextSequence(last.lastSequence())) {
      throw new ProducerStateException(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, "producer " + producerId
          + " sent sequence " + firstSequence + " but " + nextSequence(last.lastSequence()) + " was expected");
    }
    return Optional.empty();
  }

  /** Records a batch that was appended (by a leader or a follower). */
  public void update(long producerId, short epoch, int firstSequence, int lastSequence, long firstOffset,
      long lastOffset) {
    if (producerId < 0) {
      return;
    }
    Entry entry = producers.computeIfAbsent(producerId, id -> new Entry(epoch));
    if (epoch != entry.epoch) {
      entry.epoch = epoch;
      entry.batches.clear();
    }
    entry.batches.addLast(new BatchMetadata(firstSequence, lastSequence, firstOffset, lastOffset));
    while (entry.batches.size() > CACHED_BATCHES) {
      entry.batches.pollFirst();
    }
  }

  public void clear() {
    producers.clear();
  }

  public int size() {
    return producers.size();
  }

  /** The producer's current epoch and cached batches, oldest first; empty if unknown. */
  public Optional<List<BatchMetadata>> batchesOf(long producerId) {
    Entry e = producers.get(producerId);
    return e == null ? Optional.empty() : Optional.of(List.copyOf(e.batches));
  }

  /**
   * Writes the table as of log end {@code endOffset}: a version line, the offset, then one line per
   * producer: {@code id epoch n [firstSeq lastSeq firstOffset lastOffset]*n}. Temp file, fsync, rename.
   */
  void writeCheckpoint(Path dir, long endOffset) throws IOException {
    StringBuilder text = new StringBuilder("0\n").append(endOffset).append('\n');
    producers.forEach((id, e) -> {
      text.append(id).append(' ').append(e.epoch).append(' ').append(e.batches.size());
      for (BatchMetadata b : e.batches) {
        text.append(' ').append(b.firstSequence()).append(' ').append(b.lastSequence()).append(' ')
            .append(b.firstOffset()).append(' ').append(b.lastOffset());
      }
      text.append('\n');
    });
    Path tmp = dir.resolve(CHECKPOINT + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer bytes = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
      while (bytes.hasRemaining()) {
        ch.write(bytes);
      }
      ch.force(true);
    }
    Files.move(tmp, dir.resolve(CHECKPOINT), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /**
   * Loads the checkpoint in {@code dir} into this (empty) table.
   *
   * @return the log offset the checkpoint covers up to, or -1 if there is none or it is unreadable
   */
  long readCheckpoint(Path dir) throws IOException {
    Path file = dir.resolve(CHECKPOINT);
    if (!Files.exists(file)) {
      return -1;
    }
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    try {
      if (lines.size() < 2 || !lines.get(0).trim().equals("0")) {
        return -1;
      }
      long offset = Long.parseLong(lines.get(1).trim());
      for (String line : lines.subList(2, lines.size())) {
        if (line.isBlank()) {
          continue;
        }
        String[] f = line.trim().split("\\s+");
        long id = Long.parseLong(f[0]);
        short epoch = Short.parseShort(f[1]);
        int n = Integer.parseInt(f[2]);
        for (int i = 0; i < n; i++) {
          update(id, epoch, Integer.parseInt(f[3 + 4 * i]), Integer.parseInt(f[4 + 4 * i]),
              Long.parseLong(f[5 + 4 * i]), Long.parseLong(f[6 + 4 * i]));
        }
      }
      return offset;
    } catch (RuntimeException e) {
      // A damaged checkpoint only costs a rebuild from the log.
      producers.clear();
      return -1;
    }
  }

  static void deleteCheckpoint(Path dir) throws IOException {
    Files.deleteIfExists(dir.resolve(CHECKPOINT));
  }
}
