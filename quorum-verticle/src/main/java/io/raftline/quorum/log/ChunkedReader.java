package io.raftline.quorum.log;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Reads byte ranges of a file through one reusable chunk buffer, so walking many small batches costs one
 * system call per chunk instead of two per batch. A returned buffer is a view of the chunk (position 0,
 * limit = the requested length) and is only valid until the next call; a range larger than the chunk gets
 * its own buffer.
 */
final class ChunkedReader {

  private final FileChannel channel;
  private final long end;
  private final int chunkSize;
  private ByteBuffer chunk;
  private long chunkStart = -1;
  private int chunkLen;

  /** Reads from {@code channel}, never at or beyond byte {@code end}. */
  ChunkedReader(FileChannel channel, long end, int chunkSize) {
    this.channel = channel;
    this.end = end;
    this.chunkSize = chunkSize;
  }

  ByteBuffer read(long position, int length) throws IOException {
    if (position < 0 || length < 0 || position + length > end) {
      throw new EOFException("range [" + position + ", " + (position + length) + ") is beyond " + end);
    }
    if (length > chunkSize) {
      ByteBuffer own = ByteBuffer.allocate(length);
      FileSync.readFully(channel, own, position);
      own.flip();
      return own;
    }
    if (chunkStart < 0 || position < chunkStart || position + length > chunkStart + chunkLen) {
      if (chunk == null) chunk = ByteBuffer.allocate(chunkSize);
      chunkLen = (int) Math.min(chunkSize, end - position);
      chunk.clear();
      chunk.limit(chunkLen);
      FileSync.readFully(channel, chunk, position);
      chunkStart = position;
    }
    return chunk.slice((int) (position - chunkStart), length);
  }
}
