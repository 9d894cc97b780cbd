// The data in types.yaml: honest extensions per true type, and which types are executable content.
import path from 'node:path';
import { readDataFile } from '../../common/dataFile';

interface TypeInfo { active: boolean; ext: Set<string> }
let table: Map<string, TypeInfo> | undefined;

function load(): Map<string, TypeInfo> {
  if (table) return table;
  const doc = readDataFile(path.join(__dirname, 'types.yaml')) as { types: Record<string, { active?: boolean; ext: string[] }> };
  table = new Map(Object.entries(doc.types).map(([t, v]) => [t, { active: !!v.active, ext: new Set(v.ext.map(String)) }]));
  return table;
}

export function isActiveType(type: string): boolean {
  return load().get(type)?.active ?? false;
}

export function activeTypes(): string[] {
  return [...load()].filter(([, v]) => v.active).map(([k]) => k);
}

/** the extension after the last dot, lower case, when it looks like one */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot >= name.length - 1) return '';
  const ext = name.slice(dot + 1).toLowerCase();
  return /^[a-z0-9]{1,10}$/.test(ext) ? ext : '';
}

/** "pe named .jpg" when the name's extension does not fit the true type; undefined otherwise */
export function nameMismatch(name: string, type: string): string | undefined {
  const ext = extensionOf(name);
  const t = load().get(type);
  if (!ext || !t || t.ext.has(ext)) return undefined;
  return `${type} named .${ext}`;
}
