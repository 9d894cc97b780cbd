// More UDP look-alikes for the near-miss corpus (test/signatures/near-miss.test.ts), beside
// nearmiss.ts's own: datagram protocols whose first bytes or sizes resemble an IM protocol's.
import type { Rng, UdpScript } from './nearmiss';

export const MORE_UDP_GENERATORS: ((rng: Rng) => UdpScript)[] = [];
