import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encodeHeader, readTar, tarPadding, tarTrailer, type TarHeader } from '../../../executor/layer/tar-format.ts';
import { tempDir } from '../../helpers/env.ts';
import { sh } from './fixtures.ts';

const long = `${'d'.repeat(120)}/${'e'.repeat(90)}/${'f'.repeat(130)}`;
const headers: TarHeader[] = [
  { name: long, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, mtime: 5 },
  { name: 'l', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 5, linkname: `/${'t'.repeat(200)}` },
  { name: 'bigid', type: 'file', mode: 0o4755, uid: 4_000_000, gid: 2_097_152, size: 3, mtime: 2 ** 34, xattrs: new Map([['security.capability', Buffer.from([1, 0, 0, 2, 0x20, 0xff, 0x80, 0])]]) },
  { name: 'ünïcode', type: 'dir', mode: 0o755, uid: 1, gid: 2, size: 0, mtime: 0 },
];

function archive(): Buffer {
  const parts: Buffer[] = [];
  for (const h of headers) {
    parts.push(encodeHeader(h));
    if (h.type === 'file') parts.push(Buffer.from('abc'), tarPadding(3));
  }
  parts.push(tarTrailer());
  return Buffer.concat(parts);
}

describe('tar codec', () => {
  it('round-trips long names, long link targets, big ids and times, and binary xattrs exactly', async () => {
    const got: TarHeader[] = [];
    for await (const e of readTar(Readable.from([archive()]))) {
      got.push(e.header);
      let body = '';
      for await (const c of e.body) body += c.toString();
      if (e.header.type === 'file') expect(body).toBe('abc');
    }
    expect(got).toEqual(headers);
  });

  it('GNU tar reads the same names, link targets, ids and PAX xattrs', async () => {
    const file = path.join(await tempDir(), 'a.tar');
    writeFileSync(file, archive());
    const lines = sh('tar', ['--numeric-owner', '-tvf', file]).trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/).slice(5).join(' '))).toEqual([long, `l -> /${'t'.repeat(200)}`, 'bigid', 'ünïcode/']);
    expect(lines[2]!.split(/\s+/).slice(0, 2)).toEqual(['-rwsr-xr-x', '4000000/2097152']);
    const x = sh('tar', ['--xattrs', '--xattrs-include=*', '-tvvf', file]);
    expect(x).toContain('security.capability');
  });

  it('rejects a corrupted header with layer/bad-tar', async () => {
    const buf = archive();
    buf[600] ^= 0xff; // inside the first (PAX) header's body or next header: checksum or record breaks
    buf[10] ^= 0x01;
    await expect(async () => {
      for await (const e of readTar(Readable.from([buf]))) for await (const _ of e.body);
    }).rejects.toMatchObject({ code: 'layer/bad-tar' });
  });
});
