package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.metadata.QuorumVoter;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The manifests in {@code deploy/kubernetes/}: every YAML document parses, and the parts that must
 * agree do: container ports and probes with the listeners in the ConfigMap's node properties (after
 * the init container's rendering, which must give a valid node config for every pod), Service and
 * PodDisruptionBudget selectors with the StatefulSets' pod labels, and the voters with the controller pods.
 */
class KubernetesManifestsTest {
  /** Surefire runs in the module directory. */
  private static final Path DIR = Path.of("kubernetes");
  private static final Pattern TEMPLATE = Pattern.compile("/etc/raftline/template/(\\S+\\.properties) > (\\S+)");
  private static final Pattern OFFSET = Pattern.compile("node_id=\\$\\(\\( \\$\\{HOSTNAME##\\*-\\} \\+ (\\d+) \\)\\)");

  private static final List<Map<String, Object>> DOCS = new ArrayList<>();

  @BeforeAll
  static void parseEveryDocument() throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.list(DIR)) {
      files = s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
    }
    assertFalse(files.isEmpty(), "no manifests in " + DIR.toAbsolutePath());
    for (Path f : files) {
      Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
      try (Reader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
        for (Object doc : yaml.loadAll(r)) {
          if (doc == null) {
            continue; // an empty document between two '---'
          }
          assertTrue(doc instanceof Map, f + ": a document is not a mapping: " + doc);
          Map<String, Object> m = asMap(doc);
          assertNotNull(m.get("apiVersion"), f + ": a document has no apiVersion");
          assertNotNull(m.get("kind"), f + ": a document has no kind");
          assertNotNull(str(m, "metadata", "name"), f + ": a " + m.get("kind") + " has no metadata.name");
          DOCS.add(m);
        }
      }
    }
  }

  // ---- navigation ---------------------------------------------------------------------------------

  @SuppressWarnings("unchecked")
  private static Map<String, Object> asMap(Object o) {
    return (Map<String, Object>) o;
  }

  private static Object at(Object root, String... path) {
    Object o = root;
    for (String key : path) {
      if (!(o instanceof Map)) {
        return null;
      }
      o = asMap(o).get(key);
    }
    return o;
  }

  private static Map<String, Object> map(Object root, String... path) {
    Object o = at(root, path);
    assertTrue(o instanceof Map, String.join(".", path) + " is not a mapping: " + o);
    return asMap(o);
  }

  private static List<Map<String, Object>> maps(Object root, String... path) {
    Object o = at(root, path);
    if (o == null) {
      return List.of();
    }
    assertTrue(o instanceof List, String.join(".", path) + " is not a list: " + o);
    List<Map<String, Object>> out = new ArrayList<>();
    for (Object e : (List<?>) o) {
      out.add(asMap(e));
    }
    return out;
  }

  private static String str(Object root, String... path) {
    Object o = at(root, path);
    return o == null ? null : o.toString();
  }

  private static List<Map<String, Object>> ofKind(String kind) {
    return DOCS.stream().filter(d -> kind.equals(d.get("kind"))).toList();
  }

  private static String name(Map<String, Object> doc) {
    return str(doc, "metadata", "name");
  }

  private static Map<String, Object> configMap() {
    List<Map<String, Object>> cms = ofKind("ConfigMap");
    assertEquals(1, cms.size(), "one ConfigMap");
    return cms.get(0);
  }

  private static Map<String, Object> mainContainer(Map<String, Object> sts) {
    List<Map<String, Object>> containers = maps(sts, "spec", "template", "spec", "containers");
    assertEquals(1, containers.size(), name(sts) + " has one container");
    return containers.get(0);
  }

  private static String initScript(Map<String, Object> sts) {
    List<Map<String, Object>> inits = maps(sts, "spec", "template", "spec", "initContainers");
    assertEquals(1, inits.size(), name(sts) + " formats storage in one init container");
    List<?> command = (List<?>) inits.get(0).get("command");
    return command.get(command.size() - 1).toString();
  }

  /** What the StatefulSet's init container makes of the ConfigMap template for pod {@code ordinal}. */
  private static NodeConfig rendered(Map<String, Object> sts, int ordinal) throws IOException {
    String script = initScript(sts);
    Matcher t = TEMPLATE.matcher(script);
    assertTrue(t.find(), name(sts) + ": no template rendering in " + script);
    Matcher o = OFFSET.matcher(script);
    assertTrue(o.find(), name(sts) + ": no node id from the ordinal in " + script);
    String template = str(configMap(), "data", t.group(1));
    assertNotNull(template, name(sts) + " renders " + t.group(1) + ", which the ConfigMap lacks");
    Properties p = new Properties();
    p.load(new StringReader(template.replace("__POD_IP__", "10.1.2." + (10 + ordinal))));
    p.setProperty("node.id", Integer.toString(ordinal + Integer.parseInt(o.group(1))));
    return NodeConfig.from(p);
  }

  private static int replicas(Map<String, Object> sts) {
    return ((Number) at(sts, "spec", "replicas")).intValue();
  }

  /** A probe's or service's port, by number or by the container port's name. */
  private static int resolvePort(Map<String, Object> container, Object port) {
    if (port instanceof Number) {
      return ((Number) port).intValue();
    }
    for (Map<String, Object> p : maps(container, "ports")) {
      if (port.equals(p.get("name"))) {
        return ((Number) p.get("containerPort")).intValue();
      }
    }
    throw new AssertionError("no container port named " + port + " in " + container.get("ports"));
  }

  private static boolean selects(Map<String, Object> selector, Map<String, Object> labels) {
    return !selector.isEmpty() && labels.entrySet().containsAll(selector.entrySet());
  }

  private static Map<String, Object> podLabels(Map<String, Object> sts) {
    return map(sts, "spec", "template", "metadata", "labels");
  }

  // ---- checks -------------------------------------------------------------------------------------

  @Test
  void everyDocumentParsesAndTheExpectedObjectsAreThere() {
    assertEquals(2, ofKind("StatefulSet").size(), "a StatefulSet for controllers and one for brokers");
    assertEquals(2, ofKind("PodDisruptionBudget").size());
    assertTrue(ofKind("Service").stream().filter(s -> "None".equals(str(s, "spec", "clusterIP"))).count() >= 2,
        "headless Services");
    Set<String> ids = new HashSet<>();
    for (Map<String, Object> d : DOCS) {
      assertTrue(ids.add(d.get("kind") + "/" + name(d)), "declared twice: " + d.get("kind") + "/" + name(d));
    }
    Storage.checkClusterId(str(configMap(), "data", "cluster.id"));
  }

  @Test
  void everyPodRendersAValidNodeConfigAndItsContainerPortsAreItsListeners() throws IOException {
    for (Map<String, Object> sts : ofKind("StatefulSet")) {
      for (int ordinal = 0; ordinal < replicas(sts); ordinal++) {
        NodeConfig c = rendered(sts, ordinal);
        Set<Integer> expected = new HashSet<>();
        if (c.controllerListener() != null) {
          expected.add(c.controllerListener().port());
        }
        if (c.brokerListener() != null) {
          expected.add(c.brokerListener().port());
        }
        assertNotNull(c.httpListener(), name(sts) + " needs the HTTP listener for its probes");
        assertFalse(c.httpListener().host().startsWith("127."), "probes come from outside the pod: " + c.httpListener());
        expected.add(c.httpListener().port());
        Set<Integer> declared = new HashSet<>();
        for (Map<String, Object> p : maps(mainContainer(sts), "ports")) {
          declared.add(((Number) p.get("containerPort")).intValue());
        }
        assertEquals(expected, declared, name(sts) + ": container ports vs the listeners in its properties");
        assertEquals(c.httpListener().port(), resolvePort(mainContainer(sts), "http"), "the port named http");
      }
    }
  }

  @Test
  void probesAreHealthEndpointsOnTheHttpPort() throws IOException {
    for (Map<String, Object> sts : ofKind("StatefulSet")) {
      Map<String, Object> c = mainContainer(sts);
      int httpPort = rendered(sts, 0).httpListener().port();
      assertEquals("/health/ready", str(c, "readinessProbe", "httpGet", "path"), name(sts));
      assertEquals(httpPort, resolvePort(c, at(c, "readinessProbe", "httpGet", "port")), name(sts) + " readiness port");
      assertEquals("/health/live", str(c, "livenessProbe", "httpGet", "path"), name(sts));
      assertEquals(httpPort, resolvePort(c, at(c, "livenessProbe", "httpGet", "port")), name(sts) + " liveness port");
    }
  }

  @Test
  void everyServiceAndBudgetSelectsAStatefulSetsPods() {
    List<Map<String, Object>> sets = ofKind("StatefulSet");
    for (Map<String, Object> svc : ofKind("Service")) {
      Map<String, Object> selector = map(svc, "spec", "selector");
      List<Map<String, Object>> matched = sets.stream().filter(s -> selects(selector, podLabels(s))).toList();
      assertFalse(matched.isEmpty(), "Service " + name(svc) + " selects no StatefulSet's pods: " + selector);
      for (Map<String, Object> port : maps(svc, "spec", "ports")) {
        Object target = port.getOrDefault("targetPort", port.get("port"));
        for (Map<String, Object> sts : matched) {
          resolvePort(mainContainer(sts), target); // fails if the pod has no such port
        }
      }
    }
    for (Map<String, Object> pdb : ofKind("PodDisruptionBudget")) {
      Map<String, Object> selector = map(pdb, "spec", "selector", "matchLabels");
      assertTrue(sets.stream().anyMatch(s -> selects(selector, podLabels(s))), "PDB " + name(pdb) + " selects nothing");
    }
    for (Map<String, Object> sts : sets) {
      assertTrue(selects(map(sts, "spec", "selector", "matchLabels"), podLabels(sts)),
          name(sts) + ": spec.selector must match its own pod labels");
      String serviceName = str(sts, "spec", "serviceName");
      assertTrue(ofKind("Service").stream().anyMatch(svc -> name(svc).equals(serviceName)
              && "None".equals(str(svc, "spec", "clusterIP")) && selects(map(svc, "spec", "selector"), podLabels(sts))),
          name(sts) + ": serviceName " + serviceName + " must be a headless Service selecting its pods");
    }
  }

  @Test
  void theVotersAreTheControllerPodsByTheirStableNames() throws IOException {
    Map<String, Object> controllers = null;
    for (Map<String, Object> sts : ofKind("StatefulSet")) {
      if (rendered(sts, 0).isController()) {
        controllers = sts;
      }
    }
    assertNotNull(controllers, "a StatefulSet of controllers");
    List<QuorumVoter> expected = new ArrayList<>();
    for (int ordinal = 0; ordinal < replicas(controllers); ordinal++) {
      NodeConfig c = rendered(controllers, ordinal);
      expected.add(new QuorumVoter(c.nodeId(), name(controllers) + "-" + ordinal + "." + str(controllers, "spec",
          "serviceName"), c.controllerListener().port()));
    }
    for (Map<String, Object> sts : ofKind("StatefulSet")) {
      assertEquals(expected, rendered(sts, 0).voters(), name(sts) + ": controller.quorum.voters");
    }
    assertEquals(replicas(controllers) % 2, 1, "an odd number of voters");
  }

  @Test
  void nodeIdsAreDistinctAcrossAllPods() throws IOException {
    Set<Integer> ids = new HashSet<>();
    for (Map<String, Object> sts : ofKind("StatefulSet")) {
      for (int ordinal = 0; ordinal < replicas(sts); ordinal++) {
        assertTrue(ids.add(rendered(sts, ordinal).nodeId()), name(sts) + "-" + ordinal + " repeats a node id");
      }
    }
  }

  @Test
  void theNodeReadsTheRenderedConfigAndWritesToItsVolume() throws IOException {
    for (Map<String, Object> sts : ofKind("StatefulSet")) {
      Matcher t = TEMPLATE.matcher(initScript(sts));
      assertTrue(t.find());
      String renderedFile = t.group(2);
      Map<String, Object> c = mainContainer(sts);
      List<?> command = (List<?>) c.get("command");
      int at = command.indexOf("--config");
      assertTrue(at >= 0 && command.get(at + 1).equals(renderedFile), name(sts) + " runs with " + renderedFile
          + ": " + command);
      assertTrue(initScript(sts).contains("storage format --config " + renderedFile), name(sts) + " formats with it");
      assertTrue(initScript(sts).contains("--ignore-formatted"), name(sts) + ": a restarted pod keeps its data");
      String dataMount = null;
      for (Map<String, Object> m : maps(c, "volumeMounts")) {
        if ("data".equals(m.get("name"))) {
          dataMount = m.get("mountPath").toString();
        }
      }
      assertNotNull(dataMount, name(sts) + " mounts its data volume");
      for (Path dir : rendered(sts, 0).allDirs()) {
        assertTrue(dir.startsWith(Path.of(dataMount)), name(sts) + ": " + dir + " is not on the volume at " + dataMount);
      }
      assertTrue(maps(sts, "spec", "volumeClaimTemplates").stream().anyMatch(v -> "data".equals(str(v, "metadata",
          "name"))), name(sts) + " claims a volume per pod");
    }
  }
}
