package io.raftline.client.rx;

import io.raftline.client.Producer;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RecordMetadata;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/**
 * Sends the records of an upstream Flowable and emits their metadata downstream in upstream order.
 * Upstream is asked for one record at a time, and for the next only once the previous one is in the
 * producer's buffer ({@link Producer#offer}), so the records this flow holds beyond
 * {@code buffer.memory} are at most one; a fast upstream is slowed to the pace of acknowledgements.
 * Results not yet requested downstream are capped at {@link #MAX_UNEMITTED}, so a slow downstream
 * slows upstream too. A failed send ends the flow with its error (upstream is cancelled).
 *
 * <p>All state lives on one Vert.x context, so signals from any thread are serialised without locks.
 */
final class SendFlow implements Subscriber<ProducerRecord>, Subscription {
  static final int MAX_UNEMITTED = 8192;

  private final Producer producer;
  private final Context context;
  private final Subscriber<? super RecordMetadata> downstream;
  private final ArrayDeque<Future<RecordMetadata>> pending = new ArrayDeque<>();
  private Subscription upstream;
  private long requested;
  private boolean awaitingRecord;
  private boolean lastBuffered = true;
  private boolean upstreamDone;
  private Throwable upstreamError;
  private boolean terminated;
  private boolean draining;
  private boolean drainAgain;

  SendFlow(Producer producer, Context context, Subscriber<? super RecordMetadata> downstream) {
    this.producer = producer;
    this.context = context;
    this.downstream = downstream;
  }

  private void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  @Override
  public void onSubscribe(Subscription s) {
    onContext(() -> {
      upstream = s;
      downstream.onSubscribe(this);
      drain();
    });
  }

  @Override
  public void onNext(ProducerRecord record) {
    onContext(() -> {
      awaitingRecord = false;
      if (terminated) {
        return;
      }
      lastBuffered = false;
      Producer.Send send = producer.offer(record);
      pending.add(send.acknowledged());
      send.buffered().onComplete(ar -> onContext(() -> {
        lastBuffered = true;
        drain();
      }));
      send.acknowledged().onComplete(ar -> onContext(this::drain));
    });
  }

  @Override
  public void onError(Throwable t) {
    onContext(() -> {
      upstreamDone = true;
      upstreamError = t;
      drain();
    });
  }

  @Override
  public void onComplete() {
    onContext(() -> {
      upstreamDone = true;
      drain();
    });
  }

  @Override
  public void request(long n) {
    onContext(() -> {
      if (n <= 0) {
        terminate();
        downstream.onError(new IllegalArgumentException("§3.9: request(" + n + ") is not positive"));
        return;
      }
      requested = requested + n < 0 ? Long.MAX_VALUE : requested + n;
      drain();
    });
  }

  @Override
  public void cancel() {
    onContext(this::terminate);
  }

  private void terminate() {
    if (!terminated) {
      terminated = true;
      pending.clear();
      if (upstream != null && !upstreamDone) {
        upstream.cancel();
      }
    }
  }

  private void drain() {
    if (draining) {
      drainAgain = true;
      return;
    }
    draining = true;
    try {
      do {
        drainAgain = false;
        if (terminated) {
          return;
        }
        while (requested > 0 && !pending.isEmpty() && pending.peek().isComplete()) {
          Future<RecordMetadata> done = pending.poll();
          if (done.failed()) {
            terminate();
            downstream.onError(done.cause());
            return;
          }
          if (requested != Long.MAX_VALUE) {
            requested--;
          }
          downstream.onNext(done.result());
          if (terminated) {
            return;
          }
        }
        if (upstreamError != null) {
          terminate();
          downstream.onError(upstreamError);
          return;
        }
        if (upstreamDone && pending.isEmpty()) {
          terminate();
          downstream.onComplete();
          return;
        }
        if (upstream != null && !upstreamDone && !awaitingRecord && lastBuffered && pending.size() < MAX_UNEMITTED) {
          awaitingRecord = true;
          upstream.request(1);
        }
      } while (drainAgain);
    } finally {
      draining = false;
    }
  }
}
