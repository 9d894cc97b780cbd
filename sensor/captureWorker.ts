// The worker half of `analyze` on two threads (sensor/captureThread.ts): reads the capture through the
// packet path and sends what it finds down the flow channel. Loads only the sensor's modules.

import { parentPort, workerData } from 'node:worker_threads';
import { PacketPath, readCapture } from './packetPath';
import { ChannelWriter, type ChannelBuffers } from './flowChannel';
import { stopCheck } from './captureFile';
import type { WorkerReport } from './captureThread';

const { fd, buffers, maxFlows, options, stop } = workerData as { fd: number; buffers: ChannelBuffers; maxFlows: number; options: object; stop?: Int32Array };

async function run(): Promise<void> {
  const ch = new ChannelWriter(buffers, maxFlows);
  const path = new PacketPath(ch, { ...options, maxFlows });
  ch.ops = path;
  // each chunk read: let the analysis thread see what is there
  const run = await readCapture(fd, path, () => {
    ch.publish();
    stopCheck(stop);
  });
  ch.publish();
  const report: WorkerReport = { ...run, ringWaits: ch.waits };
  parentPort!.postMessage(report);
}

run().catch((e) => parentPort!.postMessage({ error: (e as Error)?.stack ?? String(e) }));
