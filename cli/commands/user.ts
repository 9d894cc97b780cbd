// `shadowim user add|passwd|role|del|list|token|tokens|revoke|logout|logout-all`: dashboard users, API tokens and
// login sessions, kept in the store.
import fs from 'node:fs';
import type { Command } from '../main';
import { commandConfig, helpText, parseArgs, UsageError, type OptionSpec } from '../args';

const SPECS: OptionSpec[] = [
  { name: 'store', value: true, arg: 'PATH', help: 'the store the dashboard serves (default: config store.path, else shadowim.db)' },
  { name: 'role', value: true, arg: 'ROLE', help: 'viewer (charts, alerts, session metadata), analyst (+ message text, files, acknowledging), admin (+ users, settings, rules)' },
  { name: 'password-stdin', help: 'read the password from standard input (first line) instead of prompting' },
  { name: 'label', value: true, arg: 'TEXT', help: 'token: what the token is for' },
  { name: 'format', value: true, arg: 'text|json', help: 'list: output format (default text)' },
  { name: 'help', short: 'h', help: 'show this help' },
];
const USAGE = 'shadowim user add NAME --role viewer|analyst|admin [--password-stdin] | passwd NAME | role NAME ROLE | del NAME | list | token NAME [--label TEXT] | tokens [NAME] | revoke TOKEN_ID | logout NAME | logout-all   [--store PATH]';
const DESCRIPTION = `Manages who may log in to the dashboard ('shadowim serve'). Passwords are hashed with scrypt and a
per-user salt; API tokens (for automation: 'Authorization: Bearer TOKEN') are shown once and stored hashed.
Changing a password or role, or deleting a user, ends that user's dashboard sessions; 'logout NAME' and
'logout-all' end them without changing anything else (a running server refuses them on the next request).`;

