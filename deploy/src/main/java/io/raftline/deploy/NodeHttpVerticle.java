package io.raftline.deploy;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.function.Supplier;

/**
 * The node's HTTP listener ({@code http.listener}): {@code GET /metrics} in the Prometheus text format
 * (OpenMetrics when the scraper asks for it), {@code GET /health/live} (200 while the process serves
 * HTTP at all), and {@code GET /health/ready} (200 when {@link Readiness} says so, else 503 with what is
 * missing). Plain Vert.x core HTTP: three fixed routes do not need a router.
 */
final class NodeHttpVerticle extends VerticleBase {
  static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
  static final String OPENMETRICS_TEXT = "application/openmetrics-text; version=1.0.0; charset=utf-8";
  private static final String JSON = "application/json";

  private final String host;
  private final int port;
  private final PrometheusMeterRegistry registry;
  private final Supplier<Readiness> readiness;
  private volatile HttpServer server;

  NodeHttpVerticle(String host, int port, PrometheusMeterRegistry registry, Supplier<Readiness> readiness) {
    this.host = host;
    this.port = port;
    this.registry = registry;
    this.readiness = readiness;
  }

  /** The bound port; -1 before the server listens. */
  int port() {
    HttpServer s = server;
    return s == null ? -1 : s.actualPort();
  }

  @Override
  public Future<?> start() {
    return vertx.createHttpServer(new HttpServerOptions().setHost(host).setPort(port))
        .requestHandler(this::handle)
        .listen()
        .onSuccess(s -> server = s);
  }

  @Override
  public Future<?> stop() {
    HttpServer s = server;
    return s == null ? Future.succeededFuture() : s.close();
  }

  private void handle(HttpServerRequest request) {
    HttpServerResponse response = request.response();
    String path = request.path();
    boolean known = path.equals("/metrics") || path.equals("/health/live") || path.equals("/health/ready");
    if (!known) {
      json(response, 404, new JsonObject().put("error", "not found").put("paths",
          new JsonArray().add("/metrics").add("/health/live").add("/health/ready")));
      return;
    }
    if (request.method() != HttpMethod.GET) {
      response.putHeader("Allow", "GET");
      json(response, 405, new JsonObject().put("error", "only GET is allowed"));
      return;
    }
    if (path.equals("/metrics")) {
      metrics(request, response);
    } else if (path.equals("/health/live")) {
      json(response, 200, new JsonObject().put("status", "live"));
    } else {
      Readiness r = readiness.get();
      json(response, r.ready() ? 200 : 503, r.toJson());
    }
  }

  private void metrics(HttpServerRequest request, HttpServerResponse response) {
    String accept = request.getHeader("Accept");
    String contentType = accept != null && accept.contains("application/openmetrics-text") ? OPENMETRICS_TEXT
        : PROMETHEUS_TEXT;
    // A scrape walks every meter and formats text: CPU work that grows with the number of meters
    // (partitions, later), so it runs on a worker rather than on this event loop.
    vertx.executeBlocking(() -> registry.scrape(contentType), false).onComplete(ar -> {
      if (ar.succeeded()) {
        response.putHeader("Content-Type", contentType).end(ar.result());
      } else {
        json(response, 500, new JsonObject().put("error", "scrape failed: " + ar.cause()));
      }
    });
  }

  private static void json(HttpServerResponse response, int status, JsonObject body) {
    response.setStatusCode(status).putHeader("Content-Type", JSON).end(body.encode());
  }
}
