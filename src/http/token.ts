import { createHash, timingSafeEqual } from 'node:crypto';
import { openSync, fstatSync, readFileSync, closeSync } from 'node:fs';
import { KvcpuError } from '../core/errors.ts';

/** Shortest token accepted: 128 bits as hex (`openssl rand -hex 16`). */
export const MIN_TOKEN_LENGTH = 32;

/**
 * Read the bearer token from FILE. The file must be a regular file that neither group nor
 * others can read or write (like ssh refuses a world-readable private key): a token other
 * users can read is no secret. Surrounding whitespace (the trailing newline) is dropped.
 */
export function loadToken(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new KvcpuError('E_TOKEN_FILE', `cannot open token file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: 'create it with `install -m 600 /dev/null FILE && openssl rand -hex 32 > FILE`',
    });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      throw new KvcpuError('E_TOKEN_FILE', `token file ${path} is not a regular file`, { hint: 'point --token-file at a file holding the token' });
    if ((st.mode & 0o077) !== 0) {
      throw new KvcpuError(
        'E_TOKEN_FILE_MODE',
        `token file ${path} is accessible by group or others (mode ${(st.mode & 0o777).toString(8).padStart(3, '0')})`,
        {
          hint: `chmod 600 ${path}`,
        },
      );
    }
    const token = readFileSync(fd, 'utf8').trim();
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      throw new KvcpuError('E_TOKEN_WEAK', `token in ${path} must be one word of at least ${MIN_TOKEN_LENGTH} characters`, {
        hint: 'openssl rand -hex 32 > FILE',
      });
    }
    return token;
  } finally {
    closeSync(fd);
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Compare a presented token with the configured one in constant time: both are hashed to 32
 * bytes first, so neither the content nor the length leaks through timing.
 */
export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}
