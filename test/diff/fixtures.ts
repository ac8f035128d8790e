/**
 * Synthetic images for diff/analyze unit tests: layers written with the project's own tar encoder, stored as an
 * OCI layout directory (optionally tarred into an OCI archive or a docker-archive with the system `tar`).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeHeader, type TarHeader } from '../../executor/layer/index.ts';
import { tarPadding, tarTrailer } from '../../executor/layer/tar-format.ts';

/** A layer entry: a header (defaults filled in) and, for files, the content. */
export interface FixtureEntry {
  readonly name: string;
  readonly type?: TarHeader['type'];
  readonly content?: string | Buffer;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly mtime?: number;
  readonly linkname?: string;
}

export function layerTar(entries: readonly FixtureEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = e.content === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content);
    const type = e.type ?? 'file';
    parts.push(
      encodeHeader({
        name: e.name,
        type,
        mode: e.mode ?? (type === 'dir' ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        size: type === 'file' ? body.length : 0,
        mtime: e.mtime ?? 1_700_000_000,
        ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
      }),
    );
    if (type === 'file') parts.push(body, tarPadding(body.length));
  }
  parts.push(tarTrailer());
  return Buffer.concat(parts);
}

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface FixtureImage {
  readonly layers: readonly (readonly FixtureEntry[])[];
  readonly env?: readonly string[];
  readonly cmd?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly created?: string;
  /** created_by per layer. */
  readonly history?: readonly string[];
  /** Compress layers with gzip (default true). */
  readonly gzip?: boolean;
}

/** Writes an OCI layout directory for the image into `dir`; returns `dir`. */
export async function writeLayout(dir: string, img: FixtureImage): Promise<string> {
  await mkdir(path.join(dir, 'blobs/sha256'), { recursive: true });
  const put = async (b: Buffer | string): Promise<{ digest: string; size: number }> => {
    const d = sha(b);
    await writeFile(path.join(dir, 'blobs/sha256', d.slice(7)), b);
    return { digest: d, size: Buffer.byteLength(b) };
  };
  const layers = [];
  const diffIds = [];
  for (const l of img.layers) {
    const tar = layerTar(l);
    diffIds.push(sha(tar));
    const blob = img.gzip === false ? tar : gzipSync(tar);
    const { digest, size } = await put(blob);
    layers.push({ mediaType: img.gzip === false ? 'application/vnd.oci.image.layer.v1.tar' : 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size });
  }
  const config = {
    architecture: 'amd64',
    os: 'linux',
    ...(img.created ? { created: img.created } : {}),
    config: { Env: img.env ?? ['PATH=/bin'], ...(img.cmd ? { Cmd: img.cmd } : {}), ...(img.labels ? { Labels: img.labels } : {}) },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: img.layers.map((_, i) => ({ created_by: img.history?.[i] ?? `layer ${i}` })),
  };
  const c = await put(JSON.stringify(config));
  const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...c }, layers };
  const m = await put(JSON.stringify(manifest));
  await writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: manifest.mediaType, ...m }] }));
  return dir;
}

/** Tars an OCI layout into an OCI archive file. */
export function ociArchive(layoutDir: string, dest: string): string {
  execFileSync('tar', ['-C', layoutDir, '-cf', dest, 'oci-layout', 'index.json', 'blobs']);
  return dest;
}

/** Adds a docker `manifest.json` (blob paths) beside the layout and tars only what `docker save` would hold. */
export async function dockerArchive(layoutDir: string, dest: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const index = JSON.parse(await readFile(path.join(layoutDir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(await readFile(path.join(layoutDir, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  const blob = (d: string): string => `blobs/sha256/${d.slice(7)}`;
  await writeFile(path.join(layoutDir, 'manifest.json'), JSON.stringify([{ Config: blob(manifest.config.digest), RepoTags: ['x:1'], Layers: manifest.layers.map((l) => blob(l.digest)) }]));
  execFileSync('tar', ['-C', layoutDir, '-cf', dest, 'manifest.json', 'blobs']);
  return dest;
}
