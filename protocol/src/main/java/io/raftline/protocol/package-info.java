/**
 * Raftline's wire contracts: the {@code .proto} services and messages (client API, broker to
 * controller, metadata records) whose Java classes and Vert.x gRPC stubs are generated at build time,
 * and the record-batch byte layout in {@link io.raftline.protocol.records}. No server or client logic
 * lives here, only the transport boundary: {@link io.raftline.protocol.Answers}, and the gRPC wire
 * framing of the calls that carry records, served and called over plain HTTP/2 so their bytes are
 * copied once ({@link io.raftline.protocol.UnaryGrpcRoute}, {@link io.raftline.protocol.UnaryGrpcCall},
 * {@link io.raftline.protocol.GrpcMessageGatherer}, {@link io.raftline.protocol.FrameCumulation},
 * {@link io.raftline.protocol.AliasingDecoder}), and the fetching side of an incremental fetch session
 * ({@link io.raftline.protocol.FetcherSession}), shared by followers and consumers.
 * {@link io.raftline.protocol.LoopbackPorts} chooses the
 * loopback ports that listeners started later will bind (local clusters, the soak, the quorum and node
 * tests); it lives here because every module that starts listeners depends on this one. Every other
 * module depends on this one, so it stays small and stable.
 */
package io.raftline.protocol;
