package io.raftline.quorum;

import com.google.protobuf.ByteString;
import io.raftline.protocol.quorum.BeginQuorumEpochRequest;
import io.raftline.protocol.quorum.BeginQuorumEpochResponse;
import io.raftline.protocol.quorum.EndQuorumEpochRequest;
import io.raftline.protocol.quorum.EndQuorumEpochResponse;
import io.raftline.protocol.quorum.RaftEntry;
import io.raftline.protocol.quorum.RaftFetchRequest;
import io.raftline.protocol.quorum.RaftFetchResponse;
import io.raftline.protocol.quorum.RaftVoteRequest;
import io.raftline.protocol.quorum.RaftVoteResponse;
import io.raftline.quorum.raft.LogEntry;
import io.raftline.quorum.raft.RaftError;
import io.raftline.quorum.raft.RaftMessage;
import java.util.ArrayList;
import java.util.List;

/**
 * Maps the Raft core's messages to and from their protobuf wire form. Decoding is strict about what
 * would corrupt state (an unknown error name becomes INVALID_REQUEST) and leaves range checks to the
 * core, which answers malformed requests itself.
 */
final class RaftWire {
  private RaftWire() {}

  static RaftFetchRequest toWire(RaftMessage.FetchRequest m, String clusterId) {
    return RaftFetchRequest.newBuilder().setClusterId(clusterId).setFrom(m.from()).setTo(m.to()).setEpoch(m.epoch())
        .setFetchOffset(m.fetchOffset()).setLastFetchedEpoch(m.lastFetchedEpoch()).setReplicaId(m.replicaId())
        .setMaxWaitMs(m.maxWaitMs()).setHighWatermark(m.highWatermark()).build();
  }

  static RaftMessage.FetchRequest fromWire(RaftFetchRequest w) {
    return new RaftMessage.FetchRequest(w.getFrom(), w.getTo(), w.getEpoch(), w.getFetchOffset(),
        w.getLastFetchedEpoch(), w.getReplicaId(), w.getMaxWaitMs(), w.getHighWatermark());
  }

  static RaftFetchResponse toWire(RaftMessage.FetchResponse m) {
    RaftFetchResponse.Builder b = RaftFetchResponse.newBuilder().setFrom(m.from()).setTo(m.to()).setEpoch(m.epoch())
        .setLeaderId(m.leaderId()).setError(m.error().name()).setFetchOffset(m.fetchOffset())
        .setLastFetchedEpoch(m.lastFetchedEpoch()).setHighWatermark(m.highWatermark())
        .setDivergingEpoch(m.divergingEpoch()).setDivergingEndOffset(m.divergingEndOffset())
        .setLogStartOffset(m.logStartOffset()).setSnapshotOffset(m.snapshotOffset())
        .setSnapshotEpoch(m.snapshotEpoch());
    for (LogEntry e : m.entries()) {
      b.addEntries(RaftEntry.newBuilder().setEpoch(e.epoch()).setPayload(ByteString.copyFrom(e.payload())));
    }
    return b.build();
  }

  static RaftMessage.FetchResponse fromWire(RaftFetchResponse w) {
    List<LogEntry> entries = new ArrayList<>(w.getEntriesCount());
    long offset = w.getFetchOffset();
    for (RaftEntry e : w.getEntriesList()) {
      entries.add(new LogEntry(offset++, e.getEpoch(), e.getPayload().toByteArray()));
    }
    return new RaftMessage.FetchResponse(w.getFrom(), w.getTo(), w.getEpoch(), w.getLeaderId(), error(w.getError()),
        w.getFetchOffset(), w.getLastFetchedEpoch(), entries, w.getHighWatermark(), w.getDivergingEpoch(),
        w.getDivergingEndOffset(), w.getLogStartOffset(),
        // proto3 reads an absent field as 0, which is a valid offset: only a sender that set the epoch
        // (>= 0 with an offset > 0) names a snapshot.
        w.getSnapshotOffset() > 0 ? w.getSnapshotOffset() : -1, w.getSnapshotOffset() > 0 ? w.getSnapshotEpoch() : -1);
  }

