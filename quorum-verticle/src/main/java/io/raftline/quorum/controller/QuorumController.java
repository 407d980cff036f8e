package io.raftline.quorum.controller;

import io.raftline.metadata.TopicName;
import io.raftline.metadata.image.BrokerRegistration;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.image.TopicImage;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.metadata.record.BrokerEndpoint;
import io.raftline.metadata.record.FenceBrokerRecord;
import io.raftline.metadata.record.ProducerIdsRecord;
import io.raftline.metadata.record.PartitionChangeRecord;
import io.raftline.metadata.record.UnfenceBrokerRecord;
import io.raftline.metadata.record.MetadataRecord;
import io.raftline.metadata.record.PartitionRecord;
import io.raftline.metadata.record.RegisterBrokerRecord;
import io.raftline.metadata.record.RemoveTopicRecord;
import io.raftline.metadata.record.TopicRecord;
import io.raftline.protocol.ErrorCode;
import io.raftline.metadata.TopicConfigs;
import io.raftline.metadata.record.ConfigRecord;
import io.raftline.metadata.record.ConfigResource;
import io.raftline.protocol.client.AlterConfigOp;
import io.raftline.protocol.client.AlterConfigsRequest;
import io.raftline.protocol.client.ConfigResourceName;
import io.raftline.protocol.client.CreatePartitionsRequest;
import io.raftline.protocol.client.CreateTopicsRequest;
import io.raftline.protocol.client.PartitionCountChange;
import io.raftline.protocol.client.ReplicaAssignment;
import io.raftline.protocol.client.ResourceAlteration;
import io.raftline.protocol.client.ResourceResult;
import io.raftline.protocol.client.TopicResult;
import io.raftline.protocol.client.TopicToCreate;
import io.raftline.protocol.controller.AlterPartitionRequest;
import io.raftline.protocol.controller.AlterPartitionResponse;
import io.raftline.protocol.controller.PartitionIsrChange;
import io.raftline.protocol.controller.PartitionIsrResult;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.TreeSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.IntPredicate;
import java.util.random.RandomGenerator;

/**
 * Decides cluster changes. Every method reads an image and returns records plus a response; nothing
 * here appends or waits. The caller passes the image that includes its own uncommitted proposals.
 */
public final class QuorumController {
  private final ControllerConfig config;
  private final RandomGenerator random;
  /** When each broker last heartbeat, on the injected clock; the active controller's own memory. */
  private final Map<Integer, Long> lastContactMs = new HashMap<>();
  private final Set<Integer> shuttingDown = new HashSet<>();

  public QuorumController(ControllerConfig config, RandomGenerator random) {
    this.config = config;
    this.random = random;
  }

  /**
   * Registers a broker. The broker epoch is the offset its record will take, so it grows with every
   * registration.
   */
  public ControllerResult<Long> registerBroker(
      MetadataImage image, long nextOffset, int brokerId, String incarnationId, List<BrokerEndpoint> listeners,
      String rack) {
    if (brokerId < 0) {
      throw new ControllerException(ErrorCode.INVALID_REQUEST, "broker id must be >= 0, got " + brokerId);
    }
    Optional<BrokerRegistration> existing = image.broker(brokerId);
    if (existing.isPresent() && existing.get().incarnationId().equals(incarnationId)
        && existing.get().listeners().equals(listeners)) {
      // The same process asking again (its first answer was lost): nothing to write.
      return new ControllerResult<>(List.of(), existing.get().epoch());
    }
    List<MetadataRecord> records = new ArrayList<>();
    records.add(new RegisterBrokerRecord(brokerId, incarnationId, nextOffset, listeners, rack, true));
    if (existing.isPresent()) {
      // A new incarnation starts fenced and behind: it leads nothing until it has caught up.
      records.addAll(moveLeadershipAway(image, Set.of(brokerId)));
    }
    shuttingDown.remove(brokerId);
    // The registration record comes first, so any prefix of a split result registers the broker.
    return ControllerResult.nonAtomic(records, nextOffset);
  }

