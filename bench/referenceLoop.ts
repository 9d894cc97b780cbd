// The sensor issue's third yardstick, rebuilt: "a hand-written Node loop with chunked reads and a
// typed-array flow table" (1.7 Mpps on the day the targets were set). It is the floor of JavaScript on
// this host, where tcpdump and ndpiReader are the floor of C: the same runtime and JIT as shadowim, so it
// says how much slower this host runs Node code today. Nothing of shadowim is used, on purpose.
//
// Classic pcap (either byte order), Ethernet with at most one VLAN tag, IPv4 and IPv6, TCP and UDP; a
// flow is the unordered 5-tuple, counted in an open-addressed table of typed arrays (no eviction: it is
// sized for the benchmark's capture). Returns { packets, flows }.
import fs from 'node:fs';

const CHUNK = 8 << 20;
const SLOTS = 1 << 21; // table size (power of two); flows beyond half of it are not counted
const KW = 10; // key words: addr a[4], addr b[4], ports, proto

export function referenceLoop(file: string): { packets: number; flows: number } {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let have = fs.readSync(fd, buf, 0, CHUNK, 0);
    let filePos = have;
    if (have < 24) return { packets: 0, flows: 0 };
    const magic = buf.readUInt32LE(0);
    const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
    if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d) throw new Error('the reference loop reads classic pcap only');
    const index = new Int32Array(SLOTS).fill(-1);
    const keys = new Uint32Array((SLOTS >> 1) * KW);
    const packetsOf = new Float64Array(SLOTS >> 1);
    const bytesOf = new Float64Array(SLOTS >> 1);
    const k = new Uint32Array(KW);
    let flows = 0, packets = 0;
    let off = 24;
    for (;;) {
      if (have - off < 16 || have - off < 16 + (le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8))) {
        // the next record is cut by the chunk's end: move the rest to the front and read on
        buf.copy(buf, 0, off, have);
        have -= off;
        off = 0;
        const got = fs.readSync(fd, buf, have, CHUNK - have, filePos);
        if (got <= 0) break;
        have += got;
        filePos += got;
        continue;
      }
      const caplen = le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8);
      const wirelen = le ? buf.readUInt32LE(off + 12) : buf.readUInt32BE(off + 12);
      const p = off + 16, end = p + caplen;
      off = end;
      packets++;
      let e = p + 12;
      if (e + 2 > end) continue;
      let type = (buf[e] << 8) | buf[e + 1];
      if (type === 0x8100 && e + 6 <= end) {
        e += 4;
        type = (buf[e] << 8) | buf[e + 1];
      }
      const ip = e + 2;
      let proto: number, l4: number, v6: boolean;
      if (type === 0x0800 && ip + 20 <= end) {
        proto = buf[ip + 9];
        l4 = ip + (buf[ip] & 15) * 4;
        v6 = false;
      } else if (type === 0x86dd && ip + 40 <= end) {
        proto = buf[ip + 6];
        l4 = ip + 40;
        v6 = true;
      } else continue;
      if ((proto !== 6 && proto !== 17) || l4 + 4 > end) continue;
      const sp = (buf[l4] << 8) | buf[l4 + 1], dp = (buf[l4 + 2] << 8) | buf[l4 + 3];
      // the key in one order for both directions: the lower address (then port) first
      const sa = v6 ? ip + 8 : ip + 12, da = v6 ? ip + 24 : ip + 16, n = v6 ? 16 : 4;
      let cmp = 0;
      for (let i = 0; i < n && cmp === 0; i++) cmp = buf[sa + i] - buf[da + i];
      if (cmp === 0) cmp = sp - dp;
      const a = cmp <= 0 ? sa : da, b = cmp <= 0 ? da : sa;
      for (let i = 0; i < 4; i++) {
        k[i] = i * 4 < n ? buf.readUInt32BE(a + i * 4) : 0;
        k[4 + i] = i * 4 < n ? buf.readUInt32BE(b + i * 4) : 0;
      }
      k[8] = cmp <= 0 ? ((sp << 16) | dp) >>> 0 : ((dp << 16) | sp) >>> 0;
      k[9] = proto;
      let h = 0x811c9dc5;
      for (let i = 0; i < KW; i++) h = Math.imul(h ^ k[i], 0x01000193);
      h ^= h >>> 15;
      for (let i = h & (SLOTS - 1); ; i = (i + 1) & (SLOTS - 1)) {
        const s = index[i];
        if (s < 0) {
          if (flows >= SLOTS >> 1) break;
          index[i] = flows;
          keys.set(k, flows * KW);
          packetsOf[flows] = 1;
          bytesOf[flows] = wirelen;
          flows++;
          break;
        }
        const o = s * KW;
        let same = true;
        for (let j = 0; j < KW && same; j++) same = keys[o + j] === k[j];
        if (same) {
          packetsOf[s]++;
          bytesOf[s] += wirelen;
          break;
        }
      }
    }
    return { packets, flows };
  } finally {
    fs.closeSync(fd);
  }
}

// As a program (the benchmark runs it so, away from its own heap): `node bin/run-ts.js
// bench/referenceLoop.ts FILE` prints { packets, flows, seconds } for the loop alone, start-up left out.
if (process.argv[1] && require('node:path').resolve(process.argv[1]) === __filename) {
  const t0 = process.hrtime.bigint();
  const r = referenceLoop(process.argv[2]);
  console.log(JSON.stringify({ ...r, seconds: Number(process.hrtime.bigint() - t0) / 1e9 }));
}
