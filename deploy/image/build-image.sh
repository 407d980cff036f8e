#!/usr/bin/env bash
# Builds the Raftline container image as a tarball (`docker load -i` / `podman load -i`), without a
# Docker daemon and without a base image from a container registry (none is reachable from this
# project's build machines; Debian's package archive is). The image is one layer holding:
#   - the Debian packages the runtime needs: the C library, zlib, and the shell and few tools that
#     bin/raftline and the Kubernetes init container use, downloaded with apt-get from the build
#     machine's Debian sources and unpacked with dpkg-deb (their names and versions are listed in
#     /opt/raftline/image-packages.txt);
#   - a Java runtime made by jlink from the build's JDK (Debian's, so it matches that C library);
#   - the Raftline distribution under /opt/raftline, run as user 1000 from /var/lib/raftline.
# The tar is reproducible for the same inputs: sorted entries, fixed times and owners.
#
# Usage: build-image.sh DIST_DIR WORK_DIR IMAGE_TAR IMAGE_NAME
set -euo pipefail
dist="$1"; work="$2"; image_tar="$3"; name="$4"
packages=(libc6 libgcc-s1 libstdc++6 zlib1g gcc-12-base dash bash libtinfo6 sed grep libselinux1 libpcre2-8-0
  libacl1 coreutils libattr1 libgmp10)
# What Raftline's classes and libraries use from the JDK (Netty needs jdk.unsupported, the JVM metrics
# jdk.management); the rest of the JDK stays out of the image.
modules=java.base,java.logging,java.management,jdk.management,java.naming,jdk.naming.dns,jdk.unsupported,java.net.http,java.xml,java.sql,jdk.crypto.ec,jdk.zipfs,jdk.jfr,java.security.jgss

for tool in apt-get dpkg-deb tar sha256sum; do
  command -v "$tool" >/dev/null || { echo "build-image: needs $tool (a Debian-based build machine)" >&2; exit 1; }
done
jlink="$(command -v jlink || true)"
[ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/jlink" ] && jlink="$JAVA_HOME/bin/jlink"
[ -n "$jlink" ] || { echo "build-image: needs jlink (a JDK, not a JRE)" >&2; exit 1; }

rootfs="$work/rootfs"; debs="$work/debs"; archive="$work/archive"
rm -rf "$rootfs" "$archive"
mkdir -p "$rootfs" "$debs" "$archive"
if ! (cd "$debs" && apt-get download -q "${packages[@]}" > "$work/apt.log" 2>&1); then
  cat "$work/apt.log" >&2
  echo "build-image: could not download the Debian packages (no access to the Debian archive?)" >&2
  exit 1
fi
for p in "${packages[@]}"; do
  deb="$(ls -t "$debs"/"${p}"_*.deb | head -1)"
  dpkg-deb -x "$deb" "$rootfs"
  echo "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)" >> "$work/packages.txt.tmp"
done
# The packages' maintainer scripts do not run here; what they would set up, the image needs:
# /bin/sh, the dynamic loader where programs look for it, and no documentation.
ln -sf dash "$rootfs/bin/sh"
mkdir -p "$rootfs/lib64"
[ -e "$rootfs/lib64/ld-linux-x86-64.so.2" ] || ln -sf /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$rootfs/lib64/ld-linux-x86-64.so.2"
rm -rf "$rootfs/usr/share/doc" "$rootfs/usr/share/man" "$rootfs/usr/share/info" "$rootfs/usr/share/locale"

"$jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --output "$rootfs/opt/java"

mkdir -p "$rootfs/opt/raftline" "$rootfs/etc" "$rootfs/tmp" "$rootfs/var/lib/raftline" "$rootfs/home/raftline" \
  "$rootfs/proc" "$rootfs/dev" "$rootfs/sys"
cp -a "$dist/." "$rootfs/opt/raftline/"
rm -f "$rootfs/opt/raftline/.built" "$rootfs/opt/raftline/raftline.jsa"
sort "$work/packages.txt.tmp" > "$rootfs/opt/raftline/image-packages.txt"; rm -f "$work/packages.txt.tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nraftline:x:1000:1000:raftline:/home/raftline:/bin/sh\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nraftline:x:1000:\n' > "$rootfs/etc/group"
# Owned by root like everything else in the layer (no root needed to build it); writable for user 1000.
chmod 1777 "$rootfs/tmp" "$rootfs/var/lib/raftline" "$rootfs/home/raftline"

tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$archive/layer.tar" .
diff_id="$(sha256sum "$archive/layer.tar" | cut -d' ' -f1)"
mkdir -p "$archive/$diff_id"
mv "$archive/layer.tar" "$archive/$diff_id/layer.tar"
cat > "$archive/config.json" <<JSON
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"User":"1000","WorkingDir":"/var/lib/raftline",
  "Env":["PATH=/opt/java/bin:/opt/raftline/bin:/usr/bin:/bin","JAVA_HOME=/opt/java"],
  "Entrypoint":["/opt/raftline/bin/raftline"],
  "ExposedPorts":{"9092/tcp":{},"9093/tcp":{},"9644/tcp":{}},
  "Labels":{"org.opencontainers.image.title":"raftline","org.opencontainers.image.version":"${name##*:}"}},
 "rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"deploy/image/build-image.sh"}]}
JSON
config_id="$(sha256sum "$archive/config.json" | cut -d' ' -f1)"
mv "$archive/config.json" "$archive/$config_id.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]\n' "$config_id" "$name" "$diff_id" \
  > "$archive/manifest.json"
mkdir -p "$(dirname "$image_tar")"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$archive" -cf "$image_tar" .
rm -rf "$archive"
echo "build-image: $name in $image_tar ($(du -h "$image_tar" | cut -f1)), rootfs in $rootfs" >&2
