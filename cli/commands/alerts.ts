// `shadowim alerts …`: the alert sinks and their outbox.
import fs from 'node:fs';
import type { Command } from '../main';
import { helpText, parseArgs, UsageError, type OptionSpec } from '../args';
import { count } from '../../common/count';

const STATES = ['pending', 'delivered', 'dead'];
const FORMATS = ['text', 'jsonl'];

const SPECS: OptionSpec[] = [
  { name: 'store', value: true, arg: 'PATH', help: 'store/outbox file, unless sinks.delivery.outbox names one (default: store.path, else ./shadowim-outbox.db); never created' },
  { name: 'state', value: true, arg: 'STATE', help: `outbox: ${STATES.slice(0, -1).join(', ')} or ${STATES[STATES.length - 1]}` },
  { name: 'sink', value: true, arg: 'NAME', help: 'outbox: only this sink' },
  { name: 'watch', help: 'deliver: keep running and deliver new rows as they come' },
  { name: 'format', value: true, arg: 'text|jsonl', help: 'outbox listing format' },
  { name: 'help', short: 'h', help: 'show this help' },
];

const USAGE = `shadowim alerts test-sink NAME      send a signed test alert to one sink and print what the receiver answered
shadowim alerts deliver [--watch]   deliver what is pending in the outbox (retries with backoff)
shadowim alerts outbox [--state S]  list the outbox (pending, delivered, dead-lettered)
shadowim alerts retry [ALERT_ID]    put dead-lettered deliveries (all, or one alert) back in the queue
                                    (exit 1 when ALERT_ID is not in the outbox or not dead-lettered)`;

