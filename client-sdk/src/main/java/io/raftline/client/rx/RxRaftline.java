package io.raftline.client.rx;

import io.raftline.client.ConsumerRecord;
import io.raftline.client.Producer;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.raftline.client.RecordMetadata;
import io.raftline.client.TopicSubscription;
import io.reactivex.rxjava3.core.Flowable;
import io.reactivex.rxjava3.core.Single;
import io.vertx.rxjava3.FlowableHelper;
import io.vertx.rxjava3.SingleHelper;

/**
 * RxJava 3 views of the client: a send is a {@link Single}; a subscription is a {@link Flowable}
 * whose downstream requests drive fetching (Vert.x's ReadStream-to-Flowable bridge turns
 * {@code request(n)} into {@code fetch(n)}).
 */
public final class RxRaftline {
  private final RaftlineClient client;

  public RxRaftline(RaftlineClient client) {
    this.client = client;
  }

  public Single<RecordMetadata> send(Producer producer, ProducerRecord record) {
    return SingleHelper.toSingle(handler -> producer.send(record).onComplete(handler));
  }

  /** Records of {@code topic} from the first offset; cancelling the Flowable closes the subscription. */
  public Flowable<ConsumerRecord> recordsFromBeginning(String topic) {
    return Flowable.defer(() -> {
      TopicSubscription subscription = client.subscribeFromBeginning(topic);
      return FlowableHelper.toFlowable(subscription).doOnCancel(subscription::close);
    });
  }
}
