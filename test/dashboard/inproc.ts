// The dashboard in this process on a loopback port, over a fresh store holding `events` (written by the
// store sink), with a viewer, an analyst and an admin. For tests that look inside the server process
// (its open descriptors) or need many rows quickly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ShadowEvent } from '../../common/events';
import { openStore } from '../../storage/store';
import { SqliteSink } from '../../storage/sqlite-sink';
import { createDashboard } from '../../dashboard/server';
import { Client } from './setup';

const PW = 'password-0123456';

export interface InProc {
  dir: string;
  url: string;
  db: ReturnType<typeof openStore>;
  logs: string[];
  login(role: 'viewer' | 'analyst' | 'admin'): Promise<Client>;
  stop(): Promise<void>;
}

export async function dashboardInProcess(events: ShadowEvent[] = [], o: { quarantineDir?: string } = {}): Promise<InProc> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-inproc-'));
  const file = path.join(dir, 'store.db');
  const db = openStore(file);
  const sink = new SqliteSink(db, { sensor: 's1', archive: { enabled: true, metadata: true, retention_days: 0 }, rollupMs: 0, batch: 5000 });
  for (const e of events) sink.write(e);
  await sink.close();
  const logs: string[] = [];
  const d = createDashboard({ db, storePath: file, quarantineDir: o.quarantineDir, log: (l) => logs.push(l) });
  for (const r of ['viewer', 'analyst', 'admin']) d.users.add(r, r as any, PW);
  const server = d.app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    dir,
    url,
    db,
    logs,
    async login(role) {
      const c = new Client(url);
      const st = await c.login(role, PW);
      if (st !== 200) throw new Error(`login ${role}: ${st}`);
      return c;
    },
    stop: () =>
      new Promise<void>((r) => {
        server.close(() => {
          db.close();
          fs.rmSync(dir, { recursive: true, force: true });
          r();
        });
        server.closeAllConnections();
      }),
  };
}
