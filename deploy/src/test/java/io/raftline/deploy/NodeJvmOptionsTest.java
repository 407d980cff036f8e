package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class NodeJvmOptionsTest {
  @Test
  void smallMachinesCompileWithC1OnlyLargerOnesKeepTheJvmDefault() {
    assertEquals(List.of("-XX:TieredStopAtLevel=1"), NodeJvmOptions.defaults(1));
    assertEquals(List.of("-XX:TieredStopAtLevel=1"), NodeJvmOptions.defaults(2));
    assertEquals(List.of(), NodeJvmOptions.defaults(3));
    assertEquals(List.of(), NodeJvmOptions.defaults(64));
  }

  @Test
  void theOperatorsOptionsComeLastSoTheyWin() {
    assertEquals(List.of("-XX:TieredStopAtLevel=1", "-XX:TieredStopAtLevel=4", "-Xmx1g"),
        NodeJvmOptions.forNode(2, "  -XX:TieredStopAtLevel=4   -Xmx1g "));
    assertEquals(List.of("-Xmx1g"), NodeJvmOptions.forNode(8, "-Xmx1g"));
    assertEquals(List.of(), NodeJvmOptions.forNode(8, "  "));
    assertEquals(List.of("-XX:TieredStopAtLevel=1"), NodeJvmOptions.forNode(2, null));
  }
}
