// Checks for one section of the configuration file read by hand (files:, links:): every message
// names the file and the setting, in one line, thrown as the section's own error class.
export type RawMap = Record<string, unknown>;

export function configSection(section: string, where: string, E: new (message: string) => Error) {
  const fail = (msg: string): never => {
    throw new E(`${where}: ${section}.${msg}`);
  };
  return {
    fail,
    /** `v` as a mapping, else an error naming `what` */
    map(v: unknown, what: string): RawMap {
      if (!v || typeof v !== 'object' || Array.isArray(v)) fail(`${what} must be a mapping (key: value lines)`);
      return v as RawMap;
    },
    /** every key of `m` one of `allowed`; `what` is the path of `m` inside the section ('' at its top) */
    keys(m: RawMap, what: string, allowed: string[]): void {
      for (const k of Object.keys(m)) if (!allowed.includes(k)) fail(`${what ? what + '.' : ''}${k} is not a setting (expected one of: ${allowed.join(', ')})`);
    },
  };
}
