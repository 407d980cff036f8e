package io.raftline.client.rx;

import io.raftline.client.ConsumerRecord;
import io.raftline.client.GroupConsumer;
import io.raftline.client.Producer;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.raftline.client.RecordMetadata;
import io.raftline.client.TopicSubscription;
import io.reactivex.rxjava3.core.Completable;
import io.reactivex.rxjava3.core.Flowable;
import io.reactivex.rxjava3.core.Single;
import io.vertx.rxjava3.CompletableHelper;
import io.vertx.rxjava3.FlowableHelper;
import io.vertx.rxjava3.SingleHelper;
import java.util.Collection;
import java.util.List;

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

  /**
   * Sends every record of {@code records} and emits their metadata in the same order. Upstream is
   * asked for the next record only once the previous one is in the producer's buffer, so a fast
   * upstream is slowed to what {@code buffer.memory} holds, never buffered without bound (see
   * {@link Producer#bufferedBytes()}). The first failed send ends the Flowable with its error.
   */
  public Flowable<RecordMetadata> send(Producer producer, Flowable<ProducerRecord> records) {
    return Flowable.fromPublisher(downstream ->
        records.subscribe(new SendFlow(producer, client.context(), downstream)));
  }

  /** Records of {@code topic} from the first offset; cancelling the Flowable closes the subscription. */
  public Flowable<ConsumerRecord> recordsFromBeginning(String topic) {
    return Flowable.defer(() -> {
      TopicSubscription subscription = client.subscribeFromBeginning(topic);
      return FlowableHelper.toFlowable(subscription).doOnCancel(subscription::close);
    });
  }

  /**
   * Records of {@code topics} as a member of consumer group {@code groupId} (see
   * {@link GroupConsumer}); subscribing joins the group, cancelling leaves it (committing first with
   * enable.auto.commit).
   */
  public Flowable<ConsumerRecord> groupRecords(String groupId, Collection<String> topics) {
    List<String> names = List.copyOf(topics);
    return Flowable.defer(() -> {
      GroupConsumer consumer = client.subscribe(groupId, names);
      return FlowableHelper.toFlowable(consumer).doOnCancel(consumer::close);
    });
  }

  /** {@link GroupConsumer#commit()} as a {@link Completable}. */
  public Completable commit(GroupConsumer consumer) {
    return CompletableHelper.toCompletable(handler -> consumer.commit().onComplete(handler));
  }
}
