// A Splunk HEC url as people write it — the base, /services/collector with or without a trailing slash,
// the event endpoint, a query string — is posted to the event endpoint at a real HTTP receiver.
import assert from 'node:assert/strict';
import http from 'node:http';
import { parseSinks } from '../../outputs/sinks/config';
import { createSink } from '../../outputs/sinks/sinks';
import type { AlertEvent } from '../../common/events';

const ALERT: AlertEvent = { type: 'alert', id: 'a1', ts: '2024-01-15T09:30:00.000Z', kind: 'test', severity: 'high', summary: 's', users: [] };

describe('Splunk HEC url', () => {
  it('every spelling of the endpoint reaches /services/collector[/event], its query string kept', async () => {
    const paths: string[] = [];
    const srv = http.createServer((req, res) => {
      paths.push(req.url!);
      req.resume();
      req.on('end', () => res.writeHead(/^\/services\/collector(\/event)?(\?|$)/.test(req.url!) ? 200 : 404).end());
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    const cases: [string, string][] = [
      ['', '/services/collector/event'],
      ['/', '/services/collector/event'],
      ['/services/collector', '/services/collector'],
      ['/services/collector/', '/services/collector'],
      ['/services/collector/event/', '/services/collector/event'],
      ['/services/collector?channel=abc', '/services/collector?channel=abc'],
      ['/services/collector/?channel=abc', '/services/collector?channel=abc'],
      ['/?channel=abc', '/services/collector/event?channel=abc'],
      ['/splunk', '/splunk/services/collector/event'],
    ];
    try {
      for (const [suffix, want] of cases) {
        const sink = createSink(parseSinks([{ name: 'splunk', type: 'splunk', url: base + suffix, token: 't' }]).sinks[0]);
        const r = await sink.send(ALERT);
        sink.close();
        assert.equal(paths.at(-1), want, `url ${base}${suffix}`);
        if (!want.startsWith('/splunk')) assert.equal(r.ok, true, `${suffix}: ${r.detail}`);
      }
    } finally {
      srv.close();
    }
  });
});
