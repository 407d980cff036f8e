package io.raftline.protocol;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;
import io.netty.buffer.ByteBuf;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.grpc.common.CodecException;
import io.vertx.grpc.common.GrpcMessage;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.WireFormat;

/**
 * Decodes a protobuf gRPC message whose {@code bytes} fields are views of the received message's
 * buffer instead of copies. The stock decoder copies the payload into a new array and then each
 * bytes field out of that array: for a produce request or a replica fetch answer that is every
 * record byte twice more, with a zeroed megabyte allocation for each copy (a tenth of a replicating
 * broker's event-loop time). The views are safe because the gRPC layer hands each message its own
 * unpooled heap buffer, which nothing writes again and the collector frees once no view is left.
 * Compressed (grpc-encoding) messages arrive here already inflated; JSON goes to the stock decoder.
 */
public final class AliasingDecoder<T extends MessageLite> implements GrpcMessageDecoder<T> {
  private final Parser<T> parser;
  private final GrpcMessageDecoder<T> json;

  private AliasingDecoder(T defaultInstance) {
    @SuppressWarnings("unchecked")
    Parser<T> p = (Parser<T>) defaultInstance.getParserForType();
    this.parser = p;
    this.json = defaultInstance instanceof com.google.protobuf.MessageOrBuilder m ? GrpcMessageDecoder.decoder(m) : null;
  }

  /** A decoder of messages of {@code defaultInstance}'s type. */
  public static <T extends MessageLite> AliasingDecoder<T> of(T defaultInstance) {
    return new AliasingDecoder<>(defaultInstance);
  }

  @Override
  public T decode(GrpcMessage message) throws CodecException {
    if (message.format() != WireFormat.PROTOBUF) {
      if (json == null) {
        throw new CodecException("unsupported wire format " + message.format());
      }
      return json.decode(message);
    }
    ByteBuf bytes = ((BufferInternal) message.payload()).getByteBuf();
    try {
      return parseAliased(parser, bytes.hasArray()
          ? UnsafeByteOperations.unsafeWrap(bytes.array(), bytes.arrayOffset() + bytes.readerIndex(), bytes.readableBytes())
          : UnsafeByteOperations.unsafeWrap(bytes.nioBuffer()));
    } catch (InvalidProtocolBufferException e) {
      throw new CodecException(e);
    }
  }

  /**
   * Parses {@code bytes} with its {@code bytes} fields as views of them. Read through a wrapping
   * ByteString: protobuf aliases only an input it was told is immutable, so the caller must own the
   * bytes and never write them again.
   */
  static <T> T parseAliased(Parser<T> parser, com.google.protobuf.ByteString bytes)
      throws InvalidProtocolBufferException {
    CodedInputStream in = bytes.newCodedInput();
    in.enableAliasing(true);
    in.setSizeLimit(Integer.MAX_VALUE);
    return parser.parseFrom(in);
  }

  @Override
  public boolean accepts(WireFormat format) {
    return format == WireFormat.PROTOBUF || json != null;
  }
}
