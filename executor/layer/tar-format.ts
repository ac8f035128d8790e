/**
 * A small, binary-exact tar (ustar + PAX) encoder and streaming decoder.
 *
 * Why not tar-stream for the headers: it encodes PAX values as UTF-8 text and decodes them the same way, which
 * corrupts binary xattrs such as `security.capability` (SCHILY.xattr values are raw bytes), and it saturates uids and
 * gids above 0o777777 to 7777777 instead of moving them to PAX. Layers are content-addressed, so every byte of a
 * header is part of the image identity; owning the encoding keeps it exact and deterministic.
 *
 * Output choices (all deterministic): ustar headers, numeric uid/gid only (no uname/gname), integer-second mtimes,
 * no atime/ctime, a PAX `x` header only when a field does not fit ustar (long names, big ids, big sizes) or for
 * xattrs (`SCHILY.xattr.<name>`), and a 1024-byte zero trailer.
 */
import { TsbuildError } from '../../util/errors.ts';

/** Kinds of tar entries tsbuild reads and writes. */
export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

/** One tar entry's metadata. */
export interface TarHeader {
  /** Relative path inside the archive, `/`-separated, no leading `/` and no trailing `/` (even for dirs). */
  readonly name: string;
  readonly type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (`& 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Body size in bytes; 0 for everything but `file`. */
  readonly size: number;
  /** Modification time, whole seconds since the Unix epoch. */
  readonly mtime: number;
  /** Symlink target (verbatim) or, for a hardlink, the archive path of the entry it links to. */
  readonly linkname?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
  /** Extended attributes, name → raw value bytes. */
  readonly xattrs?: ReadonlyMap<string, Uint8Array>;
}

export const BLOCK = 512;
const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

/** Two zero blocks: the end-of-archive marker. */
export function tarTrailer(): Buffer {
  return Buffer.alloc(BLOCK * 2);
}

/** Zero bytes that pad a body of `size` bytes to a whole block. */
export function tarPadding(size: number): Buffer {
  const rem = size % BLOCK;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rem);
}

/** Largest value an octal field of `width` bytes holds (width-1 digits plus a NUL). */
function octalMax(width: number): number {
  return 8 ** (width - 1) - 1;
}

function writeOctal(buf: Buffer, off: number, width: number, value: number): void {
  buf.write(value.toString(8).padStart(width - 1, '0') + '\0', off, width, 'latin1');
}

/** Splits a long name into ustar prefix/name (split at a `/`), or undefined when it cannot fit. */
function splitUstarName(name: Buffer): { prefix: Buffer; name: Buffer } | undefined {
  if (name.length <= 100) return { prefix: Buffer.alloc(0), name };
  // The prefix is at most 155 bytes and ends just before a '/'; the rest is at most 100 bytes.
  for (let i = Math.min(155, name.length - 1); i > 0; i--) {
    if (name[i] === 0x2f && name.length - i - 1 <= 100 && name.length - i - 1 > 0) {
      return { prefix: name.subarray(0, i), name: name.subarray(i + 1) };
    }
  }
  return undefined;
}

function paxRecord(key: string, value: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  // The length prefix counts itself: find the fixed point.
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body]);
}

function encodeRaw(h: {
  name: Buffer;
  prefix: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: Buffer;
  devmajor: number;
  devminor: number;
}): Buffer {
  const b = Buffer.alloc(BLOCK);
  h.name.copy(b, 0, 0, 100);
  writeOctal(b, 100, 8, h.mode);
  writeOctal(b, 108, 8, h.uid);
  writeOctal(b, 116, 8, h.gid);
  writeOctal(b, 124, 12, h.size);
  writeOctal(b, 136, 12, h.mtime);
  b.write(h.typeflag, 156, 1, 'latin1');
  h.linkname.copy(b, 157, 0, 100);
  b.write('ustar\u000000', 257, 8, 'latin1');
  writeOctal(b, 329, 8, h.devmajor);
  writeOctal(b, 337, 8, h.devminor);
  h.prefix.copy(b, 345, 0, 155);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

/**
 * Encodes one entry's header (a PAX header first when needed). The caller writes the body and `tarPadding(size)`.
 * Throws for values no tar can hold (negative ids) since those are bugs upstream.
 */
export function encodeHeader(h: TarHeader): Buffer {
  if (h.uid < 0 || h.gid < 0 || h.size < 0) throw new Error(`tar: negative field in ${h.name}`);
  const pax: Buffer[] = [];
  const rawName = Buffer.from(h.type === 'dir' ? `${h.name}/` : h.name, 'utf8');
  let split = splitUstarName(rawName);
  if (split === undefined) {
    pax.push(paxRecord('path', rawName));
    split = { prefix: Buffer.alloc(0), name: rawName.subarray(0, 100) };
  }
  let linkname = Buffer.from(h.linkname ?? '', 'utf8');
  if (linkname.length > 100) {
    pax.push(paxRecord('linkpath', linkname));
    linkname = linkname.subarray(0, 100);
  }
  let { uid, gid, size, mtime } = h;
  if (uid > octalMax(8)) {
    pax.push(paxRecord('uid', Buffer.from(String(uid))));
    uid = 0;
  }
  if (gid > octalMax(8)) {
    pax.push(paxRecord('gid', Buffer.from(String(gid))));
    gid = 0;
  }
  if (size > octalMax(12)) {
    pax.push(paxRecord('size', Buffer.from(String(size))));
    size = 0;
  }
  if (mtime < 0 || mtime > octalMax(12)) {
    pax.push(paxRecord('mtime', Buffer.from(String(mtime))));
    mtime = 0;
  }
  if (h.xattrs) {
    for (const [k, v] of [...h.xattrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      pax.push(paxRecord(`SCHILY.xattr.${k}`, v));
    }
  }
  const main = encodeRaw({
    name: split.name,
    prefix: split.prefix,
    mode: h.mode & 0o7777,
    uid,
    gid,
    size: h.type === 'file' ? size : 0,
    mtime,
    typeflag: TYPEFLAG[h.type],
    linkname,
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (pax.length === 0) return main;
  const paxBody = Buffer.concat(pax);
  const base = h.name.slice(h.name.lastIndexOf('/') + 1);
  const dir = h.name.slice(0, Math.max(0, h.name.lastIndexOf('/')));
  // Go's archive/tar naming convention, which other tools show as-is when they do not understand PAX.
  const paxName = Buffer.from((dir ? `${dir}/` : '') + `PaxHeaders.0/${base}`, 'utf8').subarray(0, 100);
  const paxHeader = encodeRaw({
    name: paxName,
    prefix: Buffer.alloc(0),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: paxBody.length,
    mtime,
    typeflag: 'x',
    linkname: Buffer.alloc(0),
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, paxBody, tarPadding(paxBody.length), main]);
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/** Pulls exact byte counts out of an async chunk stream without concatenating more than one block at a time. */
class ByteReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  /** Total bytes handed out so far (the archive offset). */
  offset = 0;

  constructor(src: AsyncIterable<Uint8Array>) {
    this.it = src[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else if (r.value.length > 0) {
        const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length);
        this.chunks.push(b);
        this.buffered += b.length;
      }
    }
    return this.buffered >= n;
  }

  /** Up to `max` bytes (at least 1 unless the input ended), without copying. */
  async readSome(max: number): Promise<Buffer | undefined> {
    if (!(await this.fill(1))) return undefined;
    const first = this.chunks[0]!;
    const n = Math.min(max, first.length);
    const out = first.subarray(0, n);
    if (n === first.length) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    this.offset += n;
    return out;
  }

  /** Exactly `n` bytes, or undefined if the input ends first. */
  async readExact(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) return undefined;
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const b = await this.readSome(need);
      if (!b) return undefined;
      parts.push(b);
      need -= b.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  async skip(n: number): Promise<boolean> {
    let need = n;
    while (need > 0) {
      const b = await this.readSome(need);
      if (!b) return false;
      need -= b.length;
    }
    return true;
  }

  /** Reads and discards everything left, so that hashes over the whole input see every byte. */
  async drain(): Promise<void> {
    while (await this.readSome(1 << 20));
  }
}

function bad(message: string, offset: number): TsbuildError {
  return new TsbuildError('layer/bad-tar', `malformed tar archive at byte ${offset}: ${message}`);
}

function readString(b: Buffer, off: number, len: number): Buffer {
  const field = b.subarray(off, off + len);
  const nul = field.indexOf(0);
  return nul === -1 ? field : field.subarray(0, nul);
}

function readNumber(b: Buffer, off: number, len: number, at: number): number {
  const field = b.subarray(off, off + len);
  if ((field[0]! & 0x80) !== 0) {
    // GNU base-256: big-endian two's complement in the remaining bits.
    let v = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i]!;
    if (!Number.isSafeInteger(v)) throw bad('numeric field too large', at);
    return v;
  }
  const s = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw bad(`invalid octal field ${JSON.stringify(s)}`, at);
  return parseInt(s, 8);
}

interface PaxFields {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  xattrs: Map<string, Buffer>;
}

function parsePax(body: Buffer, at: number): PaxFields {
  const out: PaxFields = { xattrs: new Map() };
  let i = 0;
  while (i < body.length) {
    if (body[i] === 0) break;
    const sp = body.indexOf(0x20, i);
    if (sp === -1) throw bad('PAX record without length', at);
    const len = parseInt(body.subarray(i, sp).toString('latin1'), 10);
    if (!Number.isSafeInteger(len) || len <= sp - i || i + len > body.length) throw bad('bad PAX record length', at);
    const rec = body.subarray(sp + 1, i + len - 1); // drop the trailing newline
    const eq = rec.indexOf(0x3d);
    if (eq === -1) throw bad('PAX record without "="', at);
    const key = rec.subarray(0, eq).toString('utf8');
    const value = rec.subarray(eq + 1);
    const num = (): number => {
      const n = Number(value.toString('latin1'));
      if (!Number.isFinite(n)) throw bad(`bad PAX ${key}`, at);
      return n;
    };
    if (key === 'path') out.path = value.toString('utf8');
    else if (key === 'linkpath') out.linkpath = value.toString('utf8');
    else if (key === 'size') out.size = num();
    else if (key === 'uid') out.uid = num();
    else if (key === 'gid') out.gid = num();
    else if (key === 'mtime') out.mtime = Math.floor(num());
    else if (key.startsWith('SCHILY.xattr.')) out.xattrs.set(key.slice('SCHILY.xattr.'.length), Buffer.from(value));
    i += len;
  }
  return out;
}

/** A decoded entry; `body` must be consumed (or abandoned) before asking for the next entry. */
export interface TarEntry {
  readonly header: TarHeader;
  readonly body: AsyncIterable<Buffer>;
}

/**
 * Streams entries out of an uncompressed tar. Understands ustar, PAX (`x`; `g` is read and ignored), GNU long
 * names (`L`/`K`) and base-256 numbers. Names are returned as written (not yet cleaned: that is the extractor's
 * job). After the end marker the rest of the input is read and discarded.
 */
export async function* readTar(src: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const r = new ByteReader(src);
  let pending: PaxFields | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const at = r.offset;
    const block = await r.readExact(BLOCK);
    if (!block) {
      if (at === 0) throw bad('empty input', at);
      // A missing end marker is common in the wild (some writers stop after the last entry).
      return;
    }
    if (block.every((x) => x === 0)) {
      await r.drain();
      return;
    }
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    if (readNumber(block, 148, 8, at) !== sum) throw bad('header checksum mismatch', at);
    const flag = String.fromCharCode(block[156]!);
    let size = readNumber(block, 124, 12, at);
    const magic = block.subarray(257, 263).toString('latin1');
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      const body = await r.readExact(size);
      if (!body || !(await r.skip(tarPadding(size).length))) throw bad('truncated extended header', at);
      if (flag === 'x') pending = parsePax(body, at);
      else if (flag === 'L') longName = readString(body, 0, body.length).toString('utf8');
      else if (flag === 'K') longLink = readString(body, 0, body.length).toString('utf8');
      continue;
    }
    let name = readString(block, 0, 100);
    if (magic === 'ustar\0') {
      const prefix = readString(block, 345, 155);
      if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
    }
    let nameStr = pending?.path ?? longName ?? name.toString('utf8');
    const linkname = pending?.linkpath ?? longLink ?? readString(block, 157, 100).toString('utf8');
    if (pending?.size !== undefined) size = pending.size;
    let type: TarEntryType;
    switch (flag) {
      case '0':
      case '\0':
      case '7':
        type = nameStr.endsWith('/') ? 'dir' : 'file';
        break;
      case '1':
        type = 'hardlink';
        break;
      case '2':
        type = 'symlink';
        break;
      case '3':
        type = 'char';
        break;
      case '4':
        type = 'block';
        break;
      case '5':
        type = 'dir';
        break;
      case '6':
        type = 'fifo';
        break;
      default:
        throw new TsbuildError(
          'layer/unsupported-tar-entry',
          `unsupported tar entry type ${JSON.stringify(flag)} for ${JSON.stringify(nameStr)} at byte ${at}`,
        );
    }
    while (nameStr.length > 1 && nameStr.endsWith('/')) nameStr = nameStr.slice(0, -1);
    const header: TarHeader = {
      name: nameStr,
      type,
      mode: readNumber(block, 100, 8, at) & 0o7777,
      uid: pending?.uid ?? readNumber(block, 108, 8, at),
      gid: pending?.gid ?? readNumber(block, 116, 8, at),
      size: type === 'file' ? size : 0,
      mtime: pending?.mtime ?? readNumber(block, 136, 12, at),
      ...(type === 'symlink' || type === 'hardlink' ? { linkname } : {}),
      ...(type === 'char' || type === 'block'
        ? { devmajor: readNumber(block, 329, 8, at), devminor: readNumber(block, 337, 8, at) }
        : {}),
      ...(pending && pending.xattrs.size > 0 ? { xattrs: pending.xattrs } : {}),
    };
    pending = undefined;
    longName = undefined;
    longLink = undefined;
    // Hardlinks and others may carry a size field in some writers; their body is still `size` bytes long.
    let remaining = size;
    const body: AsyncIterable<Buffer> = {
      async *[Symbol.asyncIterator]() {
        while (remaining > 0) {
          const b = await r.readSome(Math.min(remaining, 1 << 20));
          if (!b) throw bad(`truncated body of ${JSON.stringify(nameStr)}`, r.offset);
          remaining -= b.length;
          yield b;
        }
      },
    };
    yield { header, body };
    if (remaining > 0 && !(await r.skip(remaining))) throw bad(`truncated body of ${JSON.stringify(nameStr)}`, r.offset);
    remaining = 0;
    if (!(await r.skip(tarPadding(size).length))) throw bad('truncated padding', r.offset);
  }
}
