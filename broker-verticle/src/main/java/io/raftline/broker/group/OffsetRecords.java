package io.raftline.broker.group;

import io.raftline.metadata.TopicPartition;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

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
 * member key          (version 8): group, member id
 *       value         (version 1): int32 member epoch, int32 previous epoch, int8 state, client id,
 *                                  server assignor, int32 session timeout, int32 rebalance timeout,
 *                                  int32 group epoch, subscription (int16 count, names), assigned and
 *                                  pending revocation (each: int16 topics, per topic its name, an int32
 *                                  count and the partitions)
 *       tombstone: the member left or was removed
 * </pre>
 *
 * Key versions 1 and 2 mean the same kinds of key as in Kafka (offset commit, group metadata), and 8
 * the kind Kafka's KIP-848 coordinator keeps a member's current assignment under (its subscription
 * goes in a record of its own there, in the same value here), so the compacted topic keeps one record
 * per committed partition, per group and per member. A reader skips keys of versions it does not
 * know, and reads only the fields it knows of a newer value version (fields are only ever appended).
 */
public final class OffsetRecords {
  public static final short OFFSET_COMMIT_KEY_VERSION = 1;
  public static final short GROUP_KEY_VERSION = 2;
  public static final short OFFSET_COMMIT_VALUE_VERSION = 1;
  public static final short MEMBER_KEY_VERSION = 8;
  public static final short MEMBER_VALUE_VERSION = 1;

  private OffsetRecords() {}

  /**
   * A decoded key: an offset commit key ({@code topic} set), a group key, or a member key
   * ({@code member} set).
   */
  public record Key(short version, String group, String topic, int partition, String member) {
    public boolean isOffsetCommit() {
      return version == OFFSET_COMMIT_KEY_VERSION;
    }

    public boolean isGroup() {
      return version == GROUP_KEY_VERSION;
    }

    public boolean isMember() {
      return version == MEMBER_KEY_VERSION;
    }
  }

  /**
   * A member as its coordinator last wrote it: what a new coordinator needs to go on without the
   * member rejoining (who owns which partitions, at which epoch).
   *
   * @param state the coordinator's reconciliation state of the member (its ordinal)
   * @param groupEpoch the group's epoch when this was written
   */
  public record MemberValue(int epoch, int previousEpoch, int state, String clientId, String serverAssignor,
      int sessionTimeoutMs, int rebalanceTimeoutMs, int groupEpoch, Set<String> subscription,
      Set<TopicPartition> assigned, Set<TopicPartition> pendingRevocation) {}

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

  public static OffsetRecord member(String group, String member, MemberValue value) {
    return new OffsetRecord(memberKey(group, member), memberValue(value));
  }

  public static OffsetRecord memberTombstone(String group, String member) {
    return new OffsetRecord(memberKey(group, member), null);
  }

  static byte[] memberKey(String group, String member) {
    byte[] g = utf8(group);
    byte[] m = utf8(member);
    ByteBuffer b = ByteBuffer.allocate(2 + 2 + g.length + 2 + m.length);
    b.putShort(MEMBER_KEY_VERSION);
    putString(b, g);
    putString(b, m);
    return b.array();
  }

  static byte[] memberValue(MemberValue v) {
    byte[] clientId = utf8(v.clientId());
    byte[] assignor = utf8(v.serverAssignor());
    List<byte[]> subscription = new ArrayList<>();
    v.subscription().forEach(t -> subscription.add(utf8(t)));
    if (subscription.size() > Short.MAX_VALUE) {
      throw new IllegalArgumentException("a subscription of " + subscription.size() + " topics");
    }
    Map<String, List<Integer>> assigned = byTopic(v.assigned());
    Map<String, List<Integer>> pending = byTopic(v.pendingRevocation());
    int size = 2 + 4 + 4 + 1 + 2 + clientId.length + 2 + assignor.length + 4 + 4 + 4 + 2
        + sizeOfPartitions(assigned) + sizeOfPartitions(pending);
    for (byte[] t : subscription) {
      size += 2 + t.length;
    }
    ByteBuffer b = ByteBuffer.allocate(size);
    b.putShort(MEMBER_VALUE_VERSION);
    b.putInt(v.epoch()).putInt(v.previousEpoch()).put((byte) v.state());
    putString(b, clientId);
    putString(b, assignor);
    b.putInt(v.sessionTimeoutMs()).putInt(v.rebalanceTimeoutMs()).putInt(v.groupEpoch());
    b.putShort((short) subscription.size());
    subscription.forEach(t -> putString(b, t));
    putPartitions(b, assigned);
    putPartitions(b, pending);
    return b.array();
  }

