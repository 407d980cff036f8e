package io.raftline.broker;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.PartitionData;
import io.raftline.protocol.client.RecordsGrpcService;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.grpc.common.CodecException;
import io.vertx.grpc.common.GrpcMessage;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.WireFormat;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes a Fetch answer without serialising its records into a new array: each partition's fields
 * but the records are serialised (a few dozen bytes), and the records follow as a view of the log
 * read's buffer. The stock encoder's {@code toByteArray} copied every fetched byte into one array the
 * size of the answer (megabytes: a humongous allocation per fetch, which forced a young collection
 * about every answer). The bytes on the wire are the same protobuf message: a field's position in
 * its message does not matter to a parser.
 */
final class FetchAnswerEncoder implements GrpcMessageEncoder<FetchResponse> {
  /** The Records service's Fetch method, answered through this encoder. */
  static final ServiceMethod<FetchRequest, FetchResponse> FETCH = ServiceMethod.server(
      RecordsGrpcService.SERVICE_NAME, "Fetch", new FetchAnswerEncoder(),
      GrpcMessageDecoder.decoder(FetchRequest.newBuilder()));

  private FetchAnswerEncoder() {}

  @Override
  public GrpcMessage encode(FetchResponse answer, WireFormat format) throws CodecException {
    if (format != WireFormat.PROTOBUF) {
      return GrpcMessageEncoder.<FetchResponse>encoder().encode(answer, format);
    }
    return GrpcMessage.message("identity", WireFormat.PROTOBUF, BufferInternal.buffer(body(answer)));
  }

  /** The answer's protobuf bytes: each partition's head in its own small array, its records as a view. */
  static ByteBuf body(FetchResponse answer) {
    List<ByteBuf> parts = new ArrayList<>(answer.getPartitionsCount() * 2 + 1);
    // The answer's own fields (a session id, a session's error): a few bytes, before the partitions.
    byte[] own = answer.toBuilder().clearPartitions().build().toByteArray();
    if (own.length > 0) {
      parts.add(Unpooled.wrappedBuffer(own));
    }
    for (PartitionData partition : answer.getPartitionsList()) {
      ByteString records = partition.getRecords();
      byte[] rest = partition.toBuilder().clearRecords().build().toByteArray();
      int recordsField = records.isEmpty() ? 0
          : CodedOutputStream.computeBytesSize(PartitionData.RECORDS_FIELD_NUMBER, records);
      int partitionSize = rest.length + recordsField;
      byte[] head = new byte[CodedOutputStream.computeTagSize(FetchResponse.PARTITIONS_FIELD_NUMBER)
          + CodedOutputStream.computeUInt32SizeNoTag(partitionSize) + rest.length
          + (records.isEmpty() ? 0 : recordsField - records.size())];
      CodedOutputStream out = CodedOutputStream.newInstance(head);
      try {
        out.writeTag(FetchResponse.PARTITIONS_FIELD_NUMBER, com.google.protobuf.WireFormat.WIRETYPE_LENGTH_DELIMITED);
        out.writeUInt32NoTag(partitionSize);
        out.writeRawBytes(rest);
        if (!records.isEmpty()) {
          out.writeTag(PartitionData.RECORDS_FIELD_NUMBER, com.google.protobuf.WireFormat.WIRETYPE_LENGTH_DELIMITED);
          out.writeUInt32NoTag(records.size());
        }
        out.checkNoSpaceLeft();
      } catch (java.io.IOException e) {
        throw new IllegalStateException("a fetch answer's head was sized wrong", e);
      }
      parts.add(Unpooled.wrappedBuffer(head));
      if (!records.isEmpty()) {
        parts.add(Unpooled.wrappedBuffer(records.asReadOnlyByteBuffer()));
      }
    }
    return Unpooled.wrappedBuffer(parts.size(), parts.toArray(new ByteBuf[0]));
  }

  @Override
  public boolean accepts(WireFormat format) {
    return true;
  }
}
