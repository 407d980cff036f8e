package io.raftline.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.PartitionData;
import io.raftline.protocol.client.PartitionProduceResult;
import io.raftline.protocol.client.PartitionRecords;
import io.raftline.protocol.client.ProduceRequest;
import io.raftline.protocol.client.ProduceResponse;
import io.raftline.protocol.client.RecordsGrpcService;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.server.GrpcServer;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The records methods served from the plain HTTP/2 request, in front of a gRPC server: the stock gRPC
 * client and {@link UnaryGrpcCall} both get their answers from the route, the cases the route does not
 * serve reach the gRPC server, and bad requests are refused with gRPC statuses without reaching the
 * method.
 */
class UnaryGrpcRouteTest {
  private static final int MAX_MESSAGE = 4 << 20;
  private static final ServiceMethod<ProduceResponse, ProduceRequest> PRODUCE_CALL = ServiceMethod.client(
      RecordsGrpcService.SERVICE_NAME, "Produce", GrpcMessageEncoder.encoder(),
      GrpcMessageDecoder.decoder(ProduceResponse.newBuilder()));
  private static final ServiceMethod<ProduceRequest, ProduceResponse> PRODUCE_SERVED = ServiceMethod.server(
      RecordsGrpcService.SERVICE_NAME, "Produce", GrpcMessageEncoder.encoder(),
      GrpcMessageDecoder.decoder(ProduceRequest.newBuilder()));

