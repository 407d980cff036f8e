package io.raftline.quorum.log;

import io.raftline.quorum.raft.LogEntry;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Encodes, checks and decodes one metadata-log batch. The layout is described on {@link MetadataLog};
 * every multi-byte field is big-endian. Positions below are relative to the start of the batch, that is
 * to its length field.
 */
final class BatchFormat {

  /** Format version of a batch; a reader refuses a batch whose (checksummed) magic it does not know. */
  static final byte MAGIC = 1;

  static final int LENGTH_POS = 0;
  static final int CRC_POS = 4;
  static final int MAGIC_POS = 8;
  static final int BASE_OFFSET_POS = 9;
  static final int COUNT_POS = 17;
  /** Size of the fixed header, length field included; the first entry starts here. */
  static final int HEADER_SIZE = 21;
  /** Bytes before the checksummed part: the length field and the crc field. */
  static final int CRC_START = MAGIC_POS;
  /** Smallest legal value of the length field: a header without entries (which is itself rejected later). */
  static final int MIN_LENGTH = HEADER_SIZE - 4;
  /** Per-entry overhead: epoch and payload length. */
  static final int ENTRY_HEADER_SIZE = 8;
  /** A batch must fit in one heap ByteBuffer, which is indexed by int. */
  static final int MAX_BATCH_SIZE = Integer.MAX_VALUE - 16;

  private BatchFormat() {}

  /** The encoded size in bytes of a batch holding {@code entries} (may exceed {@link #MAX_BATCH_SIZE}). */
  static long sizeOf(List<LogEntry> entries) {
    long size = HEADER_SIZE;
    for (LogEntry e : entries) size += ENTRY_HEADER_SIZE + e.payload().length;
    return size;
  }

  /** Encodes non-empty, already validated {@code entries} as one batch, ready to write (position 0, limit = size). */
  static ByteBuffer encode(List<LogEntry> entries) {
    long size = sizeOf(entries);
    if (size > MAX_BATCH_SIZE) {
      throw new IllegalArgumentException("batch of " + entries.size() + " entries is " + size
          + " bytes, more than the maximum " + MAX_BATCH_SIZE);
    }
    ByteBuffer buf = ByteBuffer.allocate((int) size);
    buf.putInt((int) size - 4);
    buf.putInt(0); // crc, filled in below once the rest is written
    buf.put(MAGIC);
    buf.putLong(entries.get(0).offset());
    buf.putInt(entries.size());
    for (LogEntry e : entries) {
      buf.putInt(e.epoch());
      buf.putInt(e.payload().length);
      buf.put(e.payload());
    }
    buf.putInt(CRC_POS, crc(buf, CRC_START, (int) size));
    buf.flip();
    return buf;
  }

  /** CRC32C of {@code buf[from, to)}, absolute positions; does not move {@code buf}. */
  static int crc(ByteBuffer buf, int from, int to) {
    ByteBuffer view = buf.duplicate();
    view.clear();
    view.limit(to);
    view.position(from);
    CRC32C crc = new CRC32C();
    crc.update(view);
    return (int) crc.getValue();
  }

  /** True if the stored checksum of the whole batch in {@code batch[0, limit)} matches its content. */
  static boolean crcMatches(ByteBuffer batch) {
    return batch.getInt(CRC_POS) == crc(batch, CRC_START, batch.limit());
  }

  /** Facts about a batch that passed {@link #checkStructure}. */
  static final class Info {
    long baseOffset;
    int count;
    int lastEpoch;
  }

