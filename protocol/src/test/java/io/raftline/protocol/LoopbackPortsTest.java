package io.raftline.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LoopbackPortsTest {
  @Test
  void portsAreDistinctBindableAndOutsideTheEphemeralRange() throws Exception {
    List<Integer> ports = LoopbackPorts.distinct(40);
    assertEquals(40, new HashSet<>(ports).size(), "distinct: " + ports);
    int ephemeralLow = LoopbackPorts.ephemeralLow();
    for (int port : ports) {
      if (ephemeralLow > 0) {
        // Outgoing connections and bind(0) take ports from the ephemeral range; these must not be there.
        assertTrue(port < ephemeralLow, port + " is in the ephemeral range starting at " + ephemeralLow);
      }
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
      }
    }
  }

  @Test
  void laterCallsNeverRepeatAPortHandedOutBefore() throws Exception {
    Set<Integer> seen = new HashSet<>(LoopbackPorts.distinct(20));
    for (int i = 0; i < 20; i++) {
      int port = LoopbackPorts.one();
      assertTrue(seen.add(port), "port " + port + " handed out twice");
    }
  }

  @Test
  void aBoundPortIsNotHandedOut() throws Exception {
    int port = LoopbackPorts.one();
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
      for (int i = 0; i < 50; i++) {
        int other = LoopbackPorts.one();
        assertTrue(other != port);
        try (ServerSocket s = new ServerSocket()) {
          s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), other), 1);
        }
      }
    }
  }

  @Test
  void negativeCountIsRefused() {
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> LoopbackPorts.distinct(-1));
  }
}
