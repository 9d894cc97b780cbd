// The corpus test: `shadowim analyze` on every real capture in ../shared/pcaps meets every expectation
// in labels.json, with no false positive. Ground truth is the labels file, not our own output.
import assert from 'node:assert/strict';
import path from 'node:path';
import { PCAPS_DIR, havePcaps, labels } from '../helpers/paths';
import { shadowim } from '../helpers/run';

const IM_TYPES = new Set(['session', 'message', 'file_transfer', 'alert']);

(havePcaps() ? describe : describe.skip)(`corpus: labels.json in ${PCAPS_DIR}`, function () {
  this.timeout(120000);
  for (const [file, want] of Object.entries(havePcaps() ? labels() : {})) {
    describe(file, () => {
      let events: any[] = [];
      let status: number | null = null;
      let stderr = '';
      before(() => {
        const r = shadowim(['analyze', path.join(PCAPS_DIR, file), '--format', 'jsonl']);
        events = r.events;
        status = r.status;
        stderr = r.stderr;
      });

      it('is read to the end (exit 0)', () => {
        assert.equal(status, 0, `exit ${status}: ${stderr.trim().split('\n').pop()}`);
      });

      if (want.protocols.length === 0) {
        it('yields no IM session, message, file transfer or alert', () => {
          const im = events.filter((e) => IM_TYPES.has(e.type));
          assert.deepEqual(im.map((e) => `${e.type}:${e.protocol ?? ''}:${e.kind ?? ''}`), []);
        });
        return;
      }

      it(`reports ${want.protocols.join(', ')} and no other IM protocol`, () => {
        const seen = new Set(events.filter((e) => e.type === 'session').map((e) => e.protocol));
        for (const p of want.protocols) assert.ok(seen.has(p), `protocol ${p} not reported; sessions: ${[...seen].join(', ') || 'none'}`);
        const allowed = new Set([...want.protocols, ...(want.also_ok ?? [])]);
        const extra = [...seen].filter((p) => !allowed.has(p));
        assert.deepEqual(extra, [], `unexpected protocols reported: ${extra.join(', ')}`);
      });

      if (want.users?.length) {
        it(`names the users ${want.users.join(', ')}`, () => {
          const users = new Set<string>();
          for (const e of events) {
            if (e.type === 'session') for (const u of e.users) users.add(u);
            if (e.type === 'message') {
              users.add(e.from);
              users.add(e.to);
            }
          }
          for (const u of want.users!) assert.ok(users.has(u), `user ${u} not found; seen: ${[...users].slice(0, 20).join(', ')}`);
        });
      }

      if (want.messages?.length) {
        it(`reads the messages ${want.messages.map((m) => JSON.stringify(m)).join(', ')}`, () => {
          const texts = events.filter((e) => e.type === 'message').map((e) => e.text as string);
          for (const m of want.messages!) assert.ok(texts.some((t) => t.includes(m)), `no message contains ${JSON.stringify(m)}; got ${texts.length} messages`);
        });
      }

      if (want.file_transfers?.length) {
        it(`reports the file transfers ${want.file_transfers.join(', ')}`, () => {
          const names = events.filter((e) => e.type === 'file_transfer').map((e) => e.filename as string);
          for (const f of want.file_transfers!) assert.ok(names.includes(f), `file ${f} not reported; got ${names.join(', ') || 'none'}`);
        });
      }
    });
  }
});
