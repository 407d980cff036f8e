package io.raftline.broker.log;

import io.raftline.protocol.records.RecordBatch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One segment of a partition log: {@code <base>.log} holding back-to-back record batches whose
 * offsets start at {@code base}, with two sparse indexes written as batches are appended:
 *
 * <ul>
 *   <li>{@code <base>.index}: 8-byte entries (int offset relative to base, int file position of the
 *       batch starting at that offset), one whenever {@code index.interval.bytes} were appended since
 *       the previous entry (or the segment start), ascending in both fields.
 *   <li>{@code <base>.timeindex}: 12-byte entries (long timestamp T, int relative offset o), written
 *       next to an offset index entry when the segment's max timestamp grew since the last one; T is
 *       the largest batch max timestamp of every batch up to and including the batch starting at o.
 *       Entries therefore ascend in both fields, and any batch after o is the first candidate for a
 *       timestamp above T.
 * </ul>
 *
 * <p>Neither index is needed for correctness: a lookup takes the floor entry and walks batch headers
 * from there, so a missing entry only costs a longer walk. The indexes are memory-mapped ({@link
 * IndexFile}) when first used, so an open segment keeps one file descriptor, for its log file.
 */
final class LogSegment implements AutoCloseable {
  // Offsets into the v2 batch header; the protocol module keeps its constants package-private, and the
  // layout is the stored format, so it is spelled out here for header-only walks.
  static final int BASE_OFFSET = 0;
  static final int LENGTH = 8;
  static final int MAGIC = 16;
  static final int LAST_OFFSET_DELTA = 23;
  static final int MAX_TIMESTAMP = 35;
  static final int PRODUCER_ID = 43;
  static final int PRODUCER_EPOCH = 51;
  static final int BASE_SEQUENCE = 53;
  static final int INDEX_ENTRY = 8;
  static final int TIME_INDEX_ENTRY = 12;

  final long baseOffset;
  final Path logFile;
  final Path indexFile;
  final Path timeIndexFile;
  private final FileChannel log;
  /** Opened on first use: a segment only read from its start never maps its indexes. */
  private IndexFile offsetIndex;
  private IndexFile timeIndex;
  private final ByteBuffer header = ByteBuffer.allocate(RecordBatch.HEADER_SIZE);
  private final ByteBuffer entry = ByteBuffer.allocate(TIME_INDEX_ENTRY);

  /** Bytes of whole batches; the file is never longer once the segment is open and recovered. */
  long size;
  /** The offset after the segment's last batch (its base offset while empty). */
  long endOffset;
  /** Cached last offset index entry (the segment start while the index is empty); valid once it is open. */
  private long lastIndexedOffset;
  private long lastIndexedPosition;
  private long lastTimeIndexTimestamp = Long.MIN_VALUE;
  /** Largest batch max timestamp; computed lazily for segments that were not scanned on open. */
  private boolean maxTimestampKnown;
  private long maxTimestamp = Long.MIN_VALUE;
  /** When the segment started, for time-based rolling; Long.MIN_VALUE until the first clocked append. */
  long rollStartMs = Long.MIN_VALUE;

  private LogSegment(Path dir, long baseOffset, FileChannel log) throws IOException {
    this(dir, baseOffset, log, "");
  }

  /** {@code suffix} follows each file's own suffix ({@code .log.cleaned}): the cleaner's output. */
  private LogSegment(Path dir, long baseOffset, FileChannel log, String suffix) throws IOException {
    this.baseOffset = baseOffset;
    this.logFile = dir.resolve(fileName(baseOffset, ".log" + suffix));
    this.indexFile = dir.resolve(fileName(baseOffset, ".index" + suffix));
    this.timeIndexFile = dir.resolve(fileName(baseOffset, ".timeindex" + suffix));
    this.log = log;
    this.size = log.size();
    this.endOffset = baseOffset;
  }

  static String fileName(long baseOffset, String suffix) {
    return String.format("%020d%s", baseOffset, suffix);
  }

  /** The base offset a file name encodes, or -1 if it is not a segment file of this suffix. */
  static long parseBaseOffset(String name, String suffix) {
    if (!name.endsWith(suffix) || name.length() != 20 + suffix.length()) {
      return -1;
    }
    for (int i = 0; i < 20; i++) {
      if (!Character.isDigit(name.charAt(i))) {
        return -1;
      }
    }
    return Long.parseLong(name.substring(0, 20));
  }

