// What a closed standard output (`analyze … | head -1`) means. With nothing else to write to, the
// command is done: exit 0 at once, as Unix tools do. With a store, a SIEM outbox or the dashboard's
// source record as well, the run goes on without stdout, so those get every event of the capture
// (exiting at the first EPIPE left the store short of everything after it).
let keepGoing = false;
let closed = false;

export function installStdoutGuard(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') return;
    if (!keepGoing) process.exit(0);
    closed = true;
  });
}

/** other outputs than stdout are being written: a closed stdout must not end the run */
export function keepRunningWithoutStdout(): void {
  keepGoing = true;
}

/** stdout's reader has gone (only ever true after keepRunningWithoutStdout) */
export function stdoutClosed(): boolean {
  return closed;
}