  /** @throws IllegalArgumentException if the bytes are not a member value */
  public static MemberValue readMemberValue(byte[] value) {
    try {
      ByteBuffer b = ByteBuffer.wrap(value);
      short version = b.getShort();
      if (version < MEMBER_VALUE_VERSION) {
        throw new IllegalArgumentException("unknown member value version " + version);
      }
      int epoch = b.getInt();
      int previousEpoch = b.getInt();
      int state = b.get();
      String clientId = getString(b);
      String assignor = getString(b);
      int sessionTimeoutMs = b.getInt();
      int rebalanceTimeoutMs = b.getInt();
      int groupEpoch = b.getInt();
      int topics = b.getShort();
      if (topics < 0) {
        throw new IllegalArgumentException("negative subscription size " + topics);
      }
      Set<String> subscription = new TreeSet<>();
      for (int i = 0; i < topics; i++) {
        subscription.add(getString(b));
      }
      return new MemberValue(epoch, previousEpoch, state, clientId, assignor, sessionTimeoutMs, rebalanceTimeoutMs,
          groupEpoch, subscription, getPartitions(b), getPartitions(b));
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException("truncated member value of " + value.length + " bytes", e);
    }
  }

  private static Map<String, List<Integer>> byTopic(Set<TopicPartition> partitions) {
    Map<String, List<Integer>> out = new TreeMap<>();
    partitions.forEach(tp -> out.computeIfAbsent(tp.topic(), t -> new ArrayList<>()).add(tp.partition()));
    out.values().forEach(ps -> ps.sort(null));
    if (out.size() > Short.MAX_VALUE) {
      throw new IllegalArgumentException("an assignment over " + out.size() + " topics");
    }
    return out;
  }

  private static int sizeOfPartitions(Map<String, List<Integer>> byTopic) {
    int size = 2;
    for (Map.Entry<String, List<Integer>> e : byTopic.entrySet()) {
      size += 2 + utf8(e.getKey()).length + 4 + 4 * e.getValue().size();
    }
    return size;
  }

  private static void putPartitions(ByteBuffer b, Map<String, List<Integer>> byTopic) {
    b.putShort((short) byTopic.size());
    byTopic.forEach((topic, partitions) -> {
      putString(b, utf8(topic));
      b.putInt(partitions.size());
      partitions.forEach(b::putInt);
    });
  }

  private static Set<TopicPartition> getPartitions(ByteBuffer b) {
    int topics = b.getShort();
    if (topics < 0) {
      throw new IllegalArgumentException("negative topic count " + topics);
    }
    Set<TopicPartition> out = new HashSet<>();
    for (int i = 0; i < topics; i++) {
      String topic = getString(b);
      int count = b.getInt();
      if (count < 0 || count > b.remaining() / 4) {
        throw new IllegalArgumentException("bad partition count " + count + " of " + topic);
      }
      for (int j = 0; j < count; j++) {
        out.add(new TopicPartition(topic, b.getInt()));
      }
    }
    return out;
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
        return new Key(version, getString(b), getString(b), b.getInt(), null);
      }
      if (version == GROUP_KEY_VERSION) {
        return new Key(version, getString(b), null, -1, null);
      }
      if (version == MEMBER_KEY_VERSION) {
        return new Key(version, getString(b), null, -1, getString(b));
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
      if (k.isMember()) {
        String who = "group " + k.group() + " member " + k.member();
        if (r.isTombstone()) {
          return who + " (tombstone)";
        }
        MemberValue m = readMemberValue(r.value());
        return who + " epoch " + m.epoch() + " assigned " + m.assigned().size() + " partitions";
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
