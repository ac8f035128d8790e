/**
 * RUN --mount through the CLI (cache, secret, bind from the context and from a stage, tmpfs) and RUN --network=none.
 * Whatever a mount shows a RUN must not end up in the image: every test checks the layers as well.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageBlobs, imageLayerTars, inspect, makeRig, step, type Rig } from './helpers.ts';

let rig: Rig;
beforeAll(async () => {
  rig = await makeRig();
});
afterAll(() => rig?.cleanup());

/** All paths of all layers of an image, with the layer they are in. */
async function layerPaths(name: string): Promise<Map<string, Buffer>> {
  const all = new Map<string, Buffer>();
  for (const layer of await imageLayerTars(rig, name)) for (const [p, e] of layer) all.set(p, e.content);
  return all;
}

describe('RUN --mount', () => {
  it('type=cache persists between builds (a counter) and stays out of the image', async () => {
    const ctx = await rig.context({
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=cache,target=/var/cache/counter,id=it-counter \\',
        '    n=$(cat /var/cache/counter/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /var/cache/counter/n; echo "count=$n"; echo done > /built',
        '',
      ].join('\n'),
    });
    const label = 'echo done > /built';
    const r1 = await rig.ok(['build', '--progress', 'plain', '-t', 'cache-mount', ctx]);
    expect(step(r1.stderr, label).logs).toEqual(['count=1']);
    const r2 = await rig.ok(['build', '--progress', 'plain', '--no-cache', '-t', 'cache-mount', ctx]);
    expect(step(r2.stderr, label).logs).toEqual(['count=2']);
    const files = await layerPaths('cache-mount');
    expect(files.get('built')?.toString()).toBe('done\n');
    expect([...files.keys()].filter((p) => p.startsWith('var/cache/counter/'))).toEqual([]);
    // A different cache id is a different cache.
    const other = await rig.context({
      Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/c,id=it-other cat /c/n 2>/dev/null || echo empty\n',
    });
    const r3 = await rig.ok(['build', '--progress', 'plain', other]);
    expect(step(r3.stderr, 'cat /c/n 2>/dev/null || echo empty').logs).toEqual(['empty']);
  });

  it('type=secret from --secret id=x,src=FILE is readable in RUN and absent from layers, inspect and history', async () => {
    const secret = `s3cret-${randomBytes(8).toString('hex')}`;
    const secretFile = path.join(rig.dir, 'token.txt');
    await writeFile(secretFile, secret);
    const ctx = await rig.context({
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=secret,id=token \\',
        // The secret itself never appears in the Dockerfile (it would be in history): the RUN prints its hash.
        '    sha256sum < /run/secrets/token | cut -c1-64; ls -l /run/secrets/token | cut -c1-10; echo made > /made',
        'RUN --mount=type=secret,id=envtok,env=TOKEN_VAR sh -c \'echo "len=${#TOKEN_VAR}"\'',
        '',
      ].join('\n'),
    });
    const r = await rig.ok(
      ['build', '--progress', 'plain', '-t', 'secret-img', '--secret', `id=token,src=${secretFile}`, '--secret', 'id=envtok,env=IT_SECRET_ENV', ctx],
      { env: { IT_SECRET_ENV: secret } },
    );
    expect(step(r.stderr, 'echo made > /made').logs).toEqual([createHash('sha256').update(secret).digest('hex'), '-r--------']);
    expect(step(r.stderr, `sh -c 'echo "len=\${#TOKEN_VAR}"'`).logs).toEqual([`len=${secret.length}`]);
    // Not in any layer: neither the path nor the content.
    const files = await layerPaths('secret-img');
    expect(files.get('made')?.toString()).toBe('made\n');
    expect([...files.keys()].filter((p) => p.includes('secrets/token'))).toEqual([]);
    for (const [p, content] of files) expect(content.includes(secret), p).toBe(false);
    // Not in the config (env, history) nor anything inspect or history print.
    const { config } = await imageBlobs(rig, 'secret-img');
    expect(JSON.stringify(config)).not.toContain(secret);
    expect(JSON.stringify(await inspect(rig, 'secret-img'))).not.toContain(secret);
    expect((await rig.ok(['history', '--no-trunc', 'secret-img'])).stdout).not.toContain(secret);
    // A required secret that was not given fails at the RUN.
    const missing = await rig.context({ Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=nope,required=true cat /run/secrets/nope\n' });
    const m = await rig.cli(['build', '--progress', 'plain', missing]);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/nope/);
    expect(m.stderr).not.toMatch(/^\s+at /m);
  });

  it('type=bind mounts the context (read-only by default) and another stage; nothing of it lands in the layer', async () => {
    const ctx = await rig.context({
      Dockerfile: [
        'FROM busybox AS builder',
        'RUN mkdir /out && echo from-stage > /out/artifact',
        '',
        'FROM busybox',
        'RUN --mount=type=bind,source=data,target=/mnt/data \\',
        '    cat /mnt/data/x.txt; (echo no > /mnt/data/x.txt) 2>/dev/null || echo read-only; cp /mnt/data/x.txt /copied',
        'RUN --mount=type=bind,from=builder,source=/out,target=/b cat /b/artifact',
        'RUN --mount=type=bind,target=/ctx,rw echo scribble > /ctx/data/x.txt; cat /ctx/data/x.txt',
        '',
      ].join('\n'),
      'data/x.txt': 'context-data\n',
    });
    const r = await rig.ok(['build', '--progress', 'plain', '-t', 'bind-img', ctx]);
    expect(step(r.stderr, 'cp /mnt/data/x.txt /copied').logs).toEqual(['context-data', 'read-only']);
    expect(step(r.stderr, 'RUN --mount=type=bind,from=builder,source=/out,target=/b cat /b/artifact').logs).toEqual(['from-stage']);
    // rw: writable for the RUN, discarded afterwards, and the context itself is untouched.
    expect(step(r.stderr, 'echo scribble > /ctx/data/x.txt; cat /ctx/data/x.txt').logs).toEqual(['scribble']);
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(path.join(ctx, 'data/x.txt'), 'utf8')).toBe('context-data\n');
    const files = await layerPaths('bind-img');
    expect(files.get('copied')?.toString()).toBe('context-data\n');
    expect([...files.keys()].filter((p) => /^(mnt\/data|b|ctx)\//.test(p))).toEqual([]);
  });

  it('type=tmpfs gives an empty tmpfs whose files are not in the layer', async () => {
    const ctx = await rig.context({
      Dockerfile: 'FROM busybox\nRUN --mount=type=tmpfs,target=/scratch grep " /scratch " /proc/mounts | cut -d" " -f3; echo x > /scratch/f; ls /scratch; echo y > /kept\n',
    });
    const r = await rig.ok(['build', '--progress', 'plain', '-t', 'tmpfs-img', ctx]);
    expect(step(r.stderr, 'echo y > /kept').logs).toEqual(['tmpfs', 'f']);
    const files = await layerPaths('tmpfs-img');
    expect(files.get('kept')?.toString()).toBe('y\n');
    expect([...files.keys()].filter((p) => p.startsWith('scratch/'))).toEqual([]);
  });

  it('RUN --network=none sees only loopback, the default RUN network sees the host interfaces', async () => {
    const ctx = await rig.context({
      Dockerfile: [
        'FROM busybox',
        "RUN --network=none tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ,",
        "RUN tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' , ; echo",
        '',
      ].join('\n'),
    });
    const r = await rig.ok(['build', '--progress', 'plain', ctx]);
    expect(step(r.stderr, "RUN --network=none tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ,").logs).toEqual(['lo,']);
    const hostLogs = step(r.stderr, "RUN tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' , ; echo").logs;
    expect(hostLogs[0]!.split(',').filter(Boolean).length).toBeGreaterThan(1);
    // --network none on the command line applies to every RUN.
    const ctx2 = await rig.context({ Dockerfile: "FROM busybox\nRUN tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' , ; echo cli-none\n" });
    const r2 = await rig.ok(['build', '--progress', 'plain', '--network', 'none', ctx2]);
    expect(step(r2.stderr, 'echo cli-none').logs).toEqual(['lo,cli-none']);
  });
});