export const command: Command = {
  summary: 'alert sinks: test a sink, deliver the outbox, list and retry dead letters',
  async run(argv) {
    const { opts, positional } = parseArgs(argv, SPECS, 'alerts');
    const [sub, arg] = positional;
    if (opts.help || !sub) {
      console.log(helpText('shadowim alerts <test-sink|deliver|outbox|retry> [options]', USAGE, SPECS));
      return opts.help ? 0 : 2;
    }
    // an option another subcommand takes is a mistake here, not something to ignore
    const takes: Record<string, string[]> = { 'test-sink': [], deliver: ['store', 'watch'], outbox: ['store', 'state', 'sink', 'format'], retry: ['store'] };
    if (!Object.hasOwn(takes, sub)) throw new UsageError(`unknown alerts subcommand '${sub}'; see 'shadowim alerts --help'`);
    const stray = Object.keys(opts).filter((k) => k !== 'help' && !takes[sub].includes(k));
    if (stray.length) throw new UsageError(`alerts ${sub} takes no --${stray[0]}${takes[sub].length ? ` (it takes ${takes[sub].map((k) => `--${k}`).join(', ')})` : ''}; see 'shadowim alerts --help'`);
    const sinksMod = require('../../outputs/sinks') as typeof import('../../outputs/sinks');
    const c = sinksMod.sinksConfig(); // the sinks: section of the configuration (--config, $SHADOWIM_CONFIG or ./shadowim.yaml)
    const { openOutbox, outboxRows, outboxSinks, outboxSummary, retryDead } = require('../../outputs/sinks/outbox') as typeof import('../../outputs/sinks/outbox');
    const store = opts.store as string | undefined;
    const outboxFile = () => sinksMod.outboxPath(c, store);
    // a command that reads the outbox must not create one: a typo would list an empty, new file
    const existingOutbox = () => {
      const file = outboxFile();
      if (fs.existsSync(file)) return file;
      if (c.delivery.outbox) throw new UsageError(`no alert outbox at ${file} (sinks.delivery.outbox in ${c.file ?? 'the configuration'}): nothing was queued there yet, or fix the path`);
      if (store) throw new UsageError(`no store at ${file}; check the path given to --store (the store or outbox 'analyze' wrote)`);
      if (c.storePath) throw new UsageError(`no store at ${file} (store.path in ${c.file ?? 'the configuration'}): nothing was stored yet; give the store with --store PATH`);
      throw new UsageError(`no alert outbox at ${file}: nothing was queued yet; give the store or outbox file with --store PATH`);
    };

    if (sub === 'test-sink') {
      if (!arg) throw new UsageError(`name the sink to test; configured: ${c.sinks.map((s) => s.name).join(', ') || 'none'}`);
      const cfg = c.sinks.find((s) => s.name === arg);
      if (!cfg) throw new UsageError(`no sink named '${arg}' in ${c.file ?? 'the configuration'}; configured: ${c.sinks.map((s) => s.name).join(', ') || 'none'}`);
      const { createSink } = require('../../outputs/sinks/sinks') as typeof import('../../outputs/sinks/sinks');
      const sink = createSink(cfg);
      const now = new Date().toISOString();
      const r = await sink.send({
        type: 'alert', id: `test-${Date.now().toString(36)}`, ts: now, kind: 'test', severity: 'low', protocol: 'test',
        summary: 'shadowim test alert: if you can read this, the sink works', users: [],
      });
      sink.close();
      console.log(`${cfg.name} (${cfg.type}${cfg.transport ? `/${cfg.transport}` : ''}): ${r.ok ? 'delivered' : 'FAILED'} — ${r.detail}`);
      return r.ok ? 0 : 1;
    }
    if (sub === 'deliver') {
      if (!c.sinks.length) throw new UsageError(`no sinks configured in ${c.file ?? 'the configuration'}: add a sinks: section (see docs/integrations.md)`);
      // --watch may wait for the first alert of a fresh setup; a --store that is not there is a typo either way
      if (!opts.watch || (store && !c.delivery.outbox)) existingOutbox();
      const outbox = sinksMod.openDelivery(store)!;
      outbox.start();
      if (opts.watch) {
        await new Promise<void>((resolve) => {
          const t = setInterval(() => outbox.kick(), 1000);
          const stop = () => {
            clearInterval(t);
            resolve();
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      } else {
        const left = await outbox.drain(Math.max(c.delivery.drain_ms, 1000) * 6);
        if (left) process.stderr.write(`shadowim: ${count(left, 'delivery', 'deliveries')} still pending (next retry later); run again or use --watch\n`);
        // rows of a sink removed from the configuration are nobody's work: say they are there and stay
        for (const r of outboxSummary(outbox.db)) {
          if (r.state !== 'pending' || c.sinks.some((s) => s.name === r.sink)) continue;
          process.stderr.write(`shadowim: ${count(r.count, 'delivery', 'deliveries')} pending for ${r.sink}, a sink no longer configured: kept in the outbox ('shadowim alerts outbox --sink ${r.sink}' lists ${r.count === 1 ? 'it' : 'them'})\n`);
        }
      }
      await outbox.stop();
      outbox.db.close();
      return 0;
    }
    if (sub === 'outbox') {
      // options first, then the file: a mistake is named before anything is opened
      const state = opts.state as string | undefined;
      if (state !== undefined && !STATES.includes(state)) throw new UsageError(`--state must be ${STATES.slice(0, -1).join(', ')} or ${STATES[STATES.length - 1]}, not '${state}'`);
      const format = (opts.format as string | undefined) ?? 'text';
      if (!FORMATS.includes(format)) throw new UsageError(`--format must be ${FORMATS.join(' or ')}, not '${format}'`);
      const sink = opts.sink as string | undefined;
      const file = existingOutbox();
      const db = openOutbox(file);
      try {
        // a sink no longer configured may still have rows in the outbox: those can be listed
        if (sink !== undefined && !c.sinks.some((s) => s.name === sink) && !outboxSinks(db).includes(sink)) {
          throw new UsageError(`no sink named '${sink}' in ${c.file ?? 'the configuration'} or the outbox ${file}; configured: ${c.sinks.map((s) => s.name).join(', ') || 'none'}`);
        }
        for (const r of outboxRows(db, { state, sink, limit: 1000 })) {
          if (format === 'jsonl') console.log(JSON.stringify({ ...r, alert: JSON.parse(r.alert) }));
          else console.log(`${new Date(r.created_at).toISOString()} ${r.sink.padEnd(16)} ${r.state.padEnd(9)} attempts=${r.attempts} ${r.alert_id}${r.last_error ? ` — ${visible(r.last_error)}` : ''}`);
        }
      } finally {
        db.close();
      }
      return 0;
    }
    {
      // retry (every other subcommand returned above; `takes` refused unknown ones)
      const file = existingOutbox();
      const db = openOutbox(file);
      try {
        const n = retryDead(db, arg);
        if (n) {
          console.log(`${count(n, 'dead-lettered delivery', 'dead-lettered deliveries')} queued again; run 'shadowim alerts deliver'`);
          return 0;
        }
        if (!arg) {
          console.log('nothing is dead-lettered; nothing to retry');
          return 0;
        }
        // the id is input data, not an option: exit 1, as for any other unknown thing asked for
        const rows = outboxRows(db, { alertId: arg });
        if (!rows.length) throw new Error(`no alert '${arg}' in the outbox ${file}; 'shadowim alerts outbox --state dead' lists what can be retried`);
        throw new Error(`alert ${arg} is not dead-lettered (${rows.map((r) => `${r.sink}: ${r.state}`).join(', ')}); only dead letters are retried`);
      } finally {
        db.close();
      }
    }
  },
};

/**
 * A receiver's answer (last_error) as text for a terminal: control characters, line separators and bidi
 * overrides written as \xHH / \uHHHH, so a hostile body can neither forge a line nor drive the terminal.
 */
function visible(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}
