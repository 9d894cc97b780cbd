// Flows for the nDPI-coverage tests: one engine's flows (its call-endpoint memory is per engine), each
// with its own start time, and a single TCP flow through the harness; both answer the session, if any.
import { FlowHarness } from '../helpers/harness';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';

const sessions = (events: any[]) => events.filter((e) => e.type === 'session');

/** flows of one engine (the endpoint memory is per engine), each with its own start time */
export class Calls {
  events: any[] = [];
  engine = new Engine(loadRegistry(), { emit: (e) => this.events.push(e) });
  private n = 0;
  private t0 = Date.UTC(2024, 0, 15, 9, 30, 0) * 1000;

  flow(transport: 'udp' | 'tcp', client: string, server: string, packets: [('c' | 's'), Buffer][], atSeconds = 0): any | undefined {
    const ep = (s: string) => { const [ip, port] = s.split(/:(?=\d+$)/); return { ip, port: +port }; };
    const firstTs = this.t0 + atSeconds * 1e6;
    const h = this.engine.newFlow({ id: `f${++this.n}`, transport, client: ep(client), server: ep(server), firstTs, clientBy: 'first' });
    let ts = firstTs;
    for (const [d, p] of packets) if (h?.wantsData) h.onData(d === 'c' ? 0 : 1, p, (ts += 1000));
    const before = this.events.length;
    h?.onEnd({ packets: packets.length, bytes: 0, packetsC2S: 0, packetsS2C: 0, bytesC2S: 0, bytesS2C: 0, firstTs, lastTs: ts, gapBytes: 0 }, 'capture-end');
    return sessions(this.events.slice(before))[0];
  }

  /** a flow of this engine left open: feed it and see whether it still wants datagrams; end() answers its session */
  open(transport: 'udp' | 'tcp', client: string, server: string, atSeconds = 0) {
    const ep = (s: string) => { const [ip, port] = s.split(/:(?=\d+$)/); return { ip, port: +port }; };
    const firstTs = this.t0 + atSeconds * 1e6;
    const h = this.engine.newFlow({ id: `f${++this.n}`, transport, client: ep(client), server: ep(server), firstTs, clientBy: 'first' })!;
    let ts = firstTs, n = 0;
    const events = this.events;
    return {
      get wantsData() { return h.wantsData; },
      send(d: 'c' | 's', p: Buffer) { n++; ts += 1000; if (h.wantsData) h.onData(d === 'c' ? 0 : 1, p, ts); },
      end(): any | undefined {
        const before = events.length;
        h.onEnd({ packets: n, bytes: 0, packetsC2S: 0, packetsS2C: 0, bytesC2S: 0, bytesS2C: 0, firstTs, lastTs: ts, gapBytes: 0 }, 'capture-end');
        return sessions(events.slice(before))[0];
      },
    };
  }
}

export function tcp(server: string, packets: [('c' | 's'), Buffer][], client = '192.168.2.12:49355'): any | undefined {
  const h = new FlowHarness({ server, client });
  for (const [d, p] of packets) h.send(d, p);
  return sessions(h.end())[0];
}
