package io.raftline.client;

import io.raftline.client.ClientConfig.HostPort;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.FrameCumulation;
import io.raftline.protocol.GrpcWireException;
import io.raftline.protocol.UnaryGrpcCall;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.RecordsGrpcService;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;

/**
 * The consumer's Fetch call, spoken as gRPC over a plain HTTP/2 client rather than through the gRPC
 * client ({@link UnaryGrpcCall}): an answer of megabytes is gathered once, at its exact size, and its
 * records alias that array. Frames that span socket reads are linked, not copied
 * ({@link FrameCumulation}).
 */
final class FetchTransport {
  private final HttpClient http;
  private final UnaryGrpcCall calls;

  FetchTransport(Vertx vertx, HttpClientOptions options, long timeoutMs, long maxMessageBytes) {
    this.http = vertx.httpClientBuilder().with(options).withConnectHandler(FrameCumulation::linkReads).build();
    this.calls = new UnaryGrpcCall(http, timeoutMs, maxMessageBytes);
  }

  Future<FetchResponse> fetch(HostPort broker, FetchRequest request) {
    // The broker may hold the fetch for its max wait before answering: the deadline starts after it.
    return calls.call(broker.host(), broker.port(), RecordsGrpcService.SERVICE_NAME, "Fetch", request,
            FetchResponse.parser(), request.getMaxWaitMs())
        .recover(t -> Future.failedFuture(t instanceof GrpcWireException
            ? new RaftlineException(ErrorCode.UNKNOWN_SERVER_ERROR, "fetch " + t.getMessage()) : t));
  }

  Future<Void> close() {
    return http.close();
  }
}