  /** Opens (creating if absent) the segment starting at {@code baseOffset} in {@code dir}. */
  static LogSegment open(Path dir, long baseOffset) throws IOException {
    FileChannel ch = FileChannel.open(dir.resolve(fileName(baseOffset, ".log")),
        StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      LogSegment segment = new LogSegment(dir, baseOffset, ch);
      if (segment.size == 0) {
        segment.startEmpty();
      }
      return segment;
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * A read-only view of a closed segment's first {@code size} bytes, with its own channel and buffers:
   * the cleaner reads it on its own thread while the partition's chain keeps using the segment (a
   * {@link LogSegment} is not thread-safe). The view never opens the indexes.
   */
  static LogSegment openReadOnly(Path dir, long baseOffset, long size, long endOffset) throws IOException {
    FileChannel ch = FileChannel.open(dir.resolve(fileName(baseOffset, ".log")), StandardOpenOption.READ);
    LogSegment view = new LogSegment(dir, baseOffset, ch);
    view.size = Math.min(size, view.size);
    view.endOffset = endOffset;
    return view;
  }

  /**
   * A new, empty segment written under {@code <base>.log<suffix>} (and its indexes likewise), which
   * the cleaner fills by {@link #append} and the swap later renames into place.
   */
  static LogSegment create(Path dir, long baseOffset, String suffix) throws IOException {
    FileChannel ch = FileChannel.open(dir.resolve(fileName(baseOffset, ".log" + suffix)), StandardOpenOption.CREATE,
        StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
    try {
      LogSegment segment = new LogSegment(dir, baseOffset, ch, suffix);
      segment.startEmpty();
      return segment;
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * An empty segment: its (empty) indexes are created now so the directory always shows all three
   * files, and entries an earlier segment of the same name left are dropped (an empty log indexes nothing).
   */
  private void startEmpty() throws IOException {
    maxTimestampKnown = true;
    offsetIndex().truncateTo(0);
    timeIndex().truncateTo(0);
    loadLastIndexEntry();
    lastTimeIndexTimestamp = Long.MIN_VALUE;
  }

  private IndexFile offsetIndex() throws IOException {
    if (offsetIndex == null) {
      offsetIndex = IndexFile.open(indexFile, INDEX_ENTRY, 0);
      loadLastIndexEntry();
    }
    return offsetIndex;
  }

  private IndexFile timeIndex() throws IOException {
    if (timeIndex == null) {
      timeIndex = IndexFile.open(timeIndexFile, TIME_INDEX_ENTRY, 8);
      int n = timeIndex.entries();
      lastTimeIndexTimestamp = n == 0 ? Long.MIN_VALUE : readTimeIndexTimestamp(n - 1);
    }
    return timeIndex;
  }

  private void loadLastIndexEntry() throws IOException {
    int n = offsetIndex.entries();
    if (n == 0) {
      lastIndexedOffset = baseOffset;
      lastIndexedPosition = 0;
    } else {
      lastIndexedOffset = indexedOffset(n - 1);
      lastIndexedPosition = indexedPosition(n - 1);
    }
  }

  private long indexedOffset(int i) throws IOException {
    return baseOffset + offsetIndex.intAt(i, 0);
  }

  private long indexedPosition(int i) throws IOException {
    return Integer.toUnsignedLong(offsetIndex.intAt(i, 4));
  }

  private long readTimeIndexTimestamp(int i) throws IOException {
    return timeIndex.longAt(i, 0);
  }

  private long readTimeIndexOffset(int i) throws IOException {
    return baseOffset + timeIndex.intAt(i, 8);
  }

  static int readFully(FileChannel ch, ByteBuffer buffer, long position) throws IOException {
    int total = 0;
    while (buffer.hasRemaining()) {
      int n = ch.read(buffer, position + total);
      if (n < 0) {
        break;
      }
      total += n;
    }
    return total;
  }

  /**
   * Reads the batch header at {@code position} into the shared header buffer, or returns false if
   * fewer than a header's bytes remain before {@code limit}.
   */
  private boolean readHeader(long position, long limit) throws IOException {
    if (limit - position < RecordBatch.HEADER_SIZE) {
      return false;
    }
    header.clear();
    return readFully(log, header, position) == RecordBatch.HEADER_SIZE;
  }

  private int headerBatchSize() {
    int length = header.getInt(LENGTH);
    return length < RecordBatch.HEADER_SIZE - RecordBatch.LOG_OVERHEAD ? -1 : length + RecordBatch.LOG_OVERHEAD;
  }

  private long headerNextOffset() {
    return header.getLong(BASE_OFFSET) + header.getInt(LAST_OFFSET_DELTA) + 1;
  }

  // ---------------------------------------------------------------------------------------------
  // Appending

  /**
   * Appends one stamped batch, adding index entries when due.
   */
  void append(ByteBuffer bytes, long batchBase, long nextOffset, long batchMaxTimestamp, int indexInterval)
      throws IOException {
    long position = size;
    while (bytes.hasRemaining()) {
      position += log.write(bytes, position);
    }
    indexBatch(batchBase, size, batchMaxTimestamp, indexInterval);
    size = position;
    endOffset = nextOffset;
  }

  /**
   * The indexing rule, shared by appends and recovery so both produce the same entries: an entry for
   * the batch at {@code position} once {@code indexInterval} bytes lie between it and the last entry.
   */
  private void indexBatch(long batchBase, long position, long batchMaxTimestamp, int indexInterval)
      throws IOException {
    IndexFile index = offsetIndex();
    IndexFile times = timeIndex();
    long runningMax = Math.max(maxTimestamp, batchMaxTimestamp);
    if (position - lastIndexedPosition >= indexInterval) {
      entry.clear();
      entry.putInt(0, (int) (batchBase - baseOffset)).putInt(4, (int) position);
      index.append(entry);
      lastIndexedOffset = batchBase;
      lastIndexedPosition = position;
      if (runningMax > lastTimeIndexTimestamp) {
        entry.clear();
        entry.putLong(0, runningMax).putInt(8, (int) (batchBase - baseOffset));
        times.append(entry);
        lastTimeIndexTimestamp = runningMax;
      }
    }
    maxTimestamp = runningMax;
  }

  // ---------------------------------------------------------------------------------------------
  // Recovery

  /** What a recovery walk found. */
  record Recovery(long crcCheckedBatches, boolean truncated) {}

  /**
   * Walks the segment to find its end, trusting batches below {@code trustedBelow} (their bytes were
   * fsynced before the recovery point was checkpointed) with a header-only check, and checking the
   * CRC of every later batch. Index entries at or above {@code trustedBelow} are dropped and rebuilt
   * by the walk. The walk starts at the last surviving offset index entry, so a segment wholly below
   * the recovery point costs only a few header reads. Anything after the first bad batch is cut off.
   */
  Recovery recover(long trustedBelow, int indexInterval) throws IOException {
    truncateIndexesFrom(trustedBelow);
    long fileSize = log.size();
    if (!indexedBatchLooksValid(fileSize)) {
      // The last index entry does not point at the batch it names (an index that outlived its data):
      // drop the whole index and walk from the segment start instead of cutting good data off.
      truncateIndexesFrom(baseOffset);
    }
    long position = lastIndexedPosition;
    long expected = lastIndexedOffset;
    // The time index covers every batch up to the last offset index entry; the walk adds the rest.
    maxTimestamp = lastTimeIndexTimestamp;
    long crcChecked = 0;
    while (position < fileSize) {
      if (!readHeader(position, fileSize)) {
        break;
      }
      int batchSize = headerBatchSize();
      if (batchSize < 0 || position + batchSize > fileSize || header.get(MAGIC) != RecordBatch.MAGIC
          || header.getLong(BASE_OFFSET) != expected || header.getInt(LAST_OFFSET_DELTA) < 0) {
        break;
      }
      if (expected >= trustedBelow) {
        ByteBuffer bytes = ByteBuffer.allocate(batchSize);
        readFully(log, bytes, position);
        try {
          RecordBatch.parse(bytes.flip()).get(0).checkIntegrity();
        } catch (RuntimeException e) {
          break;
        }
        crcChecked++;
      }
      indexBatch(expected, position, header.getLong(MAX_TIMESTAMP), indexInterval);
      expected = headerNextOffset();
      position += batchSize;
    }
    maxTimestampKnown = true;
    boolean truncated = position < fileSize;
    if (truncated) {
      log.truncate(position);
      log.force(true);
    }
    size = position;
    endOffset = expected;
    return new Recovery(crcChecked, truncated);
  }

  private boolean indexedBatchLooksValid(long fileSize) throws IOException {
    if (offsetIndex().entries() == 0) {
      return true;
    }
    return readHeader(lastIndexedPosition, fileSize) && header.getLong(BASE_OFFSET) == lastIndexedOffset;
  }

  /** Drops index entries for offsets at or above {@code offset}. */
  private void truncateIndexesFrom(long offset) throws IOException {
    IndexFile index = offsetIndex();
    int keep = index.entries();
    while (keep > 0 && indexedOffset(keep - 1) >= offset) {
      keep--;
    }
    if (keep != index.entries()) {
      index.truncateTo(keep);
      loadLastIndexEntry();
    }
    IndexFile times = timeIndex();
    int keepTimes = times.entries();
    while (keepTimes > 0 && readTimeIndexOffset(keepTimes - 1) >= offset) {
      keepTimes--;
    }
    if (keepTimes != times.entries()) {
      times.truncateTo(keepTimes);
      lastTimeIndexTimestamp = keepTimes == 0 ? Long.MIN_VALUE : readTimeIndexTimestamp(keepTimes - 1);
    }
  }

  /**
   * Cuts the segment before the batch holding {@code offset} (a whole batch goes, so the cut is always
   * at a batch boundary at or below {@code offset}) and drops the index entries past the cut.
   *
   * @return the segment's new end offset
   */
  long truncateTo(long offset) throws IOException {
    if (offset >= endOffset) {
      return endOffset;
    }
    long position = offset <= baseOffset ? 0 : positionOf(offset);
    long newEnd = baseOffset;
    if (position > 0) {
      if (!readHeader(position, size)) {
        throw new IOException(logFile + ": unreadable batch header at position " + position);
      }
      newEnd = header.getLong(BASE_OFFSET);
    }
    truncateIndexesFrom(newEnd);
    log.truncate(position);
    size = position;
    endOffset = newEnd;
    // Recomputed from the surviving time index entries and a walk over the rest.
    maxTimestamp = lastTimeIndexTimestamp;
    maxTimestampKnown = false;
    maxTimestamp = maxTimestamp();
    if (size == 0) {
      rollStartMs = Long.MIN_VALUE;
    }
    return newEnd;
  }

  // ---------------------------------------------------------------------------------------------
  // Lookups

  /** The position of the last offset index entry at or below {@code offset}, as {offset, position}. */
  private long[] floorIndexEntry(long offset) throws IOException {
    offsetIndex();
    if (offset >= lastIndexedOffset) {
      return new long[] {lastIndexedOffset, lastIndexedPosition};
    }
    int lo = 0;
    int hi = offsetIndex.entries() - 1;
    long bestOffset = baseOffset;
    long bestPosition = 0;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      long midOffset = indexedOffset(mid);
      if (midOffset <= offset) {
        bestOffset = midOffset;
        bestPosition = indexedPosition(mid);
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return new long[] {bestOffset, bestPosition};
  }

  /**
   * The file position of the batch holding {@code offset} ({@link #size} if it is the end offset):
   * the floor index entry, then a walk over at most an index interval's worth of batch headers.
   */
  long positionOf(long offset) throws IOException {
    long position = floorIndexEntry(offset)[1];
    while (position < size) {
      if (!readHeader(position, size)) {
        throw new IOException(logFile + ": unreadable batch header at position " + position);
      }
      if (headerNextOffset() > offset) {
        return position;
      }
      position += headerBatchSize();
    }
    return size;
  }

  /** The size of the batch starting at {@code position}. */
  int batchSizeAt(long position) throws IOException {
    if (!readHeader(position, size)) {
      throw new IOException(logFile + ": unreadable batch header at position " + position);
    }
    return headerBatchSize();
  }

  /** Reads {@code length} bytes from {@code position} into a new buffer, flipped. */
  ByteBuffer read(long position, int length) throws IOException {
    ByteBuffer out = ByteBuffer.allocate(length);
    readFully(log, out, position);
    return out.flip();
  }

  /** The largest batch max timestamp in the segment, or Long.MIN_VALUE while it is empty. */
  long maxTimestamp() throws IOException {
    if (!maxTimestampKnown) {
      // The time index covers the batches up to the last offset index entry; walk the rest.
      offsetIndex();
      timeIndex();
      long max = lastTimeIndexTimestamp;
      long position = lastIndexedPosition;
      while (position < size && readHeader(position, size)) {
        max = Math.max(max, header.getLong(MAX_TIMESTAMP));
        position += headerBatchSize();
      }
      maxTimestamp = max;
      maxTimestampKnown = true;
    }
    return maxTimestamp;
  }

  /**
   * The base offset of the first batch whose max timestamp is at least {@code timestamp}, at or after
   * offset {@code from}, or -1 if there is none in this segment.
   */
  long offsetForTimestamp(long timestamp, long from) throws IOException {
    if (maxTimestamp() < timestamp) {
      return -1;
    }
    // The last time index entry below the target: no batch up to its offset can qualify.
    int lo = 0;
    int hi = timeIndex().entries() - 1;
    long startOffset = from;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (readTimeIndexTimestamp(mid) < timestamp) {
        startOffset = Math.max(startOffset, readTimeIndexOffset(mid));
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    long position = positionOf(startOffset);
    while (position < size) {
      if (!readHeader(position, size)) {
        throw new IOException(logFile + ": unreadable batch header at position " + position);
      }
      if (header.getLong(MAX_TIMESTAMP) >= timestamp && headerNextOffset() > from) {
        return Math.max(from, header.getLong(BASE_OFFSET));
      }
      position += headerBatchSize();
    }
    return -1;
  }

  /** Receives each batch of a walk. */
  interface BatchVisitor {
    void accept(RecordBatch batch) throws IOException;
  }

  /** Reads every batch of the segment in order, one at a time, without checking CRCs. */
  void forEachBatch(BatchVisitor visitor) throws IOException {
    long position = 0;
    while (position < size) {
      int batchSize = batchSizeAt(position);
      visitor.accept(RecordBatch.parse(read(position, batchSize)).get(0));
      position += batchSize;
    }
  }

  /** Receives the producer fields of each batch header of a walk. */
  interface ProducerHeaderVisitor {
    void accept(long baseOffset, long lastOffset, long producerId, short producerEpoch, int baseSequence);
  }

  /** Reads the headers (only) of the batches from the one holding {@code offset} on. */
  void forEachProducerHeaderFrom(long offset, ProducerHeaderVisitor visitor) throws IOException {
    long position = offset <= baseOffset ? 0 : positionOf(offset);
    while (position < size && readHeader(position, size)) {
      long base = header.getLong(BASE_OFFSET);
      visitor.accept(base, base + header.getInt(LAST_OFFSET_DELTA), header.getLong(PRODUCER_ID),
          header.getShort(PRODUCER_EPOCH), header.getInt(BASE_SEQUENCE));
      position += headerBatchSize();
    }
  }

  /** The max timestamp of the segment's first batch, or Long.MIN_VALUE while it is empty. */
  long firstBatchMaxTimestamp() throws IOException {
    return readHeader(0, size) ? header.getLong(MAX_TIMESTAMP) : Long.MIN_VALUE;
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  /** Forces the log and (if open) index files to disk. */
  void force() throws IOException {
    log.force(false);
    if (offsetIndex != null) {
      offsetIndex.force();
    }
    if (timeIndex != null) {
      timeIndex.force();
    }
  }

  @Override
  public void close() throws IOException {
    try {
      log.close();
    } finally {
      try {
        if (offsetIndex != null) {
          offsetIndex.close();
        }
      } finally {
        if (timeIndex != null) {
          timeIndex.close();
        }
      }
    }
  }

  /** Closes the segment and removes its three files. */
  void deleteFiles() throws IOException {
    close();
    Files.deleteIfExists(logFile);
    Files.deleteIfExists(indexFile);
    Files.deleteIfExists(timeIndexFile);
  }
}
