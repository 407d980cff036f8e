package io.raftline.quorum.log;

import io.raftline.quorum.raft.LogEntry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/** Helpers shared by the log tests. */
final class LogTestSupport {

  private LogTestSupport() {}

  /** {@code count} entries from {@code from}, all of {@code epoch}, with recognisable payloads. */
  static List<LogEntry> entries(long from, int count, int epoch) {
    List<LogEntry> list = new ArrayList<>();
    for (long o = from; o < from + count; o++) {
      list.add(new LogEntry(o, epoch, ("entry-" + o + "-epoch-" + epoch).getBytes(StandardCharsets.UTF_8)));
    }
    return list;
  }

  static Path segment(Path dir, long base) {
    return dir.resolve(Segment.fileName(base));
  }

  /** XORs one byte of {@code file} at {@code position} with 0xFF. */
  static void flipByte(Path file, long position) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, position);
      b.put(0, (byte) (b.get(0) ^ 0xFF));
      b.rewind();
      ch.write(b, position);
    }
  }

  static void writeAt(Path file, long position, byte[] bytes) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      FileSync.writeFully(ch, ByteBuffer.wrap(bytes), position);
    }
  }

  static void appendBytes(Path file, byte[] bytes) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
      ch.write(ByteBuffer.wrap(bytes));
    }
  }

  static void truncateFile(Path file, long size) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(size);
    }
  }
}