export const command: Command = {
  summary: 'dashboard users, roles and API tokens (user add|passwd|list|token …)',
  async run(argv) {
    const { opts, positional } = parseArgs(argv, SPECS, 'user');
    if (opts.help || !positional.length) {
      console.log(helpText(USAGE, DESCRIPTION, SPECS));
      return opts.help ? 0 : 2;
    }
    const [sub, name, extra] = positional;
    const storePath = (opts.store as string | undefined) ?? commandConfig().store.path ?? 'shadowim.db';
    const needName = () => {
      if (!name) throw new UsageError(`user ${sub} needs a user name; usage: ${USAGE}`);
      return name;
    };
    const known = ['add', 'passwd', 'role', 'del', 'list', 'token', 'tokens', 'revoke', 'logout', 'logout-all'];
    if (!known.includes(sub)) throw new UsageError(`unknown subcommand '${sub}'; use one of ${known.join(', ')}`);
    const format = (opts.format as string | undefined) ?? 'text';
    if (sub === 'list' && format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, not '${format}'`);
    if (sub !== 'add' && !fs.existsSync(storePath)) throw new UsageError(`no store at ${storePath}; give it with --store PATH`);
    // everything checkable is checked before a store file is created or opened
    if (['add', 'passwd', 'role', 'del', 'token', 'revoke', 'logout'].includes(sub)) needName();
    // a missing role is named as such, not as the empty role ''
    if (sub === 'add' && opts.role === undefined) throw new UsageError('--role is required (viewer, analyst or admin)');
    if (sub === 'role' && extra === undefined && opts.role === undefined) throw new UsageError(`user role ${name} needs the new role (viewer, analyst or admin)`);
    if (sub === 'add') {
      const a = require('../../dashboard/auth') as typeof import('../../dashboard/auth');
      try {
        a.validName(name);
        a.validRole(String(opts.role));
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    let pw = '';
    if (sub === 'add' || sub === 'passwd') {
      pw = await readPassword(!!opts['password-stdin'], sub === 'add' ? `password for ${name}: ` : `new password for ${name}: `);
      try {
        (require('../../dashboard/auth') as typeof import('../../dashboard/auth')).validPassword(pw);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    const { openStore, StoreError } = require('../../storage/store') as typeof import('../../storage/store');
    const { UserStore, AuthError, validRole, endSessions } = require('../../dashboard/auth') as typeof import('../../dashboard/auth');
    let db;
    try {
      db = openStore(storePath);
    } catch (e) {
      if (e instanceof StoreError) throw new UsageError(e.message);
      throw e;
    }
    const users = new UserStore(db);
    try {
      switch (sub) {
        case 'add': {
          const role = validRole(String(opts.role ?? ''));
          users.add(name, role, pw);
          process.stdout.write(`added ${name} (${role})\n`);
          return 0;
        }
        case 'passwd': {
          users.passwd(name, pw);
          process.stdout.write(`password of ${name} changed (their dashboard sessions end)\n`);
          return 0;
        }
        case 'role':
          needName();
          users.setRole(name, String(extra ?? opts.role ?? ''));
          process.stdout.write(`${name} is now ${extra ?? opts.role} (their dashboard sessions end)\n`);
          return 0;
        case 'del':
          users.remove(needName());
          process.stdout.write(`deleted ${name} and its tokens\n`);
          return 0;
        case 'list': {
          const rows = users.list();
          if (format === 'json') process.stdout.write(JSON.stringify(rows) + '\n');
          else if (!rows.length) process.stdout.write(`no users; add one with 'shadowim user add NAME --role admin --store ${storePath}'\n`);
          else for (const r of rows) process.stdout.write(`${r.name.padEnd(24)} ${r.role.padEnd(8)} tokens: ${r.tokens}  created ${r.created}\n`);
          return 0;
        }
        case 'token': {
          const t = users.newToken(needName(), opts.label as string | undefined);
          process.stderr.write(`API token ${t.id} for ${name} (shown once; send it as 'Authorization: Bearer TOKEN'):\n`);
          process.stdout.write(t.token + '\n');
          return 0;
        }
        case 'tokens':
          for (const t of users.tokens(name)) process.stdout.write(`${t.id}  ${t.user.padEnd(20)} ${t.label ?? ''}  created ${t.created}  last used ${t.last_used ?? 'never'}\n`);
          return 0;
        case 'revoke':
          if (!users.revokeToken(needName())) throw new AuthError(`no token with id '${name}'; see 'shadowim user tokens'`);
          process.stdout.write(`token ${name} revoked\n`);
          return 0;
        case 'logout': {
          if (!users.current(name)) throw new AuthError(`no user '${name}'`);
          const n = endSessions(db, name);
          process.stdout.write(`ended ${n} dashboard session${n === 1 ? '' : 's'} of ${name}\n`);
          return 0;
        }
        case 'logout-all': {
          const n = endSessions(db);
          process.stdout.write(`ended ${n} dashboard session${n === 1 ? '' : 's'}; everyone logs in again\n`);
          return 0;
        }
      }
      return 2;
    } catch (e) {
      if (e instanceof AuthError) throw new UsageError(e.message);
      throw e;
    } finally {
      db.close();
    }
  },
};

/** The password: first line of stdin, or typed twice at a terminal without echo. */
async function readPassword(fromStdin: boolean, prompt: string): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const pw = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
    if (!pw) throw new UsageError('no password on standard input');
    return pw;
  }
  const a = await askHidden(prompt);
  const b = await askHidden('again: ');
  if (a !== b) throw new UsageError('the two passwords differ');
  return a;
}

function askHidden(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    process.stderr.write(prompt);
    const stdin = process.stdin;
    stdin.setRawMode(true);
    stdin.resume();
    let s = '';
    const onData = (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          return resolve(s);
        }
        if (ch === '\u0003') process.exit(130);
        if (ch === '\u007f') s = s.slice(0, -1);
        else s += ch;
      }
    };
    stdin.on('data', onData);
  });
}
