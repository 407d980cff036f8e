package io.raftline.broker.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IndexFileTest {
  @TempDir
  Path dir;

  private static ByteBuffer offsetEntry(int relativeOffset, int position) {
    return ByteBuffer.allocate(8).putInt(0, relativeOffset).putInt(4, position);
  }

  @Test
  void entriesSurviveCloseAndTheFileIsCutBackToThem() throws IOException {
    Path file = dir.resolve("0.index");
    try (IndexFile index = IndexFile.open(file, 8, 0)) {
      for (int i = 1; i <= 1000; i++) {
        index.append(offsetEntry(i * 10, i * 4096));
      }
      // Grown ahead of the entries while open.
      assertTrue(Files.size(file) > 8000, "size while open: " + Files.size(file));
    }
    assertEquals(8000, Files.size(file));
    try (IndexFile index = IndexFile.open(file, 8, 0)) {
      assertEquals(1000, index.entries());
      assertEquals(5000, index.intAt(499, 0));
      assertEquals(500 * 4096, index.intAt(499, 4));
    }
  }

  @Test
  void aFileLeftOpenByACrashCountsOnlyItsEntries() throws IOException {
    Path file = dir.resolve("0.timeindex");
    IndexFile crashed = IndexFile.open(file, 12, 8);
    for (int i = 1; i <= 37; i++) {
      crashed.append(ByteBuffer.allocate(12).putLong(0, 1000L + i).putInt(8, i));
    }
    crashed.force();
    // Never closed: the file keeps its zero-filled tail, as after kill -9 (read through a copy, as above).
    assertTrue(Files.size(file) > 37 * 12);
    Path crashCopy = dir.resolve("copy.timeindex");
    Files.copy(file, crashCopy);
    try (IndexFile reopened = IndexFile.open(crashCopy, 12, 8)) {
      assertEquals(37, reopened.entries());
      assertEquals(1037L, reopened.longAt(36, 0));
      assertEquals(37, reopened.intAt(36, 8));
    }
    crashed.close();
  }

  @Test
  void truncatedEntriesAreNotCountedAfterACrash() throws IOException {
    Path file = dir.resolve("0.index");
    IndexFile index = IndexFile.open(file, 8, 0);
    for (int i = 1; i <= 100; i++) {
      index.append(offsetEntry(i, i * 100));
    }
    index.truncateTo(40);
    assertEquals(40, index.entries());
    // What a crash now would leave (a copy: a second opener of the same file would cut it on close).
    Path crashCopy = dir.resolve("copy.index");
    Files.copy(file, crashCopy);
    try (IndexFile reopened = IndexFile.open(crashCopy, 8, 0)) {
      assertEquals(40, reopened.entries());
    }
    index.append(offsetEntry(41, 4100));
    index.close();
    try (IndexFile reopened = IndexFile.open(file, 8, 0)) {
      assertEquals(41, reopened.entries());
      assertEquals(4100, reopened.intAt(40, 4));
    }
  }

  @Test
  void aTornLastEntryIsDropped() throws IOException {
    Path file = dir.resolve("0.index");
    ByteBuffer bytes = ByteBuffer.allocate(8 * 3 + 5);
    bytes.putInt(1).putInt(100).putInt(2).putInt(200).putInt(3).putInt(300).put(new byte[] {9, 9, 9, 9, 9});
    Files.write(file, bytes.array());
    try (IndexFile index = IndexFile.open(file, 8, 0)) {
      assertEquals(3, index.entries());
    }
    assertEquals(24, Files.size(file));
  }

  @Test
  void useAfterCloseFailsInsteadOfTouchingUnmappedMemory() throws IOException {
    IndexFile index = IndexFile.open(dir.resolve("0.index"), 8, 0);
    index.append(offsetEntry(1, 100));
    index.close();
    assertThrows(IOException.class, () -> index.intAt(0, 0));
    assertThrows(IOException.class, () -> index.append(offsetEntry(2, 200)));
    assertThrows(IOException.class, index::force);
    index.close();
  }

  @Test
  void readsOutsideTheEntriesAreRefused() throws IOException {
    try (IndexFile index = IndexFile.open(dir.resolve("0.index"), 8, 0)) {
      index.append(offsetEntry(1, 100));
      assertThrows(IndexOutOfBoundsException.class, () -> index.intAt(1, 0));
      assertThrows(IllegalArgumentException.class, () -> index.truncateTo(2));
    }
  }
}
