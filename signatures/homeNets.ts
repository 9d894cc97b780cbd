// Which side of a flow is the monitored network: messages from it are 'outbound'.
import type { Dir, FlowInfo } from '../sensor/types';
import { CidrTable } from './lookup';

export const DEFAULT_HOME_NETS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', 'fc00::/7', 'fe80::/10', '::1/128'];

export class HomeNets {
  private table = new CidrTable();
  /** per flow: asked for every message and file of the flow, the answer does not change */
  private byFlow = new WeakMap<FlowInfo, { client: string; server: string; dir: Dir }>();
  constructor(nets: string[] = DEFAULT_HOME_NETS) {
    for (const n of nets) this.table.add(n, 'home');
  }
  isHome(ip: string): boolean {
    return this.table.lookup(ip) !== undefined;
  }
  /** The direction that leaves the monitored network: the client's, unless only the server is ours. */
  outboundDir(flow: FlowInfo): Dir {
    const c = this.byFlow.get(flow);
    if (c && c.client === flow.client.ip && c.server === flow.server.ip) return c.dir;
    const dir = this.outboundDirOf(flow.client.ip, flow.server.ip);
    this.byFlow.set(flow, { client: flow.client.ip, server: flow.server.ip, dir });
    return dir;
  }
  /** outboundDir without the per-flow memo, for a caller that keeps the answer itself */
  outboundDirOf(client: string, server: string): Dir {
    return !this.isHome(client) && this.isHome(server) ? 1 : 0;
  }
}
