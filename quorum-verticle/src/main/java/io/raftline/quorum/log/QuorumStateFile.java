package io.raftline.quorum.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * The quorum-state file: a voter's {@link QuorumState}, which must be on disk before the voter answers a
 * vote (DESIGN.md: "the quorum-state file is fsynced before a vote is answered").
 *
 * <p>Format: UTF-8 text, one {@code key=value} per line, readable by an operator, ending with a checksum
 * line over every byte before it:
 * <pre>
 * # Raftline quorum state. Do not edit: the crc line guards the lines above it.
 * version=1
 * epoch=7
 * votedFor=2
 * leaderId=2
 * crc=1c291ca3
 * </pre>
 * The crc is CRC32C, eight lower-case hex digits. All keys are required and unknown keys are rejected, so
 * a file written by a newer, incompatible version fails loudly instead of being half understood.
 *
 * <p>{@link #write} replaces the file atomically: write a temporary sibling, fsync it, rename it over the
 * file, fsync the directory. A reader therefore sees the old state or the new one, never a mix, and once
 * {@code write} returns the new state survives a power loss. The checksum still matters: it catches a
 * damaged disk or a hand edit, which would otherwise silently change whom this node voted for.
 *
 * <p>Not thread-safe: like {@link MetadataLog} it is used from the quorum verticle's one ordered worker.
 */
public final class QuorumStateFile {

  private static final int VERSION = 1;
  private static final String CRC_KEY = "crc=";

  private final Path file;

  public QuorumStateFile(Path file) {
    this.file = Objects.requireNonNull(file, "file");
  }

  /** The file this object reads and writes. */
  public Path file() {
    return file;
  }

  /**
   * Reads the stored state.
   *
   * @return empty if the file does not exist (a node that never voted)
   * @throws CorruptLogException if the file exists but its checksum fails or its content is malformed
   */
  public Optional<QuorumState> read() throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    return Optional.of(parse(bytes));
  }

  private QuorumState parse(byte[] bytes) throws CorruptLogException {
    // The crc line is the last line; its checksum covers every byte before the line starts.
    int end = bytes.length;
    if (end > 0 && bytes[end - 1] == '\n') end--;
    int crcLineStart = end;
    while (crcLineStart > 0 && bytes[crcLineStart - 1] != '\n') crcLineStart--;
    String crcLine = new String(bytes, crcLineStart, end - crcLineStart, StandardCharsets.UTF_8);
    if (!crcLine.startsWith(CRC_KEY)) {
      throw new CorruptLogException(file, "missing final crc line (file truncated or edited?)");
    }
    long stored;
    try {
      stored = Long.parseLong(crcLine.substring(CRC_KEY.length()).trim(), 16);
    } catch (NumberFormatException e) {
      throw new CorruptLogException(file, "unreadable crc line '" + crcLine + "'");
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, crcLineStart);
    if (crc.getValue() != stored) {
      throw new CorruptLogException(file, String.format(Locale.ROOT,
          "checksum mismatch: stored %08x, computed %08x", stored, crc.getValue()));
    }
    Map<String, String> values = new HashMap<>();
    String body = new String(bytes, 0, crcLineStart, StandardCharsets.UTF_8);
    for (String line : body.split("\n")) {
      String l = line.trim();
      if (l.isEmpty() || l.startsWith("#")) continue;
      int eq = l.indexOf('=');
      if (eq <= 0) throw new CorruptLogException(file, "malformed line '" + l + "'");
      String key = l.substring(0, eq).trim();
      if (values.put(key, l.substring(eq + 1).trim()) != null) {
        throw new CorruptLogException(file, "duplicate key '" + key + "'");
      }
    }
    int version = intValue(values, "version");
    if (version != VERSION) throw new CorruptLogException(file, "unsupported version " + version);
    int epoch = intValue(values, "epoch");
    int votedFor = intValue(values, "votedFor");
    int leaderId = intValue(values, "leaderId");
    if (!values.isEmpty()) throw new CorruptLogException(file, "unknown keys " + values.keySet());
    try {
      return new QuorumState(epoch, votedFor, leaderId);
    } catch (IllegalArgumentException e) {
      throw new CorruptLogException(file, e.getMessage());
    }
  }

  private int intValue(Map<String, String> values, String key) throws CorruptLogException {
    String v = values.remove(key);
    if (v == null) throw new CorruptLogException(file, "missing key '" + key + "'");
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new CorruptLogException(file, "key '" + key + "' has non-integer value '" + v + "'");
    }
  }

  /**
   * Durably replaces the stored state: write a temporary file, fsync it, rename it over {@link #file()},
   * fsync the directory (creating the directory first if needed). When this returns the new state
   * survives a crash or power loss.
   */
  public void write(QuorumState state) throws IOException {
    Objects.requireNonNull(state, "state");
    String body = "# Raftline quorum state. Do not edit: the crc line guards the lines above it.\n"
        + "version=" + VERSION + "\n"
        + "epoch=" + state.epoch() + "\n"
        + "votedFor=" + state.votedFor() + "\n"
        + "leaderId=" + state.leaderId() + "\n";
    byte[] bodyBytes = body.getBytes(StandardCharsets.UTF_8);
    CRC32C crc = new CRC32C();
    crc.update(bodyBytes);
    byte[] crcLine = String.format(Locale.ROOT, "%s%08x\n", CRC_KEY, crc.getValue()).getBytes(StandardCharsets.UTF_8);
    ByteBuffer content = ByteBuffer.allocate(bodyBytes.length + crcLine.length).put(bodyBytes).put(crcLine).flip();

    Path dir = file.toAbsolutePath().getParent();
    if (dir != null && !Files.isDirectory(dir)) Files.createDirectories(dir);
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      FileSync.writeFully(ch, content, 0);
      ch.force(true);
    }
    // rename(2) replaces the target atomically on POSIX file systems.
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    if (dir != null) FileSync.fsyncDirectory(dir);
  }

  @Override
  public String toString() {
    return "QuorumStateFile[" + file + "]";
  }
}
