// Threat-intelligence hash lists: text or CSV files with one known-bad file per line, an MD5 or
// SHA-256 and a name in any column order ("sha256,name", "name;md5", "md5  name", ClamAV .hdb/.hsb
// "hash:size:name"). Lines starting with '#' are comments. A carved file whose hash is listed is
// verdict 'infected:<name>'.
import fs from 'node:fs';
import path from 'node:path';
import { FilesConfigError } from './config';
import { whyCannotRead } from '../../common/fsError';

const MAX_ENTRIES = 10_000_000;

export class HashList {
  private byHash = new Map<string, string>();
  get size(): number {
    return this.byHash.size;
  }

  static load(files: string[]): HashList {
    const h = new HashList();
    for (const f of files) h.addFile(f);
    return h;
  }

  addFile(file: string): void {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new FilesConfigError(`cannot read hash list ${file}: ${whyCannotRead(e)}; fix the path in files.hash_lists`);
    }
    const fallback = cleanName(path.basename(file).replace(/\.[^.]*$/, '')) || 'hash-list';
    let n = 0;
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const cols = line.split(/[,;\t:|]|\s+/).map((c) => c.trim().replace(/^"|"$/g, '')).filter(Boolean);
      const hash = cols.find((c) => /^([0-9a-f]{32}|[0-9a-f]{64})$/i.test(c));
      if (!hash) continue;
      const name = cols.find((c) => c !== hash && !/^\d+$/.test(c) && !/^[0-9a-f]{32,}$/i.test(c));
      if (this.byHash.size >= MAX_ENTRIES) break;
      this.byHash.set(hash.toLowerCase(), cleanName(name ?? '') || fallback);
      n++;
    }
    if (!n) throw new FilesConfigError(`hash list ${file} holds no MD5 or SHA-256 value (one per line, with a name: "sha256,name")`);
  }

  /** the listed name for either hash, if any */
  match(sha256: string, md5: string): string | undefined {
    return this.byHash.get(sha256) ?? this.byHash.get(md5);
  }
}

/** names end up in verdicts, alerts and SIEM lines: a safe token only */
function cleanName(s: string): string {
  return s.replace(/[^A-Za-z0-9._\-/+]/g, '_').slice(0, 96);
}
