package io.raftline.deploy;

import io.raftline.metadata.record.MetadataRecordCodec;
import io.raftline.metadata.snapshot.SnapshotId;
import io.raftline.protocol.records.Header;
import io.raftline.protocol.records.InvalidRecordBatchException;
import io.raftline.protocol.records.Record;
import io.raftline.protocol.records.RecordBatch;
import io.raftline.quorum.log.CorruptLogException;
import io.raftline.quorum.log.MetadataLog;
import io.raftline.quorum.log.MetadataLogConfig;
import io.raftline.quorum.raft.LogEntry;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What {@code raftline dump-log --files} prints, in the shape of Kafka's kafka-dump-log: for a
 * partition segment ({@code <base>.log}) one line per batch (offsets, producer, epoch, codec, CRC
 * check, position, size) and with {@code --print-data-log} one line per record; the entries of an
 * offset or time index; the entries of a metadata log segment ({@code __cluster_metadata-0/*.log})
 * decoded as metadata records; a metadata snapshot ({@code .checkpoint}) as the image it holds.
 *
 * <p>Files are only read. A metadata log segment is read through a copy, because opening a
 * metadata log recovers it (cuts a torn tail) and a dump must never change what it looks at.
 */
final class DumpLog {
  static final String METADATA_DIR_PREFIX = "__cluster_metadata";

  private DumpLog() {}

  static void dump(Path file, boolean printData, PrintWriter out) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(file + " is not a file");
    }
    String name = file.getFileName().toString();
    Path parent = file.toAbsolutePath().getParent();
    boolean metadata = parent != null && parent.getFileName().toString().startsWith(METADATA_DIR_PREFIX);
    out.println("Dumping " + file);
    if (name.endsWith(".log") && metadata) {
      dumpMetadataSegment(file, out);
    } else if (name.endsWith(".log")) {
      dumpPartitionSegment(file, printData, out);
    } else if (name.endsWith(".timeindex")) {
      dumpTimeIndex(file, out);
    } else if (name.endsWith(".index")) {
      dumpOffsetIndex(file, out);
    } else if (SnapshotId.parse(name).isPresent()) {
      MetadataShell.print(MetadataShell.fromSnapshot(file), out);
    } else {
      throw new IllegalArgumentException(file + ": not a segment (.log), index (.index, .timeindex) or metadata "
          + "snapshot (<endOffset>-<epoch>.checkpoint)");
    }
  }

  private static long baseOffsetOf(Path file) {
    String name = file.getFileName().toString();
    String digits = name.substring(0, name.indexOf('.'));
    try {
      return Long.parseLong(digits);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(file + ": the file name does not start with a base offset");
    }
  }

  private static void dumpPartitionSegment(Path file, boolean printData, PrintWriter out) throws IOException {
    ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file));
    out.println("Log starting offset: " + baseOffsetOf(file));
    int batches = 0;
    while (bytes.hasRemaining()) {
      int position = bytes.position();
      int size = RecordBatch.sizeOfNextBatch(bytes);
      if (size < RecordBatch.HEADER_SIZE || size > bytes.remaining()) {
        break;
      }
      List<RecordBatch> parsed = RecordBatch.parse(bytes.slice(position, size));
      bytes.position(position + size);
      RecordBatch batch = parsed.get(0);
      String invalid = null;
      try {
        batch.checkIntegrity();
      } catch (InvalidRecordBatchException e) {
        invalid = e.getMessage();
      }
      batches++;
      short attributes = batch.attributes();
      out.printf("baseOffset: %d lastOffset: %d count: %d baseSequence: %d lastSequence: %d producerId: %d "
              + "producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %b isControl: %b position: %d "
              + "CreateTime: %d size: %d magic: %d compresscodec: %s isvalid: %b%s%n",
          batch.baseOffset(), batch.lastOffset(), batch.recordCount(), batch.baseSequence(),
          batch.baseSequence() < 0 ? -1 : batch.baseSequence() + batch.lastOffsetDelta(), batch.producerId(),
          batch.producerEpoch(), batch.partitionLeaderEpoch(), (attributes & 0x10) != 0, (attributes & 0x20) != 0,
          position, batch.maxTimestamp(), size, RecordBatch.MAGIC, codecName(batch), invalid == null,
          invalid == null ? "" : " (" + invalid + ")");
      if (printData && invalid == null) {
        for (Record r : batch.records()) {
          out.printf("| offset: %d CreateTime: %d keySize: %d valueSize: %d headerKeys: [%s] key: %s payload: %s%n",
              r.offset(), r.timestamp(), r.key() == null ? -1 : r.key().length,
              r.value() == null ? -1 : r.value().length,
              r.headers().stream().map(Header::key).collect(Collectors.joining(",")), text(r.key()), text(r.value()));
        }
      }
    }
    out.println(batches + " batches");
    if (bytes.hasRemaining()) {
      out.println("Found " + bytes.remaining() + " invalid bytes at the end of " + file.getFileName()
          + " (position " + bytes.position() + "): a torn or corrupt tail, which recovery cuts");
    }
  }

  private static String codecName(RecordBatch batch) {
    try {
      return batch.compressionType().name().toLowerCase(java.util.Locale.ROOT);
    } catch (InvalidRecordBatchException e) {
      return "unknown";
    }
  }

  private static String text(byte[] bytes) {
    return bytes == null ? "null" : new String(bytes, StandardCharsets.UTF_8);
  }

  private static void dumpOffsetIndex(Path file, PrintWriter out) throws IOException {
    long base = baseOffsetOf(file);
    ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file));
    while (bytes.remaining() >= 8) {
      int relative = bytes.getInt();
      int position = bytes.getInt();
      if (relative == 0) {
        break; // the zero-filled tail an open (or crashed) broker's index has; no real entry is at relative 0
      }
      out.println("offset: " + (base + relative) + " position: " + position);
    }
  }

  private static void dumpTimeIndex(Path file, PrintWriter out) throws IOException {
    long base = baseOffsetOf(file);
    ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file));
    while (bytes.remaining() >= 12) {
      long timestamp = bytes.getLong();
      int relative = bytes.getInt();
      if (relative == 0) {
        break;
      }
      out.println("timestamp: " + timestamp + " offset: " + (base + relative));
    }
  }

  private static void dumpMetadataSegment(Path file, PrintWriter out) throws IOException {
    Path copy = Files.createTempDirectory("raftline-dump-log");
    try {
      Files.copy(file, copy.resolve(file.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
      List<LogEntry> entries;
      try (MetadataLog log = MetadataLog.open(copy, MetadataLogConfig.defaults())) {
        entries = log.readAll();
      } catch (CorruptLogException e) {
        // The copy's path means nothing to the operator; the position and offset do.
        throw new IOException(file + " is damaged at position " + e.position() + " (expected offset " + e.offset()
            + "): " + e.getMessage(), e);
      }
      for (LogEntry e : entries) {
        String record;
        try {
          record = MetadataRecordCodec.decode(e.payload()).toString();
        } catch (RuntimeException undecodable) {
          record = "undecodable (" + e.payload().length + " bytes): " + undecodable.getMessage();
        }
        out.println("offset: " + e.offset() + " epoch: " + e.epoch() + " record: " + record);
      }
      out.println(entries.size() + " records");
      long kept = Files.size(copy.resolve(file.getFileName()));
      long original = Files.size(file);
      if (kept < original) {
        out.println("Found " + (original - kept) + " invalid bytes at the end of " + file.getFileName()
            + " (position " + kept + "): a torn or corrupt tail, which recovery cuts");
      }
    } finally {
      try (Stream<Path> files = Files.walk(copy)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }
}
