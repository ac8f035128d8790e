/**
 * Test fixture: a tiny root filesystem made of the host's static busybox, for tests that run real containers.
 *
 * Built once per machine under /var/tmp/tsbuild-fixtures/ (the directory name carries a version; bump it when the
 * layout changes) and published atomically: the tree is assembled in a temp directory beside it and renamed into
 * place, so concurrent test files either see nothing (and build their own copy, the loser of the rename discards
 * it) or a complete tree. Treat the returned directory as read-only: mount it as an overlay lowerdir or copy it.
 *
 * Layout: /bin/busybox (from the busybox-static package) plus a symlink per applet at the path busybox reports
 * (`/bin/sh`, `/usr/bin/env`, ...); /etc/passwd and /etc/group with root (0), nobody (65534) and `app` (uid 1000,
 * primary group 1000 `app`, supplementary group 2000 `extra`); empty /proc /dev /sys /tmp (1777) /root /home/app.
 * There is deliberately no /etc/resolv.conf or /etc/hosts, so sandbox tests exercise mount-stub cleanup.
 */
import { constants } from 'node:fs';
import { access, chmod, chown, mkdir, mkdtemp, rename, rm, symlink, writeFile, copyFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';

const run = promisify(execFile);

const FIXTURE_ROOT = '/var/tmp/tsbuild-fixtures';
const BUSYBOX_DIR = path.join(FIXTURE_ROOT, 'busybox-v1');
const HOST_BUSYBOX = '/bin/busybox';

export const FIXTURE_PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'app:x:1000:1000:app user:/home/app:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
  '',
].join('\n');

export const FIXTURE_GROUP = [
  'root:x:0:',
  'app:x:1000:',
  'extra:x:2000:app',
  'nogroup:x:65534:',
  '',
].join('\n');

let pending: Promise<string> | undefined;

/** The cached busybox rootfs directory (absolute path); builds it on first use. */
export function busyboxRootfs(): Promise<string> {
  pending ??= ensure();
  return pending;
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

async function ensure(): Promise<string> {
  // The tree only ever appears by an atomic rename of a complete build, so existing means complete.
  if (await exists(BUSYBOX_DIR)) return BUSYBOX_DIR;
  if (!(await exists(HOST_BUSYBOX))) {
    throw new Error(`busyboxRootfs: ${HOST_BUSYBOX} is missing; install the busybox-static package`);
  }
  await mkdir(FIXTURE_ROOT, { recursive: true });
  const tmp = await mkdtemp(path.join(FIXTURE_ROOT, '.busybox-tmp-'));
  try {
    await build(tmp);
    try {
      await rename(tmp, BUSYBOX_DIR);
    } catch (e) {
      // Another process won the race (ENOTEMPTY/EEXIST): its tree is complete, ours is discarded below.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      if (!(await exists(BUSYBOX_DIR))) throw e;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return BUSYBOX_DIR;
}

async function build(root: string): Promise<void> {
  await chmod(root, 0o755);
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'dev', 'sys', 'root', 'home/app', 'tmp']) {
    await mkdir(path.join(root, d), { recursive: true, mode: 0o755 });
  }
  await chmod(path.join(root, 'tmp'), 0o1777);
  await chmod(path.join(root, 'root'), 0o700);
  await chown(path.join(root, 'home/app'), 1000, 1000);
  await copyFile(HOST_BUSYBOX, path.join(root, 'bin/busybox'));
  await chmod(path.join(root, 'bin/busybox'), 0o755);
  const { stdout } = await run(HOST_BUSYBOX, ['--list-full']);
  for (const rel of stdout.split('\n').map((s) => s.trim()).filter(Boolean)) {
    if (rel === 'bin/busybox') continue;
    const dest = path.join(root, rel);
    await mkdir(path.dirname(dest), { recursive: true });
    // Absolute target: valid inside the container, where / is this rootfs.
    await symlink('/bin/busybox', dest);
  }
  await writeFile(path.join(root, 'etc/passwd'), FIXTURE_PASSWD, { mode: 0o644 });
  await writeFile(path.join(root, 'etc/group'), FIXTURE_GROUP, { mode: 0o644 });
}

/**
 * Throws (never skips) when real containers cannot run here: not root, or runc missing. Call from `beforeAll` in
 * tests that need root, runc and overlayfs, so a misconfigured CI fails loudly.
 */
export async function assertCanRunContainers(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('these tests need root (they run runc and mount overlayfs)');
  for (const p of ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc', '/sbin/runc']) {
    if (await exists(p)) return;
  }
  throw new Error('these tests need runc on PATH (apt-get install runc)');
}
