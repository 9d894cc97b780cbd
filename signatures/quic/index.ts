// QUIC: decrypts the client's Initial packets (v1, v2, draft-29), reassembles the CRYPTO stream
// (a post-quantum ClientHello spans two or three Initial packets), and classifies the flow by the
// ClientHello's server name, like TLS. Google QUIC (Q0xx) CHLO SNI is read too.
import type { DetectInput, DetectResult, SignatureData, SignatureModule } from '../types';
import type { FlowInfo } from '../../sensor/types';
import { cryptoFrames, gquicSni, initialKeys, looksLikeQuicInitial, parseInitial, type CryptoFragment, type InitialKeys } from './parser';
import { parseClientHelloBody } from '../tls/parser';
import { classifyServerName } from '../tls';

interface FlowState { version: number; dcid: Buffer; keys?: InitialKeys; frags: CryptoFragment[]; bytes: number }

// per-flow reassembly state; weakly held, so it goes away with the flow
const states = new WeakMap<FlowInfo, FlowState>();
const MAX_FRAGMENTS = 64;

function detect(input: DetectInput, data: SignatureData): DetectResult {
  const d = input.data;
  if (input.dir !== 0) return null;
  if (!looksLikeQuicInitial(d)) {
    const sni = gquicSni(d);
    if (sni === null) return null;
    return classifyServerName(sni, [], input, 'quic') ?? null;
  }
  const max = Number(data.max_crypto_bytes) || 16384;
  let st = states.get(input.flow);
  let off = 0;
  for (let n = 0; n < 4 && off < d.length; n++) {
    const pkt = parseInitial(d.subarray(off), (version, dcid) => {
      // keys come from the DCID of the client's first Initial, for every later Initial too
      if (!st) {
        st = { version, dcid, keys: initialKeys(version, dcid), frags: [], bytes: 0 };
        states.set(input.flow, st);
      }
      return st.version === version ? st.keys : undefined;
    });
    if (!pkt) break;
    off += pkt.size;
    if (!pkt.payload || !st) continue;
    for (const f of cryptoFrames(pkt.payload)) {
      // bounded: retransmitted or overlapping fragments cannot grow a flow's state past 2 × max
      if (st.frags.length >= MAX_FRAGMENTS || f.offset + f.data.length > max || st.bytes + f.data.length > 2 * max) continue;
      st.frags.push({ offset: f.offset, data: Buffer.from(f.data) });
      st.bytes += f.data.length;
    }
  }
  if (!st) return null;
  const stream = contiguous(st.frags);
  if (stream.length < 4) return 'more';
  if (stream[0] !== 1) return null; // the client's Initial CRYPTO stream starts with its ClientHello
  const need = 4 + ((stream[1] << 16) | (stream[2] << 8) | stream[3]);
  if (need > max) return null;
  if (stream.length < need) return 'more';
  const hello = parseClientHelloBody(stream.subarray(4, need));
  states.delete(input.flow);
  if (!hello) return null;
  return classifyServerName(hello.sni, hello.alpn, input, 'quic');
}

/** bytes from offset 0 as far as the fragments cover without a hole */
function contiguous(frags: CryptoFragment[]): Buffer {
  const sorted = [...frags].sort((a, b) => a.offset - b.offset);
  const parts: Buffer[] = [];
  let have = 0;
  for (const f of sorted) {
    if (f.offset > have) break;
    const end = f.offset + f.data.length;
    if (end <= have) continue;
    parts.push(f.data.subarray(have - f.offset));
    have = end;
  }
  return Buffer.concat(parts);
}

export const module: SignatureModule = {
  id: 'quic',
  protocols: ['quic'],
  transports: ['udp'],
  detect,
};
