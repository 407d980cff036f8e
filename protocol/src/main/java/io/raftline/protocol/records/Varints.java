package io.raftline.protocol.records;

import io.raftline.protocol.ErrorCode;
import java.nio.ByteBuffer;

/** Zig-zag varints as used inside v2 records (the same encoding as protobuf's sint32/sint64). */
final class Varints {
  private Varints() {}

  static void writeVarint(int value, ByteBuffer out) {
    writeVarlong(value, out);
  }

  static void writeVarlong(long value, ByteBuffer out) {
    long v = (value << 1) ^ (value >> 63);
    while ((v & ~0x7FL) != 0) {
      out.put((byte) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.put((byte) v);
  }

  static int sizeOfVarint(int value) {
    return sizeOfVarlong(value);
  }

  static int sizeOfVarlong(long value) {
    long v = (value << 1) ^ (value >> 63);
    int bytes = 1;
    while ((v & ~0x7FL) != 0) {
      bytes++;
      v >>>= 7;
    }
    return bytes;
  }

  static int readVarint(ByteBuffer in) {
    long v = readVarlong(in);
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw new InvalidRecordBatchException(ErrorCode.CORRUPT_MESSAGE, "varint out of int range");
    }
    return (int) v;
  }

  static long readVarlong(ByteBuffer in) {
    long raw = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!in.hasRemaining()) {
        throw new InvalidRecordBatchException(ErrorCode.CORRUPT_MESSAGE, "truncated varint");
      }
      byte b = in.get();
      raw |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
    throw new InvalidRecordBatchException(ErrorCode.CORRUPT_MESSAGE, "varint longer than 10 bytes");
  }
}
