package io.raftline.metadata.projection;

import io.raftline.metadata.image.MetadataDelta;
import io.raftline.metadata.image.MetadataImage;

/**
 * What a metadata publisher hands its listeners after committed records were applied: the new image
 * and the delta that made it ({@code delta.base()} is the image before). Listeners must treat both as
 * read-only.
 */
public record MetadataUpdate(MetadataImage image, MetadataDelta delta) {

  /** The offset of the image this update starts from. */
  public long baseOffset() {
    return delta.base().offset();
  }
}
