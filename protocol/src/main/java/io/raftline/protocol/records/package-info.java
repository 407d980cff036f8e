/**
 * The record batch, Raftline's unit of data on the wire and on disk. The layout follows Apache Kafka's
 * record batch v2 (magic 2): a 61-byte header with base offset, leader epoch, CRC32C, attributes,
 * timestamps and producer id/epoch/sequence, followed by varint-encoded records. Keeping Kafka's layout
 * lets a broker validate and store batches without decoding each record, and leaves the door open to a
 * Kafka wire-protocol listener. This package only encodes, decodes and checks bytes; both the broker
 * and the client SDK use it, which is why it lives with the other contracts.
 *
 * <p>Batches may be compressed as in Kafka ({@link io.raftline.protocol.records.CompressionType}: gzip,
 * snappy, lz4, zstd, with Kafka's framing): the records section is one compressed block, the CRC covers
 * the compressed bytes, so the broker's produce path checks a compressed batch without decompressing it.
 */
package io.raftline.protocol.records;
