// The signatures' host tables read straight from their YAML files, not through the product's lookup,
// so a differential test's expectation does not share the code it checks.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

const SIG = path.join(__dirname, '../../signatures');

/** signatures/messengers/data.yaml `hosts`: protocol id → host names (`not-im` lists names that are not IM) */
export const messengerHosts: Record<string, string[]> = YAML.parse(fs.readFileSync(path.join(SIG, 'messengers/data.yaml'), 'utf8')).hosts;

/** every host any module lists (a random name must match none of them) */
export const allHosts: string[] = fs.readdirSync(SIG).flatMap((m) => {
  const f = path.join(SIG, m, 'data.yaml');
  if (!fs.existsSync(f)) return [];
  const h = YAML.parse(fs.readFileSync(f, 'utf8'))?.hosts;
  return !h ? [] : Array.isArray(h) ? h : (Object.values(h).flat() as string[]);
});

/** whether a (lower-case) name is `host` or under it */
export const under = (name: string, host: string): boolean => name === host || name.endsWith('.' + host);

/** the messenger a (lower-case) name is, by the longest listed host it is or is under (`not-im`: none) */
export function expectedProtocol(name: string): string | undefined {
  let best: [string, string] | undefined;
  for (const [proto, hosts] of Object.entries(messengerHosts)) {
    for (const h of hosts) if (under(name, h) && (!best || h.length > best[1].length)) best = [proto, h];
  }
  return best && best[0] !== 'not-im' ? best[0] : undefined;
}

/** the length of the longest host of any module that a name is or is under (0: none) */
export const longestAny = (name: string): number => Math.max(0, ...allHosts.filter((h) => under(name, h)).map((h) => h.length));
