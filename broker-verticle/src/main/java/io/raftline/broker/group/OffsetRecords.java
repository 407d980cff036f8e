package io.raftline.broker.group;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The key/value encoding of {@code __consumer_offsets} records, versioned like Kafka's: every key and
 * every value starts with a big-endian short version, strings are a short byte length and UTF-8 bytes.
 *
 * <pre>
 * offset commit key   (version 1): group, topic, int32 partition
 *       value         (version 1): int64 offset, metadata, int64 commit timestamp (ms)
 *       tombstone: the committed offset is gone
 * group key           (version 2): group
 *       tombstone: the group was deleted (every offset of it is gone); no value is written yet
 * </pre>
 *
 * Key versions 1 and 2 mean the same kinds of key as in Kafka (offset commit, group metadata), so the
 * compacted topic keeps one record per committed partition and per group. A reader skips keys of
 * versions it does not know, and reads only the fields it knows of a newer value version (fields are
 * only ever appended).
 */
public final class OffsetRecords {
  public static final short OFFSET_COMMIT_KEY_VERSION = 1;
  public static final short GROUP_KEY_VERSION = 2;
  public static final short OFFSET_COMMIT_VALUE_VERSION = 1;

  private OffsetRecords() {}

  /** A decoded key: an offset commit key ({@code topic} set) or a group key ({@code topic} null). */
  public record Key(short version, String group, String topic, int partition) {
    public boolean isOffsetCommit() {
      return version == OFFSET_COMMIT_KEY_VERSION;
    }

    public boolean isGroup() {
      return version == GROUP_KEY_VERSION;
    }
  }

  /** A decoded offset commit value. */
  public record OffsetValue(long offset, String metadata, long commitTimestamp) {}

  public static OffsetRecord offsetCommit(String group, String topic, int partition, long offset, String metadata,
      long commitTimestamp) {
    return new OffsetRecord(offsetCommitKey(group, topic, partition), offsetCommitValue(offset, metadata, commitTimestamp));
  }

  public static OffsetRecord offsetTombstone(String group, String topic, int partition) {
    return new OffsetRecord(offsetCommitKey(group, topic, partition), null);
  }

  public static OffsetRecord groupTombstone(String group) {
    byte[] g = utf8(group);
    ByteBuffer b = ByteBuffer.allocate(2 + 2 + g.length);
    b.putShort(GROUP_KEY_VERSION);
    putString(b, g);
    return new OffsetRecord(b.array(), null);
  }

  static byte[] offsetCommitKey(String group, String topic, int partition) {
    byte[] g = utf8(group);
    byte[] t = utf8(topic);
    ByteBuffer b = ByteBuffer.allocate(2 + 2 + g.length + 2 + t.length + 4);
    b.putShort(OFFSET_COMMIT_KEY_VERSION);
    putString(b, g);
    putString(b, t);
    b.putInt(partition);
    return b.array();
  }

  static byte[] offsetCommitValue(long offset, String metadata, long commitTimestamp) {
    byte[] m = utf8(metadata == null ? "" : metadata);
    ByteBuffer b = ByteBuffer.allocate(2 + 8 + 2 + m.length + 8);
    b.putShort(OFFSET_COMMIT_VALUE_VERSION);
    b.putLong(offset);
    putString(b, m);
    b.putLong(commitTimestamp);
    return b.array();
  }

  /**
   * @return the key, or null for a key version this reader does not know
   * @throws IllegalArgumentException if the bytes are not a key of a known version
   */
  public static Key readKey(byte[] key) {
    try {
      ByteBuffer b = ByteBuffer.wrap(key);
      short version = b.getShort();
      if (version == OFFSET_COMMIT_KEY_VERSION) {
        return new Key(version, getString(b), getString(b), b.getInt());
      }
      if (version == GROUP_KEY_VERSION) {
        return new Key(version, getString(b), null, -1);
      }
      return null;
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException("truncated __consumer_offsets key of " + key.length + " bytes", e);
    }
  }

  /** @throws IllegalArgumentException if the bytes are not an offset commit value */
  public static OffsetValue readOffsetValue(byte[] value) {
    try {
      ByteBuffer b = ByteBuffer.wrap(value);
      short version = b.getShort();
      if (version < OFFSET_COMMIT_VALUE_VERSION) {
        throw new IllegalArgumentException("unknown offset commit value version " + version);
      }
      return new OffsetValue(b.getLong(), getString(b), b.getLong());
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException("truncated offset commit value of " + value.length + " bytes", e);
    }
  }

  /** A readable form of a record, for logs and test failures. */
  public static String describe(OffsetRecord r) {
    try {
      Key k = readKey(r.key());
      if (k == null) {
        return "unknown key version";
      }
      if (k.isGroup()) {
        return "group " + k.group() + (r.isTombstone() ? " (tombstone)" : "");
      }
      String where = "group " + k.group() + " " + k.topic() + "-" + k.partition();
      return r.isTombstone() ? where + " (tombstone)" : where + " offset " + readOffsetValue(r.value()).offset();
    } catch (IllegalArgumentException e) {
      return "undecodable: " + e.getMessage();
    }
  }

  private static byte[] utf8(String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    if (bytes.length > Short.MAX_VALUE) {
      throw new IllegalArgumentException("string of " + bytes.length + " bytes is longer than " + Short.MAX_VALUE);
    }
    return bytes;
  }

  private static void putString(ByteBuffer b, byte[] s) {
    b.putShort((short) s.length);
    b.put(s);
  }

  private static String getString(ByteBuffer b) {
    int length = b.getShort();
    if (length < 0) {
      throw new IllegalArgumentException("negative string length " + length);
    }
    byte[] bytes = new byte[length];
    b.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
