package io.raftline.broker;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.protocol.Answers;
import io.raftline.protocol.client.ProduceRequest;
import io.raftline.protocol.client.ProduceResponse;
import io.raftline.protocol.client.RecordsGrpcClient;
import io.raftline.protocol.client.RecordsGrpcService;
import io.raftline.protocol.client.RecordsService;
import io.vertx.core.Completable;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.server.GrpcServer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A produce answered after its caller went away (an acks=all wait that outlived the client) must
 * not throw at whoever completes it: in the broker that is the loop releasing every acks=all
 * produce the high watermark passed. Real gRPC on loopback; the caller is gone once its connection
 * closed on the server side.
 */
class LateAnswerTest {
  private static final long TIMEOUT_MS = 10_000;

  private Vertx vertx;
  private HttpServer server;
  private final CompletableFuture<Promise<ProduceResponse>> held = new CompletableFuture<>();
  private final CountDownLatch connectionClosed = new CountDownLatch(1);

  /** Holds every produce until the test answers it; guarded as the broker's RecordsApi is, or not. */
  private final class HeldRecords extends RecordsService {
    private final boolean guarded;

    HeldRecords(boolean guarded) {
      this.guarded = guarded;
    }

    @Override
    public Future<ProduceResponse> produce(ProduceRequest request) {
      Promise<ProduceResponse> p = Promise.promise();
      held.complete(p);
      return p.future();
    }

    @Override
    protected void produce(ProduceRequest request, Completable<ProduceResponse> answer) {
      produce(request).onComplete(guarded ? Answers.toCaller("Produce", answer) : answer);
    }
  }

  private void serve(boolean guarded) throws Exception {
    vertx = Vertx.vertx();
    GrpcServer grpcServer = GrpcServer.server(vertx);
    grpcServer.addService(RecordsGrpcService.of(new HeldRecords(guarded)));
    server = vertx.createHttpServer()
        .connectionHandler(conn -> conn.closeHandler(v -> connectionClosed.countDown()))
        .requestHandler(grpcServer).listen(0, "127.0.0.1").await();
  }

  /** Sends one produce from a client that then disconnects; returns the server's pending answer. */
  private Promise<ProduceResponse> produceFromClientThatLeaves() throws Exception {
    GrpcClient grpc = GrpcClient.client(vertx);
    RecordsGrpcClient client = RecordsGrpcClient.create(grpc,
        SocketAddress.inetSocketAddress(server.actualPort(), "127.0.0.1"));
    client.produce(ProduceRequest.newBuilder().setAcks(-1).build());
    Promise<ProduceResponse> answer = held.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
    grpc.close();
    assertTrue(connectionClosed.await(TIMEOUT_MS, TimeUnit.MILLISECONDS), "server never saw the client leave");
    return answer;
  }

  /** Completes the answer on the server's context, as the broker would, and returns what it threw. */
  private Throwable answerLate(Promise<ProduceResponse> answer) throws Exception {
    CompletableFuture<Throwable> thrown = new CompletableFuture<>();
    vertx.runOnContext(v -> {
      try {
        answer.complete(ProduceResponse.getDefaultInstance());
        thrown.complete(null);
      } catch (Throwable t) {
        thrown.complete(t);
      }
    });
    return thrown.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
  }

  @AfterEach
  void stop() {
    if (vertx != null) {
      vertx.close().await();
    }
  }

  @Test
  void lateAnswerToDepartedCallerIsDropped() throws Exception {
    serve(true);
    Throwable thrown = answerLate(produceFromClientThatLeaves());
    assertDoesNotThrow(() -> {
      if (thrown != null) {
        throw thrown;
      }
    });
  }

  /** Why the guard exists: Vert.x gRPC throws when an answer is written for a caller that left. */
  @Test
  void unguardedLateAnswerThrowsAtTheCompleter() throws Exception {
    serve(false);
    Throwable thrown = answerLate(produceFromClientThatLeaves());
    assertThrows(RuntimeException.class, () -> {
      if (thrown != null) {
        throw thrown;
      }
    });
  }
}
