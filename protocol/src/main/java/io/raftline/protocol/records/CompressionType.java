package io.raftline.protocol.records;

import io.raftline.protocol.ErrorCode;
import java.nio.ByteBuffer;
import java.util.Locale;

/**
 * The codec of a record batch's records section, as in Kafka: the id lives in bits 0-2 of the batch
 * attributes, and the name is the value of Kafka's {@code compression.type}. The framing of each
 * codec is the one Kafka writes, so a Kafka reader could decode Raftline's batches and vice versa:
 * a gzip stream, snappy-java's framed {@code SnappyOutputStream} format, the LZ4 frame format (64 KiB
 * independent blocks) and a zstd frame.
 */
public enum CompressionType {
  NONE(0, "none"),
  GZIP(1, "gzip"),
  SNAPPY(2, "snappy"),
  LZ4(3, "lz4"),
  ZSTD(4, "zstd");

  /** The attribute bits that hold the codec id. */
  public static final int ATTRIBUTES_MASK = 0x07;
  /** The values {@link #forName} accepts, for error messages. */
  public static final String ALLOWED_NAMES = "none, gzip, snappy, lz4, zstd";

  private final int id;
  private final String configName;

  CompressionType(int id, String configName) {
    this.id = id;
    this.configName = configName;
  }

  /** The codec id stored in a batch's attributes (0 to 4). */
  public int id() {
    return id;
  }

  /** The name used by Kafka's {@code compression.type}: none, gzip, snappy, lz4 or zstd. */
  public String configName() {
    return configName;
  }

  /**
   * The codec with this attributes id.
   *
   * @throws InvalidRecordBatchException UNSUPPORTED_COMPRESSION_TYPE for an id other than 0 to 4
   */
  public static CompressionType forId(int id) {
    switch (id) {
      case 0:
        return NONE;
      case 1:
        return GZIP;
      case 2:
        return SNAPPY;
      case 3:
        return LZ4;
      case 4:
        return ZSTD;
      default:
        throw new InvalidRecordBatchException(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
            "unsupported compression codec id " + id + " in record batch attributes; supported: 0 (none), 1 (gzip), "
                + "2 (snappy), 3 (lz4), 4 (zstd)");
    }
  }

  /**
   * The codec named by a {@code compression.type} value (case and surrounding blanks ignored).
   *
   * @throws IllegalArgumentException naming the allowed values
   */
  public static CompressionType forName(String name) {
    String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
    for (CompressionType t : values()) {
      if (t.configName.equals(n)) {
        return t;
      }
    }
    throw new IllegalArgumentException(
        "unknown compression.type '" + name + "'; allowed values: " + ALLOWED_NAMES);
  }

  /**
   * Compresses {@code uncompressed} (from its position to its limit, which are left as they are) into
   * a new heap buffer positioned at 0. {@link #NONE} returns a view of the same bytes.
   */
  public ByteBuffer compress(ByteBuffer uncompressed) {
    return this == NONE ? uncompressed.slice() : Compression.compress(this, uncompressed, 0);
  }

  /**
   * Decompresses {@code compressed} (from its position to its limit, which are left as they are) into a
   * new heap buffer positioned at 0. {@link #NONE} returns a view of the same bytes.
   *
   * @throws InvalidRecordBatchException CORRUPT_MESSAGE if the bytes are not a valid stream of this codec
   */
  public ByteBuffer decompress(ByteBuffer compressed) {
    return this == NONE ? compressed.slice() : Compression.decompress(this, compressed);
  }
}
