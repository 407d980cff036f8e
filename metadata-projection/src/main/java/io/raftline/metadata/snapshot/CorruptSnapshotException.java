package io.raftline.metadata.snapshot;

import java.io.IOException;
import java.nio.file.Path;

/** A snapshot file that fails its checks; the message names the file and the byte position. */
public final class CorruptSnapshotException extends IOException {
  public CorruptSnapshotException(Path file, long position, String reason) {
    super("corrupt snapshot " + file + " at byte " + position + ": " + reason);
  }
}
