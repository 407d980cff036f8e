/**
 * The fault-injection soak, Jepsen style ({@code raftline soak}, and {@code SoakTest} in CI).
 *
 * <p>{@link io.raftline.deploy.soak.SoakRun} starts real {@code raftline node} processes on loopback
 * ({@link io.raftline.deploy.soak.SoakCluster}), drives acks=all producers (idempotent and not), a
 * consumer and a consumer group through the client SDK ({@link io.raftline.deploy.soak.Workload}), injects faults on a seeded schedule
 * ({@link io.raftline.deploy.soak.Nemesis}: kill -9 of the active controller, of a partition leader
 * and of a random node; SIGSTOP past the session timeout; torn segment and metadata log tails; a full
 * disk; a network cut through {@link io.raftline.deploy.soak.TcpProxy}), and records every send,
 * acknowledgement, read and fault in a {@link io.raftline.deploy.soak.History} file.
 *
 * <p>After the run the {@link io.raftline.deploy.soak.Checks} judge the history
 * ({@link io.raftline.deploy.soak.Evidence}): acknowledged records read back at their acknowledged
 * offsets, per-producer order, no reads of records never sent, live reads never retracted, replica
 * logs and metadata logs agree, the cluster recovered after each fault, no duplicates from idempotent
 * producers, committed group offsets never go back (each check says "not checked" when the history holds
 * nothing for it, e.g. a run without idempotent producers or group members). A new
 * property is one more {@link io.raftline.deploy.soak.Check} in {@link io.raftline.deploy.soak.Checks#standard()}.
 */
package io.raftline.deploy.soak;
