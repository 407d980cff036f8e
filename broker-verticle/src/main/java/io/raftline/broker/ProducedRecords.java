package io.raftline.broker;

import com.google.protobuf.ByteOutput;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * The bytes a partition leader stamps its offsets and leader epoch into: the produce request's own
 * records when they are one array, otherwise a copy.
 *
 * <p>Why no copy: a produce request is decoded from an array that belongs to that request alone
 * ({@code GrpcMessageGatherer}, or the gRPC server's per-message buffer), with its records as views
 * of it, and nothing reads the request's records again once the leader has them. Copying them only
 * to write two header fields cost a zeroed megabyte allocation and a copy for every batch.
 */
final class ProducedRecords {
  private ProducedRecords() {}

  static ByteBuffer stampable(ByteString records) {
    View view = new View();
    try {
      // The documented way to reach a ByteString's backing bytes: it hands them over as they are.
      UnsafeByteOperations.unsafeWriteTo(records, view);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return view.pieces == 1 && view.buffer != null ? view.buffer : ByteBuffer.wrap(records.toByteArray());
  }

  /** Takes the backing bytes if they come as one writable piece. */
  private static final class View extends ByteOutput {
    int pieces;
    ByteBuffer buffer;

    @Override
    public void write(byte value) {
      pieces += 2;
    }

    @Override
    public void write(byte[] value, int offset, int length) {
      pieces += 2;
    }

    @Override
    public void writeLazy(byte[] value, int offset, int length) {
      pieces++;
      buffer = ByteBuffer.wrap(value, offset, length).slice();
    }

    @Override
    public void write(ByteBuffer value) {
      pieces += 2;
    }

    @Override
    public void writeLazy(ByteBuffer value) {
      pieces++;
      buffer = value.isReadOnly() ? null : value.slice();
    }
  }
}
