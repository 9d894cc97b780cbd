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

/** Third-party captures from Debian's source packages (.ci/fetch-test-captures.sh; never copied here). */
export const THIRD_PARTY_DIR = path.resolve(process.env.SHADOWIM_THIRD_PARTY ?? path.join(REPO, '..', 'third-party-captures'));
export const THIRD_PARTY_HINT = 'fetch them with .ci/fetch-test-captures.sh, or set SHADOWIM_THIRD_PARTY';
