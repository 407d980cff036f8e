package io.raftline.protocol.records;

import com.github.luben.zstd.RecyclingBufferPool;
import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import io.raftline.protocol.ErrorCode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4FrameOutputStream;
import org.xerial.snappy.SnappyInputStream;
import org.xerial.snappy.SnappyOutputStream;

/**
 * The codecs' streams, in memory. Each library sits in its own nested class, so a codec's classes
 * (and native code) are loaded only when a batch of that codec is first met.
 */
final class Compression {
  private static final int GZIP_BUFFER = 8 * 1024;

  private Compression() {}

  /** {@code reserve} zero bytes (room for a batch header), then {@code src} compressed; position 0. */
  static ByteBuffer compress(CompressionType type, ByteBuffer src, int reserve) {
    Growable out = new Growable(reserve + src.remaining() / 2 + 64);
    out.count = reserve;
    try (OutputStream z = wrapForOutput(type, out)) {
      if (src.hasArray()) {
        z.write(src.array(), src.arrayOffset() + src.position(), src.remaining());
      } else {
        byte[] chunk = new byte[Math.min(src.remaining(), 64 * 1024)];
        ByteBuffer in = src.duplicate();
        while (in.hasRemaining()) {
          int n = Math.min(chunk.length, in.remaining());
          in.get(chunk, 0, n);
          z.write(chunk, 0, n);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("compressing with " + type.configName() + " failed", e);
    }
    return out.toBuffer();
  }

  /** {@code src} decompressed into a new heap buffer, position 0. */
  static ByteBuffer decompress(CompressionType type, ByteBuffer src) {
    int compressed = src.remaining();
    Growable out = new Growable((int) Math.min(Math.max(256L, compressed * 4L), 1L << 24));
    try (InputStream z = wrapForInput(type, new BufferInput(src.duplicate()))) {
      out.readAll(z);
    } catch (IOException | RuntimeException e) {
      throw new InvalidRecordBatchException(ErrorCode.CORRUPT_MESSAGE,
          "cannot decompress the " + compressed + "-byte " + type.configName() + " records section: " + e);
    }
    return out.toBuffer();
  }

  private static OutputStream wrapForOutput(CompressionType type, OutputStream out) throws IOException {
    switch (type) {
      case GZIP:
        return new GZIPOutputStream(out, GZIP_BUFFER);
      case SNAPPY:
        return Snappy.output(out);
      case LZ4:
        return Lz4.output(out);
      case ZSTD:
        return Zstd.output(out);
      default:
        throw new IllegalArgumentException("no stream for " + type);
    }
  }

  private static InputStream wrapForInput(CompressionType type, InputStream in) throws IOException {
    switch (type) {
      case GZIP:
        return new GZIPInputStream(in, GZIP_BUFFER);
      case SNAPPY:
        return Snappy.input(in);
      case LZ4:
        return Lz4.input(in);
      case ZSTD:
        return Zstd.input(in);
      default:
        throw new IllegalArgumentException("no stream for " + type);
    }
  }

  /** snappy-java's framed format, as Kafka writes it. */
  private static final class Snappy {
    static OutputStream output(OutputStream out) {
      return new SnappyOutputStream(out);
    }

    static InputStream input(InputStream in) throws IOException {
      return new SnappyInputStream(in);
    }
  }

  /** The LZ4 frame format with 64 KiB independent blocks and no checksums but the header's, as Kafka writes it. */
  private static final class Lz4 {
    static OutputStream output(OutputStream out) throws IOException {
      return new LZ4FrameOutputStream(out, LZ4FrameOutputStream.BLOCKSIZE.SIZE_64KB,
          LZ4FrameOutputStream.FLG.Bits.BLOCK_INDEPENDENCE);
    }

    static InputStream input(InputStream in) throws IOException {
      return new LZ4FrameInputStream(in);
    }
  }

  /** A zstd frame at the default level (3), as Kafka writes it. */
  private static final class Zstd {
    static OutputStream output(OutputStream out) throws IOException {
      return new ZstdOutputStreamNoFinalizer(out, RecyclingBufferPool.INSTANCE);
    }

    static InputStream input(InputStream in) throws IOException {
      return new ZstdInputStreamNoFinalizer(in, RecyclingBufferPool.INSTANCE);
    }
  }

  /** A byte array that grows, handed out as a buffer without a copy. */
  private static final class Growable extends OutputStream {
    byte[] buf;
    int count;

    Growable(int capacity) {
      buf = new byte[Math.max(capacity, 16)];
    }

    private void ensure(int extra) throws IOException {
      long needed = (long) count + extra;
      if (needed > buf.length) {
        if (needed > Integer.MAX_VALUE - 16) {
          throw new IOException("a records section cannot exceed 2 GiB");
        }
        buf = Arrays.copyOf(buf, (int) Math.min(Integer.MAX_VALUE - 16, Math.max(needed, 2L * buf.length)));
      }
    }

    @Override
    public void write(int b) throws IOException {
      ensure(1);
      buf[count++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      ensure(len);
      System.arraycopy(b, off, buf, count, len);
      count += len;
    }

    void readAll(InputStream in) throws IOException {
      while (true) {
        if (count == buf.length) {
          ensure(1);
        }
        int n = in.read(buf, count, buf.length - count);
        if (n < 0) {
          return;
        }
        count += n;
      }
    }

    ByteBuffer toBuffer() {
      return ByteBuffer.wrap(buf, 0, count);
    }
  }

  /** An input stream over a buffer's remaining bytes (read-only and direct buffers included). */
  private static final class BufferInput extends InputStream {
    private final ByteBuffer in;

    BufferInput(ByteBuffer in) {
      this.in = in;
    }

    @Override
    public int read() {
      return in.hasRemaining() ? in.get() & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (len == 0) {
        return 0;
      }
      if (!in.hasRemaining()) {
        return -1;
      }
      int n = Math.min(len, in.remaining());
      in.get(b, off, n);
      return n;
    }

    @Override
    public int available() {
      return in.remaining();
    }
  }
}
