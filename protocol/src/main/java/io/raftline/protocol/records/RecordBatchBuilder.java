package io.raftline.protocol.records;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * Builds one v2 record batch. Offsets inside start at 0; the partition leader stamps the real base
 * offset on append. Not thread-safe: one producer batch at a time owns a builder.
 *
 * <p>With a {@link CompressionType} other than NONE, {@link #build()} compresses the whole records
 * section as one block and stores the codec id in the attributes; the header still counts the
 * uncompressed records.
 */
public final class RecordBatchBuilder {
  private record Pending(long timestamp, byte[] key, byte[] value, List<Header> headers, int bodySize) {}

  private final CompressionType compression;
  private final List<Pending> pending = new ArrayList<>();
  private long producerId = RecordBatch.NO_PRODUCER_ID;
  private short producerEpoch = RecordBatch.NO_PRODUCER_EPOCH;
  private int baseSequence = RecordBatch.NO_SEQUENCE;
  private int sizeInBytes = RecordBatch.HEADER_SIZE;
  private long baseTimestamp = -1;

  /** A builder of uncompressed batches. */
  public RecordBatchBuilder() {
    this(CompressionType.NONE);
  }

  /** A builder whose batches' records section is compressed with {@code compression}. */
  public RecordBatchBuilder(CompressionType compression) {
    this.compression = Objects.requireNonNull(compression, "compression");
  }

  public CompressionType compressionType() {
    return compression;
  }

  /** Sets the idempotent-producer identity stamped in the header. */
  public RecordBatchBuilder producer(long producerId, short producerEpoch, int baseSequence) {
    this.producerId = producerId;
    this.producerEpoch = producerEpoch;
    this.baseSequence = baseSequence;
    return this;
  }

  /** Adds a record; key and value may be null. Returns the bytes the batch will take afterwards. */
  public int append(long timestamp, byte[] key, byte[] value, List<Header> headers) {
    if (baseTimestamp < 0) {
      baseTimestamp = timestamp;
    }
    int offsetDelta = pending.size();
    int body = 1 + Varints.sizeOfVarlong(timestamp - baseTimestamp) + Varints.sizeOfVarint(offsetDelta)
        + sizeOfBytes(key) + sizeOfBytes(value) + Varints.sizeOfVarint(headers.size());
    for (Header h : headers) {
      body += sizeOfBytes(h.key().getBytes(StandardCharsets.UTF_8)) + sizeOfBytes(h.value());
    }
    pending.add(new Pending(timestamp, key, value, List.copyOf(headers), body));
    sizeInBytes += Varints.sizeOfVarint(body) + body;
    return sizeInBytes;
  }

  /** The size a record would add, for deciding whether it still fits in a batch. */
  public static int estimateRecordSize(byte[] key, byte[] value, List<Header> headers) {
    int body = 1 + 10 + 5 + sizeOfBytes(key) + sizeOfBytes(value) + 5;
    for (Header h : headers) {
      body += sizeOfBytes(h.key().getBytes(StandardCharsets.UTF_8)) + sizeOfBytes(h.value());
    }
    return body + 5;
  }

  public int recordCount() {
    return pending.size();
  }

  /**
   * The size of the batch uncompressed. A compressed batch is built smaller than this for any data
   * worth compressing; incompressible data can come out a few dozen bytes (codec framing) larger.
   */
  public int sizeInBytes() {
    return sizeInBytes;
  }

  public boolean isEmpty() {
    return pending.isEmpty();
  }

  /** Encodes the batch with base offset 0 and a valid CRC, compressed if the builder says so. */
  public ByteBuffer build() {
    if (pending.isEmpty()) {
      throw new IllegalStateException("a record batch needs at least one record");
    }
    ByteBuffer out;
    if (compression == CompressionType.NONE) {
      out = ByteBuffer.allocate(sizeInBytes);
      out.position(RecordBatch.HEADER_SIZE);
      writeRecords(out);
    } else {
      ByteBuffer section = ByteBuffer.allocate(sizeInBytes - RecordBatch.HEADER_SIZE);
      writeRecords(section);
      out = Compression.compress(compression, section.flip(), RecordBatch.HEADER_SIZE);
    }
    long maxTimestamp = Long.MIN_VALUE;
    for (Pending p : pending) {
      maxTimestamp = Math.max(maxTimestamp, p.timestamp);
    }
    int size = out.limit();
    out.position(0);
    out.putLong(0L);
    out.putInt(size - RecordBatch.LOG_OVERHEAD);
    out.putInt(-1); // partition leader epoch: stamped by the leader
    out.put(RecordBatch.MAGIC);
    out.putInt(0); // CRC, filled in below
    out.putShort((short) compression.id()); // attributes: the codec, create-time timestamps
    out.putInt(pending.size() - 1);
    out.putLong(baseTimestamp);
    out.putLong(maxTimestamp);
    out.putLong(producerId);
    out.putShort(producerEpoch);
    out.putInt(baseSequence);
    out.putInt(pending.size());
    CRC32C crc = new CRC32C();
    crc.update(out.slice(RecordBatch.ATTRIBUTES, size - RecordBatch.ATTRIBUTES));
    out.putInt(RecordBatch.CRC, (int) crc.getValue());
    return out.position(0);
  }

  /** Writes the uncompressed records section from {@code out}'s position to its limit, exactly. */
  private void writeRecords(ByteBuffer out) {
    for (int i = 0; i < pending.size(); i++) {
      Pending p = pending.get(i);
      Varints.writeVarint(p.bodySize, out);
      out.put((byte) 0);
      Varints.writeVarlong(p.timestamp - baseTimestamp, out);
      Varints.writeVarint(i, out);
      writeBytes(p.key, out);
      writeBytes(p.value, out);
      Varints.writeVarint(p.headers.size(), out);
      for (Header h : p.headers) {
        writeBytes(h.key().getBytes(StandardCharsets.UTF_8), out);
        writeBytes(h.value(), out);
      }
    }
    if (out.hasRemaining()) {
      throw new IllegalStateException("batch size miscounted: " + out.remaining() + " bytes left");
    }
  }

  private static int sizeOfBytes(byte[] b) {
    return b == null ? Varints.sizeOfVarint(-1) : Varints.sizeOfVarint(b.length) + b.length;
  }

  private static void writeBytes(byte[] b, ByteBuffer out) {
    if (b == null) {
      Varints.writeVarint(-1, out);
    } else {
      Varints.writeVarint(b.length, out);
      out.put(b);
    }
  }
}
