package io.raftline.metadata.snapshot;

import io.raftline.metadata.image.MetadataDelta;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.record.ClientQuotaRecord;
import io.raftline.metadata.record.ConfigRecord;
import io.raftline.metadata.record.FeatureLevelRecord;
import io.raftline.metadata.record.MetadataRecord;
import io.raftline.metadata.record.MetadataRecordCodec;
import io.raftline.metadata.record.PartitionRecord;
import io.raftline.metadata.record.ProducerIdsRecord;
import io.raftline.metadata.record.RegisterBrokerRecord;
import io.raftline.metadata.record.TopicRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * Writes an image as the records that rebuild it, and reads it back.
 *
 * <p>File layout, big-endian: a header {@code [int magic "RLSN"][int version 1][long endOffset]
 * [int epoch]}, then chunks {@code [int length][int crc32c of payload][payload]} whose payload is a run
 * of {@code [int size][record envelope]}, and a footer chunk of length 0 followed by
 * {@code [long recordCount][int crc32c of everything before it]}. A file is written under a temporary
 * name, fsynced and renamed, so a crash leaves either the old state or a whole snapshot; the CRCs and
 * the footer catch later damage and truncation.
 */
public final class MetadataSnapshot {
  private static final int MAGIC = 0x524C534E; // "RLSN"
  private static final int VERSION = 1;
  private static final int HEADER = 4 + 4 + 8 + 4;
  private static final int CHUNK_BYTES = 1 << 20;

  private MetadataSnapshot() {}

  /** The records that rebuild {@code image} from the empty image, in an order replay accepts. */
  public static void forEachRecord(MetadataImage image, Consumer<MetadataRecord> out) {
    image.features().forEach((name, level) -> out.accept(new FeatureLevelRecord(name, level)));
    image.brokers().values().forEach(b ->
        out.accept(new RegisterBrokerRecord(b.id(), b.incarnationId(), b.epoch(), b.listeners(), b.rack(), b.fenced())));
    image.topicsById().values().forEach(t -> {
      out.accept(new TopicRecord(t.name(), t.id()));
      t.partitions().forEach((index, p) -> out.accept(new PartitionRecord(t.id(), index, p.replicas(), p.isr(),
          p.leader(), p.leaderEpoch(), p.partitionEpoch())));
    });
    image.configs().forEach((resource, keys) ->
        keys.forEach((k, v) -> out.accept(new ConfigRecord(resource, k, v))));
    if (image.nextProducerId() > 0) {
      out.accept(new ProducerIdsRecord(-1, -1, image.nextProducerId()));
    }
    image.acls().values().forEach(out);
    image.quotas().forEach((entity, keys) -> keys.forEach((k, v) -> out.accept(new ClientQuotaRecord(entity, k, v))));
  }

