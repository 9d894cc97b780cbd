// Where the shared third-party captures live (never copied into this repository).
import path from 'node:path';
import fs from 'node:fs';

export const PCAPS_DIR = path.resolve(process.env.SHADOWIM_PCAPS ?? path.join(__dirname, '..', '..', '..', 'shared', 'pcaps'));
export const REPO = path.resolve(__dirname, '..', '..');
export const CLI = path.join(REPO, 'bin', 'shadowim.js');

export function havePcaps(): boolean {
  return fs.existsSync(path.join(PCAPS_DIR, 'labels.json'));
}

export function labels(): Record<string, { protocols: string[]; also_ok?: string[]; users?: string[]; messages?: string[]; file_transfers?: string[] }> {
  const all = JSON.parse(fs.readFileSync(path.join(PCAPS_DIR, 'labels.json'), 'utf8'));
  delete all._about;
  return all;
}
