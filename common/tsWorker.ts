// A worker thread running one of our TypeScript modules, loaded the way the CLI loads itself: from the
// transpile cache (bin/register.js), or through tsx under SHADOWIM_DEBUG (source-mapped stack traces).

import path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Starts `entry` (an absolute path to a .ts module) in a new worker thread. */
export function tsWorker(entry: string, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const register = JSON.stringify(path.join(__dirname, '..', 'bin', 'register.js'));
  const tsx = JSON.stringify(require.resolve('tsx/cjs'));
  return new Worker(`if (process.env.SHADOWIM_DEBUG || !require(${register}).install()) require(${tsx}); require(${JSON.stringify(entry)});`, { ...options, eval: true });
}