  /**
   * Writes {@code image} (which holds every record below {@code id.endOffset()}) into {@code dir}.
   *
   * @return the snapshot file
   */
  public static Path write(Path dir, SnapshotId id, MetadataImage image) throws IOException {
    Files.createDirectories(dir);
    Path file = dir.resolve(id.fileName());
    Path tmp = dir.resolve(id.fileName() + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      CRC32C whole = new CRC32C();
      ByteBuffer header = ByteBuffer.allocate(HEADER).putInt(MAGIC).putInt(VERSION).putLong(id.endOffset())
          .putInt(id.epoch()).flip();
      whole.update(header.duplicate());
      writeFully(ch, header);
      ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BYTES);
      long[] count = {0};
      IOException[] failure = {null};
      forEachRecord(image, record -> {
        if (failure[0] != null) {
          return;
        }
        byte[] bytes = MetadataRecordCodec.encode(record);
        try {
          if (chunk.position() > 0 && chunk.remaining() < 4 + bytes.length) {
            flushChunk(ch, chunk, whole);
          }
          if (chunk.remaining() < 4 + bytes.length) {
            ByteBuffer big = ByteBuffer.allocate(4 + bytes.length).putInt(bytes.length).put(bytes);
            flushChunk(ch, big, whole);
          } else {
            chunk.putInt(bytes.length).put(bytes);
          }
          count[0]++;
        } catch (IOException e) {
          failure[0] = e;
        }
      });
      if (failure[0] != null) {
        throw failure[0];
      }
      if (chunk.position() > 0) {
        flushChunk(ch, chunk, whole);
      }
      ByteBuffer footer = ByteBuffer.allocate(4 + 8).putInt(0).putLong(count[0]).flip();
      whole.update(footer.duplicate());
      writeFully(ch, footer);
      writeFully(ch, ByteBuffer.allocate(4).putInt((int) whole.getValue()).flip());
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException ignored) {
      // Some platforms cannot fsync a directory; the rename is then as durable as they allow.
    }
    return file;
  }

  private static void flushChunk(FileChannel ch, ByteBuffer payload, CRC32C whole) throws IOException {
    payload.flip();
    CRC32C crc = new CRC32C();
    crc.update(payload.duplicate());
    ByteBuffer head = ByteBuffer.allocate(8).putInt(payload.remaining()).putInt((int) crc.getValue()).flip();
    whole.update(head.duplicate());
    whole.update(payload.duplicate());
    writeFully(ch, head);
    writeFully(ch, payload);
    payload.clear();
  }

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  /** The records of a snapshot file, checked; with its id. */
  public record Contents(SnapshotId id, List<MetadataRecord> records) {}

  public static Contents read(Path file) throws IOException {
    byte[] all = Files.readAllBytes(file);
    ByteBuffer in = ByteBuffer.wrap(all);
    if (all.length < HEADER + 16 || in.getInt() != MAGIC) {
      throw new CorruptSnapshotException(file, 0, "not a Raftline snapshot (bad magic or too short)");
    }
    int version = in.getInt();
    if (version != VERSION) {
      throw new CorruptSnapshotException(file, 4, "unsupported snapshot version " + version);
    }
    SnapshotId id = new SnapshotId(in.getLong(), in.getInt());
    CRC32C whole = new CRC32C();
    whole.update(all, 0, all.length - 4);
    if ((int) whole.getValue() != ByteBuffer.wrap(all, all.length - 4, 4).getInt()) {
      throw new CorruptSnapshotException(file, all.length - 4, "file checksum mismatch (damaged or truncated)");
    }
    List<MetadataRecord> records = new ArrayList<>();
    while (true) {
      long at = in.position();
      if (in.remaining() < 4) {
        throw new CorruptSnapshotException(file, at, "missing footer");
      }
      int length = in.getInt();
      if (length == 0) {
        break;
      }
      if (length < 0 || in.remaining() < 4 + length) {
        throw new CorruptSnapshotException(file, at, "chunk length " + length + " runs past the end");
      }
      int crc = in.getInt();
      CRC32C c = new CRC32C();
      c.update(all, in.position(), length);
      if ((int) c.getValue() != crc) {
        throw new CorruptSnapshotException(file, at, "chunk checksum mismatch");
      }
      ByteBuffer chunk = in.slice(in.position(), length);
      in.position(in.position() + length);
      while (chunk.hasRemaining()) {
        int size = chunk.getInt();
        if (size < 0 || size > chunk.remaining()) {
          throw new CorruptSnapshotException(file, at, "record size " + size + " runs past its chunk");
        }
        byte[] bytes = new byte[size];
        chunk.get(bytes);
        try {
          records.add(MetadataRecordCodec.decode(bytes));
        } catch (IllegalArgumentException e) {
          throw new CorruptSnapshotException(file, at, e.getMessage());
        }
      }
    }
    long count = in.getLong();
    if (count != records.size()) {
      throw new CorruptSnapshotException(file, in.position() - 8, "footer counts " + count + " records, found "
          + records.size());
    }
    return new Contents(id, List.copyOf(records));
  }

  /** Loads a snapshot into an image whose offset is the snapshot's last included offset. */
  public static MetadataImage load(Path file) throws IOException {
    Contents c = read(file);
    MetadataDelta delta = new MetadataDelta(MetadataImage.EMPTY);
    for (MetadataRecord r : c.records()) {
      delta.load(r);
    }
    delta.advanceTo(c.id().endOffset() - 1);
    return delta.apply();
  }
}
