package io.raftline.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.RecordsGrpcService;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * How {@link UnaryGrpcCall} reads a failed call's status: the server's grpc-status where there is one,
 * else gRPC's mapping of the HTTP status, so a proxy's or an overloaded server's answer keeps its
 * meaning (UNAVAILABLE is worth retrying; UNIMPLEMENTED is not).
 */
class UnaryGrpcCallTest {
  private Vertx vertx;
  private HttpServer server;
  private HttpClient http;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    // Answers each call with the HTTP status its path names, and no gRPC headers at all.
    server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(request -> request.body().onComplete(body -> {
          String status = request.path().substring(request.path().lastIndexOf('/') + 1);
          request.response().setStatusCode(Integer.parseInt(status.replace("Status", ""))).end();
        }));
    await(server.listen());
    http = vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false));
  }

  @AfterEach
  void stop() throws Exception {
    await(vertx.close());
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private GrpcWireException failedCall(int httpStatus) {
    UnaryGrpcCall calls = new UnaryGrpcCall(http, 10_000, 1 << 20);
    ExecutionException e = assertThrows(ExecutionException.class, () -> await(calls.call("127.0.0.1",
        server.actualPort(), RecordsGrpcService.SERVICE_NAME, "Status" + httpStatus,
        FetchRequest.getDefaultInstance(), FetchResponse.parser())));
    return assertInstanceOf(GrpcWireException.class, e.getCause(), () -> "failed with " + e.getCause());
  }

  @Test
  void anHttpFailureWithoutAGrpcStatusIsMappedAsGrpcMapsIt() {
    GrpcWireException unavailable = failedCall(503);
    assertEquals(GrpcWireException.UNAVAILABLE, unavailable.status());
    assertTrue(unavailable.getMessage().contains("HTTP 503"), unavailable.getMessage());
    assertEquals(GrpcWireException.UNIMPLEMENTED, failedCall(404).status());
    assertEquals(GrpcWireException.UNKNOWN, failedCall(500).status());
  }

  /**
   * Calls made from a thread outside Vert.x, one after another on one connection: each answer (a
   * head that ends the stream) must find its handlers set, however its callbacks are scheduled. With
   * the handlers set one future-hop later, one call in a few hundred failed with "response ended".
   */
  @Test
  void everyAnswerIsReadWhenCallsComeFromAnotherThread() {
    for (int i = 0; i < 1000; i++) {
      assertEquals(GrpcWireException.UNAVAILABLE, failedCall(503).status(), "call " + i);
    }
  }

  @Test
  void theServersGrpcStatusWinsOverTheHttpStatus() {
    assertEquals(GrpcWireException.RESOURCE_EXHAUSTED, UnaryGrpcCall.statusOf(200, "8"));
    assertEquals(GrpcWireException.RESOURCE_EXHAUSTED, UnaryGrpcCall.statusOf(503, "8"));
    // A 200 that never says how the call ended, or says it in a form nobody can read.
    assertEquals(GrpcWireException.UNKNOWN, UnaryGrpcCall.statusOf(200, null));
    assertEquals(GrpcWireException.UNKNOWN, UnaryGrpcCall.statusOf(200, "eight"));
    // "OK" with a failed HTTP status is no success: the HTTP status decides.
    assertEquals(GrpcWireException.UNAVAILABLE, UnaryGrpcCall.statusOf(502, "0"));
    assertEquals(GrpcWireException.INTERNAL, UnaryGrpcCall.statusOf(400, null));
    assertEquals(GrpcWireException.UNAUTHENTICATED, UnaryGrpcCall.statusOf(401, null));
    assertEquals(GrpcWireException.PERMISSION_DENIED, UnaryGrpcCall.statusOf(403, null));
    assertEquals(GrpcWireException.UNAVAILABLE, UnaryGrpcCall.statusOf(429, null));
    assertEquals(GrpcWireException.UNAVAILABLE, UnaryGrpcCall.statusOf(504, null));
  }
}
