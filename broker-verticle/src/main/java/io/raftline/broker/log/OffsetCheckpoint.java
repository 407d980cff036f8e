package io.raftline.broker.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.OptionalLong;

/**
 * A one-offset checkpoint file: two text lines, the format version ({@code 0}) and the offset.
 * Written to a temporary file, fsynced and renamed over the old one, so a crash leaves either the
 * old or the new value, never a torn one.
 */
final class OffsetCheckpoint {
  private static final String VERSION = "0";

  private OffsetCheckpoint() {}

  static OptionalLong read(Path file) throws IOException {
    if (!Files.exists(file)) {
      return OptionalLong.empty();
    }
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    if (lines.size() < 2 || !VERSION.equals(lines.get(0).trim())) {
      throw new IOException(file + " is not a version " + VERSION + " offset checkpoint: " + lines);
    }
    try {
      return OptionalLong.of(Long.parseLong(lines.get(1).trim()));
    } catch (NumberFormatException e) {
      throw new IOException(file + " holds an unreadable offset: " + lines.get(1), e);
    }
  }

  static void write(Path file, long offset) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer bytes = ByteBuffer.wrap((VERSION + "\n" + offset + "\n").getBytes(StandardCharsets.UTF_8));
      while (bytes.hasRemaining()) {
        ch.write(bytes);
      }
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
