// A file's bytes through what a carved file goes through before DLP: its type from the head, the
// inspection, and the text a detector reads (at most `max` characters).
import { bufferSource, inspect, textOf } from '../../analyzer/files/inspect';
import { fileTypeOf } from '../../signatures/fileType';

export function readInspected(b: Buffer, max = 1 << 20) {
  const type = fileTypeOf(b.subarray(0, 33 * 1024));
  const src = bufferSource(b);
  const ins = inspect(src, type);
  return { type, ins, text: textOf(src, ins, max) };
}
