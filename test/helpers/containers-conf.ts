/**
 * podman/buildah configuration for tests that hand images to them: this machine's crun is broken ("cgroups in
 * hybrid mode") and there is no systemd, so the engine must use runc with the cgroupfs manager, and the default
 * ulimits (which need privileges unavailable in nested containers) are cleared. Setup installs the same file.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const CONTAINERS_CONF_DROPIN = '/etc/containers/containers.conf.d/50-tsbuild.conf';

export const CONTAINERS_CONF = [
  '[containers]',
  'default_ulimits = []',
  '[engine]',
  'runtime = "runc"',
  'cgroup_manager = "cgroupfs"',
  '',
].join('\n');

/** Creates the drop-in if it is missing or different (atomically: temp file + rename). Idempotent. */
export async function ensureContainersConf(): Promise<void> {
  let current: string | undefined;
  try {
    current = await readFile(CONTAINERS_CONF_DROPIN, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === CONTAINERS_CONF) return;
  await mkdir(path.dirname(CONTAINERS_CONF_DROPIN), { recursive: true });
  const tmp = `${CONTAINERS_CONF_DROPIN}.tmp-${process.pid}`;
  await writeFile(tmp, CONTAINERS_CONF, { mode: 0o644 });
  await rename(tmp, CONTAINERS_CONF_DROPIN);
}
