package io.raftline.quorum.log;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;

/**
 * One segment file of the metadata log, plus a sparse in-memory index from batch base offsets to byte
 * positions. The index holds the first batch and then one batch every {@link #INDEX_INTERVAL_BYTES}
 * (Kafka's {@code index.interval.bytes}); a lookup jumps to the nearest indexed batch and walks batch
 * headers from there, so memory stays small however many tiny batches the log has.
 */
final class Segment implements Closeable {

  static final String SUFFIX = ".log";
  static final long INDEX_INTERVAL_BYTES = 4096;

  final long baseOffset;
  final Path file;
  final FileChannel channel;
  /** Bytes of whole, valid batches; the file is never longer once recovery or an append has finished. */
  long size;
  /** Offset after the last entry in this segment ({@link #baseOffset} if empty). */
  long endOffset;

  private long[] indexOffsets = new long[8];
  private long[] indexPositions = new long[8];
  private int indexCount;

  private Segment(long baseOffset, Path file, FileChannel channel) {
    this.baseOffset = baseOffset;
    this.file = file;
    this.channel = channel;
    this.endOffset = baseOffset;
  }

  /** Opens an existing segment file; {@link #size} and the index are filled in by recovery. */
  static Segment open(Path file, long baseOffset) throws IOException {
    return new Segment(baseOffset, file, FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE));
  }

  /** Creates a new, empty segment file; the caller makes its directory entry durable. */
  static Segment create(Path dir, long baseOffset) throws IOException {
    Path file = dir.resolve(fileName(baseOffset));
    FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
    return new Segment(baseOffset, file, ch);
  }

  /** Kafka-style name: the base offset, zero-padded to 20 digits, so names sort like offsets. */
  static String fileName(long baseOffset) {
    return String.format(Locale.ROOT, "%020d%s", baseOffset, SUFFIX);
  }

  /** Records that a batch of {@code count} entries starting at {@code batchBase} now ends the segment. */
  void batchAdded(long batchBase, int count, long position, long batchSize) {
    if (indexCount == 0 || position - indexPositions[indexCount - 1] >= INDEX_INTERVAL_BYTES) {
      if (indexCount == indexOffsets.length) {
        indexOffsets = Arrays.copyOf(indexOffsets, indexCount * 2);
        indexPositions = Arrays.copyOf(indexPositions, indexCount * 2);
      }
      indexOffsets[indexCount] = batchBase;
      indexPositions[indexCount] = position;
      indexCount++;
    }
    size = position + batchSize;
    endOffset = batchBase + count;
  }

  /** Position of the last indexed batch whose base offset is {@code <= offset}; 0 if there is none. */
  long floorPosition(long offset) {
    int lo = 0;
    int hi = indexCount - 1;
    long found = 0;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (indexOffsets[mid] <= offset) {
        found = indexPositions[mid];
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Forgets index entries at or after {@code position} (after the file was cut there). */
  void dropIndexFrom(long position) {
    while (indexCount > 0 && indexPositions[indexCount - 1] >= position) indexCount--;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  @Override
  public String toString() {
    return file.getFileName() + "[" + baseOffset + ".." + endOffset + ", " + size + " bytes]";
  }
}
