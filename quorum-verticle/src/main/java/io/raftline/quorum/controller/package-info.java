/**
 * The quorum controller: the active controller's decisions as a pure state machine. Each request is
 * validated against the metadata image (including records this controller has proposed but not yet
 * seen commit, so two racing requests cannot both create one topic) and turned into records plus the
 * response to send once those records commit. No IO, no Vert.x, randomness injected.
 */
package io.raftline.quorum.controller;
