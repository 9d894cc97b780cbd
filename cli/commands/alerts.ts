// `shadowim alerts …`: the alert sinks and their outbox.
import type { Command } from '../main';
import { helpText, parseArgs, UsageError, type OptionSpec } from '../args';

const SPECS: OptionSpec[] = [
  { name: 'store', value: true, arg: 'PATH', help: 'store/outbox file (default: sinks.delivery.outbox, the store, or ./shadowim-outbox.db)' },
  { name: 'state', value: true, arg: 'STATE', help: 'outbox: pending, delivered or dead' },
  { name: 'sink', value: true, arg: 'NAME', help: 'outbox: only this sink' },
  { name: 'watch', help: 'deliver: keep running and deliver new rows as they come' },
  { name: 'format', value: true, arg: 'text|jsonl', help: 'outbox listing format' },
  { name: 'help', short: 'h', help: 'show this help' },
];

const USAGE = `shadowim alerts test-sink NAME      send a signed test alert to one sink and print what the receiver answered
shadowim alerts deliver [--watch]   deliver what is pending in the outbox (retries with backoff)
shadowim alerts outbox [--state S]  list the outbox (pending, delivered, dead-lettered)
shadowim alerts retry [ALERT_ID]    put dead-lettered deliveries (all, or one alert) back in the queue`;

export const command: Command = {
  summary: 'alert sinks: test a sink, deliver the outbox, list and retry dead letters',
  async run(argv) {
    const { opts, positional } = parseArgs(argv, SPECS, 'alerts');
    const [sub, arg] = positional;
    if (opts.help || !sub) {
      console.log(helpText('shadowim alerts <test-sink|deliver|outbox|retry> [options]', USAGE, SPECS));
      return opts.help ? 0 : 2;
    }
    const sinksMod = require('../../outputs/sinks') as typeof import('../../outputs/sinks');
    const c = sinksMod.sinksConfig(); // the sinks: section of the configuration (--config, $SHADOWIM_CONFIG or ./shadowim.yaml)
    const { openOutbox, outboxRows, retryDead } = require('../../outputs/sinks/outbox') as typeof import('../../outputs/sinks/outbox');
    const outboxFile = () => sinksMod.outboxPath(c, opts.store as string | undefined);

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
      const outbox = sinksMod.openDelivery(opts.store as string | undefined);
      if (!outbox) throw new UsageError(`no sinks configured in ${c.file ?? 'the configuration'}: add a sinks: section (see docs/integrations.md)`);
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
        if (left) process.stderr.write(`shadowim: ${left} deliveries still pending (next retry later); run again or use --watch\n`);
      }
      await outbox.stop();
      outbox.db.close();
      return 0;
    }
    if (sub === 'outbox') {
      const db = openOutbox(outboxFile());
      const rows = outboxRows(db, { state: opts.state as string | undefined, sink: opts.sink as string | undefined, limit: 1000 });
      db.close();
      for (const r of rows) {
        if (opts.format === 'jsonl') console.log(JSON.stringify({ ...r, alert: JSON.parse(r.alert) }));
        else console.log(`${new Date(r.created_at).toISOString()} ${r.sink.padEnd(16)} ${r.state.padEnd(9)} attempts=${r.attempts} ${r.alert_id}${r.last_error ? ` — ${r.last_error.replace(/[\r\n]+/g, ' ')}` : ''}`);
      }
      return 0;
    }
    if (sub === 'retry') {
      const db = openOutbox(outboxFile());
      const n = retryDead(db, arg);
      db.close();
      console.log(`${n} dead-lettered deliver${n === 1 ? 'y' : 'ies'} queued again; run 'shadowim alerts deliver'`);
      return 0;
    }
    throw new UsageError(`unknown alerts subcommand '${sub}'; see 'shadowim alerts --help'`);
  },
};
