package io.raftline.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.raftline.client.ClientConfig.HostPort;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.PartitionData;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The consumer's own Fetch transport against a bare HTTP/2 server playing the broker: the answer's
 * message arrives in pieces that split its length prefix, and a non-zero grpc-status fails the call.
 */
class FetchTransportTest {
  private Vertx vertx;
  private HttpServer server;
  private volatile Consumer<HttpServerRequest> broker;
  private FetchTransport transport;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(req -> req.body().onSuccess(body -> broker.accept(req)));
    server.listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    transport = new FetchTransport(vertx, new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false), 10_000, 1 << 20);
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private FetchResponse fetch() throws Exception {
    return transport.fetch(new HostPort("127.0.0.1", server.actualPort()), FetchRequest.newBuilder().setMaxBytes(1).build())
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void anAnswerInPiecesIsGatheredWhole() throws Exception {
    byte[] records = new byte[100_000];
    new SplittableRandom(7).nextBytes(records);
    byte[] message = FetchResponse.newBuilder().addPartitions(PartitionData.newBuilder().setTopic("t")
        .setPartition(3).setHighWatermark(42).setRecords(ByteString.copyFrom(records))).build().toByteArray();
    Buffer framed = Buffer.buffer().appendByte((byte) 0).appendInt(message.length).appendBytes(message);
    broker = req -> {
      req.response().putHeader("content-type", "application/grpc").setChunked(true);
      // Pieces of 3 bytes first (the 5-byte prefix split across two), then larger ones.
      int at = 0;
      for (int size = 3; at < framed.length(); size = Math.min(size * 4, 30_000)) {
        int end = Math.min(framed.length(), at + size);
        req.response().write(framed.getBuffer(at, end));
        at = end;
      }
      req.response().putTrailer("grpc-status", "0").end();
    };
    FetchResponse answer = fetch();
    assertEquals(1, answer.getPartitionsCount());
    assertEquals(3, answer.getPartitions(0).getPartition());
    assertEquals(42, answer.getPartitions(0).getHighWatermark());
    assertArrayEquals(records, answer.getPartitions(0).getRecords().toByteArray());
  }

  @Test
  void aFailedCallFailsTheFetch() {
    broker = req -> req.response().putHeader("content-type", "application/grpc").putHeader("grpc-status", "14")
        .putHeader("grpc-message", "unavailable").end();
    Exception e = assertThrows(Exception.class, this::fetch);
    assertTrue(String.valueOf(e.getMessage()).contains("grpc-status 14"), String.valueOf(e.getMessage()));
  }

  @Test
  void anAnswerShorterThanItsPrefixFails() {
    broker = req -> req.response().putHeader("content-type", "application/grpc").setChunked(true)
        .write(Buffer.buffer().appendByte((byte) 0).appendInt(1000).appendBytes(new byte[10]))
        .compose(v -> {
          req.response().putTrailer("grpc-status", "0");
          return req.response().end();
        });
    Exception e = assertThrows(Exception.class, this::fetch);
    assertTrue(String.valueOf(e.getMessage()).contains("truncated"), String.valueOf(e.getMessage()));
  }
}
