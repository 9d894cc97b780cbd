// `analyze` on two threads: a worker reads the capture and runs the packet path (decode, flow table,
// reassembly); this thread runs the inspector (signatures, analyzer, outputs) on what the worker sends
// through the flow channel. The inspector sees the same calls in the same order as in one thread.

import { tsWorker } from '../common/tsWorker';
import path from 'node:path';
import { emptySensorCounters, type FlowInspector } from './types';
import type { CaptureRun, PacketPathOptions } from './packetPath';
import { ChannelReader, RING_BYTES, channelBuffers } from './flowChannel';

/** what the worker says when the capture is read */
export interface WorkerReport extends CaptureRun {
  /** times the worker waited for this thread (the ring was full) */
  ringWaits: number;
}

export interface ThreadedResult extends WorkerReport {
  /** exceptions thrown by the inspector, caught (a bug if ever non-zero) */
  inspectorErrors: number;
}

export interface CaptureThread {
  /**
   * Replays the worker's flows on `inspector` until the capture is read. `onBatch` runs between
   * batches of records (memory checks); the event loop turns between them.
   */
  run(inspector: FlowInspector, onBatch?: () => void): Promise<ThreadedResult>;
}

/**
 * Starts reading the capture open on `fd` in a worker at once (it loads and reads while this thread
 * loads the signatures; the ring holds what it finds meanwhile).
 */
export function startCaptureThread(fd: number, opts: PacketPathOptions, ringBytes = RING_BYTES, stop?: Int32Array): CaptureThread {
  const maxFlows = Math.max(1, Math.floor(opts.maxFlows ?? 200000));
  const buffers = channelBuffers(maxFlows, ringBytes);
  const worker = tsWorker(path.join(__dirname, 'captureWorker.ts'), {
    // stop[0] != 0 (a signal number): the worker stops reading at its next chunk, as at the end of the capture
    workerData: { fd, buffers, maxFlows, options: opts, stop },
    // the worker closes the capture when read: the fd is ours, not the worker's to track
    trackUnmanagedFds: false,
    // its garbage is short-lived (per-flow handles): a small young generation keeps its heap ~30 MB
    resourceLimits: { maxYoungGenerationSizeMb: 8 },
  });
  let report: WorkerReport | undefined;
  let error: string | undefined;
  let exited = false;
  // the run loop's wait ends on new records (the worker's notify) or on the worker's report or exit
  let reader: ChannelReader | undefined;
  const poke = () => reader?.interrupt();
  worker.on('message', (m: WorkerReport | { error: string }) => {
    if ('error' in m) error = m.error;
    else report = m;
    poke();
  });
  worker.on('error', (e) => ((error = e.stack ?? e.message), poke()));
  const exit = new Promise<void>((resolve) => worker.once('exit', () => ((exited = true), poke(), resolve())));
  return {
    async run(inspector, onBatch) {
      reader = new ChannelReader(buffers, maxFlows, inspector);
      let sinceBatch = 0;
      for (;;) {
        if (reader.pending) {
          sinceBatch += reader.drain(1 << 20);
          if (sinceBatch >= 8 << 20) {
            sinceBatch = 0;
            onBatch?.();
            await new Promise<void>((r) => setImmediate(r));
          }
          continue;
        }
        // the report is posted after the last records were published (and seen as pending above)
        if (report || error || exited) break;
        // a quiet pipe: 4 wake-ups a second, not 50 (was 20 ms: ~3 % of a core doing nothing)
        await reader.wait(250);
      }
      await exit;
      if (error || !report) {
        // a bug, not bad input: what was found so far still goes out, with the reason
        if (process.env.SHADOWIM_DEBUG) console.error(error);
        const why = (error ?? 'it exited without a report').split('\n')[0];
        return { counters: emptySensorCounters(), captureTime: 0, format: undefined, failure: `internal error in the capture thread (${why}); rerun with --threads 1 and please report it`, internalErrors: 1, ringWaits: 0, inspectorErrors: reader.internalErrors };
      }
      return { ...report, inspectorErrors: reader.internalErrors };
    },
  };
}