  private Vertx vertx;
  private HttpServer server;
  private HttpClient http;
  private final AtomicInteger routed = new AtomicInteger();
  private final AtomicInteger byGrpcServer = new AtomicInteger();
  private final AtomicInteger linked = new AtomicInteger();

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    GrpcServer grpc = GrpcServer.server(vertx);
    grpc.callHandler(PRODUCE_SERVED, request -> request.handler(msg -> {
      byGrpcServer.incrementAndGet();
      request.response().end(answer(msg, "grpc server"));
    }));
    UnaryGrpcRoute route = new UnaryGrpcRoute(grpc, 64 * 1024)
        .serve(RecordsGrpcService.SERVICE_NAME, "Produce", ProduceRequest.parser(),
            UnaryGrpcRoute.<ProduceResponse>plainEncoder(), (request, answer) -> {
              routed.incrementAndGet();
              if (request.getTimeoutMs() == 13) {
                answer.fail(new IllegalStateException("refused: 100% sure, 1+1 ü"));
              } else if (request.getTimeoutMs() == 14) {
                throw new IllegalStateException("thrown by the method");
              } else {
                answer.succeed(answer(request, "route"));
              }
            })
        .serve(RecordsGrpcService.SERVICE_NAME, "Fetch", FetchRequest.parser(),
            (FetchResponse answer) -> io.netty.buffer.Unpooled.wrappedBuffer(answer.toByteArray()),
            (request, answer) -> {
              routed.incrementAndGet();
              byte[] records = new byte[request.getMaxBytes()];
              new SplittableRandom(request.getMaxBytes()).nextBytes(records);
              FetchResponse fetched = FetchResponse.newBuilder().addPartitions(PartitionData.newBuilder()
                  .setTopic("t").setRecords(ByteString.copyFrom(records))).build();
              if (request.getMaxWaitMs() > 0) {
                // A long poll that found nothing for half its wait.
                vertx.setTimer(request.getMaxWaitMs() / 2, id -> answer.succeed(fetched));
              } else {
                answer.succeed(fetched);
              }
            });
    Http2Settings big = new Http2Settings().setInitialWindowSize(8 << 20).setMaxFrameSize(1 << 20);
    server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0).setInitialSettings(big))
        .connectionHandler(conn -> {
          if (FrameCumulation.linkReads(conn)) {
            linked.incrementAndGet();
          }
        })
        .requestHandler(route);
    await(server.listen());
    http = vertx.httpClientBuilder().with(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
            .setHttp2ClearTextUpgrade(false).setInitialSettings(big))
        .withConnectHandler(conn -> {
          if (FrameCumulation.linkReads(conn)) {
            linked.incrementAndGet();
          }
        }).build();
  }

  @AfterEach
  void stop() throws Exception {
    await(vertx.close());
  }

  private static ProduceResponse answer(ProduceRequest request, String by) {
    return ProduceResponse.newBuilder().addResults(PartitionProduceResult.newBuilder().setErrorMessage(by)
        .setBaseOffset(request.getPartitions(0).getRecords().size())).build();
  }

  private static ProduceRequest produce(int recordBytes) {
    return ProduceRequest.newBuilder().setAcks(-1).addPartitions(PartitionRecords.newBuilder().setTopic("t")
        .setRecords(ByteString.copyFrom(new byte[recordBytes]))).build();
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private Future<ProduceResponse> grpcClientProduce(ProduceRequest request, String encoding) {
    GrpcClient client = GrpcClient.client(vertx);
    return client.request(SocketAddress.inetSocketAddress(server.actualPort(), "127.0.0.1"), PRODUCE_CALL)
        .compose(call -> {
          if (encoding != null) {
            call.encoding(encoding);
          }
          return call.end(request).compose(v -> call.response().compose(GrpcClientResponse::last));
        })
        .eventually(client::close);
  }

  @Test
  void theStockGrpcClientIsAnsweredByTheRoute() throws Exception {
    ProduceResponse answer = await(grpcClientProduce(produce(1000), null));
    assertEquals("route", answer.getResults(0).getErrorMessage());
    assertEquals(1000, answer.getResults(0).getBaseOffset());
    assertEquals(1, routed.get());
    assertEquals(0, byGrpcServer.get());
  }

  @Test
  void aCompressedCallGoesToTheGrpcServer() throws Exception {
    ProduceResponse answer = await(grpcClientProduce(produce(1000), "gzip"));
    assertEquals("grpc server", answer.getResults(0).getErrorMessage());
    assertEquals(0, routed.get());
    assertEquals(1, byGrpcServer.get());
  }

  /** Produce called through {@link UnaryGrpcCall}, expected to fail: its wire error. */
  private GrpcWireException failedProduce(ProduceRequest request) {
    UnaryGrpcCall calls = new UnaryGrpcCall(http, 10_000, MAX_MESSAGE);
    ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () -> await(
        calls.call("127.0.0.1", server.actualPort(), RecordsGrpcService.SERVICE_NAME, "Produce", request,
            ProduceResponse.parser())));
    return (GrpcWireException) e.getCause();
  }

  @Test
  void aRequestOverTheLimitIsResourceExhaustedAndNeverHandled() {
    GrpcWireException refused = failedProduce(produce(100_000));
    assertEquals(GrpcWireException.RESOURCE_EXHAUSTED, refused.status(), refused.getMessage());
    assertEquals(0, routed.get());
  }

  /**
   * A request refused while it is still arriving (its prefix claims more than the limit) is reset once
   * answered, so the caller stops sending the rest instead of the server reading it only to drop it.
   */
  @Test
  void aRequestRefusedWhileArrivingIsResetAfterTheAnswer() throws Exception {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
        .setPort(server.actualPort()).setURI(RecordsGrpcService.SERVICE_NAME.pathOf("Produce"))
        .putHeader("content-type", "application/grpc");
    io.vertx.core.Promise<Long> reset = io.vertx.core.Promise.promise();
    String status = await(http.request(options).compose(req -> {
      req.exceptionHandler(t -> {
        if (t instanceof io.vertx.core.http.StreamResetException r) {
          reset.tryComplete(r.getCode());
        } else {
          reset.tryFail(t);
        }
      });
      req.setChunked(true); // for HTTP/2 this only lifts the Content-Length check
      // The claim of 100 MiB, and the first 1,000 bytes of it; the request is never ended.
      req.write(Buffer.buffer().appendByte((byte) 0).appendInt(100 << 20).appendBytes(new byte[1000]));
      return req.response();
    }).map(resp -> resp.getHeader("grpc-status")));
    assertEquals(Integer.toString(GrpcWireException.RESOURCE_EXHAUSTED), status);
    assertEquals(0L, await(reset.future()), "reset with NO_ERROR: the answer stands, the rest is not wanted");
    assertEquals(0, routed.get());
  }

  /** The producer's stock gRPC client reads the refusal's status, reset or not. */
  @Test
  void theStockGrpcClientReadsARefusalOfARequestOverTheLimit() throws Exception {
    GrpcClient client = GrpcClient.client(vertx);
    String status = await(client.request(SocketAddress.inetSocketAddress(server.actualPort(), "127.0.0.1"),
            PRODUCE_CALL)
        .compose(call -> call.end(produce(100_000)).transform(ar -> call.response()))
        .compose(response -> response.last().<Void>transform(ar -> Future.succeededFuture())
            .map(v -> response.status().name()))
        .eventually(client::close));
    assertEquals("RESOURCE_EXHAUSTED", status);
    assertEquals(0, routed.get());
  }

  @Test
  void aFailedAnswerCarriesItsMessage() {
    GrpcWireException failed = failedProduce(produce(10).toBuilder().setTimeoutMs(13).build());
    assertEquals(GrpcWireException.UNKNOWN, failed.status());
    assertTrue(failed.getMessage().contains("refused: 100% sure, 1+1 ü"), failed.getMessage());
  }

  /** A method that throws instead of answering still answers the call (INTERNAL), not a hang. */
  @Test
  void aMethodThatThrowsIsAnsweredAsInternal() {
    GrpcWireException failed = failedProduce(produce(10).toBuilder().setTimeoutMs(14).build());
    assertEquals(GrpcWireException.INTERNAL, failed.status());
    assertTrue(failed.getMessage().contains("thrown by the method"), failed.getMessage());
  }

  /** Vert.x's own gRPC client reads the percent-encoded message back as it was. */
  @Test
  void theStockGrpcClientReadsAFailuresMessage() throws Exception {
    GrpcClient client = GrpcClient.client(vertx);
    ProduceRequest request = produce(10).toBuilder().setTimeoutMs(13).build();
    String message = await(client.request(SocketAddress.inetSocketAddress(server.actualPort(), "127.0.0.1"),
            PRODUCE_CALL)
        .compose(call -> call.end(request).compose(v -> call.response()))
        .compose(response -> response.last().<Void>transform(ar -> Future.succeededFuture())
            .map(v -> response.status() + ": " + response.statusMessage()))
        .eventually(client::close));
    assertEquals(GrpcWireException.UNKNOWN + ": refused: 100% sure, 1+1 ü", message);
  }

  /** An HTTP/1.1 request is not served here (gRPC needs HTTP/2's trailers): the gRPC server gets it. */
  @Test
  void anHttp1RequestGoesToTheGrpcServer() throws Exception {
    HttpClient http1 = vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_1_1));
    Buffer body = Buffer.buffer().appendByte((byte) 0).appendInt(produce(10).getSerializedSize())
        .appendBytes(produce(10).toByteArray());
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
        .setPort(server.actualPort()).setURI(RecordsGrpcService.SERVICE_NAME.pathOf("Produce"))
        .putHeader("content-type", "application/grpc");
    await(http1.request(options).compose(req -> req.send(body)).compose(resp -> resp.body()));
    assertEquals(0, routed.get());
  }

  @Test
  void aMalformedRequestIsInvalidArgument() throws Exception {
    Buffer garbage = Buffer.buffer().appendByte((byte) 0).appendInt(3).appendBytes(new byte[] {(byte) 0xFF, 1, 2});
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
        .setPort(server.actualPort()).setURI(RecordsGrpcService.SERVICE_NAME.pathOf("Produce"))
        .putHeader("content-type", "application/grpc");
    String status = await(http.request(options).compose(req -> req.send(garbage))
        .compose(resp -> resp.end().map(v -> resp.getHeader("grpc-status"))));
    assertEquals(Integer.toString(GrpcWireException.INVALID_ARGUMENT), status);
    assertEquals(0, routed.get());
  }

  /** A call the server may hold (a long poll) gets that wait on top of its deadline. */
  @Test
  void aLongPollsWaitExtendsTheCallsDeadline() throws Exception {
    UnaryGrpcCall calls = new UnaryGrpcCall(http, 300, MAX_MESSAGE);
    FetchRequest poll = FetchRequest.newBuilder().setMaxBytes(10).setMaxWaitMs(1200).build();
    FetchResponse answer = await(calls.call("127.0.0.1", server.actualPort(), RecordsGrpcService.SERVICE_NAME,
        "Fetch", poll, FetchResponse.parser(), poll.getMaxWaitMs()));
    assertEquals(10, answer.getPartitions(0).getRecords().size());
    org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () -> await(calls.call("127.0.0.1",
        server.actualPort(), RecordsGrpcService.SERVICE_NAME, "Fetch", poll, FetchResponse.parser())),
        "without the wait the 300 ms deadline passes before the 600 ms answer");
  }

  /** Megabytes each way in mebibyte frames: the reads spanning frames are linked on both ends. */
  @Test
  void aLargeAnswerArrivesWholeOverLinkedReads() throws Exception {
    UnaryGrpcCall calls = new UnaryGrpcCall(http, 10_000, MAX_MESSAGE);
    int size = 3 << 20;
    FetchResponse answer = await(calls.call("127.0.0.1", server.actualPort(), RecordsGrpcService.SERVICE_NAME,
        "Fetch", FetchRequest.newBuilder().setMaxBytes(size).build(), FetchResponse.parser()));
    byte[] expected = new byte[size];
    new SplittableRandom(size).nextBytes(expected);
    assertArrayEquals(expected, answer.getPartitions(0).getRecords().toByteArray());
    assertEquals(2, linked.get(), "both ends' frame decoders should link reads");
  }
}
