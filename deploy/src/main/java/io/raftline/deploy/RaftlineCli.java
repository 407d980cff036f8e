package io.raftline.deploy;

import io.raftline.client.ClientConfig;
import io.raftline.client.ClientConfig.HostPort;
import io.raftline.client.ConsumerRecord;
import io.raftline.client.Producer;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.raftline.client.RecordMetadata;
import io.raftline.client.TopicInfo;
import io.raftline.client.TopicSubscription;
import io.raftline.protocol.quorum.DescribeQuorumRequest;
import io.raftline.protocol.quorum.DescribeQuorumResponse;
import io.raftline.protocol.quorum.RaftQuorumGrpcClient;
import io.raftline.protocol.quorum.ReplicaDescription;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * The {@code raftline} command line, with Kafka-tool habits: {@code --bootstrap-server},
 * {@code --topic}, exit 0 on success and 1 with a one-line message on stderr otherwise. Commands that
 * talk to a cluster run on their own Vert.x instance and wait for its futures from the main thread.
 */
// scope INHERIT: every subcommand, at any depth, takes --help (and --version) too.
@Command(name = "raftline", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT,
    version = "raftline 0.1.0", description = "A Kafka-style log with a Raft metadata quorum.",
    subcommands = {RaftlineCli.NodeCommand.class, RaftlineCli.ClusterCommand.class, RaftlineCli.StorageCommand.class,
        RaftlineCli.TopicsCommand.class, RaftlineCli.ProduceCommand.class, RaftlineCli.ConsumeCommand.class,
        RaftlineCli.QuorumCommand.class, RaftlineCli.PerfCommand.class, RaftlineCli.MetadataShellCommand.class,
        RaftlineCli.DumpLogCommand.class, RaftlineCli.ConfigsCommand.class, RaftlineCli.GroupsCommand.class,
        io.raftline.deploy.soak.SoakCommand.class})
public final class RaftlineCli implements Callable<Integer> {
  PrintWriter out;
  PrintWriter err;
  InputStream in = System.in;

