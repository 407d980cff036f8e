package io.raftline.protocol;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.vertx.core.http.HttpConnection;

/**
 * Lets an HTTP/2 connection gather frames that span socket reads without copying them.
 *
 * <p>Netty's frame decoder keeps the unread part of each read and, by default, copies every following
 * read onto it, growing the copy as it goes. Records travel in frames of up to a mebibyte, which span
 * a dozen reads or more, so each byte was copied once or twice there before Vert.x copied it again
 * into the chunk it hands out. A composite cumulation only links the reads together; Vert.x's copy
 * is then the one copy.
 *
 * <p>Vert.x has no public setting for this: the decoder is found in the connection's Netty pipeline
 * (the connection's class is Vert.x's own, and its channel is reached through its internal base).
 */
public final class FrameCumulation {
  private static final System.Logger LOG = System.getLogger(FrameCumulation.class.getName());
  private static volatile boolean warned;

  private FrameCumulation() {
  }

  /**
   * Switches {@code connection}'s frame decoder to composite cumulation.
   *
   * @return whether the decoder was found (false leaves the connection as it was)
   */
  public static boolean linkReads(HttpConnection connection) {
    if (!(connection instanceof io.vertx.core.net.impl.ConnectionBase base)) {
      return false; // an HTTP/1 connection, or a Vert.x whose connections are built otherwise
    }
    ChannelPipeline pipeline = base.channel().pipeline();
    for (var entry : pipeline) {
      ChannelHandler handler = entry.getValue();
      // The HTTP/2 frame decoder only: an HTTP/1 decoder or a TLS handler is left as it is.
      if (handler instanceof Http2ConnectionHandler decoder) {
        decoder.setCumulator(ByteToMessageDecoder.COMPOSITE_CUMULATOR);
        return true;
      }
    }
    if (!warned) {
      warned = true;
      LOG.log(System.Logger.Level.WARNING, "no HTTP/2 frame decoder found in a connection's pipeline: frames that "
          + "span socket reads are copied (a Vert.x change?)");
    }
    return false;
  }
}
