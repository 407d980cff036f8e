package io.raftline.protocol.records;

import io.raftline.protocol.ErrorCode;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A view over one record batch in the v2 layout. Header fields, big-endian:
 *
 * <pre>
 *  0 baseOffset int64        |  23 lastOffsetDelta int32   |  51 producerEpoch int16
 *  8 batchLength int32       |  27 baseTimestamp int64     |  53 baseSequence int32
 * 12 partitionLeaderEpoch i32|  35 maxTimestamp int64      |  57 recordCount int32
 * 16 magic int8 (= 2)        |  43 producerId int64        |  61 records...
 * 17 crc uint32 (CRC32C of bytes 21..end)
 * 21 attributes int16
 * </pre>
 *
 * The CRC deliberately leaves out base offset, length and leader epoch, so the broker can stamp
 * offsets and epochs on a batch it received without recomputing the checksum.
 *
 * <p>Attributes bits 0-2 name the {@link CompressionType} of the records section. A compressed batch
 * stores everything after the 61-byte header as one compressed block; the header (record count, offset
 * delta, timestamps) describes the uncompressed records, and the CRC covers the compressed bytes, so
 * {@link #checkIntegrity} never decompresses. {@link #records()} and {@link #uncompressedRecords()}
 * decompress transparently.
 */
public final class RecordBatch {
  public static final byte MAGIC = 2;
  public static final int HEADER_SIZE = 61;
  /** Bytes before batchLength's count starts: baseOffset + batchLength. */
  public static final int LOG_OVERHEAD = 12;
  public static final long NO_PRODUCER_ID = -1L;
  public static final short NO_PRODUCER_EPOCH = -1;
  public static final int NO_SEQUENCE = -1;

  static final int BASE_OFFSET = 0;
  static final int LENGTH = 8;
  static final int LEADER_EPOCH = 12;
  static final int MAGIC_OFFSET = 16;
  static final int CRC = 17;
  static final int ATTRIBUTES = 21;
  static final int LAST_OFFSET_DELTA = 23;
  static final int BASE_TIMESTAMP = 27;
  static final int MAX_TIMESTAMP = 35;
  static final int PRODUCER_ID = 43;
  static final int PRODUCER_EPOCH = 51;
  static final int BASE_SEQUENCE = 53;
  static final int RECORD_COUNT = 57;

  /** Exactly this batch's bytes, position 0. */
  private final ByteBuffer bytes;

  private RecordBatch(ByteBuffer bytes) {
    this.bytes = bytes;
  }

  /**
   * Splits back-to-back batches and checks each one's header, CRC and codec id. Compressed batches are
   * not decompressed: the CRC covers their compressed bytes.
   *
   * @param maxBatchBytes a batch larger than this fails with RECORD_TOO_LARGE
   * @throws InvalidRecordBatchException CORRUPT_MESSAGE for malformed bytes or a bad CRC,
   *     UNSUPPORTED_COMPRESSION_TYPE for a codec id other than 0 to 4
   */
  public static List<RecordBatch> validateAll(ByteBuffer buffer, int maxBatchBytes) {
    ByteBuffer in = buffer.duplicate();
    if (!in.hasRemaining()) {
      throw new InvalidRecordBatchException(ErrorCode.CORRUPT_MESSAGE, "no record batch in request");
    }
    List<RecordBatch> batches = new ArrayList<>();
    while (in.hasRemaining()) {
      int size = sizeOfNextBatch(in);
      if (size < 0 || size > in.remaining()) {
        throw new InvalidRecordBatchException(ErrorCode.CORRUPT_MESSAGE,
            "record batch truncated: header says " + size + " bytes, " + in.remaining() + " present");
      }
      if (size > maxBatchBytes) {
        throw new InvalidRecordBatchException(ErrorCode.RECORD_TOO_LARGE,
            "record batch of " + size + " bytes exceeds the maximum of " + maxBatchBytes + " bytes");
      }
      RecordBatch batch = new RecordBatch(slice(in, size));
      batch.checkIntegrity();
      batches.add(batch);
    }
    return batches;
  }

  /**
   * Reads whole batches laid out back to back, as stored in a log segment or sent in a fetch
   * response, without checking CRCs; a partial trailing batch is ignored.
   */
  public static List<RecordBatch> parse(ByteBuffer buffer) {
    ByteBuffer in = buffer.duplicate();
    List<RecordBatch> batches = new ArrayList<>();
    while (in.remaining() >= HEADER_SIZE) {
      int size = sizeOfNextBatch(in);
      if (size < HEADER_SIZE || size > in.remaining()) {
        break;
      }
      batches.add(new RecordBatch(slice(in, size)));
    }
    return batches;
  }

  /** The total size of the batch starting at {@code in.position()}, or -1 if its header is incomplete. */
  public static int sizeOfNextBatch(ByteBuffer in) {
    if (in.remaining() < LOG_OVERHEAD) {
      return -1;
    }
    int length = in.getInt(in.position() + LENGTH);
    return length < HEADER_SIZE - LOG_OVERHEAD ? -1 : length + LOG_OVERHEAD;
  }

  private static ByteBuffer slice(ByteBuffer in, int size) {
    ByteBuffer s = in.slice(in.position(), size);
    in.position(in.position() + size);
    return s;
  }

  /**
   * Checks magic, length, record count, CRC and codec id of this batch, without decompressing it.
   *
   * @throws InvalidRecordBatchException CORRUPT_MESSAGE, or UNSUPPORTED_COMPRESSION_TYPE for an unknown
   *     codec id in an otherwise intact batch
   */
  public void checkIntegrity() {
    if (bytes.remaining() < HEADER_SIZE) {
      throw new InvalidRecordBatchException(ErrorCode.CORRUPT_MESSAGE, "record batch shorter than its header");
    }
    byte magic = bytes.get(MAGIC_OFFSET);
    if (magic != MAGIC) {
      throw new InvalidRecordBatchException(ErrorCode.CORRUPT_MESSAGE, "unsupported record batch magic " + magic);
    }
    if (recordCount() < 0 || lastOffsetDelta() < 0) {
      throw new InvalidRecordBatchException(ErrorCode.CORRUPT_MESSAGE, "negative record count or offset delta");
    }
    long stored = Integer.toUnsignedLong(bytes.getInt(CRC));
    long computed = computeChecksum();
    if (stored != computed) {
      throw new InvalidRecordBatchException(ErrorCode.CORRUPT_MESSAGE,
          "record batch CRC mismatch: stored " + Long.toHexString(stored) + ", computed " + Long.toHexString(computed));
    }
    compressionType();
  }

  long computeChecksum() {
    CRC32C crc = new CRC32C();
    crc.update(bytes.slice(ATTRIBUTES, bytes.limit() - ATTRIBUTES));
    return crc.getValue();
  }

  public long baseOffset() {
    return bytes.getLong(BASE_OFFSET);
  }

  /** Stamps the offset of the batch's first record; the CRC stays valid. */
  public void setBaseOffset(long offset) {
    bytes.putLong(BASE_OFFSET, offset);
  }

  public int partitionLeaderEpoch() {
    return bytes.getInt(LEADER_EPOCH);
  }

  public void setPartitionLeaderEpoch(int epoch) {
    bytes.putInt(LEADER_EPOCH, epoch);
  }

  /** Attributes: bits 0-2 the codec id, the other bits as in Kafka (timestamp type, transactional, control). */
  public short attributes() {
    return bytes.getShort(ATTRIBUTES);
  }

  /**
   * The codec of the records section.
   *
   * @throws InvalidRecordBatchException UNSUPPORTED_COMPRESSION_TYPE for a codec id other than 0 to 4
   */
  public CompressionType compressionType() {
    return CompressionType.forId(attributes() & CompressionType.ATTRIBUTES_MASK);
  }

  public int lastOffsetDelta() {
    return bytes.getInt(LAST_OFFSET_DELTA);
  }

  public long lastOffset() {
    return baseOffset() + lastOffsetDelta();
  }

  /** The offset after this batch's last record. */
  public long nextOffset() {
    return lastOffset() + 1;
  }

  public long baseTimestamp() {
    return bytes.getLong(BASE_TIMESTAMP);
  }

  public long maxTimestamp() {
    return bytes.getLong(MAX_TIMESTAMP);
  }

  public long producerId() {
    return bytes.getLong(PRODUCER_ID);
  }

  public short producerEpoch() {
    return bytes.getShort(PRODUCER_EPOCH);
  }

  public int baseSequence() {
    return bytes.getInt(BASE_SEQUENCE);
  }

  public int recordCount() {
    return bytes.getInt(RECORD_COUNT);
  }

  public int sizeInBytes() {
    return bytes.limit();
  }

  /** A read-only view of this batch's bytes, positioned at 0. */
  public ByteBuffer buffer() {
    return bytes.asReadOnlyBuffer();
  }

  /**
   * The records section (each record with its length varint, back to back), decompressed if the batch
   * is compressed, positioned at 0. For an uncompressed batch this is a view of the batch's own bytes.
   *
   * @throws InvalidRecordBatchException UNSUPPORTED_COMPRESSION_TYPE, or CORRUPT_MESSAGE if the
   *     compressed bytes do not decompress
   */
  public ByteBuffer uncompressedRecords() {
    ByteBuffer section = bytes.slice(HEADER_SIZE, bytes.limit() - HEADER_SIZE);
    CompressionType type = compressionType();
    return type == CompressionType.NONE ? section.asReadOnlyBuffer() : type.decompress(section);
  }

  /**
   * This batch with its records section decompressed and the codec bits cleared (CRC recomputed, every
   * other header field kept), or this batch itself if it is not compressed.
   *
   * @throws InvalidRecordBatchException as {@link #uncompressedRecords()}
   */
  public RecordBatch decompressed() {
    if (compressionType() == CompressionType.NONE) {
      return this;
    }
    ByteBuffer section = uncompressedRecords();
    ByteBuffer out = ByteBuffer.allocate(HEADER_SIZE + section.remaining());
    out.put(bytes.slice(0, HEADER_SIZE)).put(section).flip();
    out.putInt(LENGTH, out.limit() - LOG_OVERHEAD);
    out.putShort(ATTRIBUTES, (short) (attributes() & ~CompressionType.ATTRIBUTES_MASK));
    RecordBatch plain = new RecordBatch(out);
    out.putInt(CRC, (int) plain.computeChecksum());
    return plain;
  }

  /**
   * Decodes every record of the batch, with absolute offsets and timestamps, decompressing the records
   * section first if the batch is compressed.
   *
   * @throws InvalidRecordBatchException CORRUPT_MESSAGE for malformed records or compressed bytes,
   *     UNSUPPORTED_COMPRESSION_TYPE for an unknown codec id
   */
  public List<Record> records() {
    List<Record> records = new ArrayList<>(Math.max(0, recordCount()));
    forEachRecord((offset, timestamp, key, value, headers) ->
        records.add(new Record(offset, timestamp, key, value, headers)));
    return records;
  }

  /** Receives the records of a batch one by one, so a reader need not build a list per batch. */
  @FunctionalInterface
  public interface RecordVisitor {
    /** {@code headers} is immutable; {@code key} and {@code value} are fresh arrays or null. */
    void record(long offset, long timestamp, byte[] key, byte[] value, List<Header> headers);
  }

  /**
   * Decodes every record of the batch in order, as {@link #records()} does, handing each to
   * {@code visitor} without building {@link Record} objects or a list.
   *
   * @throws InvalidRecordBatchException as {@link #records()}
   */
  public void forEachRecord(RecordVisitor visitor) {
    int count = recordCount();
    if (count <= 0) {
      return;
    }
    ByteBuffer in = uncompressedRecords();
    long baseOffset = baseOffset();
    long baseTimestamp = baseTimestamp();
    int sectionEnd = in.limit();
    for (int i = 0; i < count; i++) {
      int length = Varints.readVarint(in);
      if (length < 0 || length > in.remaining()) {
        throw new InvalidRecordBatchException(ErrorCode.CORRUPT_MESSAGE, "record length " + length + " out of bounds");
      }
      // Decoded in place with an end mark rather than through a slice per record.
      int end = in.position() + length;
      ByteBuffer r = in.limit(end);
      r.get(); // record attributes, unused in v2
      long timestampDelta = Varints.readVarlong(r);
      int offsetDelta = Varints.readVarint(r);
      byte[] key = readBytes(r);
      byte[] value = readBytes(r);
      int headerCount = Varints.readVarint(r);
      if (headerCount < 0) {
        throw new InvalidRecordBatchException(ErrorCode.CORRUPT_MESSAGE, "negative header count");
      }
      List<Header> headers;
      if (headerCount == 0) {
        headers = List.of();
      } else {
        Header[] read = new Header[headerCount];
        for (int h = 0; h < headerCount; h++) {
          byte[] headerKey = readBytes(r);
          if (headerKey == null) {
            throw new InvalidRecordBatchException(ErrorCode.CORRUPT_MESSAGE, "null header key");
          }
          read[h] = new Header(new String(headerKey, java.nio.charset.StandardCharsets.UTF_8), readBytes(r));
        }
        headers = List.of(read);
      }
      in.limit(sectionEnd).position(end);
      visitor.record(baseOffset + offsetDelta, baseTimestamp + timestampDelta, key, value, headers);
    }
  }

  private static byte[] readBytes(ByteBuffer in) {
    int length = Varints.readVarint(in);
    if (length < 0) {
      return null;
    }
    if (length > in.remaining()) {
      throw new InvalidRecordBatchException(ErrorCode.CORRUPT_MESSAGE, "field length " + length + " out of bounds");
    }
    byte[] b = new byte[length];
    in.get(b);
    return b;
  }
}
