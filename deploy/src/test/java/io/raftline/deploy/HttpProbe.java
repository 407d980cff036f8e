package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Plain HTTP GETs against a node's HTTP listener, from the test thread. */
final class HttpProbe {
  private static final long DEADLINE_MS = 30_000;
  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private static final Pattern HTTP_AT = Pattern.compile("http at (\\S+:\\d+)");

  private HttpProbe() {}

  /** The {@code host:port} after "http at" in a node's ready line. */
  static String httpAddress(String readyLine) {
    Matcher m = HTTP_AT.matcher(readyLine);
    if (!m.find()) {
      throw new AssertionError("no http address in: " + readyLine);
    }
    return m.group(1);
  }

  /** GET with optional header name/value pairs. */
  static HttpResponse<String> get(String hostPort, String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + hostPort + path))
        .timeout(Duration.ofSeconds(10));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> post(String hostPort, String path) throws Exception {
    return CLIENT.send(HttpRequest.newBuilder(URI.create("http://" + hostPort + path)).timeout(Duration.ofSeconds(10))
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Polls until {@code path} answers {@code status}; fails with the last answer at the deadline. */
  static HttpResponse<String> awaitStatus(String hostPort, String path, int status) throws Exception {
    long deadline = System.currentTimeMillis() + DEADLINE_MS;
    HttpResponse<String> last = get(hostPort, path);
    while (last.statusCode() != status && System.currentTimeMillis() < deadline) {
      Thread.sleep(50);
      last = get(hostPort, path);
    }
    assertEquals(status, last.statusCode(), path + " answered: " + last.body());
    return last;
  }
}