  static RaftVoteRequest toWire(RaftMessage.VoteRequest m, String clusterId) {
    return RaftVoteRequest.newBuilder().setClusterId(clusterId).setFrom(m.from()).setTo(m.to()).setEpoch(m.epoch())
        .setCandidateId(m.candidateId()).setLastEpoch(m.lastEpoch()).setLastOffset(m.lastOffset())
        .setPreVote(m.preVote()).build();
  }

  static RaftMessage.VoteRequest fromWire(RaftVoteRequest w) {
    return new RaftMessage.VoteRequest(w.getFrom(), w.getTo(), w.getEpoch(), w.getCandidateId(), w.getLastEpoch(),
        w.getLastOffset(), w.getPreVote());
  }

  static RaftVoteResponse toWire(RaftMessage.VoteResponse m) {
    return RaftVoteResponse.newBuilder().setFrom(m.from()).setTo(m.to()).setEpoch(m.epoch()).setLeaderId(m.leaderId())
        .setError(m.error().name()).setGranted(m.granted()).setPreVote(m.preVote()).build();
  }

  static RaftMessage.VoteResponse fromWire(RaftVoteResponse w) {
    return new RaftMessage.VoteResponse(w.getFrom(), w.getTo(), w.getEpoch(), w.getLeaderId(), error(w.getError()),
        w.getGranted(), w.getPreVote());
  }

  static BeginQuorumEpochRequest toWire(RaftMessage.BeginQuorumEpochRequest m, String clusterId) {
    return BeginQuorumEpochRequest.newBuilder().setClusterId(clusterId).setFrom(m.from()).setTo(m.to())
        .setEpoch(m.epoch()).setLeaderId(m.leaderId()).build();
  }

  static RaftMessage.BeginQuorumEpochRequest fromWire(BeginQuorumEpochRequest w) {
    return new RaftMessage.BeginQuorumEpochRequest(w.getFrom(), w.getTo(), w.getEpoch(), w.getLeaderId());
  }

  static BeginQuorumEpochResponse toWire(RaftMessage.BeginQuorumEpochResponse m) {
    return BeginQuorumEpochResponse.newBuilder().setFrom(m.from()).setTo(m.to()).setEpoch(m.epoch())
        .setLeaderId(m.leaderId()).setError(m.error().name()).build();
  }

  static RaftMessage.BeginQuorumEpochResponse fromWire(BeginQuorumEpochResponse w) {
    return new RaftMessage.BeginQuorumEpochResponse(w.getFrom(), w.getTo(), w.getEpoch(), w.getLeaderId(),
        error(w.getError()));
  }

  static EndQuorumEpochRequest toWire(RaftMessage.EndQuorumEpochRequest m, String clusterId) {
    return EndQuorumEpochRequest.newBuilder().setClusterId(clusterId).setFrom(m.from()).setTo(m.to())
        .setEpoch(m.epoch()).setLeaderId(m.leaderId()).addAllPreferredSuccessors(m.preferredSuccessors()).build();
  }

  static RaftMessage.EndQuorumEpochRequest fromWire(EndQuorumEpochRequest w) {
    return new RaftMessage.EndQuorumEpochRequest(w.getFrom(), w.getTo(), w.getEpoch(), w.getLeaderId(),
        w.getPreferredSuccessorsList());
  }

  static EndQuorumEpochResponse toWire(RaftMessage.EndQuorumEpochResponse m) {
    return EndQuorumEpochResponse.newBuilder().setFrom(m.from()).setTo(m.to()).setEpoch(m.epoch())
        .setLeaderId(m.leaderId()).setError(m.error().name()).build();
  }

  static RaftMessage.EndQuorumEpochResponse fromWire(EndQuorumEpochResponse w) {
    return new RaftMessage.EndQuorumEpochResponse(w.getFrom(), w.getTo(), w.getEpoch(), w.getLeaderId(),
        error(w.getError()));
  }

  private static RaftError error(String name) {
    try {
      return RaftError.valueOf(name.isEmpty() ? "NONE" : name);
    } catch (IllegalArgumentException e) {
      return RaftError.INVALID_REQUEST;
    }
  }
}
