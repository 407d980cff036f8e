package io.raftline.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.PartitionData;
import io.raftline.protocol.client.PartitionRecords;
import io.raftline.protocol.client.ProduceRequest;
import io.vertx.core.buffer.Buffer;
import io.vertx.grpc.common.CodecException;
import io.vertx.grpc.common.GrpcMessage;
import io.vertx.grpc.common.WireFormat;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class AliasingDecoderTest {
  private static final byte[] RECORDS = new byte[4096];

  static {
    Arrays.fill(RECORDS, (byte) 7);
  }

  private static GrpcMessage message(byte[] payload) {
    return GrpcMessage.message("identity", WireFormat.PROTOBUF, Buffer.buffer(payload));
  }

  @Test
  void aProduceRequestDecodesEqualToWhatWasSent() {
    ProduceRequest sent = ProduceRequest.newBuilder().setAcks(-1).setTimeoutMs(3000)
        .addPartitions(PartitionRecords.newBuilder().setTopic("t").setPartition(2).setRecords(ByteString.copyFrom(RECORDS)))
        .addPartitions(PartitionRecords.newBuilder().setTopic("u").setPartition(0).setRecords(ByteString.EMPTY))
        .build();
    assertEquals(sent, AliasingDecoder.of(ProduceRequest.getDefaultInstance()).decode(message(sent.toByteArray())));
  }

  /** The records are a view of the received buffer: a write to the buffer shows through (no copy). */
  @Test
  void recordsAreViewsOfTheReceivedBufferNotCopies() {
    FetchResponse sent = FetchResponse.newBuilder().addPartitions(PartitionData.newBuilder().setTopic("t")
        .setPartition(1).setHighWatermark(42).setRecords(ByteString.copyFrom(RECORDS))).build();
    Buffer received = Buffer.buffer(sent.toByteArray());
    FetchResponse decoded = AliasingDecoder.of(FetchResponse.getDefaultInstance())
        .decode(GrpcMessage.message("identity", WireFormat.PROTOBUF, received));
    assertEquals(sent, decoded);
    int last = received.length() - 1; // the records field ends the message
    received.setByte(last, (byte) 9);
    ByteString records = decoded.getPartitions(0).getRecords();
    assertEquals(9, records.byteAt(records.size() - 1), "the decoded records were copied out of the buffer");
  }

  @Test
  void aMalformedPayloadIsACodecError() {
    byte[] truncated = Arrays.copyOf(ProduceRequest.newBuilder().addPartitions(PartitionRecords.newBuilder()
        .setTopic("t").setRecords(ByteString.copyFrom(RECORDS))).build().toByteArray(), 100);
    assertThrows(CodecException.class,
        () -> AliasingDecoder.of(ProduceRequest.getDefaultInstance()).decode(message(truncated)));
  }
}
