// Files sent over IM: fingerprinting, scanning, quarantine (docs/files.md).
// The dashboard reads the quarantine through listQuarantine / getQuarantined / openQuarantined only.
import path from 'node:path';
import type { ShadowEvent } from '../../common/events';
import type { Policy } from '../policy';
import { filesConfigFromProcess, type FilesConfig } from './config';
import { FileService } from './service';

export { FileService } from './service';
export { parseFilesConfig, filesConfigFromProcess, defaultFilesConfig, FilesConfigError, type FilesConfig } from './config';
export { listQuarantine, getQuarantined, openQuarantined, exportQuarantined, quarantinePath, QuarantineError, type QuarantineEntry, type Sighting } from './quarantine';
export { HashList } from './hashlist';

/** The quarantine directory the configuration names (files.quarantine.dir), if any. */
export function configuredQuarantineDir(config?: FilesConfig): string | undefined {
  return (config ?? filesConfigFromProcess()).quarantine?.dir;
}

/** The file service for a pipeline: `outDir` (analyze --out DIR) keeps carved files in DIR/quarantine. */
export function createFileService(o: { policy: Policy; emit: (ev: ShadowEvent) => void; outDir?: string; config?: FilesConfig }): FileService {
  return new FileService({
    policy: o.policy,
    config: o.config ?? filesConfigFromProcess(),
    emit: o.emit,
    ...(o.outDir ? { quarantineDir: path.join(path.resolve(o.outDir), 'quarantine') } : {}),
  });
}
