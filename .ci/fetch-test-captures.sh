#!/usr/bin/env bash
# Real third-party captures beyond ../shared/pcaps, from Debian's source packages (the apt mirror this
# machine already uses), each checked against the sha256 of Debian's signed .dsc:
#   ndpi-4.2/{pcap,result}  nDPI 4.2's test captures and its results for them (the version libndpi-bin is
#                           built from): read by test/corpus/ndpi-captures.test.ts
#   tcpdump-4.99.3/tests    tcpdump's test captures (hundreds of protocols, many cut or malformed on
#                           purpose): read by test/corpus/other-protocols.test.ts
#   wireshark-4.0.17/test/captures  Wireshark's (TLS, QUIC, DTLS, IKE, WPA, SMB3, gRPC…; a third of
#                           them gzip-compressed): read by test/corpus/other-protocols.test.ts
#   gopacket-1.1.19, tcpflow-1.6.1, dpkt-1.9.8  other readers' test files: gopacket's pcapng format suite
#                           (both byte orders, several sections, custom blocks, a version-2 section),
#                           tcpflow's and dpkt's captures: read by test/corpus/capture-readers.test.ts
# Never copied into the repository. Idempotent.
#   usage: .ci/fetch-test-captures.sh [DEST]   (default: $SHADOWIM_THIRD_PARTY or ../third-party-captures beside the clone)
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-${SHADOWIM_THIRD_PARTY:-../third-party-captures}}"
# the Debian mirrors apt uses here (not the security archive, whose pool holds only updates), then
# deb.debian.org; apt's HTTP proxy, if one is set, is used too
mirrors=$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | sed 's/^URIs://' | tr ' ' '\n'
             grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}'
             echo http://deb.debian.org/debian; } | grep -E '^https?://' | grep -v -- '-security' | sed 's:/*$::' | awk '!seen[$0]++')
proxy=$(apt-config dump 2>/dev/null | sed -n 's/^Acquire::http::Proxy "\(.*\)";$/\1/p' | head -1)
[ -n "$proxy" ] && export http_proxy="$proxy"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fetch NAME POOLPATH SHA256 OUTDIR MEMBER...: the members of the tarball, extracted under DEST/OUTDIR
fetch() {
  local name=$1 pool=$2 sha=$3 out=$4
  shift 4
  [ -f "$dest/$out/.complete" ] && return 0
  local uri ok=""
  for uri in $mirrors; do
    if curl -fsS --retry 2 -o "$tmp/$name" "$uri/pool/main/$pool/$name" 2>/dev/null; then
      if echo "$sha  $tmp/$name" | sha256sum -c --quiet - 2>/dev/null; then ok=1; break; fi
      echo "fetch-test-captures: $name from $uri does not match Debian's sha256: not used" >&2
    fi
  done
  [ -n "$ok" ] || { echo "fetch-test-captures: could not download $name from $(echo $mirrors | tr ' ' ','): check the network or the apt mirror" >&2; exit 1; }
  mkdir -p "$dest/$out"
  tar -xf "$tmp/$name" -C "$dest/$out" --strip-components=1 "$@"
  touch "$dest/$out/.complete"
  echo "fetch-test-captures: $name from $uri → $dest/$out"
}

fetch ndpi_4.2.orig.tar.gz n/ndpi e54ce8fe13adc5d747be7553513657fae78f796e0bd459e122c280cc06ce4daf ndpi-4.2 nDPI-4.2/tests/pcap nDPI-4.2/tests/result
fetch tcpdump_4.99.3.orig.tar.gz t/tcpdump ad75a6ed3dc0d9732945b2e5483cb41dc8b4b528a169315e499c6861952e73b3 tcpdump-4.99.3 tcpdump-4.99.3/tests
fetch wireshark_4.0.17.orig.tar.bz2 w/wireshark 62fd1491b6211d1651a16a45ead15808970b3a6a9ebde2537f96722af47aaaa5 wireshark-4.0.17 wireshark-v4.0.17/test/captures
fetch gopacket_1.1.19.orig.tar.gz g/gopacket 31efa87cc9d2b41e5e66c7daa8839d841d2a43cc477bf595c9e8c24ef6903830 gopacket-1.1.19 --wildcards 'gopacket-1.1.19/pcap/*.pcap' gopacket-1.1.19/pcapgo/tests
fetch tcpflow_1.6.1.orig.tar.gz t/tcpflow c1c88513473e12011c0c00bba88dd02013ea3b813b08088f250cbf82b8f42358 tcpflow-1.6.1 --wildcards 'tcpflow-tcpflow-1.6.1/tests/*.pcap' tcpflow-tcpflow-1.6.1/samplePcaps
fetch python-dpkt_1.9.8.orig.tar.gz p/python-dpkt 9990639e19a9c8f1db4af453b7e6a45ef2995ec03e13bac35b9824839fd46867 dpkt-1.9.8 --wildcards 'dpkt-1.9.8/examples/data/*.pcap'
