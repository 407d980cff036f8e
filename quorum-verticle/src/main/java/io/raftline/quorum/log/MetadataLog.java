package io.raftline.quorum.log;

import io.raftline.quorum.raft.LogEntry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The durable, segmented metadata log of one controller or observer (Kafka's {@code __cluster_metadata-0}).
 *
 * <h2>Files</h2>
 * The directory holds segment files named by the offset of their first entry, zero-padded to 20 digits
 * ({@code 00000000000000000000.log}, {@code 00000000000000004711.log}, ...). A new segment is started when
 * the next batch would take the active (last) segment past {@link MetadataLogConfig#segmentBytes()}.
 * Other files in the directory (such as the quorum-state file) are ignored, except a
 * {@code truncation.intent} file, see {@link #truncateTo}.
 *
 * <h2>Batch format</h2>
 * A segment is a sequence of batches; each {@link #append} writes exactly one. All integers big-endian:
 * <pre>
 *   int   length       bytes after this field (17 + entries)
 *   int   crc          CRC32C of every byte after this field, up to the end of the batch
 *   byte  magic        format version, 1
 *   long  baseOffset   offset of the first entry
 *   int   entryCount   &gt;= 1; the entries have offsets baseOffset .. baseOffset + entryCount - 1
 *   entryCount times:
 *     int   epoch          leader epoch that wrote the entry (never decreases along the log)
 *     int   payloadLength
 *     byte[payloadLength] payload
 * </pre>
 * The offset of each entry is implied by its position in the batch, so a batch cannot hold a gap. The
 * magic byte sits inside the checksummed part so that a bit flip is reported as a CRC failure rather than
 * as an unknown format.
 *
 * <h2>Recovery</h2>
 * {@link #open} scans every batch of every segment and checks its CRC, its structure, and that offsets run
 * on without gaps from batch to batch and from segment to segment. A bad batch is classified as follows:
 * <ul>
 *   <li>A <em>torn tail</em>: the length runs past the end of the last segment, or the CRC fails (or the
 *       header is garbage) and no valid batch can be found anywhere after it in the last segment. This is
 *       what a crash during an unflushed append leaves behind, so the tail is cut off at the start of the
 *       bad batch and a WARNING names the file and position. Nothing that {@link #flush()} reported
 *       durable can be lost this way, because flushed bytes are never rewritten.</li>
 *   <li><em>Corruption</em>: a bad batch followed by a valid one, any damage in a segment that is not the
 *       last, a batch that passes its CRC but is malformed, or a gap between offsets. A crash cannot
 *       produce these (segments are fsynced before the next is created, and appends only ever extend the
 *       last one), so {@link CorruptLogException} is thrown, naming the file, byte position and expected
 *       offset. The log is neither served nor silently shortened.</li>
 * </ul>
 * The search for a later valid batch is what keeps a single damaged length field in the middle of the
 * last segment from being mistaken for a torn tail, which would silently discard everything after it.
 *
 * <h2>Durability</h2>
 * {@link #append} only writes to the page cache; {@link #flush()} fsyncs and advances
 * {@link #durableEndOffset()}. Raft lets an entry count toward the majority only once it is durable, and
 * one fsync per group of batches (group commit) keeps that cheap. Segment rolls and {@link #truncateTo}
 * are durable when they return. After any I/O error while writing, this instance fails every later call:
 * after a failed fsync the page cache may already have dropped the dirty data, so a retry that "succeeds"
 * would claim durability that does not exist. Reopening runs recovery and repairs the tail.
 *
 * <h2>Threading</h2>
 * Not thread-safe, by design. {@code QuorumVerticle} calls every method from one ordered worker (never
 * an event loop, since these calls block on disk), so calls never overlap and their order is the order the
 * Raft core decided on. Locking here would only hide a caller that broke that rule.
 */
public final class MetadataLog implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(MetadataLog.class.getName());
  private static final Pattern SEGMENT_NAME = Pattern.compile("(\\d{20})\\.log");
  /** Window used when searching damaged bytes for a later valid batch. */
  private static final int SCAN_WINDOW = 64 * 1024;
  /** Chunk size for sequential reads during recovery and {@link #readAll()}. */
  private static final int RECOVERY_CHUNK = 1024 * 1024;

  private final Path dir;
  private final MetadataLogConfig config;
  /** Ordered by base offset; never empty; the last one is the active segment that appends go to. */
  private final List<Segment> segments;
  private long endOffset;
  private long durableEndOffset;
  private int lastEpoch;
  private boolean closed;
  /** Set by the first I/O error while changing the log; every later call fails with it. */
  private IOException failure;

  private MetadataLog(Path dir, MetadataLogConfig config, List<Segment> segments, int lastEpoch) {
    this.dir = dir;
    this.config = config;
    this.segments = segments;
    this.endOffset = segments.get(segments.size() - 1).endOffset;
    this.durableEndOffset = endOffset;
    this.lastEpoch = lastEpoch;
  }

  /**
   * Opens (creating if absent) the log in {@code dir} and recovers it: finishes an interrupted
   * {@link #truncateTo}, scans all segments by CRC, truncates a torn tail and fsyncs the last segment, so
   * everything the returned log holds is durable.
   *
   * @throws CorruptLogException if the log is damaged in a way a crash cannot explain
   */
  public static MetadataLog open(Path dir, MetadataLogConfig config) throws IOException {
    Objects.requireNonNull(dir, "dir");
    Objects.requireNonNull(config, "config");
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir);
      Path parent = dir.toAbsolutePath().getParent();
      if (parent != null) FileSync.fsyncDirectory(parent);
    }
    TreeMap<Long, Path> files = listSegments(dir);
    Optional<TruncationIntent> intent = TruncationIntent.read(dir);
    if (intent.isPresent()) completeTruncation(dir, files, intent.get());

    List<Segment> segments = new ArrayList<>();
    try {
      if (files.isEmpty()) {
        segments.add(Segment.create(dir, 0));
        FileSync.fsyncDirectory(dir);
      } else {
        for (var e : files.entrySet()) segments.add(Segment.open(e.getValue(), e.getKey()));
      }
      int lastEpoch = recover(segments);
      segments.get(segments.size() - 1).channel.force(true);
      return new MetadataLog(dir, config, segments, lastEpoch);
    } catch (IOException | RuntimeException e) {
      for (Segment s : segments) {
        try {
          s.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  private static TreeMap<Long, Path> listSegments(Path dir) throws IOException {
    TreeMap<Long, Path> files = new TreeMap<>();
    try (Stream<Path> list = Files.list(dir)) {
      for (Path p : (Iterable<Path>) list::iterator) {
        Matcher m = SEGMENT_NAME.matcher(p.getFileName().toString());
        if (!m.matches() || !Files.isRegularFile(p)) continue;
        long base;
        try {
          base = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
          throw new CorruptLogException(p, "segment name is not a valid base offset");
        }
        files.put(base, p);
      }
    }
    return files;
  }

  /** Re-applies an intent left by a crash inside {@link #truncateTo}, then removes it. */
  private static void completeTruncation(Path dir, TreeMap<Long, Path> files, TruncationIntent intent)
      throws IOException {
    Path file = files.get(intent.segmentBaseOffset());
    Path intentFile = dir.resolve(TruncationIntent.FILE_NAME);
    if (file == null) {
      throw new CorruptLogException(intentFile, "truncation intent names segment "
          + Segment.fileName(intent.segmentBaseOffset()) + ", which does not exist");
    }
    if (!files.lastKey().equals(intent.segmentBaseOffset())) {
      throw new CorruptLogException(intentFile, "truncation intent names segment " + file.getFileName()
          + ", which is not the last segment");
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      if (ch.size() < intent.newSegmentSize()) {
        throw new CorruptLogException(file, intent.batchPosition(), -1, "segment is " + ch.size()
            + " bytes, shorter than the " + intent.newSegmentSize() + " bytes an interrupted truncation left");
      }
      LOG.log(System.Logger.Level.INFO, "Completing an interrupted truncation of " + file + " at byte position "
          + intent.batchPosition());
      intent.apply(ch);
    }
    TruncationIntent.deleteDurably(dir);
  }

  /** Scans and validates all segments, truncates a torn tail, fills in sizes and indexes; returns the last epoch. */
  private static int recover(List<Segment> segments) throws IOException {
    long expected = segments.get(0).baseOffset;
    int lastEpoch = 0;
    BatchFormat.Info info = new BatchFormat.Info();
    for (int i = 0; i < segments.size(); i++) {
      Segment seg = segments.get(i);
      boolean last = i == segments.size() - 1;
      if (seg.baseOffset != expected) {
        throw new CorruptLogException(seg.file, 0, expected, "segment base offset " + seg.baseOffset
            + " does not continue the log; the previous segment ends at offset " + expected);
      }
      long fileSize = seg.channel.size();
      ChunkedReader reader = new ChunkedReader(seg.channel, fileSize, RECOVERY_CHUNK);
      long pos = 0;
      while (pos < fileSize) {
        String tornReason = null;
        long left = fileSize - pos;
        if (left < 4) {
          tornReason = "only " + left + " bytes left, too few for a batch length";
        } else {
          int length = reader.read(pos, 4).getInt(0);
          if (length < BatchFormat.MIN_LENGTH) {
            tornReason = "batch length " + length + " is below the minimum " + BatchFormat.MIN_LENGTH;
          } else if (length > left - 4) {
            tornReason = "batch length " + length + " runs past the end of the file (" + (left - 4)
                + " bytes left)";
          } else {
            ByteBuffer batch = reader.read(pos, 4 + length);
            if (!BatchFormat.crcMatches(batch)) {
              tornReason = "CRC32C mismatch";
            } else {
              String bad = BatchFormat.checkStructure(batch, expected, lastEpoch, info);
              if (bad != null) throw new CorruptLogException(seg.file, pos, expected, bad);
              seg.batchAdded(info.baseOffset, info.count, pos, batch.limit());
              expected = info.baseOffset + info.count;
              lastEpoch = info.lastEpoch;
              pos += batch.limit();
              continue;
            }
          }
        }
        // A bad batch at pos: a torn tail only if it is in the last segment and nothing valid follows it.
        if (!last) {
          throw new CorruptLogException(seg.file, pos, expected, tornReason + " in a segment that is not the last");
        }
        long later = findValidBatch(seg, pos + 1, fileSize, expected);
        if (later >= 0) {
          throw new CorruptLogException(seg.file, pos, expected, tornReason
              + ", followed by a valid batch at byte position " + later);
        }
        LOG.log(System.Logger.Level.WARNING, "Truncating torn tail of metadata log segment " + seg.file
            + " at byte position " + pos + " (offset " + expected + "): " + tornReason + "; dropping "
            + (fileSize - pos) + " bytes");
        seg.channel.truncate(pos);
        seg.channel.force(true);
        break;
      }
      seg.size = pos;
      seg.endOffset = expected;
    }
    return lastEpoch;
  }

  /**
   * Searches {@code seg[from, fileSize)} byte by byte for a complete batch with a valid CRC and structure
   * and a base offset of at least {@code minBase}; returns its position or -1. Only runs during recovery,
   * after a bad batch was found in the last segment.
   */
  private static long findValidBatch(Segment seg, long from, long fileSize, long minBase) throws IOException {
    ByteBuffer window = ByteBuffer.allocate(SCAN_WINDOW);
    long windowStart = -1;
    int windowLen = 0;
    BatchFormat.Info info = new BatchFormat.Info();
    for (long r = from; r + BatchFormat.HEADER_SIZE <= fileSize; r++) {
      if (windowStart < 0 || r + BatchFormat.HEADER_SIZE > windowStart + windowLen) {
        windowLen = (int) Math.min(SCAN_WINDOW, fileSize - r);
        window.clear();
        window.limit(windowLen);
        FileSync.readFully(seg.channel, window, r);
        windowStart = r;
      }
      if (!BatchFormat.plausibleHeader(window, (int) (r - windowStart), fileSize - r, minBase)) continue;
      int length = window.getInt((int) (r - windowStart));
      ByteBuffer candidate = ByteBuffer.allocate(4 + length);
      FileSync.readFully(seg.channel, candidate, r);
      if (BatchFormat.crcMatches(candidate) && BatchFormat.checkStructure(candidate, -1, 0, info) == null) {
        return r;
      }
    }
    return -1;
  }

  /** The directory this log lives in. */
  public Path dir() {
    return dir;
  }

  /** First offset present in the log; 0 until snapshots delete old segments. */
  public long startOffset() {
    ensureOpen();
    return segments.get(0).baseOffset;
  }

  /** The offset the next appended entry must have: one past the last entry. */
  public long endOffset() {
    ensureOpen();
    return endOffset;
  }

  /** Epoch of the last entry, 0 if the log is empty. */
  public int lastEpoch() {
    ensureOpen();
    return lastEpoch;
  }

  /** Entries below this offset are on disk (fsynced); at most {@link #endOffset()}. */
  public long durableEndOffset() {
    ensureOpen();
    return durableEndOffset;
  }

  /**
   * Every entry from {@link #startOffset()} to {@link #endOffset()}, read from disk; used to rebuild the Raft
   * core on restart. Includes entries not yet flushed.
   *
   * @throws UncheckedIOException on an I/O error, wrapping a {@link CorruptLogException} if a batch read
   *     back fails its CRC
   */
  public List<LogEntry> readAll() {
    ensureUsable();
    List<LogEntry> all = new ArrayList<>();
    long from = startOffset();
    while (from < endOffset) {
      List<LogEntry> chunk = read(from, Integer.MAX_VALUE);
      all.addAll(chunk);
      from = chunk.get(chunk.size() - 1).offset() + 1;
    }
    return all;
  }

  /**
   * Entries starting at {@code fromOffset}, in offset order, possibly spanning batches and segments.
   * {@code maxBytes} bounds the sum of (8 + payload length) over the returned entries, except that at least
   * one entry is returned whenever {@code fromOffset < endOffset()}, so a single large entry can always be
   * fetched. Includes entries not yet flushed (a Raft leader may replicate before its own fsync).
   *
   * @return an empty list if {@code fromOffset == endOffset()}
   * @throws IllegalArgumentException if {@code fromOffset} is below {@link #startOffset()} or above
   *     {@link #endOffset()}; the caller must check (a fetch below the start is answered with a snapshot)
   * @throws UncheckedIOException on an I/O error, wrapping a {@link CorruptLogException} if a batch read
   *     back fails its CRC
   */
  public List<LogEntry> read(long fromOffset, int maxBytes) {
    ensureUsable();
    long start = startOffset();
    if (fromOffset < start || fromOffset > endOffset) {
      throw new IllegalArgumentException("offset " + fromOffset + " is outside the log [" + start + ", "
          + endOffset + "]");
    }
    List<LogEntry> out = new ArrayList<>();
    if (fromOffset == endOffset) return out;
    // Small fetches read small chunks; readAll reads big ones.
    int chunk = (int) Math.min(RECOVERY_CHUNK, Math.max(16 * 1024, (long) maxBytes + BatchFormat.HEADER_SIZE));
    try {
      int segIndex = segmentIndexFor(fromOffset);
      Segment seg = segments.get(segIndex);
      ChunkedReader reader = new ChunkedReader(seg.channel, seg.size, chunk);
      long pos = locate(seg, reader, fromOffset).position;
      long next = fromOffset;
      long used = 0;
      while (next < endOffset) {
        if (!out.isEmpty() && used >= maxBytes) return out; // budget spent: do not read another batch
        if (pos >= seg.size) {
          seg = segments.get(++segIndex);
          reader = new ChunkedReader(seg.channel, seg.size, chunk);
          pos = 0;
          continue;
        }
        ByteBuffer batch = readBatch(seg, reader, pos, next);
        long base = batch.getLong(BatchFormat.BASE_OFFSET_POS);
        int count = batch.getInt(BatchFormat.COUNT_POS);
        if (base > next || base + count <= next) {
          throw new CorruptLogException(seg.file, pos, next, "batch holds offsets " + base + ".."
              + (base + count - 1) + ", expected one holding " + next);
        }
        int p = BatchFormat.HEADER_SIZE;
        for (int i = 0; i < count; i++) {
          int epoch = batch.getInt(p);
          int len = batch.getInt(p + 4);
          long offset = base + i;
          if (offset >= next) {
            long cost = BatchFormat.ENTRY_HEADER_SIZE + (long) len;
            if (!out.isEmpty() && used + cost > maxBytes) return out;
            byte[] payload = new byte[len];
            batch.get(p + BatchFormat.ENTRY_HEADER_SIZE, payload);
            out.add(new LogEntry(offset, epoch, payload));
            used += cost;
            next = offset + 1;
          }
          p += BatchFormat.ENTRY_HEADER_SIZE + len;
        }
        pos += batch.limit();
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Appends {@code entries} as one batch. They must be contiguous, start at {@link #endOffset()}, and have
   * epochs that never decrease (and are at least {@link #lastEpoch()}), as in any Raft log. The bytes are
   * written but not fsynced: call {@link #flush()} after one or more appends (group commit). An empty list
   * does nothing.
   *
   * @throws IllegalArgumentException if the entries break one of those rules or make a batch above 2 GiB;
   *     nothing is written then
   * @throws IOException on a write error, after which this instance is failed (see class comment)
   */
  public void append(List<LogEntry> entries) throws IOException {
    ensureWritable();
    Objects.requireNonNull(entries, "entries");
    if (entries.isEmpty()) return;
    long expected = endOffset;
    int epoch = lastEpoch;
    for (LogEntry e : entries) {
      Objects.requireNonNull(e, "entry");
      if (e.offset() != expected) {
        throw new IllegalArgumentException("non-contiguous append: entry has offset " + e.offset()
            + ", expected " + expected + " (log end offset " + endOffset + ")");
      }
      if (e.epoch() < epoch) {
        throw new IllegalArgumentException("entry at offset " + e.offset() + " has epoch " + e.epoch()
            + ", below the previous epoch " + epoch);
      }
      expected++;
      epoch = e.epoch();
    }
    ByteBuffer batch = BatchFormat.encode(entries);
    try {
      Segment active = segments.get(segments.size() - 1);
      if (active.size > 0 && active.size + batch.remaining() > config.segmentBytes()) active = roll();
      long position = active.size;
      int size = batch.remaining();
      FileSync.writeFully(active.channel, batch, position);
      active.batchAdded(entries.get(0).offset(), entries.size(), position, size);
    } catch (IOException e) {
      throw fail(e);
    }
    endOffset = expected;
    lastEpoch = epoch;
  }

  /**
   * Starts a new segment at {@link #endOffset}. The old one is fsynced first: that is what lets recovery
   * treat any damage in a non-last segment as corruption rather than a torn write. The directory is
   * fsynced so the new file's name survives a crash along with the data a later flush puts in it.
   */
  private Segment roll() throws IOException {
    Segment old = segments.get(segments.size() - 1);
    old.channel.force(true);
    durableEndOffset = endOffset;
    Segment next = Segment.create(dir, endOffset);
    segments.add(next);
    FileSync.fsyncDirectory(dir);
    return next;
  }

  /**
   * fsyncs everything appended so far and returns the new {@link #durableEndOffset()}. Cheap when nothing
   * is pending. Only the active segment can hold unflushed data, since rolling fsyncs the previous one.
   *
   * @throws IOException if the fsync fails, after which this instance is failed (see class comment)
   */
  public long flush() throws IOException {
    ensureWritable();
    if (durableEndOffset < endOffset) {
      try {
        // force(false) is fdatasync: it still persists the file size, which is all the metadata reads need.
        segments.get(segments.size() - 1).channel.force(false);
      } catch (IOException e) {
        throw fail(e);
      }
      durableEndOffset = endOffset;
    }
    return durableEndOffset;
  }

  /**
   * Removes every entry with offset {@code >= offset}, as Raft does after finding that its log diverges
   * from the leader's. Durable when it returns; afterwards {@link #endOffset()} and
   * {@link #durableEndOffset()} equal {@code offset} (anything unflushed below it is fsynced too).
   * Does nothing if {@code offset >= endOffset()}.
   *
   * <p>Whole segments past the cut are deleted, newest first so that a crash part-way leaves a contiguous
   * log. A cut at a batch boundary just shortens the file. A cut inside a batch shortens that batch in
   * place: the kept entry bytes are unchanged, so only the header (length, crc, count) is rewritten and
   * the file cut. The entries before the cut may be committed, so that rewrite goes through a durable
   * {@link TruncationIntent} that recovery re-applies if a crash interrupts it.
   *
   * @throws IllegalArgumentException if {@code offset < startOffset()}
   * @throws IOException on an I/O error, after which this instance is failed (see class comment)
   */
  public void truncateTo(long offset) throws IOException {
    ensureWritable();
    long start = startOffset();
    if (offset < start) {
      throw new IllegalArgumentException("cannot truncate to " + offset + ", below the log start offset " + start);
    }
    if (offset >= endOffset) return;
    try {
      while (segments.size() > 1 && segments.get(segments.size() - 1).baseOffset >= offset) {
        Segment s = segments.remove(segments.size() - 1);
        s.close();
        Files.delete(s.file);
        // One directory fsync per deletion: deletions must not become durable out of order, or a crash
        // could leave a gap between the remaining segments.
        FileSync.fsyncDirectory(dir);
      }
      Segment seg = segments.get(segments.size() - 1);
      if (offset < seg.endOffset) {
        ChunkedReader reader = new ChunkedReader(seg.channel, seg.size, RECOVERY_CHUNK);
        BatchLocation loc = locate(seg, reader, offset);
        if (loc.baseOffset == offset) {
          seg.channel.truncate(loc.position);
          seg.dropIndexFrom(loc.position);
          seg.size = loc.position;
        } else {
          ByteBuffer batch = readBatch(seg, reader, loc.position, offset);
          BatchFormat.Prefix prefix = BatchFormat.prefix(batch, (int) (offset - loc.baseOffset));
          // Later batches go first; the intent's cut then only shortens the one batch.
          long batchEnd = loc.position + batch.limit();
          if (seg.size > batchEnd) seg.channel.truncate(batchEnd);
          TruncationIntent intent = new TruncationIntent(seg.baseOffset, loc.position,
              loc.position + prefix.size(), prefix.header());
          intent.writeDurably(dir);
          intent.apply(seg.channel);
          TruncationIntent.deleteDurably(dir);
          seg.dropIndexFrom(loc.position + 1);
          seg.size = loc.position + prefix.size();
        }
        seg.endOffset = offset;
      }
      seg.channel.force(true);
      endOffset = offset;
      durableEndOffset = offset;
      lastEpoch = offset > start ? read(offset - 1, 0).get(0).epoch() : 0;
    } catch (IOException e) {
      throw fail(e);
    } catch (UncheckedIOException e) {
      throw fail(e.getCause());
    }
  }

  /**
   * Deletes the segments that lie wholly below {@code offset}, because a snapshot now holds their
   * entries. The segment that contains {@code offset} stays, so {@link #startOffset()} may remain below
   * it; the caller skips entries its snapshot already covers. Oldest first, one directory fsync each, so
   * a crash never leaves a gap.
   */
  public void deleteSegmentsBelow(long offset) throws IOException {
    ensureWritable();
    try {
      while (segments.size() > 1 && segments.get(1).baseOffset <= offset) {
        Segment s = segments.remove(0);
        s.close();
        Files.delete(s.file);
        FileSync.fsyncDirectory(dir);
      }
    } catch (IOException e) {
      throw fail(e);
    }
  }

  /**
   * Empties the log so the next entry appended takes {@code offset}: after a snapshot was installed from
   * the leader, nothing the log held is needed (and any tail past the snapshot may have diverged).
   * {@link #lastEpoch()} is 0 afterwards; the snapshot carries the epoch. Newest segment first, so a
   * crash part way leaves a shorter prefix of the old log, never a gap.
   */
  public void resetTo(long offset) throws IOException {
    ensureWritable();
    if (offset < 0) {
      throw new IllegalArgumentException("offset < 0: " + offset);
    }
    try {
      while (!segments.isEmpty()) {
        Segment s = segments.remove(segments.size() - 1);
        s.close();
        Files.delete(s.file);
        FileSync.fsyncDirectory(dir);
      }
      segments.add(Segment.create(dir, offset));
      FileSync.fsyncDirectory(dir);
      endOffset = offset;
      durableEndOffset = offset;
      lastEpoch = 0;
    } catch (IOException e) {
      throw fail(e);
    }
  }

  /**
   * Flushes anything unflushed (a clean shutdown should not leave a torn tail) and closes the files.
   * Idempotent. A failed instance is closed without flushing.
   */
  @Override
  public void close() throws IOException {
    if (closed) return;
    IOException error = null;
    if (failure == null) {
      try {
        flush();
      } catch (IOException e) {
        error = e;
      }
    }
    closed = true;
    for (Segment s : segments) {
      try {
        s.close();
      } catch (IOException e) {
        if (error == null) error = e;
        else error.addSuppressed(e);
      }
    }
    if (error != null) throw error;
  }

  /** Base offsets of the segments, oldest first (for tests and tooling). */
  List<Long> segmentBaseOffsets() {
    ensureOpen();
    return segments.stream().map(s -> s.baseOffset).toList();
  }

  @Override
  public String toString() {
    return "MetadataLog[" + dir + ", segments=" + segments + ", end=" + endOffset + ", durableEnd="
        + durableEndOffset + ", lastEpoch=" + lastEpoch + (failure != null ? ", FAILED" : "") + "]";
  }

  // ---- internals ----

  /** Where a batch starts within a segment, and what it holds. */
  private record BatchLocation(long position, long baseOffset, int count) {}

  /** Index of the segment holding {@code offset} (which must be in [start, end)). */
  private int segmentIndexFor(long offset) {
    int lo = 0;
    int hi = segments.size() - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (segments.get(mid).baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Finds the batch of {@code seg} holding {@code offset}: jumps via the sparse index, then walks headers. */
  private static BatchLocation locate(Segment seg, ChunkedReader reader, long offset) throws IOException {
    long pos = seg.floorPosition(offset);
    while (pos + BatchFormat.HEADER_SIZE <= seg.size) {
      ByteBuffer header = reader.read(pos, BatchFormat.HEADER_SIZE);
      int length = header.getInt(BatchFormat.LENGTH_POS);
      long base = header.getLong(BatchFormat.BASE_OFFSET_POS);
      int count = header.getInt(BatchFormat.COUNT_POS);
      if (length < BatchFormat.MIN_LENGTH || pos + 4 + length > seg.size || count < 1 || base > offset) {
        throw new CorruptLogException(seg.file, pos, offset, "malformed batch header while looking up offset "
            + offset + " (length " + length + ", base offset " + base + ", count " + count + ")");
      }
      if (offset < base + count) return new BatchLocation(pos, base, count);
      pos += 4 + length;
    }
    throw new CorruptLogException(seg.file, pos, offset, "offset " + offset + " not found in segment");
  }

  /** Reads the whole batch at {@code pos} and verifies its CRC and structure; {@code offset} is for messages. */
  private static ByteBuffer readBatch(Segment seg, ChunkedReader reader, long pos, long offset) throws IOException {
    if (pos + 4 > seg.size) throw new CorruptLogException(seg.file, pos, offset, "batch header beyond segment end");
    int length = reader.read(pos, 4).getInt(0);
    if (length < BatchFormat.MIN_LENGTH || pos + 4 + length > seg.size) {
      throw new CorruptLogException(seg.file, pos, offset, "batch length " + length + " is out of range");
    }
    ByteBuffer batch = reader.read(pos, 4 + length);
    if (!BatchFormat.crcMatches(batch)) {
      throw new CorruptLogException(seg.file, pos, offset, "CRC32C mismatch in a batch read back from disk");
    }
    String bad = BatchFormat.checkStructure(batch, -1, 0, new BatchFormat.Info());
    if (bad != null) throw new CorruptLogException(seg.file, pos, offset, bad);
    return batch;
  }

  private void ensureOpen() {
    if (closed) throw new IllegalStateException("metadata log " + dir + " is closed");
  }

  /** For reads, which cannot throw checked exceptions. */
  private void ensureUsable() {
    ensureOpen();
    if (failure != null) throw new UncheckedIOException(failedException());
  }

  private void ensureWritable() throws IOException {
    ensureOpen();
    if (failure != null) throw failedException();
  }

  private IOException failedException() {
    return new IOException("metadata log " + dir + " failed earlier and must be reopened", failure);
  }

  private IOException fail(IOException e) {
    if (failure == null) failure = e;
    return e;
  }
}
