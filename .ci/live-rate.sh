#!/usr/bin/env bash
# Measures the lossless live capture rate of `shadowim sensor` (docs/live.md): two network namespaces
# joined by a veth pair; tcpreplay sends a generated capture at increasing --pps out of one end while
# the sensor (or tcpdump, or cap counting only, for comparison) captures on the other. Root only;
# touches nothing outside the namespaces it creates. Needs tcpreplay, tcpdump, capinfos, ethtool, bc.
#
# Usage: .ci/live-rate.sh [SECONDS_PER_RATE] [PPS ...]
#   TOOLS="sensor-off sensor-on count tcpdump"   which captures to run (default: all four)
#   CAPTURES="irc bulk"                           which generated captures (default: both)
#   SENSOR_ARGS="--queue-size 64"                 extra sensor options
# One line per run: packets sent (tcpreplay's "Actual") and at what rate, received (frames the capture
# got from libpcap), dropped by the sensor's own queue, analysed (frames that reached the packet path),
# lost = sent - analysed (sensor) or sent - received (others), the seconds from SIGINT to exit (the
# sensor drains its queue then), the queue's peak, and the 1-minute load average before the run.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}; shift || true
RATES=${*:-"25000 50000 100000 150000 200000 250000"}
TOOLS=${TOOLS:-"sensor-off sensor-on count tcpdump"}
CAPTURES=${CAPTURES:-"irc bulk"}
SENSOR_ARGS=${SENSOR_ARGS:-}
TAG=$$; A=lrA$TAG; B=lrB$TAG; VA=lra$TAG; VB=lrb$TAG
TMP=$(mktemp -d)
cleanup() { ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
ip netns add "$A"; ip netns add "$B"
for ns in "$A" "$B"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip link add "$VA" netns "$A" type veth peer name "$VB" netns "$B"
ip -n "$A" link set "$VA" up; ip -n "$B" link set "$VB" up

# irc.pcap: 2000 short IRC conversations (handshake, registration, messages, teardown), 16000 small
#   frames: the worst case, every flow is new and is IM (detected, decoded, one session + one message).
# bulk.pcap: 20 long TCP downloads of 1400-byte segments plus one IRC conversation: the common case.
node -e "
require('tsx/cjs');
const { Capture } = require('./test/helpers/pcapgen.ts');
const fs = require('fs');
let c = new Capture();
for (let i = 0; i < 2000; i++) {
  const t = c.tcp('10.0.' + (i >> 8) + '.' + (1 + (i & 255)) + ':' + (40000 + i), '198.51.100.7:6667');
  t.open(); t.send('c', 'NICK u' + i + '\r\nUSER u' + i + ' 0 * :U\r\nPRIVMSG #x :hello ' + i + '\r\n');
  t.send('s', ':irc.example.net 001 u' + i + ' :Welcome\r\n'); t.close();
}
fs.writeFileSync('$TMP/irc.pcap', c.pcap());
c = new Capture();
const irc = c.tcp('10.1.0.9:41000', '198.51.100.7:6667');
irc.open(); irc.send('c', 'NICK bulk\r\nUSER bulk 0 * :B\r\nPRIVMSG #x :hello\r\n');
const body = Buffer.alloc(1400 * 795, 0x41);
for (let i = 0; i < 20; i++) {
  const t = c.tcp('10.1.1.' + (1 + i) + ':' + (50000 + i), '192.0.2.80:443');
  t.open(); t.send('c', 'GET /big HTTP/1.1\r\n\r\n'); t.send('s', body); t.close();
}
irc.close();
fs.writeFileSync('$TMP/bulk.pcap', c.pcap());
"

# LiveCapture into a sink that only counts: the ceiling of the cap binding's per-packet callback
cat > "$TMP/count.ts" <<EOT
import { LiveCapture } from '$PWD/sensor/live';
const counters = { packets: 0, bytes: 0, malformed: 0, skipped: 0, flows: 0, activeFlows: 0, evictedFlows: 0, fragmentsDropped: 0, badTimestamps: 0 };
const sink = { packet(_l: number, _t: number, d: Buffer) { counters.packets++; counters.bytes += d.length; }, finish() {}, counters };
const cap = new LiveCapture(sink, { device: process.argv[2], bufferSize: 64 << 20 });
cap.start();
process.stderr.write('capturing on\\n');
process.on('SIGINT', () => { cap.stop(); process.stderr.write('received: ' + cap.counters.received + ' packets\\n'); });
EOT

measure() { # $1 = label, $2 = pps, $3... = capture command (run in B)
  local label=$1 pps=$2; shift 2
  local frames; frames=$(capinfos -Tcrm "$FILE" | tail -1 | cut -d, -f2)
  local loops=$(( (pps * SECS + frames - 1) / frames ))
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  : > "$TMP/err"
  ip netns exec "$B" "$@" >/dev/null 2>"$TMP/err" &
  local pid=$!
  for _ in $(seq 300); do grep -qE "capturing on|listening on" "$TMP/err" && break; sleep 0.1; done
  local out; out=$(ip netns exec "$A" tcpreplay -q --pps="$pps" --loop="$loops" -i "$VA" "$FILE" 2>&1)
  local sent; sent=$(sed -nE 's/.*Actual: ([0-9]+) packets.*/\1/p' <<<"$out")
  local rated; rated=$(sed -nE 's/.*Rated: .*, ([0-9.]+) pps.*/\1/p' <<<"$out")
  sleep 3
  local t0; t0=$(date +%s.%N)
  kill -INT "$pid"; wait "$pid" || true
  local drain; drain=$(echo "$(date +%s.%N) - $t0" | bc)
  local got analysed qdrop peak
  got=$(sed -nE 's/.*received: ([0-9]+) packets.*/\1/p; s/^([0-9]+) packets captured.*/\1/p' "$TMP/err" | head -1)
  analysed=$(sed -nE 's/.*decoded: ([0-9]+) packets.*/\1/p' "$TMP/err" | head -1)
  qdrop=$(sed -nE 's/.*queue: ([0-9]+) packets dropped.*/\1/p' "$TMP/err" | head -1)
  peak=$(sed -nE 's/.*queue: .*peak ([0-9.]+ MiB).*/\1/p' "$TMP/err" | head -1)
  local kept=${analysed:-$got}
  printf '%-4s %-22s target %6s  sent %8s at %9s pps  received %8s  queue-dropped %7s  analysed %8s  lost %6.2f %%  drain %5.1f s  peak %9s  load %s\n' \
    "$(basename "$FILE" .pcap)" "$label" "$pps" "$sent" "$rated" "$got" "${qdrop:--}" "${analysed:--}" \
    "$(echo "scale=4; 100 * ($sent - $kept) / $sent" | bc)" "$drain" "${peak:--}" "$load"
}

offloads() { ip netns exec "$B" ethtool -K "$VB" gro "$1" gso "$1" tso "$1" >/dev/null 2>&1 || true; }
for cap in $CAPTURES; do
  FILE="$TMP/$cap.pcap"
  for tool in $TOOLS; do
    for r in $RATES; do
      case $tool in
        sensor-on) offloads on; measure "sensor, offloads on" "$r" node bin/shadowim.js sensor -i "$VB" --stats-interval 0 --format jsonl $SENSOR_ARGS ;;
        # offloads off: libpcap then sizes ring slots to the MTU (see docs/live.md)
        sensor-off) offloads off; measure "sensor, offloads off" "$r" node bin/shadowim.js sensor -i "$VB" --stats-interval 0 --format jsonl $SENSOR_ARGS ;;
        count) offloads off; measure "cap count-only, off" "$r" node --require tsx/cjs "$TMP/count.ts" "$VB" ;;
        tcpdump) offloads off; measure "tcpdump -B 65536, off" "$r" tcpdump -n -i "$VB" -B 65536 -w /dev/null ;;
        *) echo "unknown tool '$tool' (sensor-off, sensor-on, count, tcpdump)" >&2; exit 2 ;;
      esac
    done
  done
done
