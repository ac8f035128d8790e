/**
 * The RUN sandbox as seen through the CLI: Docker's default capability set, no way to write to the host, and the
 * files the sandbox provides (/etc/resolv.conf, /etc/hosts) leave no trace in the image.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageBlobs, imageLayerTars, makeRig, step, type Rig } from './helpers.ts';

let rig: Rig;
beforeAll(async () => {
  rig = await makeRig();
});
afterAll(() => rig?.cleanup());

/**
 * Docker's default capabilities (moby oci/caps/defaults.go): CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, FSETID 4, KILL 5,
 * SETGID 6, SETUID 7, SETPCAP 8, NET_BIND_SERVICE 10, NET_RAW 13, SYS_CHROOT 18, MKNOD 27, AUDIT_WRITE 29,
 * SETFCAP 31: 14 capabilities.
 */
const DOCKER_CAPS = [0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31].reduce((m, b) => m | (1n << BigInt(b)), 0n);

describe('RUN sandbox security', () => {
  it('a RUN has exactly Docker’s 14 default capabilities (effective, permitted, bounding) and no more', async () => {
    const ctx = await rig.context({ Dockerfile: 'FROM busybox\nRUN grep -E "^Cap(Eff|Prm|Bnd|Inh|Amb):" /proc/self/status\n' });
    const r = await rig.ok(['build', '--progress', 'plain', ctx]);
    const caps = new Map(
      step(r.stderr, 'RUN grep -E "^Cap(Eff|Prm|Bnd|Inh|Amb):" /proc/self/status').logs.map((l) => {
        const [k, v] = l.split(':');
        return [k!, BigInt(`0x${v!.trim()}`)] as const;
      }),
    );
    expect(DOCKER_CAPS.toString(2).replace(/0/g, '').length).toBe(14);
    expect(caps.get('CapEff')).toBe(DOCKER_CAPS);
    expect(caps.get('CapPrm')).toBe(DOCKER_CAPS);
    expect(caps.get('CapBnd')).toBe(DOCKER_CAPS);
    expect(caps.get('CapAmb')).toBe(0n);
    // Without CAP_SYS_ADMIN a RUN cannot mount, so it cannot reach around its root.
    const m = await rig.context({ Dockerfile: 'FROM busybox\nRUN mkdir -p /mnt/x && (mount -t tmpfs none /mnt/x 2>&1 && echo mounted || echo mount-denied)\n' });
    const rm = await rig.ok(['build', '--progress', 'plain', m]);
    expect(rm.stderr).toMatch(/mount-denied/);
    expect(rm.stderr).not.toMatch(/#\d+ [\d.]+ mounted$/m);
  });

  it("a RUN runs under Docker's seccomp profile: no user namespace even though unprivileged ones are allowed here", async () => {
    const run = 'RUN grep ^Seccomp: /proc/self/status; unshare -U true 2>&1; echo "unshare=$?"';
    const ctx = await rig.context({ Dockerfile: `FROM busybox\n${run}\n` });
    const logs = step((await rig.ok(['build', '--progress', 'plain', ctx])).stderr, run).logs;
    expect(logs).toContain('Seccomp:\t2');
    expect(logs).toContain('unshare=1');
    expect(logs.join('\n')).toContain('Operation not permitted');
  });

  it('RUN --security=insecure is refused at its line without --allow security.insecure, and runs privileged with it', async () => {
    const run = 'RUN --security=insecure grep -E "^(CapEff|Seccomp):" /proc/self/status && unshare -U true && mkdir -p /m && mount -t tmpfs none /m && echo mounted';
    const ctx = await rig.context({ Dockerfile: `FROM busybox\nRUN echo before\n${run}\n` });
    const refused = await rig.cli(['build', '--progress', 'plain', ctx]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Dockerfile:3:1: error: RUN --security=insecure needs the security.insecure entitlement');
    expect(refused.stderr).toContain('--allow security.insecure');
    // refused before anything ran
    expect(refused.stderr).not.toMatch(/#\d+ [\d.]+ before$/m);
    const r = await rig.ok(['build', '--progress', 'plain', '--allow', 'security.insecure', ctx]);
    const logs = step(r.stderr, run).logs;
    const capEff = BigInt(`0x${logs.find((l) => l.startsWith('CapEff:'))!.split(':')[1]!.trim()}`);
    expect(capEff & (1n << 21n), 'CAP_SYS_ADMIN').toBe(1n << 21n);
    expect(capEff & DOCKER_CAPS).toBe(DOCKER_CAPS);
    expect(logs).toContain('Seccomp:\t0');
    expect(logs).toContain('mounted');
    // the same Dockerfile without the flag stays confined: the entitlement only affects steps that ask for it
    const plain = await rig.context({ Dockerfile: 'FROM busybox\nRUN grep ^CapEff: /proc/self/status\n' });
    const pr = await rig.ok(['build', '--progress', 'plain', '--allow', 'security.insecure', plain]);
    expect(BigInt(`0x${step(pr.stderr, 'RUN grep ^CapEff: /proc/self/status').logs[0]!.split(':')[1]!.trim()}`)).toBe(DOCKER_CAPS);
    expect((await rig.cli(['build', '--allow', 'root', plain])).code).toBe(2);
  });

  it('a RUN cannot write to host paths: absolute paths land in the container, the host is untouched', async () => {
    const marker = `tsbuild-escape-${randomBytes(6).toString('hex')}`;
    const hostTargets = [path.join('/tmp', marker), path.join(rig.dir, marker), path.join(rig.store, marker)];
    const script = hostTargets.map((t) => `echo pwned > ${t} 2>/dev/null; `).join('') + 'ls /proc/1/root/ >/dev/null; echo pid1=$(cat /proc/1/comm); test -e /work && echo host-visible || echo host-hidden';
    const ctx = await rig.context({ Dockerfile: `FROM busybox\nRUN mkdir -p ${path.dirname(hostTargets[1]!)} ${path.dirname(hostTargets[2]!)} && ${script}\n` });
    const r = await rig.ok(['build', '--progress', 'plain', '-t', 'escape-img', ctx]);
    for (const t of hostTargets) expect(existsSync(t), t).toBe(false);
    const logs = step(r.stderr, 'echo host-visible || echo host-hidden').logs;
    // The RUN's own process is PID 1 of its namespace, and the host's /work (this checkout) is not visible.
    expect(logs).toContain('host-hidden');
    expect(logs.some((l) => /^pid1=(sh|busybox)$/.test(l))).toBe(true);
    // What it wrote is in the image instead.
    const files = new Set<string>();
    for (const l of await imageLayerTars(rig, 'escape-img')) for (const p of l.keys()) files.add(p);
    expect(files.has(path.join('tmp', marker))).toBe(true);
  });

  it('/etc/resolv.conf and /etc/hosts are usable in RUN and leave no trace in the layer or the exported filesystem', async () => {
    const ctx = await rig.context({
      Dockerfile: 'FROM busybox\nRUN test -s /etc/resolv.conf && grep -q localhost /etc/hosts && echo net-files-ok && echo x > /marker\n',
    });
    const out = await mkdtemp(path.join(rig.dir, 'local-'));
    const r = await rig.ok(['build', '--progress', 'plain', '-t', 'netfiles', '-o', `type=local,dest=${out}`, ctx]);
    expect(step(r.stderr, 'echo x > /marker').logs).toEqual(['net-files-ok']);
    const layers = await imageLayerTars(rig, 'netfiles');
    const runLayer = layers.at(-1)!;
    // The RUN's layer holds exactly what it made: no etc/ entries (not even the directory the mounts needed).
    expect([...runLayer.keys()].sort()).toEqual(['marker']);
    for (const l of layers) {
      expect(l.has('etc/resolv.conf')).toBe(false);
      expect(l.has('etc/hosts')).toBe(false);
    }
    expect(existsSync(path.join(out, 'etc/resolv.conf'))).toBe(false);
    expect(existsSync(path.join(out, 'etc/hosts'))).toBe(false);
    expect(existsSync(path.join(out, 'marker'))).toBe(true);
    const { manifest } = await imageBlobs(rig, 'netfiles');
    expect(manifest.layers).toHaveLength(2);
  });
});
