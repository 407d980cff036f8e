package io.raftline.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.PartitionData;
import io.vertx.grpc.common.WireFormat;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The Fetch answer encoder writes a message any protobuf parser reads back as the answer it was given. */
class FetchAnswerEncoderTest {
  @Test
  void anAnswerReadsBackAsItWas() throws Exception {
    byte[] large = new byte[300_000]; // a records field whose length needs a 3-byte varint
    new SplittableRandom(1).nextBytes(large);
    FetchResponse answer = FetchResponse.newBuilder()
        .addPartitions(PartitionData.newBuilder().setTopic("orders").setPartition(0).setHighWatermark(1234)
            .setLogStartOffset(7).setCurrentLeader(1).setLeaderEpoch(3)
            .setRecords(UnsafeByteOperations.unsafeWrap(ByteBuffer.wrap(large, 10, large.length - 20))))
        .addPartitions(PartitionData.newBuilder().setTopic("orders").setPartition(1).setHighWatermark(0))
        .addPartitions(PartitionData.newBuilder().setTopic("payments").setPartition(5)
            .setError(ErrorCode.NOT_LEADER_OR_FOLLOWER).setErrorMessage("not here").setHighWatermark(-1))
        .addPartitions(PartitionData.newBuilder().setTopic("orders").setPartition(2)
            .setRecords(ByteString.copyFromUtf8("x")))
        .build();
    assertEquals(answer, roundTrip(answer));
    assertEquals(FetchResponse.getDefaultInstance(), roundTrip(FetchResponse.getDefaultInstance()));
    // A session's id and a session refusal are the answer's own fields.
    FetchResponse inSession = answer.toBuilder().setSessionId(123_456_789).build();
    assertEquals(inSession, roundTrip(inSession));
    FetchResponse refused = FetchResponse.newBuilder().setError(ErrorCode.INVALID_FETCH_SESSION_EPOCH)
        .setErrorMessage("fetch session 5 expects epoch 3, not 4").build();
    assertEquals(refused, roundTrip(refused));
  }

  private static FetchResponse roundTrip(FetchResponse answer) throws Exception {
    return FetchResponse.parseFrom(FetchAnswerEncoder.FETCH.encoder().encode(answer, WireFormat.PROTOBUF)
        .payload().getBytes());
  }
}
