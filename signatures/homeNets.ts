// Which side of a flow is the monitored network: messages from it are 'outbound'.
import type { Dir, FlowInfo } from '../sensor/types';
import { CidrTable } from './lookup';

export const DEFAULT_HOME_NETS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', 'fc00::/7', 'fe80::/10', '::1/128'];

export class HomeNets {
  private table = new CidrTable();
  constructor(nets: string[] = DEFAULT_HOME_NETS) {
    for (const n of nets) this.table.add(n, 'home');
  }
  isHome(ip: string): boolean {
    return this.table.lookup(ip) !== undefined;
  }
  /** The direction that leaves the monitored network: the client's, unless only the server is ours. */
  outboundDir(flow: FlowInfo): Dir {
    return !this.isHome(flow.client.ip) && this.isHome(flow.server.ip) ? 1 : 0;
  }
}
