/**
 * `tsbuild run`'s runtime: real runc over an overlay of the busybox fixture (needs root).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { containerArgv, mergeEnv, runContainer, type RunContainerOptions } from '../../../executor/container/index.ts';
import { createSandbox } from '../../../executor/sandbox/index.ts';
import { assertCanRunContainers, busyboxRootfs } from '../../helpers/rootfs.ts';

const dirs: string[] = [];
const tmp = (p: string): string => {
  const d = mkdtempSync(path.join(os.tmpdir(), p));
  dirs.push(d);
  return d;
};
const sandbox = createSandbox({ stateRoot: tmp('tsb-ctr-rt-') });
let base: string;

beforeAll(async () => {
  await assertCanRunContainers();
  base = await busyboxRootfs();
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function run(over: Partial<RunContainerOptions>): Promise<{ code: number; out: string; err: string; stateDir: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (b: Buffer) => (out += b.toString()));
  stderr.on('data', (b: Buffer) => (err += b.toString()));
  const stateDir = tmp('tsb-ctr-state-');
  const code = await runContainer({
    layers: [base],
    config: {},
    network: 'none',
    tty: false,
    stateDir,
    rm: true,
    sandbox,
    ...over,
    stdio: { stdout, stderr, ...(over.stdio?.stdin !== undefined ? { stdin: over.stdio.stdin } : {}) },
  });
  return { code, out, err, stateDir };
}

describe('container argv and env rules', () => {
  it('follows Docker: Entrypoint + Cmd; cmd override replaces Cmd; --entrypoint drops the image Cmd', () => {
    const cfg = { Entrypoint: ['/ep'], Cmd: ['default'] };
    expect(containerArgv(cfg)).toEqual(['/ep', 'default']);
    expect(containerArgv(cfg, undefined, ['x', 'y'])).toEqual(['/ep', 'x', 'y']);
    expect(containerArgv(cfg, ['/other'])).toEqual(['/other']);
    expect(containerArgv(cfg, ['/other'], ['arg'])).toEqual(['/other', 'arg']);
    expect(containerArgv({ Cmd: ['sh'] })).toEqual(['sh']);
    expect(() => containerArgv({})).toThrow('no command specified');
    expect(containerArgv({ Entrypoint: null, Cmd: ['a'] })).toEqual(['a']);
  });

  it('merges env by key, later wins', () => {
    expect(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4'])).toEqual(['A=1', 'B=3', 'C=4']);
  });
});

describe('runContainer', () => {
  it('applies Entrypoint/Cmd/User/WorkingDir/Env and passes the exit code through', async () => {
    const r = await run({
      config: {
        Entrypoint: ['/bin/sh', '-c'],
        Cmd: ['echo "$(id -u):$(id -g) $(pwd) $GREETING $HOME"; exit 3'],
        User: 'app',
        WorkingDir: '/home/app',
        Env: ['GREETING=hi', 'PATH=/bin:/usr/bin'],
      },
    });
    expect(r.code).toBe(3);
    expect(r.out).toBe('1000:1000 /home/app hi /home/app\n');
    // --rm: nothing left.
    expect(readdirSync(r.stateDir)).toEqual([]);
  });

  it('overrides cmd, env, user and workdir; creates a missing WorkingDir', async () => {
    const r = await run({
      config: { Cmd: ['false'], User: 'app', Env: ['X=image'] },
      cmd: ['/bin/sh', '-c', 'echo "$X $(id -un) $(pwd)"'],
      env: ['X=cli'],
      user: 'root',
      workdir: '/srv/new',
    });
    expect(r).toMatchObject({ code: 0, out: 'cli root /srv/new\n' });
  });

  it('mounts volumes and attaches stdin with interactive', async () => {
    const vol = tmp('tsb-ctr-vol-');
    writeFileSync(`${vol}/in.txt`, 'from host');
    const stdin = new PassThrough();
    stdin.end('piped input\n');
    const r = await run({
      config: { Cmd: ['/bin/sh', '-c', 'cat /data/in.txt; echo; cat; echo out > /data/out.txt; (echo x > /ro/x) 2>/dev/null || echo RO'] },
      volumes: [
        { host: vol, target: '/data', readonly: false },
        { host: vol, target: '/ro', readonly: true },
      ],
      interactive: true,
      stdio: { stdin },
    });
    expect(r).toMatchObject({ code: 0, out: 'from host\npiped input\nRO\n' });
    expect(readFileSync(`${vol}/out.txt`, 'utf8')).toBe('out\n');
  });

  it('keeps state and the upperdir without --rm', async () => {
    const r = await run({ config: { Cmd: ['/bin/sh', '-c', 'echo data > /created; exit 5'] }, rm: false, name: 'keep-me' });
    expect(r.code).toBe(5);
    const [id] = readdirSync(r.stateDir);
    const state = JSON.parse(readFileSync(path.join(r.stateDir, id!, 'state.json'), 'utf8')) as Record<string, unknown>;
    expect(state).toMatchObject({ id, name: 'keep-me', status: 'exited', exitCode: 5 });
    expect(readFileSync(path.join(r.stateDir, id!, 'upper/created'), 'utf8')).toBe('data\n');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(r.stateDir);
  });

  it('reports an unknown USER with BuildKit wording and cleans up', async () => {
    const stateDir = tmp('tsb-ctr-state-');
    await expect(
      runContainer({ layers: [base], config: { Cmd: ['true'], User: 'ghost' }, network: 'none', tty: false, stateDir, rm: true, sandbox }),
    ).rejects.toThrow('unable to find user ghost: no matching entries in passwd file');
    expect(readdirSync(stateDir)).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(stateDir);
  });

  it('stacks several layers, base first', async () => {
    const top = tmp('tsb-ctr-layer-');
    mkdirSync(`${top}/etc`);
    writeFileSync(`${top}/etc/motd`, 'top layer\n');
    const r = await run({ layers: [base, top], config: { Cmd: ['cat', '/etc/motd'] } });
    expect(r.out).toBe('top layer\n');
    expect(existsSync(`${top}/etc/hosts`)).toBe(false);
  });
});
