/**
 * Raftline's wire contracts: the {@code .proto} services and messages (client API, broker to
 * controller, metadata records) whose Java classes and Vert.x gRPC stubs are generated at build time,
 * and the record-batch byte layout in {@link io.raftline.protocol.records}. No server or client logic
 * lives here, apart from {@link io.raftline.protocol.Answers} at the transport boundary: every other
 * module depends on this one, so it stays small and stable.
 */
package io.raftline.protocol;
