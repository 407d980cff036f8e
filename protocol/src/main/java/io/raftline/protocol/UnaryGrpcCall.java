package io.raftline.protocol;

import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.grpc.common.ServiceName;

/**
 * A unary gRPC call spoken over a plain HTTP/2 client, for the calls whose answers carry records (a
 * consumer's or a follower's Fetch): the answer is gathered by a {@link GrpcMessageGatherer}, once
 * and at its exact size, where the gRPC client would copy it two or three times.
 *
 * <p>The wire format is gRPC's: a POST to {@code /<service>/<method>} with {@code content-type:
 * application/grpc}, one length-prefixed uncompressed message each way, and the outcome in the
 * {@code grpc-status} trailer (or header, for an answer without a body). A call that fails, on the
 * wire or by its status, fails with a {@link GrpcWireException}.
 */
public final class UnaryGrpcCall {
  private final HttpClient http;
  private final long timeoutMs;
  private final long maxMessageBytes;

  /**
   * @param http an HTTP/2 (prior knowledge) client
   * @param timeoutMs the call's deadline, sent as {@code grpc-timeout} and kept as the idle timeout
   * @param maxMessageBytes the largest answer accepted
   */
  public UnaryGrpcCall(HttpClient http, long timeoutMs, long maxMessageBytes) {
    this.http = http;
    this.timeoutMs = timeoutMs;
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Calls {@code service}'s {@code method} at {@code host:port}; the answer is parsed by {@code answers}. */
  public <A> Future<A> call(String host, int port, ServiceName service, String method, MessageLite request,
      Parser<A> answers) {
    return call(host, port, service, method, request, answers, 0);
  }

  /**
   * As {@link #call(String, int, ServiceName, String, MessageLite, Parser)}, for a call the server may
   * hold for up to {@code waitMs} before it answers (a long-poll fetch): the deadline is that much later.
   */
  public <A> Future<A> call(String host, int port, ServiceName service, String method, MessageLite request,
      Parser<A> answers, long waitMs) {
    long timeoutMs = this.timeoutMs + Math.max(0, waitMs);
    byte[] body = request.toByteArray();
    Buffer framed = Buffer.buffer(GrpcMessageGatherer.PREFIX + body.length).appendByte((byte) 0)
        .appendInt(body.length).appendBytes(body);
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost(host).setPort(port)
        .setURI(service.pathOf(method)).setIdleTimeout(timeoutMs)
        .putHeader("content-type", "application/grpc").putHeader("te", "trailers")
        .putHeader("grpc-timeout", Math.min(timeoutMs, 99_999_999L) + "m"); // at most 8 digits
    // The answer's handlers are set in the turn its head arrives, on the request's own context: set
    // from a later turn (a callback of a future of another context, as a caller on a foreign thread
    // has) they could miss a body or end that came in the same read.
    return http.request(options).compose(req -> req.send(framed).compose(response -> answer(response, answers)));
  }

  private <A> Future<A> answer(HttpClientResponse response, Parser<A> answers) {
    Promise<A> answer = Promise.promise();
    GrpcMessageGatherer gatherer = new GrpcMessageGatherer(maxMessageBytes);
    response.exceptionHandler(answer::tryFail);
    response.handler(chunk -> {
      try {
        gatherer.append(chunk);
      } catch (GrpcWireException e) {
        answer.tryFail(e);
        response.request().reset();
      }
    });
    response.endHandler(v -> {
      String status = response.trailers().get("grpc-status");
      if (status == null) {
        status = response.getHeader("grpc-status");
      }
      if (response.statusCode() != 200 || !"0".equals(status)) {
        String message = response.trailers().get("grpc-message");
        if (message == null) {
          message = response.getHeader("grpc-message");
        }
        answer.tryFail(new GrpcWireException(statusOf(response.statusCode(), status),
            "answered with HTTP " + response.statusCode()
            + ", grpc-status " + status + (message == null ? "" : ": " + percentDecode(message))));
        return;
      }
      try {
        answer.tryComplete(gatherer.parse(answers));
      } catch (GrpcWireException e) {
        answer.tryFail(e);
      }
    });
    return answer.future();
  }

  /** grpc-message's percent-encoding undone ('+' stays a plus); a malformed escape stays as it is. */
  static String percentDecode(String message) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(message.length());
    for (int i = 0; i < message.length(); i++) {
      char c = message.charAt(i);
      int hi = c == '%' && i + 2 < message.length() ? Character.digit(message.charAt(i + 1), 16) : -1;
      int lo = hi >= 0 ? Character.digit(message.charAt(i + 2), 16) : -1;
      if (lo >= 0) {
        out.write(hi << 4 | lo);
        i += 2;
      } else {
        byte[] raw = String.valueOf(c).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        out.write(raw, 0, raw.length);
      }
    }
    return out.toString(java.nio.charset.StandardCharsets.UTF_8);
  }

  /**
   * A failed call's gRPC status: the server's {@code grpc-status} where it sent a failure, else what
   * gRPC's HTTP-to-gRPC mapping makes of the HTTP status (a proxy or an overloaded server answering
   * 503 is UNAVAILABLE, a path nobody serves 404 is UNIMPLEMENTED), else UNKNOWN (a 200 among them).
   */
  static int statusOf(int httpStatus, String grpcStatus) {
    if (grpcStatus != null && !"0".equals(grpcStatus)) {
      try {
        return Integer.parseInt(grpcStatus);
      } catch (NumberFormatException e) {
        return GrpcWireException.UNKNOWN;
      }
    }
    return switch (httpStatus) {
      case 400 -> GrpcWireException.INTERNAL;
      case 401 -> GrpcWireException.UNAUTHENTICATED;
      case 403 -> GrpcWireException.PERMISSION_DENIED;
      case 404 -> GrpcWireException.UNIMPLEMENTED;
      case 429, 502, 503, 504 -> GrpcWireException.UNAVAILABLE;
      default -> GrpcWireException.UNKNOWN;
    };
  }

}
