// Why a file could not be read or written, in the words a user is shown ('no such file',
// 'permission denied', …) instead of an errno code. One mapping for every command that names a file.
import fs from 'node:fs';
import path from 'node:path';

const code = (e: unknown) => (e as NodeJS.ErrnoException)?.code;
const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

/** Why reading a file failed: a part of the path that is a file (ENOTDIR) is 'no such file' as well. */
export function whyCannotRead(e: unknown): string {
  switch (code(e)) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return firstLine(e);
  }
}

/**
 * Why creating or writing `file` failed. ENOENT names the cause: a missing directory, or (when the
 * directory is there) one that cannot hold new files.
 */
export function whyCannotWrite(e: unknown, file: string): string {
  switch (code(e)) {
    case 'ENOENT': {
      // making parents (makeDirs) stops at the first directory it cannot make: judge by that one
      const err = e as NodeJS.ErrnoException;
      const failed = (err.syscall === 'mkdir' && err.path) || file;
      return isDir(path.dirname(failed)) ? 'files cannot be created there' : 'no such directory';
    }
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOTDIR':
      return 'not a directory';
    case 'EISDIR':
      return 'is a directory';
    default:
      return firstLine(e);
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
