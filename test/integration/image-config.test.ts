/**
 * The image config a Dockerfile produces, as `tsbuild inspect` and the stored config blob show it, and
 * `tsbuild run` applying it: entrypoint + cmd, env, workdir, user, exit codes, -e, -v, --network none.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageBlobs, inspect, makeRig, type Rig } from './helpers.ts';

let rig: Rig;
const IMAGE = 'config-app:1.0';
beforeAll(async () => {
  rig = await makeRig();
  const ctx = await rig.context({
    Dockerfile: [
      'FROM busybox',
      'ENV APP_HOME=/srv/app GREETING="hello world"',
      'WORKDIR $APP_HOME',
      'COPY --chmod=755 entry.sh /entry.sh',
      'RUN true',
      'USER nobody',
      'EXPOSE 8080 53/udp',
      'LABEL org.example.from-file="yes" shared=dockerfile',
      'ENTRYPOINT ["/entry.sh"]',
      'CMD ["echo", "default-cmd"]',
      '',
    ].join('\n'),
    'entry.sh': '#!/bin/sh\necho "user=$(id -un) pwd=$(pwd) greeting=$GREETING args=$*"\nexec "$@"\n',
  });
  const r = await rig.cli(['build', '--progress', 'plain', '-t', IMAGE, '--label', 'org.example.cli=1', '--label', 'shared=cli', ctx]);
  if (r.code !== 0) throw new Error(`building ${IMAGE} failed:\n${r.stderr}`);
});
afterAll(() => rig?.cleanup());

describe('image config', () => {
  it('ENV, WORKDIR, USER, CMD, ENTRYPOINT, EXPOSE, LABEL and --label show in tsbuild inspect', async () => {
    const info = await inspect(rig, IMAGE);
    expect(info.RepoTags).toEqual([IMAGE]);
    expect(info.Config.Env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'APP_HOME=/srv/app',
      'GREETING=hello world',
    ]);
    expect(info.Config.WorkingDir).toBe('/srv/app');
    expect(info.Config.User).toBe('nobody');
    expect(info.Config.Entrypoint).toEqual(['/entry.sh']);
    expect(info.Config.Cmd).toEqual(['echo', 'default-cmd']);
    expect(info.Config.ExposedPorts).toEqual({ '8080/tcp': {}, '53/udp': {} });
    // --label overrides a Dockerfile LABEL of the same key, as in docker build.
    expect(info.Config.Labels).toEqual({ 'org.example.from-file': 'yes', 'org.example.cli': '1', shared: 'cli' });
    // The image ID is the config blob's digest.
    const { manifest, id } = await imageBlobs(rig, IMAGE);
    expect(id).toBe(info.Id);
    expect(manifest.config.digest).toBe(info.Id);
  });

  it('history has one entry per instruction, empty_layer on metadata-only ones and on a RUN that changed nothing', async () => {
    const { config, manifest } = await imageBlobs(rig, IMAGE);
    const own = config.history.slice(-9);
    expect(own.map((h) => [h.created_by, h.empty_layer === true])).toEqual([
      ['ENV APP_HOME=/srv/app GREETING=hello world', true],
      ['WORKDIR /srv/app', false],
      ['COPY --chmod=755 entry.sh /entry.sh # buildkit', false],
      ['RUN /bin/sh -c true # buildkit', true],
      ['USER nobody', true],
      // Current BuildKit prints the parsed port list in order (older releases printed a Go map).
      ['EXPOSE [8080/tcp 53/udp]', true],
      ['LABEL org.example.from-file=yes shared=dockerfile', true],
      ['ENTRYPOINT ["/entry.sh"]', true],
      ['CMD ["echo" "default-cmd"]', true],
    ]);
    for (const h of own) expect(h.comment).toBe('buildkit.dockerfile.v0');
    // Non-empty history entries and layers match one to one.
    expect(config.history.filter((h) => h.empty_layer !== true)).toHaveLength(manifest.layers.length);
    expect(config.rootfs.diff_ids).toHaveLength(manifest.layers.length);
    // `tsbuild history` shows the same, newest first.
    const hist = await rig.ok(['history', '--no-trunc', IMAGE]);
    const rows = hist.stdout.trim().split('\n').slice(1);
    expect(rows[0]).toContain('CMD ["echo" "default-cmd"]');
    expect(rows[0]).toMatch(/\s0B\s/);
    expect(rows.length).toBe(config.history.length);
  });

  it('tsbuild run applies entrypoint, cmd, env, workdir and user', async () => {
    const r = await rig.ok(['run', '--rm', IMAGE]);
    expect(r.stdout).toBe('user=nobody pwd=/srv/app greeting=hello world args=echo default-cmd\ndefault-cmd\n');
    // A command after the image replaces CMD but keeps the entrypoint.
    const r2 = await rig.ok(['run', '--rm', IMAGE, 'echo', 'override']);
    expect(r2.stdout).toBe('user=nobody pwd=/srv/app greeting=hello world args=echo override\noverride\n');
  });

  it('tsbuild run passes the exit code through and applies -e', async () => {
    const r = await rig.cli(['run', '--rm', IMAGE, 'sh', '-c', 'exit 42']);
    expect(r.code).toBe(42);
    const r2 = await rig.ok(['run', '--rm', '-e', 'GREETING=from-cli', '-e', 'EXTRA=x', IMAGE, 'sh', '-c', 'echo "$EXTRA"']);
    expect(r2.stdout).toBe('user=nobody pwd=/srv/app greeting=from-cli args=sh -c echo "$EXTRA"\nx\n');
    const r3 = await rig.cli(['run', '--rm', '--entrypoint', '', '-u', 'root', IMAGE, 'sh', '-c', 'id -u; exit 3']);
    expect(r3.code).toBe(3);
    expect(r3.stdout).toBe('0\n');
  });

  it('tsbuild run -v HOST:CTR:ro mounts a host directory read-only', async () => {
    const host = path.join(rig.dir, 'vol');
    await import('node:fs/promises').then((fs) => fs.mkdir(host));
    await writeFile(path.join(host, 'data.txt'), 'from-host\n');
    const r = await rig.cli(['run', '--rm', '--entrypoint', '', '-u', 'root', '-v', `${host}:/data:ro`, IMAGE, 'sh', '-c', 'cat /data/data.txt; echo changed > /data/data.txt; echo write=$?; touch /data/new; echo touch=$?']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^from-host\nwrite=1\ntouch=1\n$/);
    expect(await readFile(path.join(host, 'data.txt'), 'utf8')).toBe('from-host\n');
    // Read-write works, to prove the read-only case failed for the right reason.
    const rw = await rig.ok(['run', '--rm', '--entrypoint', '', '-u', 'root', '-v', `${host}:/data`, IMAGE, 'sh', '-c', 'echo rw > /data/new.txt']);
    expect(rw.code).toBe(0);
    expect(await readFile(path.join(host, 'new.txt'), 'utf8')).toBe('rw\n');
  });

  it('tsbuild run --network none sees only loopback; the default (host) sees the host interfaces', async () => {
    const ifaces = (out: string): string[] =>
      out
        .split('\n')
        .slice(2)
        .map((l) => l.trim().split(':')[0]!)
        .filter(Boolean)
        .sort();
    const none = await rig.ok(['run', '--rm', '--network', 'none', '--entrypoint', '', IMAGE, 'cat', '/proc/net/dev']);
    expect(ifaces(none.stdout)).toEqual(['lo']);
    const host = await rig.ok(['run', '--rm', '--entrypoint', '', IMAGE, 'cat', '/proc/net/dev']);
    const hostIfaces = ifaces(await readFile('/proc/net/dev', 'utf8'));
    expect(hostIfaces.length).toBeGreaterThan(1);
    expect(ifaces(host.stdout)).toEqual(hostIfaces);
  });

  it('tsbuild run of an unknown image fails with a clear message and no stack trace', async () => {
    const r = await rig.cli(['run', '--rm', 'no-such-image:1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Unable to find image 'no-such-image:1' locally");
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
