// Hostile address-like strings for testing address parsers against Node's net.isIP*: fixed edge cases,
// then seeded random pastes of fragments (colons, dots, zones, spaces, out-of-range parts) and
// well-formed IPv6 in full and compressed forms.
import { rng } from '../../common/rng';

export function addressCases(fixed: string[], seed: number, atoms: string[], maxAtoms: number, extra?: (r: () => number, groups: string[]) => string[]): string[] {
  const out = [...fixed];
  const r = rng(seed);
  for (let k = 0; k < 30000; k++) {
    let s = '';
    const len = 1 + Math.floor(r() * maxAtoms);
    for (let i = 0; i < len; i++) s += atoms[Math.floor(r() * atoms.length)];
    out.push(s);
    const g = Array.from({ length: 8 }, () => Math.floor(r() * 65536).toString(16));
    const a = Math.floor(r() * 8), b = a + Math.floor(r() * (8 - a));
    out.push(g.join(':'), `${g.slice(0, a).join(':')}::${g.slice(b + 1).join(':')}`);
    if (extra) out.push(...extra(r, g));
  }
  return out;
}
