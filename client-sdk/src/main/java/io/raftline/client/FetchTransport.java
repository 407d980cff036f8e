package io.raftline.client;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnsafeByteOperations;
import io.raftline.client.ClientConfig.HostPort;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;

/**
 * The consumer's Fetch call, spoken as gRPC over a plain HTTP/2 client rather than through the gRPC
 * client. Why: the gRPC client gathers an answer by appending every HTTP/2 frame to a buffer that
 * doubles as it grows (about 2.3 copies of each byte, and a chain of humongous arrays per answer of
 * megabytes), then copies the message once more to decode it. Here the message's length prefix sizes
 * one array, every frame is copied into it once, and the answer's records alias that array.
 *
 * <p>The wire format is gRPC's: a POST to {@code /raftline.v1.Records/Fetch} with
 * {@code content-type: application/grpc}, one length-prefixed uncompressed message each way, and the
 * outcome in the {@code grpc-status} trailer (or header, for an answer without a body).
 */
final class FetchTransport {
  private static final String PATH = "/raftline.v1.Records/Fetch";
  private static final int PREFIX = 5;

  private final HttpClient http;
  private final long timeoutMs;
  private final long maxMessageBytes;

  FetchTransport(Vertx vertx, HttpClientOptions options, long timeoutMs, long maxMessageBytes) {
    this.http = vertx.createHttpClient(options);
    this.timeoutMs = timeoutMs;
    this.maxMessageBytes = maxMessageBytes;
  }

  Future<FetchResponse> fetch(HostPort broker, FetchRequest request) {
    byte[] body = request.toByteArray();
    Buffer framed = Buffer.buffer(PREFIX + body.length).appendByte((byte) 0).appendInt(body.length).appendBytes(body);
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost(broker.host())
        .setPort(broker.port()).setURI(PATH).setIdleTimeout(timeoutMs)
        .putHeader("content-type", "application/grpc").putHeader("te", "trailers")
        .putHeader("grpc-timeout", timeoutMs + "m");
    return http.request(options).compose(req -> req.send(framed)).compose(this::readAnswer);
  }

  private Future<FetchResponse> readAnswer(HttpClientResponse response) {
    Promise<FetchResponse> answer = Promise.promise();
    MessageReader reader = new MessageReader();
    response.exceptionHandler(answer::tryFail);
    response.handler(chunk -> {
      try {
        reader.append(chunk);
      } catch (RuntimeException e) {
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
        answer.tryFail(new RaftlineException(ErrorCode.UNKNOWN_SERVER_ERROR, "fetch answered with HTTP "
            + response.statusCode() + ", grpc-status " + status + (message == null ? "" : ": " + message)));
        return;
      }
      try {
        answer.tryComplete(reader.decode());
      } catch (IOException | RuntimeException e) {
        answer.tryFail(e);
      }
    });
    return answer.future();
  }

  Future<Void> close() {
    return http.close();
  }

  /** Gathers one length-prefixed message into an array of exactly its size. */
  private final class MessageReader {
    private final byte[] prefix = new byte[PREFIX];
    private int prefixRead;
    private byte[] message;
    private int messageRead;

    void append(Buffer chunk) {
      int at = 0;
      int length = chunk.length();
      while (prefixRead < PREFIX && at < length) {
        prefix[prefixRead++] = chunk.getByte(at++);
        if (prefixRead == PREFIX) {
          if (prefix[0] != 0) {
            throw new IllegalStateException("fetch answer is compressed; none was asked for");
          }
          long size = Integer.toUnsignedLong(((prefix[1] & 0xFF) << 24) | ((prefix[2] & 0xFF) << 16)
              | ((prefix[3] & 0xFF) << 8) | (prefix[4] & 0xFF));
          if (size > maxMessageBytes) {
            throw new IllegalStateException("fetch answer of " + size + " bytes exceeds " + maxMessageBytes);
          }
          message = new byte[(int) size];
        }
      }
      int take = length - at;
      if (take == 0) {
        return;
      }
      if (message == null || take > message.length - messageRead) {
        throw new IllegalStateException("fetch answer longer than its length prefix");
      }
      chunk.getBytes(at, length, message, messageRead);
      messageRead += take;
    }

    FetchResponse decode() throws IOException {
      if (message == null || messageRead != message.length) {
        throw new IOException("fetch answer truncated: " + messageRead + " of "
            + (message == null ? "?" : message.length) + " bytes");
      }
      // The array is this answer's alone, so the records may alias it instead of being copied out.
      CodedInputStream in = UnsafeByteOperations.unsafeWrap(message).newCodedInput();
      in.enableAliasing(true);
      in.setSizeLimit(Integer.MAX_VALUE);
      return FetchResponse.parseFrom(in);
    }
  }
}
