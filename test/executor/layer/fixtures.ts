/** Helpers for the layer tests: run a command, list a tar with our reader, mount overlays. */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { readTar, type TarHeader } from '../../../executor/layer/tar-format.ts';

export function sh(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Every header of a (possibly compressed) tar file, in archive order. */
export async function listTar(file: string): Promise<TarHeader[]> {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const s = createReadStream(file, { start: 0, end: 3 });
    const parts: Buffer[] = [];
    s.on('data', (c) => parts.push(c as Buffer));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
  let src: Readable = createReadStream(file);
  if (head[0] === 0x1f && head[1] === 0x8b) src = src.pipe(zlib.createGunzip());
  else if (head[0] === 0x28 && head[1] === 0xb5) src = src.pipe(zlib.createZstdDecompress());
  const out: TarHeader[] = [];
  for await (const e of readTar(src)) {
    out.push(e.header);
    for await (const _ of e.body); // drain
  }
  return out;
}

/** Mounts an overlay at `merged`; returns an unmount function. */
export function mountOverlay(opts: { lower: string[]; upper?: string; work?: string; merged: string; extra?: string }): () => void {
  let o = `lowerdir=${opts.lower.join(':')}`;
  if (opts.upper && opts.work) o += `,upperdir=${opts.upper},workdir=${opts.work}`;
  if (opts.extra) o += `,${opts.extra}`;
  sh('mount', ['-t', 'overlay', 'overlay', '-o', o, opts.merged]);
  let mounted = true;
  return () => {
    if (mounted) sh('umount', [opts.merged]);
    mounted = false;
  };
}