  /**
   * Checks the structure of a complete batch in {@code batch[0, limit)} whose checksum already matched.
   * A batch can pass its CRC and still be wrong only through a bug or a foreign file, so every failure here
   * is corruption, never a torn write.
   *
   * @param expectedBase the base offset the batch must have, or -1 to accept any
   * @param previousEpoch epoch of the entry before this batch (0 if none); epochs never decrease in a Raft log
   * @return null if the batch is well formed (and {@code info} is filled in), else the reason it is not
   */
  static String checkStructure(ByteBuffer batch, long expectedBase, int previousEpoch, Info info) {
    int limit = batch.limit();
    if (limit < HEADER_SIZE || batch.getInt(LENGTH_POS) != limit - 4) {
      return "length field " + (limit >= 4 ? batch.getInt(LENGTH_POS) : -1) + " does not match batch size " + limit;
    }
    byte magic = batch.get(MAGIC_POS);
    if (magic != MAGIC) return "unsupported batch format (magic " + magic + ", expected " + MAGIC + ")";
    long base = batch.getLong(BASE_OFFSET_POS);
    if (base < 0) return "negative base offset " + base;
    if (expectedBase >= 0 && base != expectedBase) {
      return "batch base offset " + base + " does not continue the log (expected " + expectedBase + ")";
    }
    int count = batch.getInt(COUNT_POS);
    if (count < 1) return "batch entry count " + count + " < 1";
    int pos = HEADER_SIZE;
    int epochBefore = previousEpoch;
    for (int i = 0; i < count; i++) {
      long offset = base + i;
      if (limit - pos < ENTRY_HEADER_SIZE) return "entry at offset " + offset + " runs past the end of the batch";
      int epoch = batch.getInt(pos);
      int len = batch.getInt(pos + 4);
      if (epoch < epochBefore) {
        return "entry at offset " + offset + " has epoch " + epoch + ", below the previous epoch " + epochBefore;
      }
      if (len < 0 || len > limit - pos - ENTRY_HEADER_SIZE) {
        return "entry at offset " + offset + " has payload length " + len + " beyond the end of the batch";
      }
      pos += ENTRY_HEADER_SIZE + len;
      epochBefore = epoch;
    }
    if (pos != limit) return (limit - pos) + " unexpected bytes after the last entry";
    info.baseOffset = base;
    info.count = count;
    info.lastEpoch = epochBefore;
    return null;
  }

  /**
   * Cheap pre-check used while searching damaged bytes for a later valid batch: could a batch start at
   * {@code buf[i]}, given {@code bytesLeft} bytes from there to the end of the file? Only candidates that
   * pass are read in full and checksummed.
   */
  static boolean plausibleHeader(ByteBuffer buf, int i, long bytesLeft, long minBase) {
    int len = buf.getInt(i + LENGTH_POS);
    if (len < MIN_LENGTH || len > bytesLeft - 4) return false;
    if (buf.get(i + MAGIC_POS) != MAGIC) return false;
    if (buf.getLong(i + BASE_OFFSET_POS) < minBase) return false;
    int count = buf.getInt(i + COUNT_POS);
    return count >= 1 && (long) count * ENTRY_HEADER_SIZE <= (long) len + 4 - HEADER_SIZE;
  }

  /** The header and total size of a batch shortened to a prefix of its entries. */
  record Prefix(ByteBuffer header, int size) {}

  /**
   * The batch that keeps only the first {@code keep} entries of {@code batch}. The entry bytes of a prefix
   * are unchanged, so shortening a batch in place needs only a new 21-byte header (length, crc, count) and a
   * shorter file; the returned header is ready to write (position 0, limit {@link #HEADER_SIZE}).
   */
  static Prefix prefix(ByteBuffer batch, int keep) {
    int end = HEADER_SIZE;
    for (int i = 0; i < keep; i++) end += ENTRY_HEADER_SIZE + batch.getInt(end + 4);
    ByteBuffer header = ByteBuffer.allocate(HEADER_SIZE);
    for (int i = 0; i < HEADER_SIZE; i++) header.put(i, batch.get(i));
    header.putInt(LENGTH_POS, end - 4);
    header.putInt(COUNT_POS, keep);
    CRC32C crc = new CRC32C();
    ByteBuffer headerPart = header.duplicate();
    headerPart.position(CRC_START).limit(HEADER_SIZE);
    crc.update(headerPart);
    ByteBuffer entriesPart = batch.duplicate();
    entriesPart.clear();
    entriesPart.limit(end).position(HEADER_SIZE);
    crc.update(entriesPart);
    header.putInt(CRC_POS, (int) crc.getValue());
    return new Prefix(header, end);
  }
}
