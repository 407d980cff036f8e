package io.raftline.protocol;

import com.google.protobuf.Parser;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.vertx.core.Completable;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.grpc.common.ServiceName;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Serves chosen unary gRPC methods straight from the HTTP/2 request, in front of a gRPC server that
 * takes every other request. For the methods that carry records (Produce, Fetch): the request is
 * gathered once at its exact size and parsed with its records as views of it
 * ({@link GrpcMessageGatherer}), and the answer goes out as the caller's buffers behind a five-byte
 * prefix, where the gRPC server would copy each into one more array.
 *
 * <p>Only the plain case is served here: a POST of {@code application/grpc} (protobuf) with no
 * message compression. Anything else (JSON, a {@code grpc-encoding}) goes to the gRPC server, which
 * must serve the same methods.
 */
public final class UnaryGrpcRoute implements Handler<HttpServerRequest> {
  private final Handler<HttpServerRequest> others;
  private final long maxMessageBytes;
  private final Map<String, Handler<HttpServerRequest>> methods = new HashMap<>();

  /**
   * @param others the gRPC server, for every request not served here
   * @param maxMessageBytes the largest request accepted (RESOURCE_EXHAUSTED above it)
   */
  public UnaryGrpcRoute(Handler<HttpServerRequest> others, long maxMessageBytes) {
    this.others = others;
    this.maxMessageBytes = maxMessageBytes;
  }

  /**
   * Serves {@code service}'s {@code method}: requests are parsed by {@code requests}, handed to
   * {@code handler}, and its answer is written as {@code encoder} lays it out (the message's bytes,
   * without the gRPC prefix). A failed answer goes out as grpc-status UNKNOWN with its message.
   */
  public <Q, A> UnaryGrpcRoute serve(ServiceName service, String method, Parser<Q> requests,
      Function<A, ByteBuf> encoder, BiConsumer<Q, Completable<A>> handler) {
    methods.put(service.pathOf(method), request -> exchange(request, requests, encoder, handler));
    return this;
  }

  @Override
  public void handle(HttpServerRequest request) {
    Handler<HttpServerRequest> method = methods.get(request.path());
    String contentType = request.getHeader("content-type");
    String encoding = request.getHeader("grpc-encoding");
    if (method == null || request.version() != HttpVersion.HTTP_2 || request.method() != HttpMethod.POST
        || !"application/grpc".equals(contentType)
        || (encoding != null && !"identity".equals(encoding))) {
      others.handle(request);
      return;
    }
    method.handle(request);
  }

  private <Q, A> void exchange(HttpServerRequest request, Parser<Q> requests, Function<A, ByteBuf> encoder,
      BiConsumer<Q, Completable<A>> handler) {
    GrpcMessageGatherer gatherer = new GrpcMessageGatherer(maxMessageBytes);
    // Set once the call is answered (a refused request may still be arriving: what still comes is dropped).
    boolean[] answered = {false};
    request.handler(chunk -> {
      if (answered[0]) {
        return;
      }
      try {
        gatherer.append(chunk);
      } catch (GrpcWireException e) {
        answered[0] = true;
        fail(request.response(), e.status(), e.getMessage());
        if (!request.isEnded()) {
          // RST_STREAM NO_ERROR after a complete answer (RFC 9113, 8.1): the answer stands and the
          // caller stops sending the rest, which it would otherwise send in full only to have it dropped.
          request.response().reset(0);
        }
      }
    });
    request.exceptionHandler(t -> answered[0] = true);
    request.endHandler(v -> {
      if (answered[0]) {
        return;
      }
      answered[0] = true;
      Q message;
      try {
        message = gatherer.parse(requests);
      } catch (GrpcWireException e) {
        fail(request.response(), e.status(), e.getMessage());
        return;
      }
      try {
        handler.accept(message, (answer, error) -> answer(request, encoder, answer, error));
      } catch (RuntimeException e) {
        fail(request.response(), GrpcWireException.INTERNAL, "the call failed: " + e);
      }
    });
  }

  private static <A> void answer(HttpServerRequest request, Function<A, ByteBuf> encoder, A answer, Throwable error) {
    HttpServerResponse response = request.response();
    if (response.ended() || response.closed()) {
      return; // the caller gave up (reset or closed) before the answer
    }
    if (error != null) {
      fail(response, GrpcWireException.UNKNOWN, String.valueOf(error.getMessage()));
      return;
    }
    ByteBuf body;
    try {
      body = encoder.apply(answer);
    } catch (RuntimeException e) {
      fail(response, GrpcWireException.INTERNAL, "answer could not be encoded: " + e.getMessage());
      return;
    }
    ByteBuf prefix = Unpooled.buffer(GrpcMessageGatherer.PREFIX, GrpcMessageGatherer.PREFIX)
        .writeByte(0).writeInt(body.readableBytes());
    response.putHeader("content-type", "application/grpc").putTrailer("grpc-status", "0");
    response.end(BufferInternal.buffer(Unpooled.wrappedBuffer(prefix, body)));
  }

  /** A trailers-only answer: the status goes in the headers and there is no message. */
  private static void fail(HttpServerResponse response, int status, String message) {
    if (response.ended() || response.closed()) {
      return;
    }
    response.putHeader("content-type", "application/grpc").putHeader("grpc-status", Integer.toString(status))
        .putHeader("grpc-message", percentEncode(message)).end();
  }

  /**
   * grpc-message is percent-encoded UTF-8: printable ASCII stands as it is but '%', and '+' (which
   * Vert.x's client decodes as a space).
   */
  static String percentEncode(String message) {
    StringBuilder out = new StringBuilder(message.length());
    for (byte b : message.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
      if (b >= 0x20 && b < 0x7F && b != '%' && b != '+') {
        out.append((char) b);
      } else {
        out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xF, 16)))
            .append(Character.toUpperCase(Character.forDigit(b & 0xF, 16)));
      }
    }
    return out.toString();
  }

  /** Lays out a protobuf answer the ordinary way (for small answers: one array, no views). */
  public static <A extends com.google.protobuf.MessageLite> Function<A, ByteBuf> plainEncoder() {
    return answer -> Unpooled.wrappedBuffer(answer.toByteArray());
  }
}
