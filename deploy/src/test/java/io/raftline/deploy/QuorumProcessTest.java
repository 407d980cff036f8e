package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three combined nodes as real processes, started from configs with {@code raftline node --config}:
 * kill -9 of the quorum leader's process, a new leader is elected, and metadata writes commit again.
 */
class QuorumProcessTest {
  @TempDir Path dir;
  private NodeProcesses processes;

  @AfterEach
  void killLeftovers() throws InterruptedException {
    if (processes != null) {
      processes.close();
    }
  }

  private static int leaderIn(CliTest.Result describe) {
    for (String line : describe.lines()) {
      if (line.startsWith("LeaderId:")) {
        return Integer.parseInt(line.substring("LeaderId:".length()).trim());
      }
    }
    throw new AssertionError("no LeaderId in " + describe);
  }

  @Test
  void killingTheLeaderProcessElectsANewLeaderAndWritesCommitAgain() throws Exception {
    processes = new NodeProcesses(dir);
    int[] brokerPorts = new int[3];
    int[] controllerPorts = new int[3];
    StringBuilder voters = new StringBuilder();
    for (int i = 0; i < 3; i++) {
      brokerPorts[i] = TestNodes.freePort();
      controllerPorts[i] = TestNodes.freePort();
      voters.append(i == 0 ? "" : ",").append(i + 1).append("@127.0.0.1:").append(controllerPorts[i]);
    }
    String clusterId = Storage.randomClusterId();
    List<Process> nodes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Properties p = new Properties();
      p.setProperty("process.roles", "broker,controller");
      p.setProperty("node.id", Integer.toString(i + 1));
      p.setProperty("controller.quorum.voters", voters.toString());
      p.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + brokerPorts[i] + ",CONTROLLER://127.0.0.1:" + controllerPorts[i]);
      p.setProperty("log.dirs", dir.resolve("data-" + (i + 1)).toString());
      p.setProperty("http.listener", "127.0.0.1:0");
      Path config = processes.writeConfig("node-" + (i + 1) + ".properties", p);
      assertEquals(0, CliTest.cli("", "storage", "format", "--config", config.toString(), "--cluster-id", clusterId).exit());
      nodes.add(processes.launch("node", "--config", config.toString()));
    }
    for (Process node : nodes) {
      NodeProcesses.awaitReadyLine(node);
    }

    CliTest.Result before = CliTest.cli("", "quorum", "describe", "--bootstrap-controller", "127.0.0.1:" + controllerPorts[0]);
    assertEquals(0, before.exit(), before.err());
    assertTrue(before.out().contains("CurrentVoters:  [1,2,3]"), before.out());
    int oldLeader = leaderIn(before);
    CliTest.Result replication = CliTest.cli("", "quorum", "describe", "--bootstrap-controller",
        "127.0.0.1:" + controllerPorts[0], "--replication");
    assertEquals(4, replication.lines().size(), replication.out());
    assertTrue(replication.out().contains("Leader") && replication.out().contains("Follower"), replication.out());

    int survivor = oldLeader == 1 ? 1 : 0; // index of a node that stays up
    String bootstrap = "127.0.0.1:" + brokerPorts[survivor];
    assertEquals(0, CliTest.cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "before").exit());

    long killedAt = System.nanoTime();
    nodes.get(oldLeader - 1).destroyForcibly(); // SIGKILL: no resignation, no flush
    CliTest.Result created = CliTest.cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "after");
    long failoverMs = (System.nanoTime() - killedAt) / 1_000_000;
    assertEquals(0, created.exit(), created.err());
    System.out.println("create-topic committed " + failoverMs + " ms after kill -9 of the leader");

    CliTest.Result after = CliTest.cli("", "quorum", "describe", "--bootstrap-controller",
        "127.0.0.1:" + controllerPorts[survivor]);
    assertEquals(0, after.exit(), after.err());
    assertNotEquals(oldLeader, leaderIn(after));
    CliTest.Result listed = CliTest.cli("", "topics", "list", "--bootstrap-server", bootstrap);
    assertTrue(listed.lines().containsAll(List.of("before", "after")), listed.out());
  }
}
