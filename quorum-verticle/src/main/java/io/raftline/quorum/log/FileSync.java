package io.raftline.quorum.log;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/** Small blocking IO helpers shared by the log and the quorum-state file. */
final class FileSync {

  private static final boolean WINDOWS =
      System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");

  private FileSync() {}

  /**
   * fsyncs a directory, which makes file creations, renames and deletions in it durable. Without this a
   * new segment or a renamed state file can vanish after a power loss even though its data was fsynced.
   * Windows cannot open a directory as a channel (and its file systems journal names anyway), so there it
   * is a no-op.
   */
  static void fsyncDirectory(Path dir) throws IOException {
    if (WINDOWS) return;
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  /** Reads until {@code buf} is full; a positional read, so it does not disturb other users of the channel. */
  static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
    long pos = position;
    while (buf.hasRemaining()) {
      int n = ch.read(buf, pos);
      if (n < 0) throw new EOFException("unexpected end of file at position " + pos);
      pos += n;
    }
  }

  /** Writes all of {@code buf} at {@code position}. */
  static void writeFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
    long pos = position;
    while (buf.hasRemaining()) {
      pos += ch.write(buf, pos);
    }
  }
}
