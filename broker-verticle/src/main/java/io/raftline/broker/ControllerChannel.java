package io.raftline.broker;

import io.raftline.metadata.QuorumVoter;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.controller.ControllerClient;
import io.raftline.protocol.controller.ControllerGrpcClient;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import java.util.List;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * The broker's way to the active controller. It does not know which voter leads, so it tries one,
 * follows NOT_CONTROLLER answers to the leader they name, moves on to the next voter when one is
 * unreachable, and gives up at the caller's deadline. Runs on the broker's event loop.
 */
final class ControllerChannel {
  private static final long RETRY_BACKOFF_MS = 100;

  private final Vertx vertx;
  private final List<QuorumVoter> voters;
  private final List<ControllerClient> stubs;
  private int target;

  ControllerChannel(Vertx vertx, GrpcClient client, List<QuorumVoter> voters) {
    this.vertx = vertx;
    this.voters = voters;
    this.stubs = voters.stream()
        .map(v -> (ControllerClient) ControllerGrpcClient.create(client, SocketAddress.inetSocketAddress(v.port(), v.host())))
        .toList();
  }

  /**
   * Calls the active controller, retrying elsewhere until {@code timeoutMs} has passed.
   *
   * @param errorOf the request-level error of a response
   * @param leaderOf the leader a NOT_CONTROLLER response names, -1 if none
   */
  <R> Future<R> call(Function<ControllerClient, Future<R>> op, Function<R, ErrorCode> errorOf, ToIntFunction<R> leaderOf,
      long timeoutMs) {
    Promise<R> promise = Promise.promise();
    attempt(op, errorOf, leaderOf, System.currentTimeMillis() + timeoutMs, promise, "no attempt made");
    return promise.future();
  }

  private <R> void attempt(Function<ControllerClient, Future<R>> op, Function<R, ErrorCode> errorOf,
      ToIntFunction<R> leaderOf, long deadline, Promise<R> promise, String lastProblem) {
    if (System.currentTimeMillis() >= deadline) {
      promise.fail(new ControllerUnavailableException("no active controller answered in time; last problem: " + lastProblem));
      return;
    }
    int tried = target;
    op.apply(stubs.get(tried)).onComplete(ar -> {
      if (ar.succeeded() && errorOf.apply(ar.result()) != ErrorCode.NOT_CONTROLLER) {
        promise.complete(ar.result());
        return;
      }
      String problem;
      long delay = RETRY_BACKOFF_MS;
      int next = (tried + 1) % voters.size();
      if (ar.succeeded()) {
        int leader = leaderOf.applyAsInt(ar.result());
        problem = "voter " + voters.get(tried).id() + " is not the controller (leader " + leader + ")";
        for (int i = 0; i < voters.size(); i++) {
          if (voters.get(i).id() == leader && i != tried) {
            next = i;
            delay = 0;
          }
        }
      } else {
        problem = "voter " + voters.get(tried) + " unreachable: " + ar.cause().getMessage();
      }
      if (target == tried) {
        target = next;
      }
      String why = problem;
      if (delay == 0) {
        attempt(op, errorOf, leaderOf, deadline, promise, why);
      } else {
        vertx.setTimer(delay, t -> attempt(op, errorOf, leaderOf, deadline, promise, why));
      }
    });
  }

  /** No voter acted as the active controller before the deadline. */
  static final class ControllerUnavailableException extends RuntimeException {
    ControllerUnavailableException(String message) {
      super(message);
    }
  }
}
