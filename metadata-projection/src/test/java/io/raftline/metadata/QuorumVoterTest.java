package io.raftline.metadata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class QuorumVoterTest {
  @Test
  void parsesKafkasVoterList() {
    assertEquals(List.of(new QuorumVoter(1, "127.0.0.1", 9093), new QuorumVoter(2, "localhost", 19093)),
        QuorumVoter.parseList("1@127.0.0.1:9093, 2@localhost:19093"));
  }

  @Test
  void refusesMalformedEntries() {
    for (String bad : List.of("", "1", "1@host", "x@h:1", "1@h:x", "1@:5", "1@h:70000", "1@h:1,1@h:2", "-1@h:1")) {
      assertThrows(IllegalArgumentException.class, () -> QuorumVoter.parseList(bad), bad);
    }
  }
}
