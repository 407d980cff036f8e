package io.raftline.quorum.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuorumStateFileTest {

  @TempDir Path tmp;

  @Test
  void absentFileReadsAsEmpty() throws IOException {
    assertEquals(Optional.empty(), new QuorumStateFile(tmp.resolve("quorum-state")).read());
  }

  @Test
  void roundTripAndOverwrite() throws IOException {
    Path file = tmp.resolve("meta").resolve("quorum-state"); // parent created on first write
    QuorumStateFile f = new QuorumStateFile(file);
    f.write(QuorumState.initial());
    assertEquals(Optional.of(new QuorumState(0, -1, -1)), f.read());
    f.write(new QuorumState(7, 2, 3));
    assertEquals(Optional.of(new QuorumState(7, 2, 3)), new QuorumStateFile(file).read());
    assertFalse(Files.exists(file.resolveSibling("quorum-state.tmp")), "temp file renamed away");
    String text = Files.readString(file);
    assertTrue(text.contains("epoch=7\n") && text.contains("votedFor=2\n") && text.contains("\ncrc="), text);
  }

  @Test
  void editedValueFailsTheChecksum() throws IOException {
    Path file = tmp.resolve("quorum-state");
    QuorumStateFile f = new QuorumStateFile(file);
    f.write(new QuorumState(7, 2, 3));
    Files.writeString(file, Files.readString(file).replace("votedFor=2", "votedFor=1"));
    CorruptLogException e = assertThrows(CorruptLogException.class, f::read);
    assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("checksum"), e.getMessage());
  }

  @Test
  void truncatedFileIsDetected() throws IOException {
    Path file = tmp.resolve("quorum-state");
    QuorumStateFile f = new QuorumStateFile(file);
    f.write(new QuorumState(7, 2, 3));
    byte[] bytes = Files.readAllBytes(file);
    Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length / 2));
    assertThrows(CorruptLogException.class, f::read);
    Files.write(file, new byte[0]);
    assertThrows(CorruptLogException.class, f::read);
  }

  @Test
  void flippedByteIsDetected() throws IOException {
    Path file = tmp.resolve("quorum-state");
    QuorumStateFile f = new QuorumStateFile(file);
    f.write(new QuorumState(12, 1, 1));
    byte[] bytes = Files.readAllBytes(file);
    int i = new String(bytes, StandardCharsets.UTF_8).indexOf("epoch=12") + 6;
    bytes[i] = '9';
    Files.write(file, bytes);
    assertThrows(CorruptLogException.class, f::read);
  }

  @Test
  void stateRejectsInvalidIds() {
    assertThrows(IllegalArgumentException.class, () -> new QuorumState(-1, -1, -1));
    assertThrows(IllegalArgumentException.class, () -> new QuorumState(0, -2, -1));
  }
}
