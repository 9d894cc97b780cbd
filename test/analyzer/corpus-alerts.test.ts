// Every capture in the shared corpus with the default policy: each IM session yields an
// unauthorized_im alert for its protocol and client; captures labelled with no IM yield no alert.
// (Passes fully once every signature module has landed; each capture is its own test.)
import assert from 'node:assert/strict';
import path from 'node:path';
import { havePcaps, labels, PCAPS_DIR } from '../helpers/paths';
import { shadowim } from '../helpers/run';

describe('analyzer: default policy on the shared captures', function () {
  this.timeout(300000);
  before(function () {
    if (!havePcaps()) this.skip();
  });
  const all = havePcaps() ? labels() : {};
  for (const [name, label] of Object.entries(all)) {
    it(`${name}: ${label.protocols.length ? 'an unauthorized_im alert per IM session' : 'no alert'}`, () => {
      const r = shadowim(['analyze', path.join(PCAPS_DIR, name), '--format', 'jsonl']);
      assert.equal(r.status, 0, `${name}: exit ${r.status}: ${r.stderr.trim().split('\n').pop()}`);
      const alerts = r.events.filter((e) => e.type === 'alert');
      const sessions = r.events.filter((e) => e.type === 'session');
      if (!label.protocols.length) {
        assert.deepEqual(alerts.map((a) => `${a.kind}: ${a.summary}`), [], `${name} is labelled with no IM`);
        return;
      }
      assert.ok(sessions.length > 0, `${name}: no IM session reported (expected ${label.protocols.join(', ')})`);
      const unauth = alerts.filter((a) => a.kind === 'unauthorized_im');
      for (const s of sessions) {
        // judged on our side of the flow: the client, or the server of an inbound flow (P2P media)
        const ours = [s.client.ip, s.server.ip];
        const hit = unauth.some((a) => a.protocol === s.protocol && (ours.includes(a.client?.ip) || ours.includes(a.server?.ip)));
        assert.ok(hit, `${name}: ${s.protocol} session ${s.client.ip}:${s.client.port} -> ${s.server.ip}:${s.server.port} has no unauthorized_im alert`);
      }
      for (const p of label.protocols) {
        assert.ok(unauth.some((a) => a.protocol === p), `${name}: no unauthorized_im alert for ${p}`);
      }
      for (const a of alerts) assert.ok(['low', 'medium', 'high', 'critical'].includes(a.severity));
    });
  }
});
