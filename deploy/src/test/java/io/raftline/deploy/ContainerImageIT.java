package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The container image tarball {@code mvn package} makes on Debian-based machines (profile
 * container-image): a {@code docker load} archive whose config runs bin/raftline as user 1000, and
 * whose one layer is a root file system that really runs a node. No container engine runs here, so
 * the layer is unpacked and entered with chroot in new mount and pid namespaces (/proc and /dev
 * mounted as a runtime would); that part is skipped where namespaces are not allowed.
 */
class ContainerImageIT {
  private static final String IMAGE = System.getProperty("raftline.image", "");
  private static final String VERSION = System.getProperty("raftline.version");

  @TempDir Path dir;

  private static String run(Path workDir, String... command) throws Exception {
    Process p = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "finished: " + String.join(" ", command));
    assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + out);
    return out;
  }

  private static boolean namespacesAllowed() {
    try {
      Process p = new ProcessBuilder("unshare", "--mount", "--pid", "--fork", "true").redirectErrorStream(true).start();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (Exception e) {
      return false;
    }
  }

  @Test
  void imageRunsANodeAsUser1000() throws Exception {
    Assumptions.assumeTrue(!IMAGE.isEmpty(), "the container-image profile was not active (not a Debian-based build)");
    assertTrue(Files.isRegularFile(Path.of(IMAGE)), "no image at " + IMAGE);
    Path archive = Files.createDirectories(dir.resolve("archive"));
    run(archive, "tar", "-xf", IMAGE);

    JsonObject manifest = new JsonArray(Files.readString(archive.resolve("manifest.json"))).getJsonObject(0);
    assertEquals(List.of("raftline:" + VERSION), manifest.getJsonArray("RepoTags").getList());
    JsonObject config = new JsonObject(Files.readString(archive.resolve(manifest.getString("Config"))));
    JsonObject container = config.getJsonObject("config");
    assertEquals(List.of("/opt/raftline/bin/raftline"), container.getJsonArray("Entrypoint").getList());
    assertEquals("1000", container.getString("User"));
    assertTrue(container.getJsonArray("Env").getList().contains("PATH=/opt/java/bin:/opt/raftline/bin:/usr/bin:/bin"),
        container.encode());
    String layer = manifest.getJsonArray("Layers").getString(0);
    String diffId = config.getJsonObject("rootfs").getJsonArray("diff_ids").getString(0);
    assertEquals("sha256:" + layer.substring(0, layer.indexOf('/')), diffId, "the layer is named by its digest");

    Path rootfs = Files.createDirectories(dir.resolve("rootfs"));
    run(rootfs, "tar", "-xf", archive.resolve(layer).toString());
    for (String must : List.of("bin/sh", "bin/sed", "usr/bin/dirname", "lib64/ld-linux-x86-64.so.2",
        "opt/java/bin/java", "opt/raftline/bin/raftline", "opt/raftline/lib/raftline-deploy-" + VERSION + "-dist.jar",
        "opt/raftline/config/dev.properties", "opt/raftline/image-packages.txt")) {
      assertTrue(Files.exists(rootfs.resolve(must), java.nio.file.LinkOption.NOFOLLOW_LINKS), "missing " + must);
    }
    assertTrue(Files.readString(rootfs.resolve("etc/passwd")).contains("raftline:x:1000:1000:"));

    Assumptions.assumeTrue(namespacesAllowed(), "no mount/pid namespaces here: the image's files were checked only");
    int brokerPort = TestNodes.freePort();
    int controllerPort = TestNodes.freePort();
    // As a runtime would: /proc and /dev mounted, user 1000, the image's PATH and working directory.
    String inside = "PATH=/opt/java/bin:/opt/raftline/bin:/usr/bin:/bin HOME=/home/raftline sh -c 'cd /var/lib/raftline"
        + " && exec raftline node --override listeners=PLAINTEXT://127.0.0.1:" + brokerPort
        + ",CONTROLLER://127.0.0.1:" + controllerPort + " --override controller.quorum.voters=1@127.0.0.1:"
        + controllerPort + " --override http.listener=127.0.0.1:0'";
    // The shell stays as the namespace's pid 1 (root, killed with unshare by --kill-child) rather than exec
    // into the node: a process that changed its user loses that death signal, and a pid namespace ends
    // all its processes only when its pid 1 dies.
    String script = "mount -t proc proc '" + rootfs.resolve("proc") + "' && mount --bind /dev '" + rootfs.resolve("dev")
        + "' && { chroot --userspec=1000:1000 '" + rootfs + "' /usr/bin/env -i " + inside + " & wait; }";
    Process node = new ProcessBuilder("unshare", "--mount", "--pid", "--fork", "--kill-child", "sh", "-c", script)
        .redirectErrorStream(true).start();
    try {
      // Read on a thread of its own, so a node that goes silent cannot hold the test past its deadline.
      java.util.concurrent.BlockingQueue<String> lines = new java.util.concurrent.LinkedBlockingQueue<>();
      Thread reader = new Thread(() -> new BufferedReader(new InputStreamReader(node.getInputStream(),
          StandardCharsets.UTF_8)).lines().forEach(lines::add), "image-node-output");
      reader.setDaemon(true);
      reader.start();
      long deadline = System.currentTimeMillis() + 90_000;
      StringBuilder seen = new StringBuilder();
      String ready = null;
      while (ready == null && System.currentTimeMillis() < deadline) {
        String line = lines.poll(100, TimeUnit.MILLISECONDS);
        if (line != null) {
          seen.append(line).append('\n');
          ready = line.contains(" ready: ") ? line : null;
        } else if (!node.isAlive() && lines.isEmpty()) {
          break;
        }
      }
      assertTrue(ready != null, "no ready line from the node in the image:\n" + seen);
      assertTrue(ready.contains("127.0.0.1:" + brokerPort) && ready.contains("/var/lib/raftline/data"), ready);
      assertEquals(0, CliTest.cli("", "topics", "create", "--bootstrap-server", "127.0.0.1:" + brokerPort, "--topic",
          "from-outside").exit(), "a client outside reaches the node inside");
    } finally {
      node.destroyForcibly();
      node.waitFor(30, TimeUnit.SECONDS);
    }
    // Nothing of the image may outlive the test: the node inside is gone once its port is closed.
    long deadline = System.currentTimeMillis() + 30_000;
    while (listening(brokerPort)) {
      assertTrue(System.currentTimeMillis() < deadline, "the node in the image outlived its namespace");
      Thread.sleep(50);
    }
  }

  private static boolean listening(int port) {
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
      return true;
    } catch (java.io.IOException refused) {
      return false;
    }
  }
}
