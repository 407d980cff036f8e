package io.raftline.broker.log;

import io.raftline.protocol.records.Record;
import io.raftline.protocol.records.RecordBatch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The rewriting half of {@code cleanup.policy=compact}: which records survive and how a segment's
 * batches are rewritten without them.
 *
 * <p>Surviving records are copied as raw bytes: a record's offset and timestamp are stored as deltas
 * from its batch's base offset and base timestamp, so keeping each batch's base fields keeps every
 * surviving record's offset and timestamp without re-encoding it. Only the batch header changes
 * (length, record count, CRC, and the last offset delta, see below).
 *
 * <p>Compressed batches are read decompressed, and a batch that lost records is written back with its
 * own codec (the attributes are kept, so the records section is compressed again as one block, as Kafka's
 * cleaner also keeps a batch's compression type); a batch that keeps all its records is copied as it
 * is, still compressed.
 *
 * <p>Offsets stay contiguous from batch to batch, which recovery relies on to detect damage: a batch
 * whose records all went contributes no bytes, and the previous surviving batch's last offset delta is
 * stretched over its range (as Kafka also leaves last offset deltas pointing past removed records);
 * offsets before the first surviving batch, or a whole segment with nothing left, are covered by an
 * empty (zero-record) batch. A reader asking for a removed offset gets the batch covering it.
 */
final class Compactor {
  private static final int ATTRIBUTES = 21;
  private static final int CRC = 17;
  private static final int RECORD_COUNT = 57;

  private Compactor() {}

  /**
   * Adds the keys of {@code segment}'s batches that end after {@code from} and at or below
   * {@code until} to {@code map}, stopping before a batch that might not fit.
   *
   * @return the offset after the last batch added ({@code from} if none), and whether the map filled
   */
  static long[] addKeys(LogSegment segment, long from, long until, OffsetMap map) throws IOException {
    long[] state = {from, 0}; // the mapped end, and 1 once the map is full
    segment.forEachBatch(batch -> {
      if (state[1] == 1 || batch.nextOffset() <= from || batch.nextOffset() > until) {
        return;
      }
      if (map.remaining() < batch.recordCount()) {
        state[1] = 1;
        return;
      }
      for (Record r : batch.records()) {
        if (r.key() != null) {
          map.put(ByteBuffer.wrap(r.key()), r.offset());
        }
      }
      state[0] = batch.nextOffset();
    });
    return state;
  }

  /**
   * Writes {@code segment}'s surviving records to {@code out}: a record survives if it has no key or
   * no later record of its key is in {@code latest}, except that a surviving tombstone (null value)
   * goes once its timestamp is below {@code dropTombstonesBefore}.
   *
   * @return how many records were dropped
   */
  static long rewrite(LogSegment segment, OffsetMap latest, long dropTombstonesBefore, LogSegment out,
      int indexInterval) throws IOException {
    long[] dropped = {0};
    // The batch waiting to be written: its end is known only when the next survivor (or the segment end) is.
    RecordBatch[] pending = {null};
    List<ByteBuffer> pendingRecords = new ArrayList<>();
    RecordBatch[] lastSeen = {null};
    segment.forEachBatch(batch -> {
      lastSeen[0] = batch;
      RecordBatch plain = batch.decompressed(); // the same batch if it is not compressed
      List<Record> records = plain.records();
      List<ByteBuffer> raw = rawRecords(plain);
      List<ByteBuffer> kept = new ArrayList<>();
      for (int i = 0; i < records.size(); i++) {
        Record r = records.get(i);
        boolean survives = r.key() == null
            || (latest.get(ByteBuffer.wrap(r.key())) <= r.offset()
                && !(r.value() == null && r.timestamp() < dropTombstonesBefore));
        if (survives) {
          kept.add(raw.get(i));
        } else {
          dropped[0]++;
        }
      }
      if (kept.isEmpty()) {
        return;
      }
      if (pending[0] != null) {
        write(out, batchWith(pending[0], pendingRecords, batch.baseOffset()), indexInterval);
      } else if (batch.baseOffset() > segment.baseOffset) {
        write(out, emptyBatch(segment.baseOffset, batch.baseOffset(), batch), indexInterval);
      }
      pending[0] = batch;
      pendingRecords.clear();
      pendingRecords.addAll(kept);
    });
    if (pending[0] != null) {
      write(out, batchWith(pending[0], pendingRecords, segment.endOffset), indexInterval);
    } else if (lastSeen[0] != null) {
      write(out, emptyBatch(segment.baseOffset, segment.endOffset, lastSeen[0]), indexInterval);
    }
    return dropped[0];
  }

  /** Appends one rewritten batch to the cleaned segment, which indexes it as an append would. */
  private static void write(LogSegment out, ByteBuffer batch, int indexInterval) throws IOException {
    long base = batch.getLong(LogSegment.BASE_OFFSET);
    long next = base + batch.getInt(LogSegment.LAST_OFFSET_DELTA) + 1;
    out.append(batch, base, next, batch.getLong(LogSegment.MAX_TIMESTAMP), indexInterval);
  }

  /** Each record's bytes (length varint included) in {@code batch}'s uncompressed records section. */
  private static List<ByteBuffer> rawRecords(RecordBatch batch) {
    ByteBuffer in = batch.uncompressedRecords();
    List<ByteBuffer> out = new ArrayList<>(batch.recordCount());
    for (int i = 0; i < batch.recordCount(); i++) {
      int start = in.position();
      int length = readVarint(in);
      int total = in.position() - start + length;
      out.add(in.slice(start, total));
      in.position(start + total);
    }
    return out;
  }

  /** A zigzag varint, the encoding of v2 record lengths. */
  private static int readVarint(ByteBuffer in) {
    int raw = 0;
    int shift = 0;
    byte b;
    do {
      b = in.get();
      raw |= (b & 0x7f) << shift;
      shift += 7;
    } while (b < 0 && shift < 35);
    return (raw >>> 1) ^ -(raw & 1);
  }

  /**
   * {@code batch}'s header with {@code records} (uncompressed), covering offsets up to {@code coverUntil}
   * (exclusive); compressed with the batch's own codec if it has one.
   */
  private static ByteBuffer batchWith(RecordBatch batch, List<ByteBuffer> records, long coverUntil) {
    int recordBytes = 0;
    for (ByteBuffer r : records) {
      recordBytes += r.remaining();
    }
    long lastOffsetDelta = coverUntil - 1 - batch.baseOffset();
    if (records.size() == batch.recordCount() && lastOffsetDelta == batch.lastOffsetDelta()) {
      return batch.buffer();
    }
    ByteBuffer section;
    if (records.size() == batch.recordCount()) {
      // Only the offset range grows: the records section stays as it is, compressed or not.
      section = batch.buffer().position(RecordBatch.HEADER_SIZE).slice();
    } else {
      section = ByteBuffer.allocate(recordBytes);
      for (ByteBuffer r : records) {
        section.put(r.duplicate());
      }
      section = batch.compressionType().compress(section.flip());
    }
    ByteBuffer out = ByteBuffer.allocate(RecordBatch.HEADER_SIZE + section.remaining());
    out.put(batch.buffer().limit(RecordBatch.HEADER_SIZE));
    out.put(section);
    out.putInt(LogSegment.LENGTH, out.capacity() - RecordBatch.LOG_OVERHEAD);
    out.putInt(LogSegment.LAST_OFFSET_DELTA, (int) lastOffsetDelta);
    out.putInt(RECORD_COUNT, records.size());
    return sealed(out);
  }

  /** A zero-record batch covering offsets {@code from} to {@code until} (exclusive). */
  private static ByteBuffer emptyBatch(long from, long until, RecordBatch template) {
    ByteBuffer out = ByteBuffer.allocate(RecordBatch.HEADER_SIZE);
    out.putLong(from);
    out.putInt(RecordBatch.HEADER_SIZE - RecordBatch.LOG_OVERHEAD);
    out.putInt(template.partitionLeaderEpoch());
    out.put(RecordBatch.MAGIC);
    out.putInt(0); // CRC, below
    out.putShort((short) 0);
    out.putInt((int) (until - 1 - from));
    out.putLong(template.maxTimestamp()); // base timestamp; nothing to be relative to
    out.putLong(template.maxTimestamp());
    out.putLong(RecordBatch.NO_PRODUCER_ID);
    out.putShort(RecordBatch.NO_PRODUCER_EPOCH);
    out.putInt(RecordBatch.NO_SEQUENCE);
    out.putInt(0);
    return sealed(out);
  }

  private static ByteBuffer sealed(ByteBuffer out) {
    CRC32C crc = new CRC32C();
    crc.update(out.slice(ATTRIBUTES, out.capacity() - ATTRIBUTES));
    out.putInt(CRC, (int) crc.getValue());
    return out.flip();
  }
}
