package io.raftline.broker.log;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One sparse index file of a segment ({@code .index} or {@code .timeindex}): fixed-size entries,
 * memory-mapped as Kafka maps its indexes, so an open segment holds a file descriptor for its log file
 * only. A broker hosting 10,000 partitions then needs about 10,000 descriptors, not 30,000.
 *
 * <p>The mapping is grown ahead of the entries (doubling), which makes the file longer than its entries
 * while it is open; {@link #close()} cuts it back to them. A file that was not closed (a crash) keeps a
 * zero-filled tail, and opening counts entries up to the first one whose relative offset is 0: every
 * real entry has a relative offset above 0, because the first batch of a segment is never indexed
 * (it is found at position 0 without an entry).
 *
 * <p>Not thread-safe: the segment's owner (the partition's serial chain) is its only user. Every access
 * after {@link #close()} fails with an {@link IOException}, never touches the unmapped memory.
 */
final class IndexFile implements AutoCloseable {
  /** The smallest mapping made for appends: 512 offset index entries. */
  private static final int MIN_GROWTH_BYTES = 4096;

  private final Path file;
  private final int entrySize;
  private MappedByteBuffer map;
  private int entries;

  private IndexFile(Path file, int entrySize, MappedByteBuffer map, int entries) {
    this.file = file;
    this.entrySize = entrySize;
    this.map = map;
    this.entries = entries;
  }

  /**
   * Opens (creating if absent) an index of {@code entrySize}-byte entries whose relative offset is the
   * int at {@code relativeOffsetField} of each entry. A torn last entry (a crash mid-write) is dropped:
   * the walk from the entry before it covers what it pointed at.
   */
  static IndexFile open(Path file, int entrySize, int relativeOffsetField) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      long whole = channel.size() / entrySize * entrySize;
      if (channel.size() != whole) {
        channel.truncate(whole);
      }
      if (whole > Integer.MAX_VALUE) {
        throw new IOException(file + ": index of " + whole + " bytes is too large");
      }
      MappedByteBuffer map = channel.map(FileChannel.MapMode.READ_WRITE, 0, whole);
      return new IndexFile(file, entrySize, map, countEntries(map, entrySize, relativeOffsetField));
    }
  }

  /** Entries before the zero-filled tail a file that was not closed keeps (binary search: zeros only trail). */
  private static int countEntries(ByteBuffer map, int entrySize, int relativeOffsetField) {
    int lo = 0;
    int hi = map.capacity() / entrySize;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (map.getInt(mid * entrySize + relativeOffsetField) != 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  int entries() {
    return entries;
  }

  int intAt(int entry, int field) throws IOException {
    return mapped().getInt(position(entry) + field);
  }

  long longAt(int entry, int field) throws IOException {
    return mapped().getLong(position(entry) + field);
  }

  private int position(int entry) {
    if (entry < 0 || entry >= entries) {
      throw new IndexOutOfBoundsException(file + ": entry " + entry + " of " + entries);
    }
    return entry * entrySize;
  }

  /** Appends the first {@code entrySize} bytes of {@code entry} (absolute reads; its position is ignored). */
  void append(ByteBuffer entry) throws IOException {
    int at = entries * entrySize;
    if (at + entrySize > mapped().capacity()) {
      grow(at + entrySize);
    }
    map.put(at, entry, 0, entrySize);
    entries++;
  }

  /** Keeps the first {@code keep} entries; the rest are zeroed so a reopen after a crash does not count them. */
  void truncateTo(int keep) throws IOException {
    if (keep < 0 || keep > entries) {
      throw new IllegalArgumentException(file + ": cannot keep " + keep + " of " + entries + " entries");
    }
    MappedByteBuffer m = mapped();
    for (int i = keep * entrySize; i < entries * entrySize; i++) {
      m.put(i, (byte) 0);
    }
    entries = keep;
  }

  /** Writes the entries to disk. */
  void force() throws IOException {
    mapped().force();
  }

  private MappedByteBuffer mapped() throws IOException {
    if (map == null) {
      throw new IOException(file + " is closed");
    }
    return map;
  }

  private void grow(int needed) throws IOException {
    long capacity = Math.max(Math.max(2L * map.capacity(), MIN_GROWTH_BYTES), needed);
    capacity = capacity / entrySize * entrySize;
    if (capacity > Integer.MAX_VALUE - entrySize) {
      throw new IOException(file + ": index would pass " + Integer.MAX_VALUE + " bytes");
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      // Mapping past the end lengthens the file (sparse, zero-filled).
      MappedByteBuffer grown = channel.map(FileChannel.MapMode.READ_WRITE, 0, capacity);
      MappedByteBuffer old = map;
      map = grown;
      Unmapper.unmap(old);
    }
  }

  /** Unmaps the file and cuts it back to its entries. */
  @Override
  public void close() throws IOException {
    if (map == null) {
      return;
    }
    MappedByteBuffer m = map;
    map = null;
    // No force here: the entries are in the page cache, which unmapping keeps; durability is the
    // flush policy's (LogSegment.force), as it was when the indexes were written through channels.
    Unmapper.unmap(m);
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      if (channel.size() > (long) entries * entrySize) {
        channel.truncate((long) entries * entrySize);
      }
    } catch (java.nio.file.NoSuchFileException e) {
      // Deleted or renamed away while open (retention, a cleaning swap): nothing left to cut.
    }
  }

  /**
   * Releases a mapping now rather than when the collector finds the buffer: a deleted segment's index
   * would otherwise keep its disk space, and each mapping counts against the process's map limit. Uses
   * {@code sun.misc.Unsafe#invokeCleaner} (the JDK's supported way until Java's foreign memory API); where
   * that is missing the collector unmaps, which is only later, not wrong.
   */
  private static final class Unmapper {
    private static final Object UNSAFE;
    private static final Method INVOKE_CLEANER;

    static {
      Object unsafe = null;
      Method invokeCleaner = null;
      try {
        Class<?> type = Class.forName("sun.misc.Unsafe");
        Field field = type.getDeclaredField("theUnsafe");
        field.setAccessible(true);
        unsafe = field.get(null);
        invokeCleaner = type.getMethod("invokeCleaner", ByteBuffer.class);
      } catch (ReflectiveOperationException | RuntimeException e) {
        unsafe = null;
        invokeCleaner = null;
      }
      UNSAFE = unsafe;
      INVOKE_CLEANER = invokeCleaner;
    }

    static void unmap(MappedByteBuffer buffer) {
      if (INVOKE_CLEANER == null) {
        return;
      }
      try {
        INVOKE_CLEANER.invoke(UNSAFE, buffer);
      } catch (ReflectiveOperationException | RuntimeException e) {
        // Left to the collector.
      }
    }
  }
}
