// What a closed standard output (`analyze … | head -1`) means. With nothing else to write to, the
// command is done: exit 0 at once, as Unix tools do. With a store, a SIEM outbox or the dashboard's
// source record as well, the run goes on without stdout, so those get every event of the capture
// (exiting at the first EPIPE left the store short of everything after it).
//
// A closed standard error (`sensor … 2>&1 | head`) is never a reason to stop by itself: its lines are
// dropped (it was an uncaught EPIPE, exit 1, the store cut short). When stdout is that same pipe, its
// reader has gone too, and the rule above applies.
import fs from 'node:fs';

let keepGoing = false;
let closed = false;
let stderrClosed = false;

const isClosed = (e: NodeJS.ErrnoException) => e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED';

function stdoutGone(): void {
  if (!keepGoing) process.exit(0);
  closed = true;
}

export function installStdoutGuard(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (isClosed(e)) stdoutGone();
  });
  process.stderr.on('error', (e: NodeJS.ErrnoException) => {
    if (!isClosed(e) || stderrClosed) return;
    stderrClosed = true;
    if (sameFile(1, 2)) stdoutGone();
  });
}

/** fds a and b are the same open pipe, socket or file (2>&1) */
function sameFile(a: number, b: number): boolean {
  try {
    const x = fs.fstatSync(a);
    const y = fs.fstatSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** other outputs than stdout are being written: a closed stdout must not end the run */
export function keepRunningWithoutStdout(): void {
  keepGoing = true;
}

/** stdout's reader has gone (only ever true after keepRunningWithoutStdout) */
export function stdoutClosed(): boolean {
  return closed;
}
