// Keys of state kept across flows (DNS-learned names, expected connections, STUN endpoints, the
// analyzer's sanctioned servers), per tunnel zone: two tenants mirrored through one sensor may use the
// same private addresses (docs/sensor.md, Tunnel zones). Outside tunnels the key is what it was before
// zones existed; '|' appears in no address, port or zone name.

/** `key` within `zone`; outside tunnels (no zone) `key` itself */
export function zoneKey(key: string, zone: string | undefined): string {
  return zone ? `${key}|${zone}` : key;
}

/** a transport endpoint (tcp|10.0.0.5|5000) within a zone */
export function endpointKey(transport: string, ip: string, port: number, zone: string | undefined): string {
  return zoneKey(`${transport}|${ip}|${port}`, zone);
}

/**
 * A client host as the users and hosts pages, the report and their `host` filters name it: its
 * address, and inside a zoned tunnel `address@zone` (two tenants' 10.0.0.5 are two hosts). '@' is in
 * no address and no zone name.
 */
export function hostName(ip: string, zone: string | undefined): string {
  return zone ? `${ip}@${zone}` : ip;
}

/** hostName's parts: a bare address (no zone) matches that address in every zone */
export function parseHostName(name: string): { ip: string; zone?: string } {
  const at = name.indexOf('@');
  return at < 0 ? { ip: name } : { ip: name.slice(0, at), zone: name.slice(at + 1) };
}
