#!/usr/bin/env bash
# System packages the tests use (all from Debian bookworm; suricata from bookworm-backports).
# Idempotent: skips what is already installed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS="curl bzip2 tshark wireshark-common libpcap-dev tcpreplay tcpdump ethtool bc libndpi-bin iproute2 influxdb influxdb-client chromium nftables iptables rsyslog rsyslog-openssl openssl clamav kamailio sqlite3 poppler-utils catdoc antiword unrtf bind9-utils unbound systemd"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -q
  apt-get install -y -q --no-install-recommends $missing
fi
if ! command -v suricata >/dev/null 2>&1; then
  if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    uri=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}')
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "${uri:-http://deb.debian.org/debian}" \
      > /etc/apt/sources.list.d/bookworm-backports.sources
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends -t bookworm-backports suricata
fi