  /**
   * Creates topics; each topic succeeds or fails on its own, as in Kafka's CreateTopics. A topic gets
   * either a partition count and replication factor (replicas placed by {@link #place}) or an explicit
   * replica assignment (see {@link #explicitAssignment}).
   */
  public ControllerResult<List<TopicResult>> createTopics(MetadataImage image, CreateTopicsRequest request) {
    List<MetadataRecord> records = new ArrayList<>();
    List<TopicResult> results = new ArrayList<>();
    // Kafka refuses every entry of a name that appears more than once, not just the repeats.
    Set<String> seen = new HashSet<>();
    Set<String> repeated = new HashSet<>();
    for (TopicToCreate t : request.getTopicsList()) {
      if (!seen.add(t.getName())) {
        repeated.add(t.getName());
      }
    }
    Set<String> collisionKeys = new HashSet<>();
    image.topicIdsByName().keySet().forEach(n -> collisionKeys.add(collisionKey(n)));
    // Only unfenced brokers take new replicas: a fenced one is behind, silent or shutting down.
    List<Integer> brokers = unfencedBrokers(image);
    for (TopicToCreate t : request.getTopicsList()) {
      TopicResult.Builder result = TopicResult.newBuilder().setName(t.getName());
      Optional<String> nameProblem = TopicName.problem(t.getName());
      if (repeated.contains(t.getName())) {
        results.add(fail(result, ErrorCode.INVALID_REQUEST, "topic " + t.getName() + " appears more than once in the request"));
        continue;
      } else if (nameProblem.isPresent()) {
        results.add(fail(result, ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem.get()));
        continue;
      } else if (image.topic(t.getName()).isPresent()) {
        results.add(fail(result, ErrorCode.TOPIC_ALREADY_EXISTS, "topic " + t.getName() + " already exists"));
        continue;
      } else if (collisionKeys.contains(collisionKey(t.getName()))) {
        results.add(fail(result, ErrorCode.INVALID_TOPIC_EXCEPTION, "topic " + t.getName()
            + " collides with an existing topic: '.' and '_' are the same in metric names, so names may not differ only by them"));
        continue;
      }
      Placement placement = placement(image, t, brokers);
      Optional<String> configProblem = configProblem(t.getConfigsMap());
      if (placement instanceof Refused refused) {
        results.add(fail(result, refused.code(), refused.message()));
      } else if (configProblem.isPresent()) {
        results.add(fail(result, ErrorCode.INVALID_CONFIG, configProblem.get()));
      } else {
        UUID id = newTopicId(image);
        collisionKeys.add(collisionKey(t.getName()));
        int partitions;
        int rf;
        if (placement instanceof Explicit explicit) {
          partitions = explicit.replicas().size();
          rf = explicit.replicas().get(0).size();
        } else {
          Spread spread = (Spread) placement;
          partitions = spread.partitions();
          rf = spread.replicationFactor();
        }
        if (!request.getValidateOnly()) {
          records.add(new TopicRecord(t.getName(), id));
          if (placement instanceof Explicit explicit) {
            for (int p = 0; p < partitions; p++) {
              records.add(newPartition(image, id, p, explicit.replicas().get(p)));
            }
          } else {
            int start = random.nextInt(brokers.size());
            for (int p = 0; p < partitions; p++) {
              List<Integer> replicas = place(brokers, start, p, rf);
              records.add(new PartitionRecord(id, p, replicas, replicas, replicas.get(0), 0, 0));
            }
          }
          ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, t.getName());
          new java.util.TreeMap<>(t.getConfigsMap()).forEach((k, v) -> records.add(new ConfigRecord(resource, k, v.trim())));
        }
        results.add(result.setError(ErrorCode.NONE).setTopicId(id.toString()).setNumPartitions(partitions)
            .setReplicationFactor(rf).build());
      }
    }
    return new ControllerResult<>(records, results);
  }

  /** How a new topic's replicas are laid out, or why they cannot be. */
  private sealed interface Placement permits Spread, Explicit, Refused {}

  /** {@code partitions} partitions of {@code replicationFactor} replicas, placed by the controller. */
  private record Spread(int partitions, int replicationFactor) implements Placement {}

  /** The replicas of each partition as the request named them, already validated. */
  private record Explicit(List<List<Integer>> replicas) implements Placement {}

  private record Refused(ErrorCode code, String message) implements Placement {}

  private Placement placement(MetadataImage image, TopicToCreate t, List<Integer> brokers) {
    if (t.getAssignmentsCount() > 0) {
      // Kafka: an assignment decides both the count and the factor, so neither may be given too.
      if (!unset(t.getNumPartitions()) || !unset(t.getReplicationFactor())) {
        return new Refused(ErrorCode.INVALID_REQUEST, "topic " + t.getName() + ": give either a replica assignment or "
            + "partitions and a replication factor, not both (got " + t.getNumPartitions() + " partitions, replication "
            + "factor " + t.getReplicationFactor() + ")");
      }
      if (t.getAssignmentsCount() > ControllerConfig.MAX_PARTITIONS_PER_TOPIC) {
        return new Refused(ErrorCode.INVALID_PARTITIONS, "number of partitions must be between 1 and "
            + ControllerConfig.MAX_PARTITIONS_PER_TOPIC + ", got " + t.getAssignmentsCount());
      }
      List<List<Integer>> replicas = new ArrayList<>(java.util.Collections.nCopies(t.getAssignmentsCount(), null));
      for (ReplicaAssignment a : t.getAssignmentsList()) {
        int index = a.getPartitionIndex();
        if (index < 0 || index >= replicas.size() || replicas.get(index) != null) {
          return new Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "the partition indexes of a replica assignment must "
              + "be 0.." + (replicas.size() - 1) + ", each once; got " + t.getAssignmentsList().stream()
                  .map(ReplicaAssignment::getPartitionIndex).toList());
        }
        replicas.set(index, a.getBrokerIdsList());
      }
      Refused refused = explicitAssignment(image, replicas, -1, 0);
      return refused != null ? refused : new Explicit(List.copyOf(replicas));
    }
    int partitions = t.getNumPartitions() == -1 ? config.defaultPartitions() : t.getNumPartitions();
    int rf = t.getReplicationFactor() == -1 ? config.defaultReplicationFactor() : t.getReplicationFactor();
    if (partitions < 1 || partitions > ControllerConfig.MAX_PARTITIONS_PER_TOPIC) {
      return new Refused(ErrorCode.INVALID_PARTITIONS, "number of partitions must be between 1 and "
          + ControllerConfig.MAX_PARTITIONS_PER_TOPIC + ", got " + partitions);
    } else if (rf < 1) {
      return new Refused(ErrorCode.INVALID_REPLICATION_FACTOR, "replication factor must be >= 1, got " + rf);
    } else if (rf > brokers.size()) {
      return new Refused(ErrorCode.INVALID_REPLICATION_FACTOR, "replication factor " + rf
          + " is larger than the number of available (unfenced) brokers: " + brokers.size());
    }
    return new Spread(partitions, rf);
  }

  /** -1 asks for the default; proto3 reads an int never set as 0. */
  private static boolean unset(int value) {
    return value == -1 || value == 0;
  }

  /**
   * Why explicit replica lists are refused (INVALID_REPLICA_ASSIGNMENT), or null, by Kafka's rules:
   * no partition without replicas, no broker twice in one partition, every partition as many replicas
   * as the first (or as {@code expectedRf} if that is positive), every broker registered, and at
   * least one unfenced broker per partition to lead it. A fenced broker may be named: it joins the
   * ISR once it has caught up. {@code firstPartition} only numbers the messages.
   */
  private static Refused explicitAssignment(MetadataImage image, List<List<Integer>> replicas, int expectedRf,
      int firstPartition) {
    int rf = expectedRf > 0 ? expectedRf : replicas.get(0).size();
    for (int i = 0; i < replicas.size(); i++) {
      List<Integer> r = replicas.get(i);
      int partition = firstPartition + i;
      if (r.isEmpty()) {
        return new Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "partition " + partition + " has no replicas");
      }
      if (r.size() != rf) {
        return new Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "partition " + partition + " has " + r.size()
            + " replicas " + r + ", but every partition must have " + rf
            + (expectedRf > 0 ? " (the topic's replication factor)" : " (as partition " + firstPartition + ")"));
      }
      if (new HashSet<>(r).size() != r.size()) {
        return new Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "partition " + partition + " names a broker more "
            + "than once: " + r);
      }
      boolean anyLive = false;
      for (int b : r) {
        if (image.brokers().get(b) == null) {
          return new Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "partition " + partition + " names broker " + b
              + ", but no such broker is registered");
        }
        anyLive |= image.isUnfenced(b);
      }
      if (!anyLive) {
        return new Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "every broker of partition " + partition + " " + r
            + " is fenced or shutting down, so none could lead it");
      }
    }
    return null;
  }

  /**
   * A partition on explicitly named replicas, as Kafka makes it: the ISR is the unfenced replicas in
   * assignment order (a fenced one has nothing to be in sync with and joins once it fetches), the
   * leader the first of them.
   */
  private static PartitionRecord newPartition(MetadataImage image, UUID topicId, int partition, List<Integer> replicas) {
    List<Integer> isr = replicas.stream().filter(image::isUnfenced).toList();
    return new PartitionRecord(topicId, partition, replicas, isr, isr.get(0), 0, 0);
  }

  /**
   * Replicas of one partition: consecutive brokers from a per-topic random start, shifted by the
   * partition index, so leaders (the first replica) and followers spread evenly over the brokers.
   */
  private static List<Integer> place(List<Integer> brokers, int start, int partition, int rf) {
    List<Integer> replicas = new ArrayList<>(rf);
    for (int r = 0; r < rf; r++) {
      replicas.add(brokers.get((start + partition + r) % brokers.size()));
    }
    return replicas;
  }

  private static Optional<String> configProblem(Map<String, String> configs) {
    for (Map.Entry<String, String> e : new java.util.TreeMap<>(configs).entrySet()) {
      Optional<String> problem = TopicConfigs.problem(e.getKey(), e.getValue());
      if (problem.isPresent()) {
        return problem;
      }
    }
    return Optional.empty();
  }

  /** Adds partitions to topics; the new count must exceed the current one. */
  public ControllerResult<List<TopicResult>> createPartitions(MetadataImage image, CreatePartitionsRequest request) {
    List<MetadataRecord> records = new ArrayList<>();
    List<TopicResult> results = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    List<Integer> brokers = unfencedBrokers(image);
    for (PartitionCountChange change : request.getTopicsList()) {
      TopicResult.Builder result = TopicResult.newBuilder().setName(change.getTopic());
      Optional<TopicImage> topic = image.topic(change.getTopic());
      if (!seen.add(change.getTopic())) {
        results.add(fail(result, ErrorCode.INVALID_REQUEST, "topic " + change.getTopic() + " appears more than once"));
        continue;
      }
      if (topic.isEmpty()) {
        results.add(fail(result, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "topic " + change.getTopic() + " does not exist"));
        continue;
      }
      int current = topic.get().partitions().size();
      int rf = current == 0 ? 1 : topic.get().partition(0).replicas().size();
      if (change.getCount() <= current) {
        results.add(fail(result, ErrorCode.INVALID_PARTITIONS, "topic " + change.getTopic() + " has " + current
            + " partitions; the new count must be larger, got " + change.getCount()));
      } else if (change.getCount() > ControllerConfig.MAX_PARTITIONS_PER_TOPIC) {
        results.add(fail(result, ErrorCode.INVALID_PARTITIONS, "at most " + ControllerConfig.MAX_PARTITIONS_PER_TOPIC
            + " partitions per topic"));
      } else if (change.getAssignmentsCount() > 0 && change.getAssignmentsCount() != change.getCount() - current) {
        results.add(fail(result, ErrorCode.INVALID_REPLICA_ASSIGNMENT, "topic " + change.getTopic() + " gets "
            + (change.getCount() - current) + " new partitions, but the request assigns replicas to "
            + change.getAssignmentsCount()));
      } else if (change.getAssignmentsCount() > 0) {
        List<List<Integer>> replicas = change.getAssignmentsList().stream().map(ReplicaAssignment::getBrokerIdsList).toList();
        Refused refused = explicitAssignment(image, replicas, rf, current);
        if (refused != null) {
          results.add(fail(result, refused.code(), refused.message()));
          continue;
        }
        if (!request.getValidateOnly()) {
          for (int i = 0; i < replicas.size(); i++) {
            records.add(newPartition(image, topic.get().id(), current + i, replicas.get(i)));
          }
        }
        results.add(result.setError(ErrorCode.NONE).setTopicId(topic.get().id().toString())
            .setNumPartitions(change.getCount()).setReplicationFactor(rf).build());
      } else if (rf > brokers.size()) {
        results.add(fail(result, ErrorCode.INVALID_REPLICATION_FACTOR, "the topic's replication factor " + rf
            + " is larger than the number of available (unfenced) brokers: " + brokers.size()));
      } else {
        if (!request.getValidateOnly()) {
          int start = random.nextInt(brokers.size());
          for (int p = current; p < change.getCount(); p++) {
            List<Integer> replicas = place(brokers, start, p, rf);
            records.add(new PartitionRecord(topic.get().id(), p, replicas, replicas, replicas.get(0), 0, 0));
          }
        }
        results.add(result.setError(ErrorCode.NONE).setTopicId(topic.get().id().toString())
            .setNumPartitions(change.getCount()).setReplicationFactor(rf).build());
      }
    }
    return new ControllerResult<>(records, results);
  }

  /** SET and DELETE of config keys; a resource with any bad op changes nothing (INVALID_CONFIG). */
  public ControllerResult<List<ResourceResult>> incrementalAlterConfigs(MetadataImage image, AlterConfigsRequest request) {
    List<MetadataRecord> records = new ArrayList<>();
    List<ResourceResult> results = new ArrayList<>();
    for (ResourceAlteration alteration : request.getResourcesList()) {
      ConfigResourceName name = alteration.getResource();
      ResourceResult.Builder result = ResourceResult.newBuilder().setResource(name);
      ConfigResource resource;
      String problem = null;
      ErrorCode code = ErrorCode.INVALID_CONFIG;
      if (name.getType().equals("TOPIC")) {
        resource = new ConfigResource(ConfigResource.Type.TOPIC, name.getName());
        if (image.topic(name.getName()).isEmpty()) {
          problem = "topic " + name.getName() + " does not exist";
          code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        }
      } else if (name.getType().equals("BROKER")) {
        resource = new ConfigResource(ConfigResource.Type.BROKER, name.getName());
        if (!name.getName().isEmpty()) {
          problem = "only cluster-wide broker defaults (an empty broker name) can be altered yet";
          code = ErrorCode.INVALID_REQUEST;
        }
      } else {
        results.add(result.setError(ErrorCode.INVALID_REQUEST).setErrorMessage("resource type must be TOPIC or BROKER, got '"
            + name.getType() + "'").build());
        continue;
      }
      List<MetadataRecord> changes = new ArrayList<>();
      for (AlterConfigOp op : alteration.getOpsList()) {
        if (problem != null) {
          break;
        }
        String topicKey = resource.type() == ConfigResource.Type.TOPIC ? op.getName() : TopicConfigs.BROKER_DEFAULT_NAMES.get(op.getName());
        if (topicKey == null) {
          problem = "unknown broker config '" + op.getName() + "'; alterable: " + new java.util.TreeSet<>(TopicConfigs.BROKER_DEFAULT_NAMES.keySet());
        } else if (op.getOp().equals("SET")) {
          Optional<String> bad = TopicConfigs.problem(topicKey, op.getValue());
          if (bad.isPresent()) {
            problem = bad.get();
          } else {
            changes.add(new ConfigRecord(resource, op.getName(), op.getValue().trim()));
          }
        } else if (op.getOp().equals("DELETE")) {
          if (!TopicConfigs.keys().containsKey(topicKey)) {
            problem = "unknown topic config '" + op.getName() + "'";
          } else {
            changes.add(new ConfigRecord(resource, op.getName(), null));
          }
        } else {
          problem = "op must be SET or DELETE, got '" + op.getOp() + "'";
          code = ErrorCode.INVALID_REQUEST;
        }
      }
      if (problem != null) {
        results.add(result.setError(code).setErrorMessage(problem).build());
      } else {
        if (!request.getValidateOnly()) {
          records.addAll(changes);
          if (resource.type() == ConfigResource.Type.TOPIC) {
            records.addAll(electIfUncleanTurnedOn(image, resource, changes));
          }
        }
        results.add(result.setError(ErrorCode.NONE).build());
      }
    }
    return new ControllerResult<>(records, results);
  }

  private static List<MetadataRecord> electIfUncleanTurnedOn(MetadataImage image, ConfigResource resource,
      List<MetadataRecord> changes) {
    Map<String, String> before = image.configsOf(resource);
    Map<String, String> after = new HashMap<>(before);
    for (MetadataRecord r : changes) {
      ConfigRecord c = (ConfigRecord) r;
      if (c.value() == null) {
        after.remove(c.name());
      } else {
        after.put(c.name(), c.value());
      }
    }
    if (uncleanElectionEnabled(before, image) || !uncleanElectionEnabled(after, image)) {
      return List.of();
    }
    return electUncleanOnConfigChange(image, image.topic(resource.name()).orElseThrow());
  }

  /**
   * Unfenced brokers in placement order: racks taken in turn (r1, r2, r3, r1, ...), each rack's
   * brokers by id. Consecutive brokers in this order are on different racks whenever the racks allow,
   * so the consecutive placement of {@link #place} spreads each partition's replicas over racks.
   */
  private static List<Integer> unfencedBrokers(MetadataImage image) {
    java.util.TreeMap<String, java.util.ArrayDeque<Integer>> byRack = new java.util.TreeMap<>();
    image.brokers().values().stream().filter(b -> !b.fenced()).sorted(java.util.Comparator.comparingInt(b -> b.id()))
        .forEach(b -> byRack.computeIfAbsent(b.rack(), r -> new java.util.ArrayDeque<>()).add(b.id()));
    List<Integer> brokers = new ArrayList<>();
    while (!byRack.isEmpty()) {
      for (java.util.Iterator<java.util.ArrayDeque<Integer>> it = byRack.values().iterator(); it.hasNext(); ) {
        java.util.ArrayDeque<Integer> rack = it.next();
        brokers.add(rack.poll());
        if (rack.isEmpty()) {
          it.remove();
        }
      }
    }
    return brokers;
  }

  /** Deletes topics by name; an unknown name fails alone with UNKNOWN_TOPIC_OR_PARTITION. */
  public ControllerResult<List<TopicResult>> deleteTopics(MetadataImage image, List<String> names) {
    List<MetadataRecord> records = new ArrayList<>();
    List<TopicResult> results = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (String name : names) {
      TopicResult.Builder result = TopicResult.newBuilder().setName(name);
      Optional<TopicImage> topic = image.topic(name);
      if (!seen.add(name)) {
        results.add(fail(result, ErrorCode.INVALID_REQUEST, "topic " + name + " appears twice in the request"));
      } else if (topic.isEmpty()) {
        results.add(fail(result, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "topic " + name + " does not exist"));
      } else {
        records.add(new RemoveTopicRecord(topic.get().id()));
        results.add(result.setError(ErrorCode.NONE).setTopicId(topic.get().id().toString())
            .setNumPartitions(topic.get().partitions().size()).build());
      }
    }
    return new ControllerResult<>(records, results);
  }

  // ---- producer ids -----------------------------------------------------------------------------------

  /** How many producer ids one allocation hands out, as in Kafka. */
  public static final int PRODUCER_ID_BLOCK = 1000;

  /** A block of producer ids: {@code [start, start + length)}. */
  public record ProducerIdBlock(long start, int length) {}

  /** Hands a registered, unfenced broker the next block of producer ids. */
  public ControllerResult<ProducerIdBlock> allocateProducerIds(MetadataImage image, int brokerId, long brokerEpoch) {
    BrokerRegistration b = image.brokers().get(brokerId);
    if (b == null) {
      throw new ControllerException(ErrorCode.BROKER_ID_NOT_REGISTERED, "broker " + brokerId + " is not registered");
    }
    if (b.epoch() != brokerEpoch) {
      throw new ControllerException(ErrorCode.STALE_BROKER_EPOCH, "broker " + brokerId + " has epoch " + b.epoch()
          + ", not " + brokerEpoch);
    }
    long start = image.nextProducerId();
    return new ControllerResult<>(List.of(new ProducerIdsRecord(brokerId, brokerEpoch, start + PRODUCER_ID_BLOCK)),
        new ProducerIdBlock(start, PRODUCER_ID_BLOCK));
  }

  // ---- broker liveness -----------------------------------------------------------------------------

  /** What a heartbeat is answered with. */
  public record HeartbeatReply(ErrorCode error, String message, boolean fenced, boolean shouldShutDown) {}

  /**
   * Becoming the active controller: every registered broker gets a whole session from now, since
   * the heartbeats it sent to the previous controller are not known here.
   */
  public void becomeActive(MetadataImage image, long nowMs) {
    lastContactMs.clear();
    shuttingDown.clear();
    image.brokers().keySet().forEach(id -> lastContactMs.put(id, nowMs));
  }

  /**
   * A broker's heartbeat. A fenced broker is unfenced once it has applied the metadata up to its own
   * registration; a broker that wants to shut down is fenced and its leaderships move to other
   * in-sync replicas first, so clients can carry on elsewhere.
   */
  public ControllerResult<HeartbeatReply> heartbeat(MetadataImage image, long nowMs, int brokerId, long brokerEpoch,
      long appliedMetadataOffset, boolean wantShutDown) {
    BrokerRegistration b = image.brokers().get(brokerId);
    if (b == null) {
      return new ControllerResult<>(List.of(), new HeartbeatReply(ErrorCode.BROKER_ID_NOT_REGISTERED,
          "broker " + brokerId + " is not registered", true, false));
    }
    if (b.epoch() != brokerEpoch) {
      return new ControllerResult<>(List.of(), new HeartbeatReply(ErrorCode.STALE_BROKER_EPOCH,
          "broker " + brokerId + " has epoch " + b.epoch() + ", not " + brokerEpoch, true, false));
    }
    lastContactMs.put(brokerId, nowMs);
    List<MetadataRecord> records = new ArrayList<>();
    if (wantShutDown) {
      shuttingDown.add(brokerId);
      if (!b.fenced()) {
        records.add(new FenceBrokerRecord(brokerId, brokerEpoch));
      }
      records.addAll(moveLeadershipAway(image, Set.of(brokerId)));
      return ControllerResult.nonAtomic(records, new HeartbeatReply(ErrorCode.NONE, "", true, true));
    }
    if (b.fenced() && appliedMetadataOffset >= b.epoch() && !shuttingDown.contains(brokerId)) {
      records.add(new UnfenceBrokerRecord(brokerId, brokerEpoch));
      records.addAll(electWhereOffline(image, brokerId));
      return ControllerResult.nonAtomic(records, new HeartbeatReply(ErrorCode.NONE, "", false, false));
    }
    return new ControllerResult<>(records, new HeartbeatReply(ErrorCode.NONE, "", b.fenced(), false));
  }

  /** Fences every unfenced broker silent for longer than the session timeout; returns their ids. */
  public ControllerResult<List<Integer>> fenceExpiredBrokers(MetadataImage image, long nowMs) {
    Set<Integer> expired = new TreeSet<>();
    for (BrokerRegistration b : image.brokers().values()) {
      long last = lastContactMs.computeIfAbsent(b.id(), id -> nowMs);
      if (!b.fenced() && nowMs - last > config.brokerSessionTimeoutMs()) {
        expired.add(b.id());
      }
    }
    if (expired.isEmpty()) {
      return new ControllerResult<>(List.of(), List.of());
    }
    List<MetadataRecord> records = new ArrayList<>();
    for (int id : expired) {
      records.add(new FenceBrokerRecord(id, image.brokers().get(id).epoch()));
    }
    records.addAll(moveLeadershipAway(image, expired));
    return ControllerResult.nonAtomic(records, List.copyOf(expired));
  }

  /**
   * Partition changes that take {@code gone} brokers out of leadership and the ISR. A gone broker
   * leaves every ISR it is in, unless it is the last member: then the ISR is kept and the partition
   * is left without a leader, unless its topic allows unclean election (see {@link #uncleanLeader}).
   * A new leader is the first replica, in assignment order, that stays in the ISR and is unfenced.
   * One pass over the partitions; a partition the gone brokers do not touch costs no allocation.
   */
  private static List<MetadataRecord> moveLeadershipAway(MetadataImage image, Set<Integer> gone) {
    int[] goneIds = gone.stream().mapToInt(Integer::intValue).toArray();
    List<MetadataRecord> changes = new ArrayList<>();
    for (TopicImage topic : image.topicsById().values()) {
      for (Map.Entry<Integer, PartitionRegistration> e : topic.partitions().entrySet()) {
        PartitionRegistration p = e.getValue();
        List<Integer> isr = p.isr();
        boolean leaderGone = contains(goneIds, p.leader());
        int kept = 0;
        for (int i = 0; i < isr.size(); i++) {
          if (!contains(goneIds, isr.get(i))) {
            kept++;
          }
        }
        if (!leaderGone && kept == isr.size()) {
          continue;
        }
        List<Integer> newIsr = isr;
        if (kept > 0 && kept < isr.size()) {
          newIsr = new ArrayList<>(kept);
          for (int i = 0; i < isr.size(); i++) {
            if (!contains(goneIds, isr.get(i))) {
              newIsr.add(isr.get(i));
            }
          }
        }
        int leader = PartitionChangeRecord.NO_CHANGE;
        if (leaderGone) {
          leader = PartitionRegistration.NO_LEADER;
          for (int r : p.replicas()) {
            if (!contains(goneIds, r) && newIsr.contains(r) && image.isUnfenced(r)) {
              leader = r;
              break;
            }
          }
          if (leader == PartitionRegistration.NO_LEADER && uncleanElectionEnabled(image, topic.name())) {
            leader = uncleanLeader(p, r -> !contains(goneIds, r) && image.isUnfenced(r));
            if (leader != PartitionRegistration.NO_LEADER) {
              newIsr = List.of(leader);
            }
          }
        }
        if (leader == PartitionChangeRecord.NO_CHANGE && newIsr == isr) {
          // The gone broker is the last in-sync replica of a partition that already has no leader:
          // nothing changes, so nothing is written (a repeated shutdown heartbeat lands here).
          continue;
        }
        changes.add(new PartitionChangeRecord(topic.id(), e.getKey(), leader, newIsr == isr ? null : newIsr, null));
      }
    }
    return changes;
  }

  private static boolean contains(int[] ids, int id) {
    for (int x : ids) {
      if (x == id) {
        return true;
      }
    }
    return false;
  }

  /**
   * Partitions without a leader that the newly unfenced broker can lead: it is in their ISR (other ISR
   * members that are still fenced, kept only because several brokers were fenced at once so none was
   * the last, leave the ISR, since the new leader is in sync without them); or it is a replica, no
   * ISR member is unfenced and the topic allows unclean election.
   */
  private static List<MetadataRecord> electWhereOffline(MetadataImage image, int brokerId) {
    Integer broker = brokerId;
    // The broker's UnfenceBrokerRecord goes in the same batch, so the image still has it fenced.
    IntPredicate live = r -> r == brokerId || image.isUnfenced(r);
    List<MetadataRecord> changes = new ArrayList<>();
    for (TopicImage topic : image.topicsById().values()) {
      Boolean unclean = null;
      for (Map.Entry<Integer, PartitionRegistration> e : topic.partitions().entrySet()) {
        PartitionRegistration p = e.getValue();
        if (p.leader() != PartitionRegistration.NO_LEADER || !p.hasReplica(brokerId)) {
          continue;
        }
        if (p.isr().contains(broker)) {
          List<Integer> isr = new ArrayList<>(p.isr().size());
          for (int r : p.isr()) {
            if (live.test(r)) {
              isr.add(r);
            }
          }
          changes.add(new PartitionChangeRecord(topic.id(), e.getKey(), brokerId,
              isr.size() == p.isr().size() ? null : isr, null));
          continue;
        }
        if (unclean == null) {
          unclean = uncleanElectionEnabled(image, topic.name());
        }
        if (unclean && p.isr().stream().noneMatch(image::isUnfenced)) {
          int leader = uncleanLeader(p, live);
          changes.add(new PartitionChangeRecord(topic.id(), e.getKey(), leader, List.of(leader), null));
        }
      }
    }
    return changes;
  }

  /**
   * Kafka's unclean election, for a partition whose ISR has no live member: the first live replica in
   * assignment order leads, alone in the ISR. It may lack records the old ISR acknowledged; a topic
   * with {@code unclean.leader.election.enable=true} chose availability over that. NO_LEADER if no
   * replica is live.
   */
  private static int uncleanLeader(PartitionRegistration p, IntPredicate live) {
    for (int r : p.replicas()) {
      if (live.test(r)) {
        return r;
      }
    }
    return PartitionRegistration.NO_LEADER;
  }

  private static boolean uncleanElectionEnabled(MetadataImage image, String topic) {
    return uncleanElectionEnabled(image.configsOf(new ConfigResource(ConfigResource.Type.TOPIC, topic)), image);
  }

  private static boolean uncleanElectionEnabled(Map<String, String> topicConfigs, MetadataImage image) {
    return Boolean.parseBoolean(TopicConfigs.effective(topicConfigs,
        image.configsOf(new ConfigResource(ConfigResource.Type.BROKER, "")), UNCLEAN_LEADER_ELECTION).trim());
  }

  private static final String UNCLEAN_LEADER_ELECTION = "unclean.leader.election.enable";

  /**
   * Leaderless partitions of a topic whose config change just turned unclean election on, elected at
   * once as Kafka does, rather than waiting for a replica to come back.
   */
  private static List<MetadataRecord> electUncleanOnConfigChange(MetadataImage image, TopicImage topic) {
    List<MetadataRecord> changes = new ArrayList<>();
    for (Map.Entry<Integer, PartitionRegistration> e : topic.partitions().entrySet()) {
      PartitionRegistration p = e.getValue();
      if (p.leader() != PartitionRegistration.NO_LEADER || p.isr().stream().anyMatch(image::isUnfenced)) {
        continue;
      }
      int leader = uncleanLeader(p, image::isUnfenced);
      if (leader != PartitionRegistration.NO_LEADER) {
        changes.add(new PartitionChangeRecord(topic.id(), e.getKey(), leader, List.of(leader), null));
      }
    }
    return changes;
  }

  // ---- ISR changes from partition leaders (AlterPartition) -----------------------------------------

  /**
   * A partition leader's ISR changes, as Kafka's AlterPartition (KIP-497, KIP-903). The sender must be
   * a registered broker at its current epoch (else a request-level BROKER_ID_NOT_REGISTERED or
   * STALE_BROKER_EPOCH with no results). Each partition is judged alone against the image: it must
   * exist, be led by the sender at the leader epoch the sender names, and be at the partition epoch
   * the change is based on; the new ISR must be non-empty, without duplicates, hold the leader and
   * name only replicas; a replica joining the ISR must be registered, unfenced and not shutting down
   * (leaving is always allowed). A valid change of the ISR becomes one PartitionChangeRecord (the
   * partition epoch grows, the leader epoch stays); an unchanged ISR (the same members, in any order)
   * writes nothing. Each result carries the partition's state after the change, or its current state
   * on error. A failed partition writes nothing and never blocks the others. A partition named twice
   * in one request is INVALID_REQUEST for every mention.
   */
  public ControllerResult<AlterPartitionResponse> alterPartition(MetadataImage image, AlterPartitionRequest request) {
    int brokerId = request.getBrokerId();
    BrokerRegistration sender = image.brokers().get(brokerId);
    if (sender == null) {
      return new ControllerResult<>(List.of(), AlterPartitionResponse.newBuilder()
          .setError(ErrorCode.BROKER_ID_NOT_REGISTERED).setErrorMessage("broker " + brokerId + " is not registered")
          .build());
    }
    if (sender.epoch() != request.getBrokerEpoch()) {
      return new ControllerResult<>(List.of(), AlterPartitionResponse.newBuilder()
          .setError(ErrorCode.STALE_BROKER_EPOCH).setErrorMessage("broker " + brokerId + " has epoch " + sender.epoch()
              + ", not " + request.getBrokerEpoch())
          .build());
    }
    Map<io.raftline.metadata.TopicPartition, Integer> mentions = new HashMap<>();
    for (PartitionIsrChange change : request.getPartitionsList()) {
      mentions.merge(new io.raftline.metadata.TopicPartition(change.getTopic(), change.getPartition()), 1, Integer::sum);
    }
    List<MetadataRecord> records = new ArrayList<>();
    AlterPartitionResponse.Builder response = AlterPartitionResponse.newBuilder().setError(ErrorCode.NONE);
    for (PartitionIsrChange change : request.getPartitionsList()) {
      PartitionIsrResult.Builder result = PartitionIsrResult.newBuilder().setTopic(change.getTopic())
          .setPartition(change.getPartition()).setLeader(PartitionRegistration.NO_LEADER);
      Optional<TopicImage> topic = image.topic(change.getTopic());
      PartitionRegistration p = topic.isEmpty() ? null : topic.get().partition(change.getPartition());
      if (p == null) {
        response.addResults(result.setError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).setErrorMessage("partition "
            + change.getTopic() + "-" + change.getPartition() + " does not exist"));
        continue;
      }
      state(result, p);
      String name = change.getTopic() + "-" + change.getPartition();
      ErrorCode code = ErrorCode.NONE;
      String problem = null;
      if (mentions.get(new io.raftline.metadata.TopicPartition(change.getTopic(), change.getPartition())) > 1) {
        code = ErrorCode.INVALID_REQUEST;
        problem = "partition " + name + " appears more than once in the request";
      } else if (p.leader() != brokerId) {
        code = ErrorCode.NOT_LEADER_OR_FOLLOWER;
        problem = "broker " + brokerId + " does not lead " + name + "; its leader is " + p.leader();
      } else if (change.getLeaderEpoch() < p.leaderEpoch()) {
        code = ErrorCode.FENCED_LEADER_EPOCH;
        problem = "leader epoch " + change.getLeaderEpoch() + " of " + name + " is older than the current "
            + p.leaderEpoch();
      } else if (change.getLeaderEpoch() > p.leaderEpoch()) {
        code = ErrorCode.UNKNOWN_LEADER_EPOCH;
        problem = "leader epoch " + change.getLeaderEpoch() + " of " + name + " is newer than the current "
            + p.leaderEpoch();
      } else if (change.getPartitionEpoch() != p.partitionEpoch()) {
        code = ErrorCode.INVALID_UPDATE_VERSION;
        problem = "partition epoch " + change.getPartitionEpoch() + " of " + name + " is not the current "
            + p.partitionEpoch();
      } else {
        problem = isrProblem(p, change.getNewIsrList());
        if (problem != null) {
          code = ErrorCode.INVALID_REQUEST;
          problem = "new ISR " + change.getNewIsrList() + " of " + name + ": " + problem;
        } else {
          problem = ineligibleJoiner(image, p, change.getNewIsrList());
          if (problem != null) {
            code = ErrorCode.INELIGIBLE_REPLICA;
            problem = "new ISR " + change.getNewIsrList() + " of " + name + ": " + problem;
          }
        }
      }
      if (problem != null) {
        response.addResults(result.setError(code).setErrorMessage(problem));
        continue;
      }
      // Validated free of duplicates, so equal sizes and containment mean the same members; a mere
      // reordering is no change either, so it does not bump the partition epoch.
      if (change.getNewIsrCount() != p.isr().size() || !p.isr().containsAll(change.getNewIsrList())) {
        PartitionChangeRecord record = new PartitionChangeRecord(topic.get().id(), change.getPartition(),
            PartitionChangeRecord.NO_CHANGE, change.getNewIsrList(), null);
        records.add(record);
        state(result, p.merge(record));
      }
      response.addResults(result.setError(ErrorCode.NONE));
    }
    // One record per partition, each valid alone: a broker shrinking the ISR of many partitions at once may be split.
    return ControllerResult.nonAtomic(records, response.build());
  }

  private static void state(PartitionIsrResult.Builder result, PartitionRegistration p) {
    result.setLeader(p.leader()).setLeaderEpoch(p.leaderEpoch()).setPartitionEpoch(p.partitionEpoch())
        .clearIsr().addAllIsr(p.isr());
  }

  /** Why a proposed ISR is malformed for this partition, or null. */
  private static String isrProblem(PartitionRegistration p, List<Integer> newIsr) {
    if (newIsr.isEmpty()) {
      return "the ISR may not be empty";
    }
    if (new HashSet<>(newIsr).size() != newIsr.size()) {
      return "a replica appears more than once";
    }
    if (!newIsr.contains(p.leader())) {
      return "the leader " + p.leader() + " must stay in the ISR";
    }
    for (int r : newIsr) {
      if (!p.hasReplica(r)) {
        return "broker " + r + " is not a replica (replicas " + p.replicas() + ")";
      }
    }
    return null;
  }

  /** Why a replica joining the ISR may not, or null: it must be registered, unfenced, not shutting down. */
  private String ineligibleJoiner(MetadataImage image, PartitionRegistration p, List<Integer> newIsr) {
    for (int r : newIsr) {
      if (p.isr().contains(r)) {
        continue;
      }
      BrokerRegistration b = image.brokers().get(r);
      if (b == null) {
        return "broker " + r + " is not registered";
      }
      if (b.fenced()) {
        return "broker " + r + " is fenced";
      }
      if (shuttingDown.contains(r)) {
        return "broker " + r + " is in controlled shutdown";
      }
    }
    return null;
  }

  private static String collisionKey(String topic) {
    return topic.replace('.', '_');
  }

  private UUID newTopicId(MetadataImage image) {
    UUID id;
    do {
      id = new UUID(random.nextLong(), random.nextLong());
    } while (id.getMostSignificantBits() == 0 && id.getLeastSignificantBits() == 0
        || image.topicsById().containsKey(id));
    return id;
  }

  private static TopicResult fail(TopicResult.Builder result, ErrorCode code, String message) {
    return result.setError(code).setErrorMessage(message).build();
  }
}
