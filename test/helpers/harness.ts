// Feeds bytes straight into one signature module's decoder, without packets: for decoder unit tests.
// Events come out exactly as the engine would emit them for a flow client → server.
import type { ShadowEvent } from '../../common/events';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';
import type { Dir, FlowHandler } from '../../sensor/types';

export class FlowHarness {
  events: ShadowEvent[] = [];
  engine: Engine;
  private handler: FlowHandler | null;
  private ts = Date.UTC(2024, 0, 15, 9, 30, 0) * 1000;
  private counters = { packets: 0, bytes: 0, packetsC2S: 0, packetsS2C: 0, bytesC2S: 0, bytesS2C: 0, firstTs: this.ts, lastTs: this.ts, gapBytes: 0 };

  /** clientBy: how the sensor told the client ('syn' = the flow was seen from its start; else picked up mid-stream) */
  constructor(opts: { transport?: 'tcp' | 'udp'; client?: string; server?: string; engine?: Engine; clientBy?: 'syn' | 'port' | 'first' } = {}) {
    this.engine = opts.engine ?? new Engine(loadRegistry(), { emit: (e) => this.events.push(e) });
    const [cip, cport] = (opts.client ?? '10.1.1.10:40000').split(/:(?=\d+$)/);
    const [sip, sport] = (opts.server ?? '198.51.100.7:5190').split(/:(?=\d+$)/);
    this.handler = this.engine.newFlow({
      id: 'test-flow', transport: opts.transport ?? 'tcp',
      client: { ip: cip, port: +cport }, server: { ip: sip, port: +sport },
      firstTs: this.ts, clientBy: opts.clientBy ?? 'syn',
    });
  }

  /** dir 'c' = client to server */
  send(dir: 'c' | 's', data: Buffer | string): this {
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.ts += 1000;
    const d: Dir = dir === 'c' ? 0 : 1;
    this.counters.packets++;
    this.counters.bytes += b.length;
    this.counters.lastTs = this.ts;
    if (this.handler?.wantsData) this.handler.onData(d, b, this.ts);
    return this;
  }

  end(): ShadowEvent[] {
    this.handler?.onEnd(this.counters, 'capture-end');
    this.handler = null;
    return this.events;
  }

  of<T extends ShadowEvent['type']>(type: T): Extract<ShadowEvent, { type: T }>[] {
    return this.events.filter((e) => e.type === type) as any;
  }
}
