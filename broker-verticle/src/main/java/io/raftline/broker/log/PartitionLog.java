package io.raftline.broker.log;

import io.raftline.protocol.records.RecordBatch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * One partition's log: a single segment file {@code 00000000000000000000.log} of back-to-back record
 * batches, plus a {@code partition.metadata} file naming the topic id the directory belongs to.
 *
 * <p>Opening scans the segment and checks every batch's CRC; a torn or corrupt tail (the part a crash
 * left half-written) is truncated, because nothing past it can have been acknowledged as readable.
 * An in-memory index of batch base offsets and file positions serves reads.
 *
 * <p>Not thread-safe: the broker gives each partition a serial chain of worker tasks, so one thread
 * at a time touches it. Appends go to the page cache; {@link #flush()} forces them to disk.
 */
public final class PartitionLog implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(PartitionLog.class.getName());
  public static final String SEGMENT_NAME = "00000000000000000000.log";
  public static final String PARTITION_METADATA = "partition.metadata";

  private final Path dir;
  private final FileChannel channel;
  private long[] batchBaseOffsets = new long[64];
  private long[] batchPositions = new long[64];
  private int batchCount;
  private long endOffset;
  private long size;

  private PartitionLog(Path dir, FileChannel channel) {
    this.dir = dir;
    this.channel = channel;
  }

  /**
   * Opens the log in {@code dir}, creating it for {@code topicId} if absent. A directory left by an
   * older topic of the same name (another id) is wiped first, so a recreated topic never serves the
   * deleted one's records.
   */
  public static PartitionLog open(Path dir, UUID topicId) throws IOException {
    Files.createDirectories(dir);
    Path meta = dir.resolve(PARTITION_METADATA);
    Optional<UUID> stored = readTopicId(meta);
    if (stored.isPresent() && !stored.get().equals(topicId)) {
      LOG.log(System.Logger.Level.INFO, "{0} belonged to topic id {1}, not {2}: deleting its old data",
          dir, stored.get(), topicId);
      deleteContents(dir);
    }
    if (stored.isEmpty() || !stored.get().equals(topicId)) {
      writeTopicId(meta, topicId);
    }
    FileChannel channel = FileChannel.open(dir.resolve(SEGMENT_NAME),
        StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    PartitionLog log = new PartitionLog(dir, channel);
    try {
      log.recover();
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
    return log;
  }

  private void recover() throws IOException {
    long fileSize = channel.size();
    ByteBuffer header = ByteBuffer.allocate(RecordBatch.LOG_OVERHEAD);
    long position = 0;
    long expectedOffset = 0;
    while (position < fileSize) {
      header.clear();
      if (readFully(header, position) < RecordBatch.LOG_OVERHEAD) {
        break;
      }
      header.flip();
      int batchSize = RecordBatch.sizeOfNextBatch(header);
      if (batchSize < 0 || position + batchSize > fileSize) {
        break;
      }
      ByteBuffer batchBytes = ByteBuffer.allocate(batchSize);
      readFully(batchBytes, position);
      batchBytes.flip();
      RecordBatch batch;
      try {
        batch = RecordBatch.parse(batchBytes).get(0);
        batch.checkIntegrity();
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "{0}: invalid batch at position {1} ({2})", dir, position, e.getMessage());
        break;
      }
      if (batch.baseOffset() != expectedOffset) {
        LOG.log(System.Logger.Level.WARNING, "{0}: batch at position {1} has base offset {2}, expected {3}",
            dir, position, batch.baseOffset(), expectedOffset);
        break;
      }
      index(batch.baseOffset(), position);
      expectedOffset = batch.nextOffset();
      position += batchSize;
    }
    if (position < fileSize) {
      LOG.log(System.Logger.Level.WARNING, "{0}: truncating {1} bytes of torn or corrupt tail at position {2}",
          dir, fileSize - position, position);
      channel.truncate(position);
      channel.force(true);
    }
    size = position;
    endOffset = expectedOffset;
  }

  private int readFully(ByteBuffer buffer, long position) throws IOException {
    int total = 0;
    while (buffer.hasRemaining()) {
      int n = channel.read(buffer, position + total);
      if (n < 0) {
        break;
      }
      total += n;
    }
    return total;
  }

  private void index(long baseOffset, long position) {
    if (batchCount == batchBaseOffsets.length) {
      batchBaseOffsets = Arrays.copyOf(batchBaseOffsets, batchCount * 2);
      batchPositions = Arrays.copyOf(batchPositions, batchCount * 2);
    }
    batchBaseOffsets[batchCount] = baseOffset;
    batchPositions[batchCount] = position;
    batchCount++;
  }

  /**
   * Stamps offsets and the leader epoch on already validated batches and appends them.
   *
   * @return the base offset of the first batch
   */
  public long append(List<RecordBatch> batches, int leaderEpoch) throws IOException {
    long firstOffset = endOffset;
    long position = size;
    for (RecordBatch batch : batches) {
      batch.setBaseOffset(endOffset);
      batch.setPartitionLeaderEpoch(leaderEpoch);
      ByteBuffer bytes = batch.buffer();
      long at = position;
      while (bytes.hasRemaining()) {
        position += channel.write(bytes, position);
      }
      index(endOffset, at);
      endOffset = batch.nextOffset();
    }
    size = position;
    return firstOffset;
  }

  /**
   * Whole batches starting with the one that holds {@code offset}, up to {@code maxBytes} (but at
   * least one batch, so a batch larger than the limit can still be consumed).
   *
   * @throws OffsetOutOfRangeException if offset is outside [startOffset, endOffset]
   */
  public ByteBuffer read(long offset, int maxBytes) throws IOException {
    if (offset < startOffset() || offset > endOffset) {
      throw new OffsetOutOfRangeException(offset, startOffset(), endOffset);
    }
    if (offset == endOffset) {
      return ByteBuffer.allocate(0);
    }
    int first = batchIndexOf(offset);
    long from = batchPositions[first];
    long to = from;
    for (int i = first; i < batchCount; i++) {
      long end = i + 1 < batchCount ? batchPositions[i + 1] : size;
      if (to > from && end - from > maxBytes) {
        break;
      }
      to = end;
    }
    ByteBuffer out = ByteBuffer.allocate((int) Math.min(Integer.MAX_VALUE, to - from));
    readFully(out, from);
    return out.flip();
  }

  private int batchIndexOf(long offset) {
    int lo = 0;
    int hi = batchCount - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (batchBaseOffsets[mid] <= offset) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  public long startOffset() {
    return 0;
  }

  /** The offset the next record will get. */
  public long endOffset() {
    return endOffset;
  }

  public long sizeInBytes() {
    return size;
  }

  public Path dir() {
    return dir;
  }

  public void flush() throws IOException {
    channel.force(false);
  }

  @Override
  public void close() throws IOException {
    try {
      channel.force(true);
    } finally {
      channel.close();
    }
  }

  /** Closes the log and removes its directory. */
  public void delete() throws IOException {
    channel.close();
    deleteContents(dir);
    Files.deleteIfExists(dir);
  }

  private static void deleteContents(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).filter(p -> !p.equals(dir)).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private static Optional<UUID> readTopicId(Path meta) throws IOException {
    if (!Files.exists(meta)) {
      return Optional.empty();
    }
    for (String line : Files.readAllLines(meta, StandardCharsets.UTF_8)) {
      if (line.startsWith("topic_id:")) {
        try {
          return Optional.of(UUID.fromString(line.substring("topic_id:".length()).trim()));
        } catch (IllegalArgumentException e) {
          throw new IOException(meta + " has an unreadable topic id: " + line, e);
        }
      }
    }
    throw new IOException(meta + " has no topic_id line");
  }

  private static void writeTopicId(Path meta, UUID topicId) throws IOException {
    Path tmp = meta.resolveSibling(PARTITION_METADATA + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(ByteBuffer.wrap(("version: 0\ntopic_id: " + topicId + "\n").getBytes(StandardCharsets.UTF_8)));
      ch.force(true);
    }
    Files.move(tmp, meta, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }
}
