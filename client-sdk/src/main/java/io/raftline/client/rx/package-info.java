/** RxJava 3 adapters over the Vert.x face of the client. */
package io.raftline.client.rx;
