/**
 * Integration rig: every test file gets its own fresh store (TSBUILD_ROOT in a temp dir) with the busybox example
 * base in it, and drives the real CLI (`dist/cli/main.js` under Node 24) against real runc, overlayfs and files.
 *
 * Files share one store across their tests where that does not weaken a test (cache tests use a separate store
 * per scenario, or distinct Dockerfiles, so one scenario's cache never satisfies another's).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { expect } from 'vitest';
import { storeBaseImage } from '../helpers/bases.ts';
import { cliEntry, expectExit, type CliOptions, type CliResult } from '../helpers/cli.ts';
import { makeTempDir, mountsUnder, nodeBinary, requireRoot, tsbuildCli, type TempDir } from '../helpers/env.ts';

export { expectExit };

/** A fresh store plus a scratch area, with `busybox:latest` already in the store. */
export interface Rig {
  /** Scratch directory of the rig (store, contexts, outputs live below it). */
  readonly dir: string;
  /** TSBUILD_ROOT of this rig. */
  readonly store: string;
  /** Runs `tsbuild ARGS…` against this rig's store. */
  cli(args: readonly string[], opts?: CliOptions): Promise<CliResult>;
  /** Runs `tsbuild ARGS…` and fails the test unless it exits 0. */
  ok(args: readonly string[], opts?: CliOptions): Promise<CliResult>;
  /** Writes a build context (a fresh directory under the rig) and returns its path. */
  context(files: ContextFiles): Promise<string>;
  cleanup(): Promise<void>;
}

/** File name → content, or a richer description (mode, symlink target). Directories are created as needed. */
export type ContextFiles = Readonly<
  Record<string, string | Uint8Array | { readonly content: string | Uint8Array; readonly mode?: number } | { readonly symlink: string }>
>;

let contextCounter = 0;

/** Makes a rig (call it from `beforeAll`; hookTimeout allows the first busybox base build). */
export async function makeRig(opts: { base?: boolean } = {}): Promise<Rig> {
  requireRoot('tsbuild build/run integration tests');
  const tmp: TempDir = await makeTempDir('tsbuild-it-');
  const store = path.join(tmp.path, 'store');
  if (opts.base !== false) await storeBaseImage('busybox', store);
  const cli = (args: readonly string[], o: CliOptions = {}): Promise<CliResult> =>
    tsbuildCli(args, { ...o, env: { TSBUILD_ROOT: store, ...(o.env ?? {}) } });
  return {
    dir: tmp.path,
    store,
    cli,
    async ok(args, o) {
      const r = await cli(args, o);
      expectExit(r, 0);
      return r;
    },
    async context(files) {
      const dir = path.join(tmp.path, `ctx-${++contextCounter}`);
      await writeContext(dir, files);
      return dir;
    },
    async cleanup() {
      await tmp.cleanup();
    },
  };
}

/** Writes `files` below `dir` (created if missing). */
export async function writeContext(dir: string, files: ContextFiles): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, spec] of Object.entries(files)) {
    const p = path.join(dir, name);
    await mkdir(path.dirname(p), { recursive: true });
    if (typeof spec === 'string' || spec instanceof Uint8Array) {
      await writeFile(p, spec);
    } else if ('symlink' in spec) {
      await symlink(spec.symlink, p);
    } else {
      await writeFile(p, spec.content);
      if (spec.mode !== undefined) await chmod(p, spec.mode);
    }
  }
}

/** One step as the plain printer showed it. */
export interface PlainStep {
  readonly num: number;
  /** `[2/3] RUN echo hi`, `[a 1/2] FROM busybox`. */
  readonly label: string;
  readonly cached: boolean;
  readonly done: boolean;
  readonly error?: string;
  /** Output lines with their `#N 0.123 ` prefix removed. */
  readonly logs: string[];
}

/** Parses `--progress plain` output (stderr) into steps, in order of first appearance. */
export function plainSteps(stderr: string): PlainStep[] {
  const byNum = new Map<number, { num: number; label: string; cached: boolean; done: boolean; error?: string; logs: string[] }>();
  for (const line of stderr.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const num = Number(m[1]);
    const rest = m[2]!;
    let s = byNum.get(num);
    if (!s) {
      s = { num, label: rest, cached: false, done: false, logs: [] };
      byNum.set(num, s);
      continue;
    }
    if (rest === 'CACHED') s.cached = true;
    else if (/^DONE \d+\.\ds$/.test(rest)) s.done = true;
    else if (rest.startsWith('ERROR: ')) s.error = rest.slice(7);
    else {
      // A final line without a newline is flushed at the end of the step without a timestamp.
      const log = /^\d+\.\d{3} (.*)$/.exec(rest);
      s.logs.push(log ? log[1]! : rest);
    }
  }
  return [...byNum.values()];
}

/** The step whose label ends with `text` (e.g. `RUN echo hi`); fails the test when there is not exactly one. */
export function step(stderr: string, text: string): PlainStep {
  const found = plainSteps(stderr).filter((s) => s.label.endsWith(text));
  if (found.length !== 1) throw new Error(`expected one step ending "${text}", found ${found.length} in:\n${stderr}`);
  return found[0]!;
}

/** Labels of the steps that actually ran (not CACHED) and were not FROM lines. */
export function ranSteps(stderr: string): string[] {
  return plainSteps(stderr)
    .filter((s) => !s.cached && !/\] FROM /.test(s.label) && /^\[/.test(s.label))
    .map((s) => s.label.replace(/^\[[^\]]*\] /, ''));
}

/** `tsbuild inspect NAME` parsed (the first entry). */
export async function inspect(rig: Rig, name: string): Promise<InspectEntry> {
  const r = await rig.ok(['inspect', name]);
  const parsed = JSON.parse(r.stdout) as InspectEntry[];
  expect(parsed).toHaveLength(1);
  return parsed[0]!;
}

