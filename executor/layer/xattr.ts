/**
 * Extended attributes through the `attr` package's getfattr/setfattr, because Node has no xattr syscalls and no
 * xattr npm package is installed. Each call is one process for a whole tree (`getfattr -R` to read, `setfattr
 * --restore` to write), never one per file, so the cost is independent of the number of files.
 *
 * Setup must install the Debian package `attr` (it provides /usr/bin/getfattr and /usr/bin/setfattr).
 */
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TsbuildError } from '../../util/errors.ts';

/** xattr name → raw value. */
export type XattrMap = Map<string, Buffer>;

/**
 * Which xattrs belong in an image layer: user.*, security.* except SELinux labels (host policy, relabelled on use),
 * and trusted.* except overlayfs' own bookkeeping. system.* (POSIX ACLs) is left out: tar encodes ACLs differently
 * and no image tool here round-trips them.
 */
export function isPortableXattr(name: string): boolean {
  if (name.startsWith('user.')) return true;
  if (name.startsWith('security.')) return name !== 'security.selinux';
  if (name.startsWith('trusted.')) return !name.startsWith('trusted.overlay.');
  return false;
}

/** overlayfs xattrs the layer writer interprets. */
export const OVERLAY_OPAQUE = 'trusted.overlay.opaque';
export const OVERLAY_WHITEOUT = 'trusted.overlay.whiteout';
export const OVERLAY_REDIRECT = 'trusted.overlay.redirect';

function missingTool(tool: string, cause: unknown): TsbuildError {
  return new TsbuildError(
    'layer/missing-tool',
    `${tool} is not installed; install the Debian package "attr" (needed to read and write extended attributes)`,
    { cause },
  );
}

/** Undo getfattr's escaping of file names: `\ooo` octal bytes (`\134` is a backslash). */
function unescapeName(s: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString('latin1'))) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else bytes.push(raw[i]!);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The escaping setfattr --restore undoes: control bytes, non-ASCII bytes, backslash and `=` as `\ooo`. */
function escapeName(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b < 0x20 || b >= 0x7f || b === 0x5c || b === 0x3d) out += '\\' + b.toString(8).padStart(3, '0');
    else out += String.fromCharCode(b);
  }
  return out;
}

/**
 * Reads every xattr under `root` (not following symlinks) that `keep` accepts.
 * Returns a map keyed by the path relative to `root` (`/`-separated, `''` for root itself).
 */
export async function readXattrTree(root: string, keep: (name: string) => boolean): Promise<Map<string, XattrMap>> {
  const abs = path.resolve(root);
  const child = spawn('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--', abs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', (e) => reject(missingTool('getfattr', e)));
    child.on('close', (code) => resolve(code ?? 1));
  });
  const out = new Map<string, XattrMap>();
  let current: XattrMap | undefined;
  let currentRel = '';
  const rl = createInterface({ input: child.stdout, crlfDelay: Infinity });
  try {
    for await (const line of rl) {
      if (line.startsWith('# file: ')) {
        const file = unescapeName(line.slice('# file: '.length));
        currentRel = file === abs ? '' : path.relative(abs, file).split(path.sep).join('/');
        current = undefined;
        continue;
      }
      const eq = line.indexOf('=');
      if (line === '' || eq === -1) continue;
      const name = line.slice(0, eq);
      if (!keep(name)) continue;
      const v = line.slice(eq + 1);
      let value: Buffer;
      if (v.startsWith('0x')) value = Buffer.from(v.slice(2), 'hex');
      else if (v.startsWith('"')) value = Buffer.from(v.slice(1, -1), 'utf8');
      else value = Buffer.alloc(0);
      if (!current) {
        current = new Map();
        out.set(currentRel, current);
      }
      current.set(name, value);
    }
  } finally {
    rl.close();
  }
  const code = await exited;
  if (code !== 0) {
    throw new TsbuildError('layer/xattr-read-failed', `getfattr failed on ${abs} (exit ${code}): ${stderr.trim()}`);
  }
  return out;
}

/**
 * Collects xattrs to set and applies them all with one `setfattr --restore` (symlinks themselves, not their targets).
 * Apply after chown: chown clears security.capability.
 */
export class XattrBatch {
  private readonly lines: string[] = [];

  get size(): number {
    return this.lines.length;
  }

  add(absPath: string, attrs: ReadonlyMap<string, Uint8Array>): void {
    if (attrs.size === 0) return;
    let block = `# file: ${escapeName(absPath)}\n`;
    for (const [name, value] of attrs) block += `${escapeName(name)}=0x${Buffer.from(value).toString('hex')}\n`;
    this.lines.push(block);
  }

  async apply(): Promise<void> {
    if (this.lines.length === 0) return;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsbuild-xattr-'));
    try {
      const file = path.join(dir, 'restore');
      await writeFile(file, this.lines.join('\n') + '\n');
      await new Promise<void>((resolve, reject) => {
        execFile('setfattr', ['-h', `--restore=${file}`], (e, _stdout, stderr) => {
          if (!e) return resolve();
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return reject(missingTool('setfattr', e));
          reject(new TsbuildError('layer/xattr-write-failed', `setfattr failed: ${String(stderr).trim() || e.message}`));
        });
      });
      this.lines.length = 0;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
