package io.raftline.quorum.log;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Data on disk is damaged in a way that a crash cannot explain, so it must not be served or silently
 * dropped: a batch that fails its checksum or is malformed and is followed by more valid data, damage in a
 * segment that is not the last one, a gap between offsets, or an unreadable quorum-state file.
 *
 * <p>A torn tail (the last, partly written batch after a crash) is <em>not</em> reported this way; recovery
 * truncates it. This exception means an operator has to look: the message names the file, the byte
 * position within it and, for the log, the offset recovery expected there.
 */
public final class CorruptLogException extends IOException {

  private static final long serialVersionUID = 1L;

  private final transient Path file;
  private final long position;
  private final long offset;

  /**
   * @param file the damaged file
   * @param position byte position of the damage within {@code file}, or -1 if not applicable
   * @param offset the log offset expected at that position, or -1 if not applicable
   * @param reason what is wrong
   */
  public CorruptLogException(Path file, long position, long offset, String reason) {
    super(message(file, position, offset, reason));
    this.file = Objects.requireNonNull(file, "file");
    this.position = position;
    this.offset = offset;
  }

  /** Damage to a whole file (for example the quorum-state file), with no meaningful position or offset. */
  public CorruptLogException(Path file, String reason) {
    this(file, -1, -1, reason);
  }

  private static String message(Path file, long position, long offset, String reason) {
    StringBuilder sb = new StringBuilder("Corrupt file ").append(file);
    if (position >= 0) sb.append(" at byte position ").append(position);
    if (offset >= 0) sb.append(" (expected offset ").append(offset).append(')');
    return sb.append(": ").append(reason).toString();
  }

  /** The damaged file. */
  public Path file() {
    return file;
  }

  /** Byte position of the damage within {@link #file()}, or -1. */
  public long position() {
    return position;
  }

  /** The log offset expected at {@link #position()}, or -1. */
  public long offset() {
    return offset;
  }
}