/** The fields of `tsbuild inspect` the tests read (docker's shape). */
export interface InspectEntry {
  readonly Id: string;
  readonly RepoTags: string[];
  readonly Config: {
    Env?: string[];
    Cmd?: string[];
    Entrypoint?: string[];
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, object>;
    Labels?: Record<string, string>;
  };
  readonly RootFS: { Layers: string[] };
  readonly Descriptor: { digest: string };
}

/** A blob of the rig's store, as bytes. */
export function readBlob(rig: Rig, digest: string): Buffer {
  return readFileSync(path.join(rig.store, 'blobs', digest.replace(':', '/')));
}

/** The OCI image config and manifest of a stored image. */
export async function imageBlobs(rig: Rig, name: string): Promise<{ manifest: OciManifest; config: OciConfig; id: string }> {
  const info = await inspect(rig, name);
  const manifest = JSON.parse(readBlob(rig, info.Descriptor.digest).toString('utf8')) as OciManifest;
  const config = JSON.parse(readBlob(rig, manifest.config.digest).toString('utf8')) as OciConfig;
  return { manifest, config, id: info.Id };
}

export interface OciManifest {
  readonly config: { digest: string; mediaType: string };
  readonly layers: { digest: string; mediaType: string; size: number }[];
}
export interface OciConfig {
  readonly created?: string;
  readonly config: InspectEntry['Config'];
  readonly rootfs: { diff_ids: string[] };
  readonly history: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[];
}

/** One entry of a layer tar. */
export interface TarEntry {
  readonly name: string;
  readonly type: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
  readonly linkname?: string;
  readonly content: Buffer;
}

/** Reads a (gzip, zstd or plain) tar file into memory; for small test layers only. */
export async function readTar(file: string): Promise<Map<string, TarEntry>> {
  const head = readFileSync(file).subarray(0, 4);
  let input: NodeJS.ReadableStream = createReadStream(file);
  if (head[0] === 0x1f && head[1] === 0x8b) input = input.pipe(createGunzip());
  else if (head.readUInt32LE(0) === 0xfd2fb528) {
    const { createZstdDecompress } = (await import('node:zlib')) as unknown as { createZstdDecompress: () => NodeJS.ReadWriteStream };
    input = input.pipe(createZstdDecompress());
  }
  const entries = new Map<string, TarEntry>();
  const ex = extract();
  await new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        entries.set(h.name.replace(/^\.\//, '').replace(/\/$/, ''), {
          name: h.name,
          type: h.type ?? 'file',
          mode: h.mode ?? 0,
          uid: h.uid ?? 0,
          gid: h.gid ?? 0,
          mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000),
          ...(h.linkname ? { linkname: h.linkname } : {}),
          content: Buffer.concat(chunks),
        });
        next();
      });
      stream.on('error', reject);
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
    input.on('error', reject);
    input.pipe(ex);
  });
  return entries;
}

/** Every layer of a stored image, read from the store's blobs (base first). */
export async function imageLayerTars(rig: Rig, name: string): Promise<Map<string, TarEntry>[]> {
  const { manifest } = await imageBlobs(rig, name);
  return Promise.all(manifest.layers.map((l) => readTar(path.join(rig.store, 'blobs', l.digest.replace(':', '/')))));
}

/** A CLI process in the background (`tsbuild run` of a server, a build to interrupt). */
export interface Background {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (128 + signal number for a signal death) once the process has exited. */
  readonly exited: Promise<number>;
}

export function spawnCli(rig: Rig, args: readonly string[], env: Record<string, string> = {}): Background {
  const child = spawn(nodeBinary, [cliEntry(), ...args], {
    env: { ...process.env, NO_COLOR: '1', TSBUILD_ROOT: rig.store, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString('utf8')));
  const exited = new Promise<number>((resolve) => {
    child.on('close', (code, sig) => resolve(code ?? 128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : sig === 'SIGKILL' ? 9 : 0)));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Polls `cond` every 50 ms until it holds or `ms` pass; returns whether it held. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/** Where the runc sandbox keeps bundles and runtime state (executor/sandbox/runc default). */
export const RUNC_STATE_ROOT = '/run/tsbuild';

/** Ids of runc bundles whose config.json mentions `marker` (a unique string in the test's RUN command). */
export function bundlesMentioning(marker: string): string[] {
  const dir = path.join(RUNC_STATE_ROOT, 'bundles');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((id) => {
    try {
      return readFileSync(path.join(dir, id, 'config.json'), 'utf8').includes(marker);
    } catch {
      return false;
    }
  });
}

/** Ids of the containers runc knows about under the sandbox's runtime root (`runc --root … list -q`). */
export function runcContainers(): string[] {
  const r = spawnSync('runc', ['--root', path.join(RUNC_STATE_ROOT, 'runc'), 'list', '-q'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

/** Mount points under the rig's store (there must be none between builds). */
export function storeMounts(rig: Rig): string[] {
  return mountsUnder(rig.store);
}

/**
 * The Dockerfile lines a failure excerpt marks with `>>>`, as [line number, text]. Accepts BuildKit's layout
 * (`  3 | >>> RUN false`) and the marker-first one (` >>>   3 | RUN false`).
 */
export function markedLines(stderr: string): [number, string][] {
  const out: [number, string][] = [];
  for (const l of stderr.split('\n')) {
    const m = /^\s*(\d+) \| >>> ?(.*)$/.exec(l) ?? /^ >>> +(\d+) \| ?(.*)$/.exec(l);
    if (m) out.push([Number(m[1]), m[2]!]);
  }
  return out;
}
