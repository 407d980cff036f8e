package io.raftline.protocol;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;
import io.vertx.core.buffer.Buffer;

/**
 * Gathers one gRPC length-prefixed message, as it arrives in HTTP/2 chunks, into an array of exactly
 * its size, and parses it with its {@code bytes} fields as views of that array.
 *
 * <p>Why not the gRPC layer's own gathering: it appends every chunk to a buffer that doubles as it
 * grows (about two more copies of each byte of a megabyte message, and a chain of ever larger
 * zeroed arrays), then hands the message to a decoder that copies it again. Here the length prefix
 * sizes one array and each chunk is copied into it once; the array belongs to this message alone,
 * so the parsed records may alias it.
 *
 * <p>A length prefix is only a claim: the array starts at most {@link #FIRST_ALLOCATION} bytes long and
 * goes to the claimed size once that much has arrived, so a caller that names a large size and sends
 * nothing pins one mebibyte, not the size it named (one copy of that first mebibyte is the cost).
 */
public final class GrpcMessageGatherer {
  /** gRPC's message prefix: a compressed flag and a four-byte big-endian length. */
  public static final int PREFIX = 5;
  /** The most allocated for a message before its bytes arrive. */
  static final int FIRST_ALLOCATION = 1 << 20;

  private final long maxMessageBytes;
  private final byte[] prefix = new byte[PREFIX];
  private int prefixRead;
  private byte[] message;
  private int messageSize;
  private int messageRead;

  /** @param maxMessageBytes the largest message accepted; a longer prefix fails {@link #append} */
  public GrpcMessageGatherer(long maxMessageBytes) {
    this.maxMessageBytes = maxMessageBytes;
  }

  /**
   * Takes the next chunk of the stream.
   *
   * @throws GrpcWireException with RESOURCE_EXHAUSTED for a message over the limit, INTERNAL for a
   *     compressed one (none is ever asked for) or for bytes past the one message
   */
  public void append(Buffer chunk) {
    int at = 0;
    int length = chunk.length();
    while (prefixRead < PREFIX && at < length) {
      prefix[prefixRead++] = chunk.getByte(at++);
      if (prefixRead == PREFIX) {
        if (prefix[0] != 0) {
          throw new GrpcWireException(GrpcWireException.INTERNAL, "message is compressed; none was asked for");
        }
        long size = Integer.toUnsignedLong(((prefix[1] & 0xFF) << 24) | ((prefix[2] & 0xFF) << 16)
            | ((prefix[3] & 0xFF) << 8) | (prefix[4] & 0xFF));
        if (size > maxMessageBytes) {
          throw new GrpcWireException(GrpcWireException.RESOURCE_EXHAUSTED,
              "message of " + size + " bytes exceeds " + maxMessageBytes);
        }
        messageSize = (int) size;
        message = new byte[Math.min(messageSize, FIRST_ALLOCATION)];
      }
    }
    int take = length - at;
    if (take == 0) {
      return;
    }
    if (message == null || take > messageSize - messageRead) {
      throw new GrpcWireException(GrpcWireException.INTERNAL, "stream longer than its message's length prefix");
    }
    if (take > message.length - messageRead) {
      message = java.util.Arrays.copyOf(message, messageSize);
    }
    chunk.getBytes(at, length, message, messageRead);
    messageRead += take;
  }

  /** The bytes held for the message so far (for tests of the allocation bound). */
  int allocated() {
    return message == null ? 0 : message.length;
  }

  /** True if no byte has arrived (a stream may end without a message). */
  public boolean isEmpty() {
    return prefixRead == 0;
  }

  /**
   * Parses the whole message; its {@code bytes} fields alias the gathered array.
   *
   * @throws GrpcWireException INTERNAL if the stream ended before the message did, INVALID_ARGUMENT
   *     if the bytes are not a {@code T}
   */
  public <T> T parse(Parser<T> parser) {
    if (message == null || messageRead != messageSize) {
      throw new GrpcWireException(GrpcWireException.INTERNAL, "message truncated: " + messageRead + " of "
          + (message == null ? "?" : messageSize) + " bytes");
    }
    try {
      return AliasingDecoder.parseAliased(parser, UnsafeByteOperations.unsafeWrap(message));
    } catch (InvalidProtocolBufferException e) {
      throw new GrpcWireException(GrpcWireException.INVALID_ARGUMENT, "malformed message: " + e.getMessage());
    }
  }
}
