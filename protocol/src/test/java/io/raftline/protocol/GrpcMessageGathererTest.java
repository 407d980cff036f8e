package io.raftline.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.raftline.protocol.client.PartitionRecords;
import io.raftline.protocol.client.ProduceRequest;
import io.vertx.core.buffer.Buffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class GrpcMessageGathererTest {
  private static final ProduceRequest REQUEST;

  static {
    byte[] records = new byte[50_000];
    new SplittableRandom(3).nextBytes(records);
    REQUEST = ProduceRequest.newBuilder().setAcks(1).addPartitions(PartitionRecords.newBuilder().setTopic("t")
        .setPartition(4).setRecords(ByteString.copyFrom(records))).build();
  }

  private static Buffer framed(byte flag, byte[] message) {
    return Buffer.buffer().appendByte(flag).appendInt(message.length).appendBytes(message);
  }

  @Test
  void aMessageInPiecesThatSplitItsPrefixIsGatheredWhole() {
    Buffer framed = framed((byte) 0, REQUEST.toByteArray());
    GrpcMessageGatherer gatherer = new GrpcMessageGatherer(1 << 20);
    assertTrue(gatherer.isEmpty());
    int at = 0;
    for (int size = 1; at < framed.length(); size = Math.min(size * 3, 7000)) {
      int end = Math.min(framed.length(), at + size);
      gatherer.append(framed.getBuffer(at, end));
      at = end;
    }
    assertEquals(REQUEST, gatherer.parse(ProduceRequest.parser()));
  }

  @Test
  void aMessageOverTheLimitIsRefusedAtItsPrefix() {
    GrpcMessageGatherer gatherer = new GrpcMessageGatherer(1000);
    GrpcWireException e = assertThrows(GrpcWireException.class,
        () -> gatherer.append(framed((byte) 0, REQUEST.toByteArray()).getBuffer(0, 5)));
    assertEquals(GrpcWireException.RESOURCE_EXHAUSTED, e.status());
  }

  /** A prefix claiming 100 MiB pins one mebibyte until the bytes come; then the array is the message's size. */
  @Test
  void aClaimedSizeIsNotAllocatedBeforeItsBytesArrive() {
    GrpcMessageGatherer gatherer = new GrpcMessageGatherer(200 << 20);
    int size = 100 << 20;
    gatherer.append(Buffer.buffer().appendByte((byte) 0).appendInt(size));
    assertEquals(GrpcMessageGatherer.FIRST_ALLOCATION, gatherer.allocated());
    byte[] piece = new byte[700_000];
    gatherer.append(Buffer.buffer(piece));
    assertEquals(GrpcMessageGatherer.FIRST_ALLOCATION, gatherer.allocated());
    gatherer.append(Buffer.buffer(piece));
    assertEquals(size, gatherer.allocated());
  }

  /** A message larger than the first allocation arrives whole across the move to its full size. */
  @Test
  void aMessageLargerThanTheFirstAllocationIsGatheredWhole() {
    byte[] records = new byte[3 << 20];
    new SplittableRandom(5).nextBytes(records);
    ProduceRequest big = ProduceRequest.newBuilder().addPartitions(PartitionRecords.newBuilder().setTopic("t")
        .setRecords(ByteString.copyFrom(records))).build();
    Buffer framed = framed((byte) 0, big.toByteArray());
    GrpcMessageGatherer gatherer = new GrpcMessageGatherer(8 << 20);
    for (int at = 0; at < framed.length(); at += 65_536) {
      gatherer.append(framed.getBuffer(at, Math.min(framed.length(), at + 65_536)));
    }
    assertEquals(big, gatherer.parse(ProduceRequest.parser()));
  }

  @Test
  void aCompressedMessageIsRefused() {
    GrpcMessageGatherer gatherer = new GrpcMessageGatherer(1 << 20);
    GrpcWireException e = assertThrows(GrpcWireException.class,
        () -> gatherer.append(framed((byte) 1, new byte[10])));
    assertEquals(GrpcWireException.INTERNAL, e.status());
  }

  @Test
  void bytesPastTheMessageAreRefused() {
    GrpcMessageGatherer gatherer = new GrpcMessageGatherer(1 << 20);
    Buffer two = framed((byte) 0, new byte[10]).appendBuffer(framed((byte) 0, new byte[10]));
    GrpcWireException e = assertThrows(GrpcWireException.class, () -> gatherer.append(two));
    assertEquals(GrpcWireException.INTERNAL, e.status());
  }

  @Test
  void aStreamEndingEarlyIsTruncated() {
    GrpcMessageGatherer gatherer = new GrpcMessageGatherer(1 << 20);
    gatherer.append(framed((byte) 0, REQUEST.toByteArray()).getBuffer(0, 1000));
    GrpcWireException e = assertThrows(GrpcWireException.class, () -> gatherer.parse(ProduceRequest.parser()));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
  }

  @Test
  void bytesThatAreNotTheMessageAreInvalidArgument() {
    GrpcMessageGatherer gatherer = new GrpcMessageGatherer(1 << 20);
    gatherer.append(framed((byte) 0, new byte[] {(byte) 0xFF, (byte) 0xFF, 1}));
    GrpcWireException e = assertThrows(GrpcWireException.class, () -> gatherer.parse(ProduceRequest.parser()));
    assertEquals(GrpcWireException.INVALID_ARGUMENT, e.status());
  }
}