  public static void main(String[] args) {
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true), System.in));
  }

  /** Runs one command; the exit code is 0 on success, 1 on any failure. */
  public static int run(String[] args, PrintWriter out, PrintWriter err, InputStream in) {
    RaftlineCli cli = new RaftlineCli();
    cli.out = out;
    cli.err = err;
    cli.in = in;
    CommandLine cl = new CommandLine(cli);
    cl.setOut(out);
    cl.setErr(err);
    cl.setParameterExceptionHandler((e, a) -> {
      err.println("error: " + e.getMessage() + " (see '" + e.getCommandLine().getCommandName() + " --help')");
      return 1;
    });
    cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      err.println("error: " + oneLine(e));
      return 1;
    });
    return cl.execute(args);
  }

  static String oneLine(Throwable e) {
    Throwable t = e;
    while ((t instanceof java.util.concurrent.CompletionException || t.getMessage() == null) && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof BindException) {
      return "cannot listen: " + t.getMessage() + " (is another process using the port in 'listeners'?)";
    }
    String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    return m.replace('\n', ' ');
  }

  @Override
  public Integer call() {
    new CommandLine(this).usage(out);
    return 1;
  }

  /** Waits for a future from a non-Vert.x thread. */
  static <T> T await(Future<T> future, long timeoutMs) throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    future.onComplete(ar -> done.countDown());
    if (!done.await(timeoutMs, TimeUnit.MILLISECONDS)) {
      throw new java.util.concurrent.TimeoutException("no answer within " + timeoutMs + " ms");
    }
    if (future.failed()) {
      Throwable cause = future.cause();
      throw cause instanceof Exception ex ? ex : new RuntimeException(cause);
    }
    return future.result();
  }

  /** Client commands print results, not the connection chatter of the libraries beneath. */
  static void quietLogs() {
    Logger.getLogger("").setLevel(Level.WARNING);
    for (var h : Logger.getLogger("").getHandlers()) {
      h.setLevel(Level.WARNING);
    }
    Logger.getLogger("io.vertx").setLevel(Level.SEVERE);
    Logger.getLogger("io.netty").setLevel(Level.SEVERE);
  }

  /** A command that only groups subcommands: run bare, it shows its usage and fails. */
  abstract static class CommandGroup implements Callable<Integer> {
    @ParentCommand RaftlineCli cli;

    @Override
    public Integer call() {
      new CommandLine(this).usage(cli.out);
      return 1;
    }
  }

  // ---- node ---------------------------------------------------------------------------------------

  /** Exit status of a node stopped by a disk error in its metadata log. */
  static final int EXIT_HALTED = 3;

  @Command(name = "node", description = "Run a Raftline node. Without --config: a development node (node.id 1, "
      + "broker 127.0.0.1:9092, controller 127.0.0.1:9093, metrics and health on http://127.0.0.1:9644, data in ./data, "
      + "formatted on first start).")
  static final class NodeCommand implements Callable<Integer> {
    @ParentCommand RaftlineCli cli;

    @Option(names = "--config", paramLabel = "FILE", description = "Kafka-style properties file")
    Path config;

    @Option(names = "--override", paramLabel = "KEY=VALUE", description = "override one property")
    List<String> overrides = new ArrayList<>();

    /** Set by 'raftline cluster' on the nodes it starts; see LocalCluster. */
    @Option(names = "--stop-with-parent", hidden = true) boolean stopWithParent;

    @Override
    public Integer call() throws Exception {
      Properties props = new Properties();
      if (config != null) {
        try (InputStream in = Files.newInputStream(config)) {
          props.load(in);
        } catch (java.nio.file.NoSuchFileException e) {
          throw new ConfigException("config file " + config + " does not exist");
        }
      } else {
        props.putAll(NodeConfig.devDefaults());
      }
      for (String o : overrides) {
        int eq = o.indexOf('=');
        if (eq <= 0) {
          throw new ConfigException("--override '" + o + "' is not KEY=VALUE");
        }
        props.setProperty(o.substring(0, eq).trim(), o.substring(eq + 1).trim());
      }
      NodeConfig nodeConfig = NodeConfig.from(props);
      if (config == null && !Storage.isFormatted(nodeConfig)) {
        Storage.format(nodeConfig, Storage.randomClusterId(), true);
      }
      String clusterId = Storage.check(nodeConfig);
      Vertx vertx = Vertx.vertx();
      RaftlineNode node;
      try {
        node = await(RaftlineNode.start(vertx, nodeConfig, clusterId), Long.MAX_VALUE);
      } catch (Exception e) {
        await(vertx.close(), 10_000);
        throw e;
      }
      // Handle TERM and INT ourselves: a first signal stops the node cleanly (exit 0); a second one,
      // for an operator who will not wait, stops the process at once.
      CountDownLatch stopRequested = new CountDownLatch(1);
      AtomicLong signals = new AtomicLong();
      sun.misc.SignalHandler onSignal = signal -> {
        if (signals.incrementAndGet() > 1) {
          Runtime.getRuntime().halt(1);
        }
        stopRequested.countDown();
      };
      sun.misc.Signal.handle(new sun.misc.Signal("TERM"), onSignal);
      if (stopWithParent) {
        // The parent forwards Ctrl-C as one SIGTERM; the terminal's own SIGINT to the whole process
        // group would otherwise count as a second signal and halt this node mid-stop.
        sun.misc.Signal.handle(new sun.misc.Signal("INT"), sun.misc.SignalHandler.SIG_IGN);
        // A parent killed with SIGKILL cannot stop its children; they notice and stop cleanly.
        ProcessHandle.current().parent().ifPresent(parent -> parent.onExit().thenRun(stopRequested::countDown));
      } else {
        sun.misc.Signal.handle(new sun.misc.Signal("INT"), onSignal);
      }
      // A failed metadata log stops the process at once, without a controlled shutdown (it needs the
      // quorum this node can no longer take part in); its peers take over as after a crash.
      node.halted().onSuccess(reason -> {
        cli.err.println("Raftline node " + nodeConfig.nodeId() + " halting: " + reason);
        cli.err.flush();
        Runtime.getRuntime().halt(EXIT_HALTED);
      });
      cli.out.println(node.describe());
      cli.out.flush();
      stopRequested.await();
      try {
        await(node.stop(), 30_000);
      } finally {
        // From this thread, not a Vert.x callback: close completes on the caller's side.
        await(vertx.close(), 10_000);
      }
      cli.err.println("Raftline node " + nodeConfig.nodeId() + " stopped");
      cli.err.flush();
      return 0;
    }
  }

  // ---- cluster ------------------------------------------------------------------------------------

  @Command(name = "cluster", description = "Run a local development cluster of N combined nodes on loopback, each a "
      + "child process, on free ports. Ctrl-C (or SIGTERM) stops them all; a second signal kills them at once.")
  static final class ClusterCommand implements Callable<Integer> {
    @ParentCommand RaftlineCli cli;

    @Option(names = "--nodes", required = true, paramLabel = "N", description = "how many nodes (each a voter)")
    int nodes;

    @Option(names = "--dir", paramLabel = "DIR", description = "where configs, data and logs go (default: a new "
        + "temporary directory); a directory from an earlier run restarts that cluster")
    Path dir;

    @Override
    public Integer call() throws Exception {
      Path where = dir != null ? dir : Files.createTempDirectory("raftline-cluster-");
      LocalCluster cluster = LocalCluster.prepare(where, nodes, cli.out);
      CountDownLatch stopRequested = new CountDownLatch(1);
      AtomicLong signals = new AtomicLong();
      sun.misc.SignalHandler onSignal = signal -> {
        if (signals.incrementAndGet() > 1) {
          cluster.kill();
          Runtime.getRuntime().halt(1);
        }
        cluster.requestStop();
        stopRequested.countDown();
      };
      sun.misc.Signal.handle(new sun.misc.Signal("TERM"), onSignal);
      sun.misc.Signal.handle(new sun.misc.Signal("INT"), onSignal);
      // Whatever ends this JVM other than a handled signal (an error, System.exit) takes the nodes along.
      Thread reaper = new Thread(cluster::kill, "raftline-cluster-reaper");
      Runtime.getRuntime().addShutdownHook(reaper);
      try {
        cluster.start(cli.out);
        cli.out.println("Raftline cluster of " + nodes + " node" + (nodes == 1 ? "" : "s") + " ready; bootstrap servers "
            + cluster.bootstrapServers() + "; Ctrl-C stops it");
        cli.out.flush();
        stopRequested.await();
      } finally {
        boolean clean = cluster.stop();
        cli.err.println("Raftline cluster stopped" + (clean ? "" : " (some nodes did not stop cleanly; see their logs in "
            + cluster.dir() + ")"));
        cli.err.flush();
        Runtime.getRuntime().removeShutdownHook(reaper);
      }
      return 0;
    }
  }

  // ---- storage ------------------------------------------------------------------------------------

  @Command(name = "storage", description = "Format and inspect storage.",
      subcommands = {StorageCommand.RandomUuid.class, StorageCommand.Format.class})
  static final class StorageCommand extends CommandGroup {

    @Command(name = "random-uuid", description = "Print a new cluster id.")
    static final class RandomUuid implements Callable<Integer> {
      @ParentCommand StorageCommand parent;

      @Override
      public Integer call() {
        parent.cli.out.println(Storage.randomClusterId());
        return 0;
      }
    }

    @Command(name = "format", description = "Write meta.properties into every directory of a node.")
    static final class Format implements Callable<Integer> {
      @ParentCommand StorageCommand parent;

      @Option(names = "--config", required = true, paramLabel = "FILE") Path config;
      @Option(names = "--cluster-id", required = true, paramLabel = "ID") String clusterId;
      @Option(names = "--ignore-formatted", description = "leave already formatted directories as they are")
      boolean ignoreFormatted;

      @Override
      public Integer call() throws Exception {
        Properties props = new Properties();
        try (InputStream in = Files.newInputStream(config)) {
          props.load(in);
        }
        NodeConfig nodeConfig = NodeConfig.from(props);
        int n = Storage.format(nodeConfig, clusterId, ignoreFormatted, dir -> {
          parent.cli.out.println("Formatting " + dir.toAbsolutePath().normalize());
          parent.cli.out.flush();
        });
        parent.cli.out.println("Formatted " + n + " director" + (n == 1 ? "y" : "ies") + " for cluster " + clusterId);
        return 0;
      }
    }
  }

  // ---- clients ------------------------------------------------------------------------------------

  /** Runs {@code body} with a client connected to {@code bootstrap}, then closes both. */
  static <T> T withClient(String bootstrap, Map<String, String> extra, ClientBody<T> body) throws Exception {
    quietLogs();
    Map<String, String> settings = new HashMap<>(extra);
    settings.put("bootstrap.servers", bootstrap);
    Vertx vertx = Vertx.vertx();
    try {
      RaftlineClient client = RaftlineClient.create(vertx, settings);
      try {
        return body.run(client);
      } finally {
        await(client.close(), 10_000);
      }
    } finally {
      await(vertx.close(), 10_000);
    }
  }

  interface ClientBody<T> {
    T run(RaftlineClient client) throws Exception;
  }

  @Command(name = "topics", description = "Create, list, describe and delete topics.",
      subcommands = {TopicsCommand.Create.class, TopicsCommand.ListTopics.class, TopicsCommand.Describe.class,
          TopicsCommand.Delete.class})
  static final class TopicsCommand extends CommandGroup {

    static final long ADMIN_TIMEOUT_MS = 60_000;

    @Command(name = "create", description = "Create a topic.")
    static final class Create implements Callable<Integer> {
      @ParentCommand TopicsCommand parent;
      @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;
      @Option(names = "--topic", required = true) String topic;
      @Option(names = "--partitions", defaultValue = "-1", description = "default: the broker's num.partitions")
      int partitions;
      @Option(names = "--replication-factor", defaultValue = "-1",
          description = "default: the broker's default.replication.factor")
      int replicationFactor;
      @Option(names = "--replica-assignment", paramLabel = "B:B,B:B",
          description = "the brokers of each partition: partitions separated by ',', their brokers by ':', the "
              + "preferred leader first (e.g. 1:2:3,2:3:1); instead of --partitions and --replication-factor")
      String replicaAssignment;

      @Override
      public Integer call() throws Exception {
        if (replicaAssignment != null) {
          if (partitions != -1 || replicationFactor != -1) {
            throw new IllegalArgumentException("--replica-assignment decides the partitions and replication factor: "
                + "give it without --partitions and --replication-factor");
          }
          Map<Integer, List<Integer>> assignment = parseReplicaAssignment(replicaAssignment);
          withClient(bootstrap, Map.of(), c -> await(c.admin().createTopic(topic, assignment), ADMIN_TIMEOUT_MS));
          parent.cli.out.println("Created topic " + topic + ".");
          return 0;
        }
        if (partitions != -1 && partitions < 1) {
          throw new IllegalArgumentException("--partitions must be at least 1, got " + partitions);
        }
        if (replicationFactor != -1 && replicationFactor < 1) {
          throw new IllegalArgumentException("--replication-factor must be at least 1, got " + replicationFactor);
        }
        withClient(bootstrap, Map.of(), c -> await(c.admin().createTopic(topic, partitions, replicationFactor),
            ADMIN_TIMEOUT_MS));
        parent.cli.out.println("Created topic " + topic + ".");
        return 0;
      }

      /** kafka-topics' format: {@code 1:2:3,2:3:1} is partition 0 on 1,2,3 and partition 1 on 2,3,1. */
      static Map<Integer, List<Integer>> parseReplicaAssignment(String text) {
        Map<Integer, List<Integer>> assignment = new java.util.TreeMap<>();
        String[] partitionLists = text.split(",", -1);
        for (int p = 0; p < partitionLists.length; p++) {
          List<Integer> brokers = new java.util.ArrayList<>();
          for (String b : partitionLists[p].split(":", -1)) {
            try {
              brokers.add(Integer.parseInt(b.trim()));
            } catch (NumberFormatException e) {
              throw new IllegalArgumentException("--replica-assignment: partition " + p + " ('" + partitionLists[p]
                  + "') must be broker ids separated by ':', got '" + b + "'");
            }
          }
          assignment.put(p, brokers);
        }
        return assignment;
      }
    }

    @Command(name = "list", description = "List topics.")
    static final class ListTopics implements Callable<Integer> {
      @ParentCommand TopicsCommand parent;
      @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;
      @Option(names = "--exclude-internal", description = "hide internal topics") boolean excludeInternal;

      @Override
      public Integer call() throws Exception {
        List<String> names = withClient(bootstrap, Map.of(), c -> await(c.admin().listTopics(!excludeInternal),
            ADMIN_TIMEOUT_MS));
        names.forEach(parent.cli.out::println);
        return 0;
      }
    }

    @Command(name = "describe", description = "Describe a topic (or all): partitions, leader, replicas, ISR.")
    static final class Describe implements Callable<Integer> {
      @ParentCommand TopicsCommand parent;
      @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;
      @Option(names = "--topic") String topic;

      @Override
      public Integer call() throws Exception {
        List<TopicInfo> topics = withClient(bootstrap, Map.of(),
            c -> await(c.admin().describeTopics(topic == null ? List.of() : List.of(topic)), ADMIN_TIMEOUT_MS));
        for (TopicInfo t : topics) {
          int rf = t.partitions().isEmpty() ? 0 : t.partitions().get(0).replicas().size();
          parent.cli.out.printf("Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d%n", t.name(),
              t.topicId(), t.partitions().size(), rf);
          for (TopicInfo.PartitionInfo p : t.partitions()) {
            parent.cli.out.printf("\tTopic: %s\tPartition: %d\tLeader: %d\tReplicas: %s\tIsr: %s%n", t.name(),
                p.partition(), p.leader(), join(p.replicas()), join(p.isr()));
          }
        }
        return 0;
      }

      private static String join(List<Integer> ids) {
        return String.join(",", ids.stream().map(String::valueOf).toList());
      }
    }

    @Command(name = "delete", description = "Delete a topic and its data.")
    static final class Delete implements Callable<Integer> {
      @ParentCommand TopicsCommand parent;
      @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;
      @Option(names = "--topic", required = true) String topic;

      @Override
      public Integer call() throws Exception {
        withClient(bootstrap, Map.of(), c -> await(c.admin().deleteTopic(topic), ADMIN_TIMEOUT_MS));
        parent.cli.out.println("Deleted topic " + topic + ".");
        return 0;
      }
    }
  }

  @Command(name = "produce", description = "Send one record per line of standard input.")
  static final class ProduceCommand implements Callable<Integer> {
    @ParentCommand RaftlineCli cli;
    @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;
    @Option(names = "--topic", required = true) String topic;
    @Option(names = "--property", paramLabel = "KEY=VALUE",
        description = "parse.key=true and key.separator=SEP (default a tab) read keyed lines")
    Map<String, String> properties = new LinkedHashMap<>();
    @Option(names = "--producer-property", paramLabel = "KEY=VALUE", description = "a client setting, e.g. acks=1")
    Map<String, String> producerProperties = new LinkedHashMap<>();

    /** Sends are pipelined; this bounds how many wait for an answer at once. */
    private static final int MAX_OUTSTANDING = 10_000;

    @Override
    public Integer call() throws Exception {
      for (String k : properties.keySet()) {
        if (!k.equals("parse.key") && !k.equals("key.separator")) {
          throw new IllegalArgumentException("unknown --property " + k + "; known: parse.key, key.separator");
        }
      }
      boolean parseKey = Boolean.parseBoolean(properties.getOrDefault("parse.key", "false"));
      String separator = properties.getOrDefault("key.separator", "\t");
      long sent = withClient(bootstrap, producerProperties, client -> {
        Producer producer = client.producer();
        ArrayDeque<Future<RecordMetadata>> outstanding = new ArrayDeque<>();
        long count = 0;
        BufferedReader reader = new BufferedReader(new InputStreamReader(cli.in, StandardCharsets.UTF_8));
        String line;
        long lineNo = 0;
        while ((line = reader.readLine()) != null) {
          lineNo++;
          byte[] key = null;
          String value = line;
          if (parseKey) {
            int at = line.indexOf(separator);
            if (at < 0) {
              throw new IllegalArgumentException("line " + lineNo + " has no key separator '" + separator + "'");
            }
            key = line.substring(0, at).getBytes(StandardCharsets.UTF_8);
            value = line.substring(at + separator.length());
          }
          outstanding.add(producer.send(ProducerRecord.of(topic, key, value.getBytes(StandardCharsets.UTF_8))));
          count++;
          if (outstanding.size() >= MAX_OUTSTANDING) {
            await(outstanding.poll(), 300_000);
          }
        }
        await(producer.flush(), 300_000);
        for (Future<RecordMetadata> f : outstanding) {
          await(f, 300_000);
        }
        return count;
      });
      cli.err.println("Sent " + sent + " records to " + topic);
      return 0;
    }
  }

  @Command(name = "consume", description = "Print the values of a topic's records, one per line; with --group, as "
      + "a member of a consumer group that commits as it goes.")
  static final class ConsumeCommand implements Callable<Integer> {
    @ParentCommand RaftlineCli cli;
    @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;
    @Option(names = "--topic", required = true) String topic;
    @Option(names = "--group", paramLabel = "GROUP", description = "read as a member of this consumer group: only the "
        + "partitions it is assigned, from the group's committed offsets, committing every second and on exit")
    String group;
    @Option(names = "--from-beginning", description = "start at the first record instead of the end (with --group: "
        + "where the group has no committed offset)")
    boolean fromBeginning;
    @Option(names = "--max-messages", defaultValue = "-1", description = "exit after this many records")
    long maxMessages;
    @Option(names = "--timeout-ms", defaultValue = "-1", description = "exit after this long without a record")
    long timeoutMs;
    @Option(names = "--property", paramLabel = "KEY=VALUE", description = "print.key=true, key.separator=SEP")
    Map<String, String> properties = new LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
      boolean printKey = Boolean.parseBoolean(properties.getOrDefault("print.key", "false"));
      String separator = properties.getOrDefault("key.separator", "\t");
      Map<String, String> settings = new LinkedHashMap<>();
      settings.put("auto.offset.reset", fromBeginning ? "earliest" : "latest");
      if (group != null) {
        settings.put("enable.auto.commit", "true");
        settings.put("auto.commit.interval.ms", "1000");
      }
      long processed = withClient(bootstrap, settings, client -> {
        // An unknown topic is an error now, not a silent wait until the timeout.
        await(client.admin().describeTopics(List.of(topic)), TopicsCommand.ADMIN_TIMEOUT_MS);
        io.vertx.core.streams.ReadStream<ConsumerRecord> records;
        Runnable stop;
        if (group == null) {
          TopicSubscription subscription = client.subscribe(topic);
          records = subscription;
          stop = subscription::close;
        } else {
          // Closing commits the position after the last printed record, then leaves the group.
          io.raftline.client.GroupConsumer member = client.subscribe(group, List.of(topic));
          records = member;
          stop = member::close;
        }
        AtomicLong count = new AtomicLong();
        AtomicLong lastRecordAt = new AtomicLong(System.currentTimeMillis());
        Promise<Void> finished = Promise.promise();
        Vertx vertx = client.vertx();
        if (group == null) {
          records.exceptionHandler(finished::tryFail);
        } else {
          // A group member recovers from most trouble by itself (rejoining, retrying commits): say so, go on.
          records.exceptionHandler(t -> cli.err.println("warning: group " + group + ": " + t.getMessage()));
        }
        records.endHandler(v -> finished.tryComplete());
        records.handler((ConsumerRecord r) -> {
          if (maxMessages >= 0 && count.get() >= maxMessages) {
            return;
          }
          StringBuilder line = new StringBuilder();
          if (printKey) {
            line.append(r.key() == null ? "null" : new String(r.key(), StandardCharsets.UTF_8)).append(separator);
          }
          line.append(r.value() == null ? "null" : new String(r.value(), StandardCharsets.UTF_8));
          cli.out.println(line);
          lastRecordAt.set(System.currentTimeMillis());
          if (maxMessages >= 0 && count.incrementAndGet() >= maxMessages) {
            // Pausing first (the handler runs on the client's context, so at once) keeps records that
            // will not be printed from being handed over, and so from being committed.
            records.pause();
            stop.run();
          }
        });
        if (timeoutMs >= 0) {
          vertx.setPeriodic(Math.max(10, Math.min(100, timeoutMs)), id -> {
            if (System.currentTimeMillis() - lastRecordAt.get() >= timeoutMs) {
              vertx.cancelTimer(id);
              stop.run();
            }
          });
        }
        await(finished.future(), Long.MAX_VALUE);
        cli.out.flush();
        return count.get();
      });
      cli.err.println("Processed a total of " + processed + " messages");
      return 0;
    }
  }

  @Command(name = "perf", description = "Benchmarks.", subcommands = {PerfCommand.Produce.class,
      PerfCommand.Consume.class, PerfCommand.EndToEnd.class, PerfCommand.Quorum.class, PerfCommand.Failover.class,
      PerfCommand.MetadataImageScale.class, PerfCommand.CreateTopics.class,
      PerfCommand.Restart.class})
  static final class PerfCommand extends CommandGroup {
    @Command(name = "create-topics", description = "Time one CreateTopics request of --topics topics to its answer "
        + "and until every partition has a leader in a describe; repeated --rounds times (topics deleted between).")
    static final class CreateTopics implements Callable<Integer> {
      @ParentCommand PerfCommand parent;
      @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;
      @Option(names = "--topics", defaultValue = "1") int topics;
      @Option(names = "--partitions", defaultValue = "1000", description = "partitions per topic") int partitions;
      @Option(names = "--replication-factor", defaultValue = "1") int replicationFactor;
      @Option(names = "--rounds", defaultValue = "5") int rounds;

      @Override
      public Integer call() throws Exception {
        if (topics < 1 || partitions < 1 || replicationFactor < 1 || rounds < 1) {
          throw new IllegalArgumentException("--topics, --partitions, --replication-factor and --rounds must be >= 1");
        }
        withClient(bootstrap, Map.of(), client -> {
          CreateTopicsBenchmark.run(client, topics, partitions, replicationFactor, rounds, parent.cli.out);
          return null;
        });
        return 0;
      }
    }

    @Command(name = "produce", description = "Producer throughput and latency, in the output format of Kafka's "
        + "producer performance tool.")
    static final class Produce implements Callable<Integer> {
      @ParentCommand PerfCommand parent;
      @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;
      @Option(names = "--topic", required = true) String topic;
      @Option(names = "--num-records", required = true) long records;
      @Option(names = "--record-size", required = true, description = "bytes per record value") int recordSize;
      @Option(names = "--throughput", defaultValue = "-1", description = "records/s to offer; -1: unthrottled")
      long throughput;
      @Option(names = "--acks", defaultValue = "all", description = "0, 1 or all") String acks;
      @Option(names = "--producer-props", paramLabel = "K=V", split = ",", description = "more client settings")
      Map<String, String> props = new LinkedHashMap<>();
      @Option(names = "--max-in-flight-records", defaultValue = "32768", hidden = true) int maxInFlight;
      @Option(names = "--warmup-records", defaultValue = "0", description = "the first N records warm up: a "
          + "second summary line covers the rest only (steady state), as Kafka's tool's option of that name")
      long warmupRecords;

      @Override
      public Integer call() throws Exception {
        if (records < 1 || recordSize < 0) {
          throw new IllegalArgumentException("--num-records must be >= 1 and --record-size >= 0");
        }
        if (warmupRecords < 0 || warmupRecords >= records) {
          throw new IllegalArgumentException("--warmup-records must be >= 0 and less than --num-records");
        }
        Map<String, String> settings = new HashMap<>(props);
        settings.put("acks", acks);
        withClient(bootstrap, settings, client -> {
          ProducerPerformance.run(client, topic, records, recordSize, throughput, maxInFlight, warmupRecords,
              parent.cli.out);
          return null;
        });
        return 0;
      }
    }

    @Command(name = "e2e", description = "End-to-end latency, send to consume, one record at a time; output as "
        + "Kafka's end-to-end latency tool.")
    static final class EndToEnd implements Callable<Integer> {
      @ParentCommand PerfCommand parent;
      @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;
      @Option(names = "--topic", required = true) String topic;
      @Option(names = "--num-records", defaultValue = "10000") int records;
      @Option(names = "--record-size", defaultValue = "100") int recordSize;
      @Option(names = "--acks", defaultValue = "all") String acks;

      @Override
      public Integer call() throws Exception {
        if (records < 1) {
          throw new IllegalArgumentException("--num-records must be >= 1");
        }
        // One record at a time: no lingering, and fetches that return as soon as data is there.
        Map<String, String> settings = new HashMap<>(Map.of("acks", acks,
            "linger.ms", "0", "fetch.max.wait.ms", "500", "auto.offset.reset", "latest"));
        withClient(bootstrap, settings, client -> {
          EndToEndLatency.run(client, topic, records, recordSize, parent.cli.out);
          return null;
        });
        return 0;
      }
    }

    @Command(name = "consume", description = "Consumer throughput from the beginning of a topic, in the output "
        + "format of Kafka's consumer performance tool.")
    static final class Consume implements Callable<Integer> {
      @ParentCommand PerfCommand parent;
      @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;
      @Option(names = "--topic", required = true) String topic;
      @Option(names = "--messages", required = true) long messages;
      @Option(names = "--timeout", defaultValue = "10000", description = "ms without a record before giving up")
      long timeoutMs;
      @Option(names = "--consumer-props", paramLabel = "K=V", split = ",") Map<String, String> props =
          new LinkedHashMap<>();

      @Override
      public Integer call() throws Exception {
        withClient(bootstrap, props, client -> {
          ConsumerPerformance.run(client, topic, messages, timeoutMs, parent.cli.out);
          return null;
        });
        return 0;
      }
    }

    @Command(name = "failover", description = "kill -9 the quorum leader of a local 3-node cluster again and again; "
        + "time until a new leader is known and until a create-topic commits.")
    static final class Failover implements Callable<Integer> {
      @ParentCommand PerfCommand parent;
      @Option(names = "--kills", defaultValue = "20") int kills;
      @Option(names = "--dir", description = "where the cluster lives (default: a new temporary directory)") Path dir;
      @Option(names = "--image-topics", defaultValue = "0", description = "seed every voter with a snapshot of this "
          + "many topics (of --image-partitions each) on absent brokers before the first start, e.g. 10000")
      int imageTopics;
      @Option(names = "--image-partitions", defaultValue = "100") int imagePartitions;

      @Override
      public Integer call() throws Exception {
        if (kills < 1 || imageTopics < 0 || imagePartitions < 1) {
          throw new IllegalArgumentException("--kills and --image-partitions must be at least 1, --image-topics >= 0");
        }
        quietLogs();
        FailoverBenchmark.run(kills, dir, imageTopics, imagePartitions, parent.cli.out);
        return 0;
      }
    }

    @Command(name = "restart", description = "Restart a local one-node cluster hosting --topics x --partitions "
        + "partitions (RF 1, a few records each), after a clean stop and after kill -9; time until every partition "
        + "answers ListOffsets.")
    static final class Restart implements Callable<Integer> {
      @ParentCommand PerfCommand parent;
      @Option(names = "--topics", defaultValue = "100") int topics;
      @Option(names = "--partitions", defaultValue = "100", description = "partitions per topic") int partitions;
      @Option(names = "--rounds", defaultValue = "3") int rounds;
      @Option(names = "--dir", description = "where the node lives (default: a new temporary directory)") Path dir;

      @Override
      public Integer call() throws Exception {
        if (topics < 1 || partitions < 1 || rounds < 1) {
          throw new IllegalArgumentException("--topics, --partitions and --rounds must be >= 1");
        }
        quietLogs();
        RestartBenchmark.run(topics, partitions, rounds, dir, parent.cli.out);
        return 0;
      }
    }

    @Command(name = "metadata-image", description = "Build an image of many partitions, write it as a snapshot, "
        + "load it back; report times, file size and heap.")
    static final class MetadataImageScale implements Callable<Integer> {
      @ParentCommand PerfCommand parent;
      @Option(names = "--topics", defaultValue = "10000") int topics;
      @Option(names = "--partitions", defaultValue = "100", description = "partitions per topic") int partitions;
      @Option(names = "--replication-factor", defaultValue = "3") int replicationFactor;
      @Option(names = "--brokers", defaultValue = "6") int brokers;
      @Option(names = "--dir", description = "keep the snapshot here (default: a temporary file, deleted)") Path dir;

      @Override
      public Integer call() throws Exception {
        if (topics < 1 || partitions < 1 || replicationFactor < 1 || brokers < replicationFactor) {
          throw new IllegalArgumentException("need --topics, --partitions >= 1 and --brokers >= --replication-factor >= 1");
        }
        MetadataImageBenchmark.run(topics, partitions, replicationFactor, brokers, dir, parent.cli.out);
        return 0;
      }
    }

    @Command(name = "quorum", description = "Commit throughput and latency of an in-process metadata quorum "
        + "(voters talk gRPC over loopback and fsync to disk).")
    static final class Quorum implements Callable<Integer> {
      @ParentCommand PerfCommand parent;
      @Option(names = "--voters", defaultValue = "3") int voters;
      @Option(names = "--num-records", defaultValue = "200000") long records;
      @Option(names = "--records-per-append", defaultValue = "1") int recordsPerAppend;
      @Option(names = "--in-flight", defaultValue = "2000", description = "appends awaiting commit at once")
      int inFlight;
      @Option(names = "--dir", description = "where the logs go (default: a temporary directory, deleted after)")
      Path dir;

      @Override
      public Integer call() throws Exception {
        if (voters < 1 || records < 1 || recordsPerAppend < 1 || inFlight < 1) {
          throw new IllegalArgumentException("--voters, --num-records, --records-per-append and --in-flight must be >= 1");
        }
        quietLogs();
        QuorumBenchmark.run(voters, records, recordsPerAppend, inFlight, dir, parent.cli.out);
        return 0;
      }
    }
  }

  @Command(name = "groups", description = "List, describe (with lag), reset the offsets of, and delete consumer "
      + "groups, like Kafka's kafka-consumer-groups.",
      subcommands = {GroupsCommand.ListGroups.class, GroupsCommand.Describe.class, GroupsCommand.ResetOffsets.class,
          GroupsCommand.Delete.class})
  static final class GroupsCommand extends CommandGroup {
    @Command(name = "list", description = "Every consumer group with its state.")
    static final class ListGroups implements Callable<Integer> {
      @ParentCommand GroupsCommand parent;
      @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;

      @Override
      public Integer call() throws Exception {
        List<io.raftline.client.ConsumerGroupListing> groups = withClient(bootstrap, Map.of(),
            c -> await(c.admin().listGroups(), TopicsCommand.ADMIN_TIMEOUT_MS));
        groups.stream().sorted(java.util.Comparator.comparing(io.raftline.client.ConsumerGroupListing::groupId))
            .forEach(g -> parent.cli.out.println(g.groupId() + "\t" + g.state()));
        return 0;
      }
    }

    @Command(name = "describe", description = "A group's members and, per partition, the committed offset, the log "
        + "end offset and the lag.")
    static final class Describe implements Callable<Integer> {
      @ParentCommand GroupsCommand parent;
      @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;
      @Option(names = "--group", required = true) String group;

      @Override
      public Integer call() throws Exception {
        io.raftline.client.ConsumerGroupDescription d = withClient(bootstrap, Map.of(),
            c -> await(c.admin().describeGroup(group), TopicsCommand.ADMIN_TIMEOUT_MS));
        PrintWriter out = parent.cli.out;
        out.println("Group: " + d.groupId() + "\tState: " + d.state() + "\tGroupEpoch: " + d.groupEpoch()
            + "\tMembers: " + d.members().size() + "\tTotalLag: " + d.totalLag());
        out.println("TOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tMEMBER-ID");
        Map<io.raftline.client.TopicPartition, String> owners = new HashMap<>();
        d.members().forEach(m -> m.assignment().forEach(tp -> owners.put(tp, m.memberId())));
        d.offsets().entrySet().stream()
            .sorted(java.util.Comparator.comparing((Map.Entry<io.raftline.client.TopicPartition, ?> e) -> e.getKey().topic())
                .thenComparingInt(e -> e.getKey().partition()))
            .forEach(e -> out.println(e.getKey().topic() + "\t" + e.getKey().partition() + "\t"
                + dash(e.getValue().committedOffset()) + "\t" + dash(e.getValue().logEndOffset()) + "\t"
                + dash(e.getValue().lag()) + "\t" + owners.getOrDefault(e.getKey(), "-")));
        return 0;
      }

      private static String dash(long value) {
        return value < 0 ? "-" : Long.toString(value);
      }
    }

    @Command(name = "reset-offsets", description = "Set a group's committed offsets for a topic (the group must have "
        + "no members): --to-earliest, --to-latest or --to-offset N.")
    static final class ResetOffsets implements Callable<Integer> {
      @ParentCommand GroupsCommand parent;
      @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;
      @Option(names = "--group", required = true) String group;
      @Option(names = "--topic", required = true) String topic;
      @Option(names = "--to-earliest") boolean earliest;
      @Option(names = "--to-latest") boolean latest;
      @Option(names = "--to-offset", paramLabel = "N") Long offset;

      @Override
      public Integer call() throws Exception {
        int chosen = (earliest ? 1 : 0) + (latest ? 1 : 0) + (offset != null ? 1 : 0);
        if (chosen != 1) {
          throw new IllegalArgumentException("give exactly one of --to-earliest, --to-latest, --to-offset N");
        }
        io.raftline.client.OffsetSpec spec = earliest ? io.raftline.client.OffsetSpec.earliest()
            : latest ? io.raftline.client.OffsetSpec.latest() : io.raftline.client.OffsetSpec.offset(offset);
        Map<io.raftline.client.TopicPartition, Long> set = withClient(bootstrap, Map.of(),
            c -> await(c.admin().resetOffsets(group, topic, spec), TopicsCommand.ADMIN_TIMEOUT_MS));
        set.entrySet().stream().sorted(Map.Entry.comparingByKey(
                java.util.Comparator.comparingInt(io.raftline.client.TopicPartition::partition)))
            .forEach(e -> parent.cli.out.println(e.getKey().topic() + "\t" + e.getKey().partition() + "\t"
                + e.getValue()));
        return 0;
      }
    }

    @Command(name = "delete", description = "Delete a group with no members, and its committed offsets.")
    static final class Delete implements Callable<Integer> {
      @ParentCommand GroupsCommand parent;
      @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;
      @Option(names = "--group", required = true) String group;

      @Override
      public Integer call() throws Exception {
        withClient(bootstrap, Map.of(), c -> await(c.admin().deleteGroup(group), TopicsCommand.ADMIN_TIMEOUT_MS));
        parent.cli.out.println("Deleted group " + group + ".");
        return 0;
      }
    }
  }

  @Command(name = "configs", description = "Describe and alter topic configs and cluster-wide broker defaults.",
      subcommands = {ConfigsCommand.Describe.class, ConfigsCommand.Alter.class})
  static final class ConfigsCommand extends CommandGroup {
    /** The resource the options name: a topic, or the cluster-wide broker defaults. */
    static final class Entity {
      @Option(names = "--entity-type", required = true, description = "topics or brokers") String type;
      @Option(names = "--entity-name", description = "the topic name") String name;
      @Option(names = "--entity-default", description = "with --entity-type brokers: the cluster-wide defaults")
      boolean entityDefault;

      String resourceType() {
        if (type.equals("topics")) {
          if (name == null || entityDefault) {
            throw new IllegalArgumentException("--entity-type topics needs --entity-name TOPIC");
          }
          return "TOPIC";
        }
        if (type.equals("brokers")) {
          if (!entityDefault || name != null) {
            throw new IllegalArgumentException("--entity-type brokers supports --entity-default only (cluster-wide defaults)");
          }
          return "BROKER";
        }
        throw new IllegalArgumentException("--entity-type must be topics or brokers, got '" + type + "'");
      }

      String resourceName() {
        return name == null ? "" : name;
      }
    }

    @Command(name = "describe", description = "Show every config of a topic with its value and source, or the "
        + "cluster-wide broker defaults that are set.")
    static final class Describe implements Callable<Integer> {
      @ParentCommand ConfigsCommand parent;
      @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;
      @CommandLine.ArgGroup(exclusive = false, multiplicity = "1") Entity entity;

      @Override
      public Integer call() throws Exception {
        String type = entity.resourceType();
        Map<String, io.raftline.client.ConfigEntry> entries = withClient(bootstrap, Map.of(),
            c -> await(c.admin().describeConfigs(type, entity.resourceName()), TopicsCommand.ADMIN_TIMEOUT_MS));
        parent.cli.out.println((type.equals("TOPIC") ? "Configs for topic " + entity.name
            : "Cluster-wide broker defaults") + ":");
        entries.values().forEach(e -> parent.cli.out.println("  " + e.name() + "=" + e.value() + " (" + e.source() + ")"));
        return 0;
      }
    }

    @Command(name = "alter", description = "Set and delete config keys of a topic or of the cluster-wide broker "
        + "defaults; all or nothing.")
    static final class Alter implements Callable<Integer> {
      @ParentCommand ConfigsCommand parent;
      @Option(names = "--bootstrap-server", required = true, paramLabel = "HOST:PORT") String bootstrap;
      @CommandLine.ArgGroup(exclusive = false, multiplicity = "1") Entity entity;
      @Option(names = "--add-config", paramLabel = "K=V[,K=V...]", split = ",") List<String> add = new ArrayList<>();
      @Option(names = "--delete-config", paramLabel = "K[,K...]", split = ",") List<String> delete = new ArrayList<>();

      @Override
      public Integer call() throws Exception {
        String type = entity.resourceType();
        if (add.isEmpty() && delete.isEmpty()) {
          throw new IllegalArgumentException("give --add-config and/or --delete-config");
        }
        Map<String, String> set = new LinkedHashMap<>();
        for (String kv : add) {
          int eq = kv.indexOf('=');
          if (eq <= 0) {
            throw new IllegalArgumentException("--add-config '" + kv + "' is not KEY=VALUE");
          }
          set.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
        }
        withClient(bootstrap, Map.of(), c -> await(c.admin().incrementalAlterConfigs(type, entity.resourceName(), set,
            delete), TopicsCommand.ADMIN_TIMEOUT_MS));
        parent.cli.out.println("Completed updating config for " + (type.equals("TOPIC") ? "topic " + entity.name
            : "the cluster-wide broker defaults") + ".");
        return 0;
      }
    }
  }

  @Command(name = "metadata-shell", description = "Print the cluster metadata image held in a snapshot file or a "
      + "metadata log directory (__cluster_metadata-0 of a stopped node, or a copy).")
  static final class MetadataShellCommand implements Callable<Integer> {
    @ParentCommand RaftlineCli cli;
    @Option(names = "--snapshot", paramLabel = "FILE", description = "a <endOffset>-<epoch>.checkpoint file") Path snapshot;
    @Option(names = "--directory", paramLabel = "DIR", description = "a __cluster_metadata-0 directory") Path directory;

    @Override
    public Integer call() throws Exception {
      if ((snapshot == null) == (directory == null)) {
        throw new IllegalArgumentException("give exactly one of --snapshot FILE or --directory DIR");
      }
      Path source = snapshot != null ? snapshot : directory;
      if (!Files.exists(source)) {
        throw new IllegalArgumentException(source + " does not exist");
      }
      MetadataShell.print(snapshot != null ? MetadataShell.fromSnapshot(snapshot)
          : MetadataShell.fromLogDirectory(directory), cli.out);
      return 0;
    }
  }

  @Command(name = "dump-log", description = "Print the batches and records of partition segments and indexes, "
      + "and the records of metadata log segments and snapshots (as kafka-dump-log does). Files are only read.")
  static final class DumpLogCommand implements Callable<Integer> {
    @ParentCommand RaftlineCli cli;
    @Option(names = "--files", required = true, split = ",", paramLabel = "FILE",
        description = "comma-separated .log, .index, .timeindex or <endOffset>-<epoch>.checkpoint files")
    List<Path> files;
    @Option(names = "--print-data-log", description = "also print each record of a partition segment") boolean printData;

    @Override
    public Integer call() throws Exception {
      for (Path file : files) {
        DumpLog.dump(file, printData, cli.out);
      }
      return 0;
    }
  }

  @Command(name = "quorum", description = "Inspect the controller quorum.", subcommands = QuorumCommand.Describe.class)
  static final class QuorumCommand extends CommandGroup {

    @Command(name = "describe", description = "Show the quorum's leader, epoch, high watermark and replicas.")
    static final class Describe implements Callable<Integer> {
      @ParentCommand QuorumCommand parent;
      @Option(names = "--bootstrap-controller", required = true, paramLabel = "HOST:PORT") String controller;
      @Option(names = "--replication", description = "one row per replica") boolean replication;

      @Override
      public Integer call() throws Exception {
        quietLogs();
        HostPort at = ClientConfig.parseHostPort("--bootstrap-controller", controller);
        Vertx vertx = Vertx.vertx();
        DescribeQuorumResponse r;
        try {
          GrpcClient grpc = GrpcClient.client(vertx);
          r = describeAt(grpc, at);
          if (!r.getError().equals("NONE") && !r.getLeaderHost().isEmpty()) {
            // Asked a follower: ask the leader it names, as Kafka's tool does.
            r = describeAt(grpc, new HostPort(r.getLeaderHost(), r.getLeaderPort()));
          }
          if (!r.getError().equals("NONE")) {
            throw new IllegalStateException(controller + " knows no quorum leader right now (" + r.getError() + ")");
          }
        } finally {
          await(vertx.close(), 10_000);
        }
        PrintWriter out = parent.cli.out;
        long leaderEnd = r.getHighWatermark();
        for (ReplicaDescription v : r.getVotersList()) {
          if (v.getReplicaId() == r.getLeaderId()) {
            leaderEnd = v.getLogEndOffset();
          }
        }
        if (!replication) {
          long maxLag = 0;
          for (ReplicaDescription v : r.getVotersList()) {
            maxLag = Math.max(maxLag, Math.max(0, leaderEnd - v.getLogEndOffset()));
          }
          out.println("LeaderId:       " + r.getLeaderId());
          out.println("LeaderEpoch:    " + r.getLeaderEpoch());
          out.println("HighWatermark:  " + r.getHighWatermark());
          out.println("MaxFollowerLag: " + maxLag);
          out.println("CurrentVoters:  " + ids(r.getVotersList()));
          out.println("CurrentObservers: " + ids(r.getObserversList()));
          return 0;
        }
        out.printf("%-8s %-14s %-8s %-20s %s%n", "NodeId", "LogEndOffset", "Lag", "LastFetchTimestamp", "Status");
        for (ReplicaDescription v : r.getVotersList()) {
          out.printf("%-8d %-14d %-8d %-20d %s%n", v.getReplicaId(), v.getLogEndOffset(),
              Math.max(0, leaderEnd - v.getLogEndOffset()), v.getLastFetchTimestamp(),
              v.getReplicaId() == r.getLeaderId() ? "Leader" : "Follower");
        }
        for (ReplicaDescription o : r.getObserversList()) {
          out.printf("%-8d %-14d %-8d %-20d %s%n", o.getReplicaId(), o.getLogEndOffset(),
              Math.max(0, leaderEnd - o.getLogEndOffset()), o.getLastFetchTimestamp(), "Observer");
        }
        return 0;
      }

      private static DescribeQuorumResponse describeAt(GrpcClient grpc, HostPort at) throws Exception {
        return await(RaftQuorumGrpcClient.create(grpc, SocketAddress.inetSocketAddress(at.port(), at.host()))
            .describeQuorum(DescribeQuorumRequest.getDefaultInstance()), 30_000);
      }

      private static String ids(List<ReplicaDescription> replicas) {
        return "[" + String.join(",", replicas.stream().map(r -> String.valueOf(r.getReplicaId())).toList()) + "]";
      }
    }
  }
}
