/**
 * USER resolution against a rootfs's /etc/passwd and /etc/group, with runc/BuildKit semantics
 * (libcontainer/user.GetExecUser):
 * - `name` or `uid`: matched against passwd by name or by numeric uid; the entry gives uid and primary gid, and the
 *   supplementary groups are every group whose member list names the user. A numeric uid without an entry is used
 *   as is with gid 0. A name without an entry is an error.
 * - `user:group`: the group is matched by name or gid in /etc/group (a numeric gid without an entry is used as is);
 *   an explicit group replaces the primary gid and there are no supplementary groups.
 * - empty: root.
 * Error messages are BuildKit's words (`unable to find user x: no matching entries in passwd file`).
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { TsbuildError } from '../util/errors.ts';
import { resolveInRoot } from './sandbox/in-root.ts';


/** A process identity: uid, primary gid and supplementary gids (all in 0..2^31-1). */
export interface ResolvedUser {
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids: number[];
  /** The passwd entry's home directory, when one matched (useful for HOME). */
  readonly home?: string;
}

/** One /etc/passwd line. */
export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

/** One /etc/group line. */
export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  /** Member user names. */
  readonly members: readonly string[];
}

const MAX_ID = 2147483647;

function parseId(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses /etc/passwd text; malformed lines (bad field count or ids) are skipped, as libcontainer does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const uid = parseId(f[2] ?? '');
    const gid = parseId(f[3] ?? '');
    if (f[0] === undefined || f[0] === '' || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? '', shell: f[6] ?? '' });
  }
  return out;
}

/** Parses /etc/group text; malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const gid = parseId(f[2] ?? '');
    if (f[0] === undefined || f[0] === '' || gid === undefined) continue;
    const members = (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean);
    out.push({ name: f[0], gid, members });
  }
  return out;
}

function checkRange(n: number, what: string, spec: string): number {
  if (n > MAX_ID) throw new TsbuildError('user/id-out-of-range', `${what} ${n} in USER ${spec} is out of range 0-${MAX_ID}`);
  return n;
}

/**
 * Resolves a USER spec against parsed passwd/group contents (`undefined` = the file does not exist).
 * Pure; throws TsbuildError `user/unknown-user` or `user/unknown-group`.
 */
export function resolveUserSpec(spec: string, passwd: readonly PasswdEntry[] | undefined, group: readonly GroupEntry[] | undefined): ResolvedUser {
  const s = spec.trim();
  if (s === '') return { uid: 0, gid: 0, additionalGids: [], ...homeOf(passwd, 0) };
  const colon = s.indexOf(':');
  const userArg = colon < 0 ? s : s.slice(0, colon);
  const groupArg = colon < 0 ? '' : s.slice(colon + 1);
  let uid: number;
  let gid = 0;
  let name: string | undefined;
  let home: string | undefined;
  const numericUser = parseId(userArg);
  const entry = userArg === '' ? undefined : passwd?.find((p) => p.name === userArg || (numericUser !== undefined && p.uid === numericUser));
  if (userArg === '') {
    uid = 0;
  } else if (entry !== undefined) {
    uid = entry.uid;
    gid = entry.gid;
    name = entry.name;
    home = entry.home;
  } else if (numericUser !== undefined) {
    uid = checkRange(numericUser, 'uid', spec);
  } else {
    throw new TsbuildError('user/unknown-user', `unable to find user ${userArg}: no matching entries in passwd file`);
  }
  let additionalGids: number[] = [];
  if (groupArg !== '') {
    const numericGroup = parseId(groupArg);
    const g = group?.find((e) => e.name === groupArg || (numericGroup !== undefined && e.gid === numericGroup));
    if (g !== undefined) gid = g.gid;
    else if (numericGroup !== undefined) gid = checkRange(numericGroup, 'gid', spec);
    else throw new TsbuildError('user/unknown-group', `unable to find group ${groupArg}: no matching entries in group file`);
  } else if (name !== undefined && group !== undefined) {
    // Supplementary groups only in the implicit form, as libcontainer does.
    const seen = new Set<number>();
    for (const g of group) {
      if (g.members.includes(name) && !seen.has(g.gid)) {
        seen.add(g.gid);
        additionalGids.push(g.gid);
      }
    }
  }
  return { uid, gid, additionalGids, ...(home !== undefined ? { home } : {}) };
}

function homeOf(passwd: readonly PasswdEntry[] | undefined, uid: number): { home?: string } {
  const e = passwd?.find((p) => p.uid === uid);
  return e !== undefined ? { home: e.home } : {};
}

/** Files larger than this are not a plausible passwd/group file; refuse rather than read a huge file. */
const MAX_DB_BYTES = 16 * 1024 * 1024;

/**
 * Reads a file inside `root` without ever leaving it: symlinks are resolved as if `root` were `/`, and the final
 * open uses O_NOFOLLOW so a symlink swapped in afterwards is refused rather than followed.
 * @returns the text, or undefined when the file does not exist (or is not a regular file).
 */
export async function readFileInRoot(root: string, containerPath: string): Promise<string | undefined> {
  const p = await resolveInRoot(root, containerPath, { followFinal: true });
  let fh: FileHandle;
  try {
    fh = await open(p, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return undefined;
    if (st.size > MAX_DB_BYTES) throw new TsbuildError('user/db-too-large', `${containerPath} in the rootfs is larger than ${MAX_DB_BYTES} bytes`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const { bytesRead } = await fh.read(buf, off, buf.length - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return buf.subarray(0, off).toString('utf8');
  } finally {
    await fh.close();
  }
}

/** Resolves USER `spec` against `<rootfs>/etc/passwd` and `<rootfs>/etc/group`, read safely inside the rootfs. */
export async function resolveUser(rootfs: string, spec: string): Promise<ResolvedUser> {
  const s = spec.trim();
  const [passwdText, groupText] = await Promise.all([readFileInRoot(rootfs, '/etc/passwd'), readFileInRoot(rootfs, '/etc/group')]);
  return resolveUserSpec(s, passwdText === undefined ? undefined : parsePasswd(passwdText), groupText === undefined ? undefined : parseGroup(groupText));
}
