package io.raftline.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class ProducedRecordsTest {
  /** Records that are a view of a request's array are stamped in that array: no copy was made. */
  @Test
  void aViewOfOneArrayIsStampedInPlace() {
    byte[] request = new byte[100];
    ByteString records = UnsafeByteOperations.unsafeWrap(request, 10, 50);
    ByteBuffer stampable = ProducedRecords.stampable(records);
    assertEquals(50, stampable.remaining());
    stampable.putLong(0, 0x0102030405060708L);
    assertEquals(0x01, request[10]);
    assertEquals(0x08, request[17]);
    assertEquals(0, request[9]);
  }

  /** Records in several pieces are copied into one array, equal to them. */
  @Test
  void recordsInPiecesAreCopied() {
    byte[] a = {1, 2, 3};
    byte[] b = {4, 5};
    ByteString records = UnsafeByteOperations.unsafeWrap(a).concat(UnsafeByteOperations.unsafeWrap(b));
    ByteBuffer stampable = ProducedRecords.stampable(records);
    stampable.put(0, (byte) 9);
    assertEquals(1, a[0]);
    assertEquals(ByteString.copyFrom(new byte[] {9, 2, 3, 4, 5}), ByteString.copyFrom(stampable.duplicate()));
  }

  /** A read-only buffer is never written: its records are copied. */
  @Test
  void aReadOnlyBufferIsCopied() {
    ByteBuffer readOnly = ByteBuffer.wrap(new byte[] {1, 2, 3}).asReadOnlyBuffer();
    ByteBuffer stampable = ProducedRecords.stampable(UnsafeByteOperations.unsafeWrap(readOnly));
    stampable.put(0, (byte) 7);
    assertEquals(1, readOnly.get(0));
  }
}
