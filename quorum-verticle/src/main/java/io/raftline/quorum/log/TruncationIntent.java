package io.raftline.quorum.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * A redo record for shortening a batch in place, which is the one multi-step, non-atomic change the log
 * makes to existing data.
 *
 * <p>Why it exists: when {@link MetadataLog#truncateTo} cuts inside a batch, the entries before the cut may
 * already be committed (counted toward a majority), so they must survive a crash at any moment. Shortening
 * the batch means overwriting its 21-byte header and cutting the file; if power fails while the header is
 * half written, the batch would fail its CRC and recovery would drop the committed prefix with it. So the
 * new header is first made durable here, then applied; recovery re-applies a surviving intent (the steps
 * are idempotent) before it scans the log. An intent that is itself torn fails its own CRC and is
 * discarded, which is safe because the segment is not touched until the intent is durable.
 *
 * <p>Layout (big-endian): {@code [int magic "RLTI"][long segmentBaseOffset][long batchPosition]
 * [long newSegmentSize][21-byte header][int crc32c of all the preceding bytes]}.
 */
record TruncationIntent(long segmentBaseOffset, long batchPosition, long newSegmentSize, ByteBuffer header) {

  static final String FILE_NAME = "truncation.intent";
  private static final int MAGIC = 0x524C5449; // "RLTI"
  private static final int SIZE = 4 + 8 + 8 + 8 + BatchFormat.HEADER_SIZE + 4;

  private static final System.Logger LOG = System.getLogger(MetadataLog.class.getName());

  /** Writes the intent and fsyncs it and the directory, so it survives any later crash. */
  void writeDurably(Path dir) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(SIZE);
    buf.putInt(MAGIC).putLong(segmentBaseOffset).putLong(batchPosition).putLong(newSegmentSize);
    buf.put(header.duplicate());
    buf.putInt(BatchFormat.crc(buf, 0, SIZE - 4));
    buf.flip();
    Path file = dir.resolve(FILE_NAME);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      FileSync.writeFully(ch, buf, 0);
      ch.force(true);
    }
    FileSync.fsyncDirectory(dir);
  }

  /** Rewrites the batch header, cuts the segment and fsyncs it. Idempotent. */
  void apply(FileChannel segment) throws IOException {
    FileSync.writeFully(segment, header.duplicate(), batchPosition);
    segment.truncate(newSegmentSize);
    segment.force(true);
  }

  /** The intent left in {@code dir} by an interrupted truncation; empty if none or if it was torn. */
  static Optional<TruncationIntent> read(Path dir) throws IOException {
    Path file = dir.resolve(FILE_NAME);
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    ByteBuffer buf = ByteBuffer.wrap(bytes);
    if (bytes.length != SIZE || buf.getInt(0) != MAGIC || buf.getInt(SIZE - 4) != BatchFormat.crc(buf, 0, SIZE - 4)) {
      LOG.log(System.Logger.Level.WARNING, "Discarding torn truncation intent " + file
          + " (" + bytes.length + " bytes); it was never applied");
      deleteDurably(dir);
      return Optional.empty();
    }
    ByteBuffer header = ByteBuffer.allocate(BatchFormat.HEADER_SIZE);
    header.put(buf.duplicate().position(28).limit(28 + BatchFormat.HEADER_SIZE));
    header.flip();
    return Optional.of(new TruncationIntent(buf.getLong(4), buf.getLong(12), buf.getLong(20), header));
  }

  /** Removes the intent durably; until this returns a crash would re-apply it. */
  static void deleteDurably(Path dir) throws IOException {
    if (Files.deleteIfExists(dir.resolve(FILE_NAME))) FileSync.fsyncDirectory(dir);
  }
}
