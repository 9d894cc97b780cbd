// Today's messengers on real third-party captures, through the real CLI: for every capture in
// pcaps/modern the labelled protocol is reported (only also_ok others), as an encrypted session with
// evidence; every server name we claim from a TLS ClientHello is one tshark also sees in that capture;
// and every capture in pcaps/negative yields no IM event at all.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PCAPS_DIR, havePcaps, labels } from '../helpers/paths';
import { shadowim } from '../helpers/run';

const IM_TYPES = new Set(['session', 'message', 'file_transfer', 'alert']);
const haveTshark = spawnSync('tshark', ['-v']).status === 0;

function tsharkSnis(file: string): Set<string> {
  const r = spawnSync('tshark', ['-r', file, '-Y', 'tls.handshake.type==1', '-T', 'fields', '-e', 'tls.handshake.extensions_server_name'], { encoding: 'utf8' });
  return new Set(r.stdout.split('\n').map((s) => s.trim().toLowerCase()).filter(Boolean));
}

(havePcaps() ? describe : describe.skip)('modern messengers on real captures (CLI)', function () {
  this.timeout(120000);
  const all = havePcaps() ? labels() : {};
  for (const [file, want] of Object.entries(all).filter(([f]) => f.startsWith('modern/') || f.startsWith('negative/'))) {
    describe(file, () => {
      let events: any[] = [];
      before(() => {
        const r = shadowim(['analyze', path.join(PCAPS_DIR, file), '--format', 'jsonl']);
        assert.equal(r.status, 0, r.stderr.trim().split('\n').pop());
        events = r.events;
      });

      if (want.protocols.length === 0) {
        it('no IM session, message, file transfer or alert', () => {
          assert.deepEqual(events.filter((e) => IM_TYPES.has(e.type)).map((e) => `${e.type}:${e.protocol ?? ''}`), []);
        });
        return;
      }

      it(`reports ${want.protocols.join(', ')} (encrypted, with evidence) and no other IM protocol`, () => {
        const sessions = events.filter((e) => e.type === 'session');
        for (const p of want.protocols) {
          const mine = sessions.filter((s) => s.protocol === p);
          assert.ok(mine.length > 0, `${p} not reported; saw ${[...new Set(sessions.map((s) => s.protocol))].join(', ') || 'nothing'}`);
          assert.ok(mine.every((s) => s.encrypted === true && s.evidence.length > 0), 'sessions are encrypted and carry evidence');
        }
        const allowed = new Set([...want.protocols, ...(want.also_ok ?? [])]);
        const extra = [...new Set(sessions.map((s) => s.protocol))].filter((p) => !allowed.has(p));
        assert.deepEqual(extra, []);
      });

      it('every server name taken from a TLS ClientHello is one tshark sees too', function () {
        if (!haveTshark) this.skip();
        const claimed = events.filter((e) => e.type === 'session' && e.evidence.some((x: any) => x.signature === 'tls.sni')).map((e) => e.server_name);
        const truth = tsharkSnis(path.join(PCAPS_DIR, file));
        for (const n of claimed) assert.ok(truth.has(n), `${n} not in tshark's SNIs: ${[...truth].join(', ')}`);
      });
    });
  }

  it('the captures exist as listed', () => {
    for (const f of Object.keys(all).filter((f) => f.startsWith('modern/'))) assert.ok(fs.existsSync(path.join(PCAPS_DIR, f)), f);
  });
});
