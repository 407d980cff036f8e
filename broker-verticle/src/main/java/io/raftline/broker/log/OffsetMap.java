package io.raftline.broker.log;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The cleaner's key to latest-offset map in a fixed amount of memory, like Kafka's SkimpyOffsetMap:
 * an open-addressing table of 24-byte slots (the key's 16-byte MD5 digest and the offset). Keys
 * themselves are never held, so the memory is {@code log.cleaner.dedupe.buffer.size} whatever their
 * size; two keys sharing a digest (odds about 2^-128 per pair) would be taken for one key.
 */
final class OffsetMap {
  static final int SLOT_BYTES = 24;
  private static final int HASH_BYTES = 16;
  /** Kafka's log.cleaner.io.buffer.load.factor: past this, probes get long. */
  private static final double LOAD_FACTOR = 0.9;

  private final ByteBuffer slots;
  private final int slotCount;
  private final int maxEntries;
  private final MessageDigest md5;
  private final byte[] hash = new byte[HASH_BYTES];
  private final byte[] probe = new byte[HASH_BYTES];
  private int entries;

  /** A map of at most {@code memoryBytes} bytes. */
  OffsetMap(long memoryBytes) {
    long count = Math.max(2, Math.min(memoryBytes / SLOT_BYTES, Integer.MAX_VALUE / SLOT_BYTES));
    slotCount = (int) count;
    maxEntries = Math.max(1, (int) (slotCount * LOAD_FACTOR));
    slots = ByteBuffer.allocate(slotCount * SLOT_BYTES);
    try {
      md5 = MessageDigest.getInstance("MD5");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has MD5", e);
    }
  }

  /** A map sized for {@code keys} distinct keys, but never above {@code memoryBytes}. */
  static OffsetMap forKeys(long keys, long memoryBytes) {
    long wanted = (long) Math.ceil(Math.max(16, keys) / LOAD_FACTOR) * SLOT_BYTES + SLOT_BYTES;
    return new OffsetMap(Math.min(wanted, memoryBytes));
  }

  boolean isFull() {
    return entries >= maxEntries;
  }

  /** How many more keys fit. */
  int remaining() {
    return maxEntries - entries;
  }

  int size() {
    return entries;
  }

  /** Records {@code offset} as the latest of {@code key}; the caller checks {@link #isFull()} first. */
  void put(ByteBuffer key, long offset) {
    int slot = find(key);
    int at = slot * SLOT_BYTES;
    if (slots.getLong(at + HASH_BYTES) == 0) {
      slots.put(at, hash);
      entries++;
    }
    // Offsets are stored +1 so that an all-zero slot means empty.
    slots.putLong(at + HASH_BYTES, offset + 1);
  }

  /** The latest offset recorded for {@code key}, or -1. */
  long get(ByteBuffer key) {
    int at = find(key) * SLOT_BYTES;
    return slots.getLong(at + HASH_BYTES) - 1;
  }

  /** The slot holding {@code key}'s digest, or the empty slot where it would go (fills {@link #hash}). */
  private int find(ByteBuffer key) {
    md5.reset();
    md5.update(key.duplicate());
    try {
      md5.digest(hash, 0, HASH_BYTES);
    } catch (java.security.DigestException e) {
      throw new IllegalStateException(e);
    }
    int slot = Math.floorMod(ByteBuffer.wrap(hash).getInt(0), slotCount);
    while (true) {
      int at = slot * SLOT_BYTES;
      if (slots.getLong(at + HASH_BYTES) == 0) {
        return slot;
      }
      slots.get(at, probe);
      if (Arrays.equals(probe, hash)) {
        return slot;
      }
      slot = slot + 1 == slotCount ? 0 : slot + 1;
    }
  }
}
