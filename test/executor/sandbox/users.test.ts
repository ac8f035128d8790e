import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseGroup, parsePasswd, readFileInRoot, resolveUser, resolveUserSpec } from '../../../executor/users.ts';
import { FIXTURE_GROUP, FIXTURE_PASSWD } from '../../helpers/rootfs.ts';

const passwd = parsePasswd(FIXTURE_PASSWD + 'bad line\nx:x:notanumber:0::/:/bin/sh\n# comment\nsvc:x:500:500::/srv:/bin/false\n');
const group = parseGroup(FIXTURE_GROUP + 'more:x:3000:svc,app\nbroken:x:y:\n');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('USER resolution (pure)', () => {
  it('parses passwd and group, skipping malformed lines', () => {
    expect(passwd.map((p) => p.name)).toEqual(['root', 'app', 'nobody', 'svc']);
    expect(group.find((g) => g.name === 'more')?.members).toEqual(['svc', 'app']);
    expect(group.some((g) => g.name === 'broken')).toBe(false);
  });

  it.each([
    ['', { uid: 0, gid: 0, additionalGids: [] }],
    ['root', { uid: 0, gid: 0, additionalGids: [] }],
    ['app', { uid: 1000, gid: 1000, additionalGids: [2000, 3000] }],
    ['1000', { uid: 1000, gid: 1000, additionalGids: [2000, 3000] }],
    ['app:extra', { uid: 1000, gid: 2000, additionalGids: [] }],
    ['app:3000', { uid: 1000, gid: 3000, additionalGids: [] }],
    ['1000:1000', { uid: 1000, gid: 1000, additionalGids: [] }],
    ['4242', { uid: 4242, gid: 0, additionalGids: [] }],
    ['4242:4343', { uid: 4242, gid: 4343, additionalGids: [] }],
    ['nobody', { uid: 65534, gid: 65534, additionalGids: [] }],
    ['svc', { uid: 500, gid: 500, additionalGids: [3000] }],
  ])('USER %j', (spec, want) => {
    expect(resolveUserSpec(spec, passwd, group)).toMatchObject(want);
  });

  it('reports unknown names with BuildKit wording', () => {
    expect(() => resolveUserSpec('ghost', passwd, group)).toThrow('unable to find user ghost: no matching entries in passwd file');
    expect(() => resolveUserSpec('app:ghosts', passwd, group)).toThrow('unable to find group ghosts: no matching entries in group file');
    expect(() => resolveUserSpec('app', undefined, undefined)).toThrow(/unable to find user app/);
    expect(resolveUserSpec('12:34', undefined, undefined)).toMatchObject({ uid: 12, gid: 34 });
    expect(() => resolveUserSpec('4294967296', passwd, group)).toThrow(/out of range/);
  });
});

describe('USER resolution in a rootfs', () => {
  it('reads /etc/passwd inside the rootfs and never follows a symlink out of it', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'tsb-users-'));
    const outside = mkdtempSync(path.join(os.tmpdir(), 'tsb-users-out-'));
    dirs.push(root, outside);
    mkdirSync(`${root}/etc`);
    mkdirSync(`${outside}/etc`);
    writeFileSync(`${outside}/etc/passwd`, 'evil:x:0:0::/:/bin/sh\n');
    // An absolute link resolves inside the root: /real/passwd in the rootfs, not on the host.
    mkdirSync(`${root}/real`);
    writeFileSync(`${root}/real/passwd`, 'app:x:1000:1000::/home/app:/bin/sh\n');
    symlinkSync('/real/passwd', `${root}/etc/passwd`);
    symlinkSync(`../../../../../../../../${outside}/etc/group`, `${root}/etc/group`);
    expect(await resolveUser(root, 'app')).toMatchObject({ uid: 1000, gid: 1000, home: '/home/app' });
    // The ../ chain is clamped at the rootfs: the host's file is not read.
    expect(await readFileInRoot(root, '/etc/group')).toBeUndefined();
    await expect(resolveUser(root, 'evil')).rejects.toMatchObject({ code: 'user/unknown-user' });
  });
});
