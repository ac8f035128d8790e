/**
 * The README demo path, end to end: build examples/debian and examples/nginx (apt-get from the Debian mirror inside
 * a RUN), `tsbuild run --rm --network host mynginx` in the background, fetch the welcome page on 127.0.0.1:80, stop
 * it with Ctrl-C, and check nothing is left running or mounted. The only Debian-based test of the suite.
 */
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeBaseImage } from '../helpers/bases.ts';
import { repoRoot } from '../helpers/env.ts';
import { makeRig, spawnCli, storeMounts, waitFor, type Background, type Rig } from './helpers.ts';

let rig: Rig;
let server: Background | undefined;
beforeAll(async () => {
  rig = await makeRig({ base: false });
  await storeBaseImage('debian', rig.store);
  const r = await rig.cli(['build', '--progress', 'plain', '-t', 'mynginx', path.join(repoRoot, 'examples/nginx')], { timeoutMs: 280_000 });
  if (r.code !== 0) throw new Error(`building examples/nginx failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
}, 300_000);
afterAll(async () => {
  if (server && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGINT');
    await Promise.race([server.exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  }
  await rig?.cleanup();
});

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('README demo: nginx', () => {
  it('tsbuild run --rm --network host mynginx serves the welcome page on :80 and leaves nothing behind when stopped', async () => {
    // Port 80 is shared by the machine: wait for another user of it to finish rather than test against it.
    if (!(await waitFor(async () => !(await listening(80)), 60_000))) {
      throw new Error('port 80 on 127.0.0.1 has been busy for 60 s (another nginx?); this test needs it free');
    }
    server = spawnCli(rig, ['run', '--rm', '--network', 'host', 'mynginx']);
    let body = '';
    const up = await waitFor(async () => {
      if (server!.child.exitCode !== null) return true;
      try {
        const res = await fetch('http://127.0.0.1:80/', { signal: AbortSignal.timeout(2000) });
        body = await res.text();
        return body.includes('Welcome to nginx!');
      } catch {
        return false;
      }
    }, 40_000);
    expect(up && body.includes('Welcome to nginx!'), `nginx did not answer:\n${server.stderr()}\n${server.stdout()}`).toBe(true);

    const t0 = Date.now();
    server.child.kill('SIGINT');
    const code = await Promise.race([server.exited, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
    expect(code, `tsbuild run did not stop within 10 s:\n${server.stderr()}`).not.toBe(-1);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(code).toBe(130);
    // Stopped: nothing answers on :80, nothing is mounted under the store, --rm removed the container's state.
    expect(await waitFor(async () => !(await listening(80)), 5_000)).toBe(true);
    expect(storeMounts(rig)).toEqual([]);
    const containers = path.join(rig.store, 'containers');
    expect(existsSync(containers) ? readdirSync(containers) : []).toEqual([]);
  }, 120_000);
});
