// More TCP look-alikes for the near-miss corpus (test/signatures/near-miss.test.ts), beside
// nearmiss.ts's own: protocols whose framing or words resemble an IM protocol's.
import type { Rng, Script } from './nearmiss';

export const MORE_TCP_GENERATORS: ((rng: Rng) => Script)[] = [];
