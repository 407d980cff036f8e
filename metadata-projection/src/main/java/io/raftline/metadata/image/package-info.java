/** Immutable metadata images and the delta that turns one into the next. */
package io.raftline.metadata.image;
