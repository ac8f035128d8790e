import { describe, expect, it } from 'vitest';
import { c, err, execs, files, steps, targetStage, images } from './helpers.ts';

describe('ARG scoping', () => {
  it('global ARGs are visible in FROM only, unless redeclared in the stage', () => {
    const g = c('ARG IMG=alpine\nARG V=1\nFROM $IMG\nRUN echo a\nARG V\nRUN echo b\n');
    const src = steps(g)[0]!;
    expect(src.kind === 'source' && src.source.type === 'image' && src.source.ref).toBe('docker.io/library/alpine:latest');
    const [r1, r2] = execs(g);
    expect(r1!.env.some((e) => e.startsWith('V='))).toBe(false);
    expect(r1!.env.some((e) => e.startsWith('IMG='))).toBe(false);
    expect(r2!.env).toContain('V=1');
  });
  it('--build-arg overrides the default, in global and stage scope', () => {
    const g = c('ARG V=1\nFROM scratch\nARG V\nARG W=2\nRUN x\n', { buildArgs: new Map([['V', '9'], ['W', '8']]) });
    expect(execs(g)[0]!.env).toEqual(expect.arrayContaining(['V=9', 'W=8']));
  });
  it('an ARG default expands against the stage env, an ENV before it wins in the image config', () => {
    const g = c('FROM scratch\nENV A=x\nARG B=$A-y\nRUN z\n');
    expect(execs(g)[0]!.env).toContain('B=x-y');
    expect(targetStage(g).image.config.Env).not.toContain('B=x-y');
  });
  it('ENV after ARG of the same name wins', () => {
    const g = c('FROM scratch\nARG V=arg\nENV V=env\nRUN echo\n');
    expect(execs(g)[0]!.env.filter((e) => e.startsWith('V='))).toEqual(['V=env']);
  });
  it('one instruction sees the values from before it', () => {
    const g = c('FROM scratch\nENV abc=hello\nENV abc=bye def=$abc\n');
    expect(targetStage(g).image.config.Env).toEqual(expect.arrayContaining(['abc=bye', 'def=hello']));
  });
  it('platform args: automatic in global scope, in a stage only after ARG', () => {
    const g = c('FROM --platform=$BUILDPLATFORM scratch\nRUN a $TARGETARCH\nARG TARGETARCH\nRUN b\n');
    expect(execs(g)[0]!.env.some((e) => e.startsWith('TARGETARCH='))).toBe(false);
    expect(execs(g)[1]!.env).toContain('TARGETARCH=amd64');
    expect(g.stages[0]!.platform).toBe('linux/amd64');
  });
  it('proxy build args reach RUN through proxyEnv, not the env or the definition', () => {
    const a = c('FROM scratch\nRUN x\n', { buildArgs: new Map([['HTTP_PROXY', 'http://p:3128']]) });
    const b = c('FROM scratch\nRUN x\n');
    expect(execs(a)[0]!.proxyEnv).toEqual(['HTTP_PROXY=http://p:3128']);
    expect(execs(a)[0]!.env.join()).not.toContain('PROXY');
    expect(execs(a)[0]!.definitionDigest).toBe(execs(b)[0]!.definitionDigest);
    expect(a.warnings).toEqual([]);
  });
  it('unused build args give a compile/unused-build-arg warning with a did-you-mean', () => {
    const g = c('FROM scratch\nARG VERSION\n', { buildArgs: new Map([['VERSON', '1'], ['VERSION', '2']]) });
    expect(g.warnings.map((w) => w.code)).toEqual(['compile/unused-build-arg']);
    expect(g.warnings[0]!.message).toContain('VERSON');
    expect(g.warnings[0]!.suggestion).toBe('did you mean VERSION?');
  });
  it('stage ARGs are inherited by stages built FROM it', () => {
    const g = c('FROM scratch AS a\nARG X=1\nFROM a\nRUN y\n');
    expect(execs(g)[0]!.env).toContain('X=1');
    expect(targetStage(g).history.length).toBe(1);
  });
  it('history prefixes RUN with the declared ARGs as BuildKit does', () => {
    const g = c('FROM scratch\nARG A=1 B\nRUN echo hi\n');
    expect(targetStage(g).history.map((h) => h.createdBy)).toEqual(['ARG A=1 B', 'RUN |2 A=1 B= /bin/sh -c echo hi # buildkit']);
  });
});

describe('stages and --target', () => {
  const df = 'FROM alpine AS base\nRUN a\nFROM base AS build\nRUN b\nFROM scratch AS other\nRUN c\nFROM scratch\nCOPY --from=build /x /x\n';
  it('builds only what the target needs', () => {
    const g = c(df, { target: 'BUILD' });
    expect(execs(g).map((e) => e.argv[2])).toEqual(['a', 'b']);
    expect(g.target).toBe(1);
    expect(g.stages.map((s) => s.index)).toEqual([0, 1]);
    const all = c(df);
    expect(execs(all).map((e) => e.argv[2])).toEqual(['a', 'b']);
    expect(all.stages.map((s) => s.index)).toEqual([0, 1, 3]);
  });
  it('FROM <stage> continues the parent filesystem and config', () => {
    const g = c('FROM scratch AS a\nWORKDIR /w\nUSER u\nFROM a\nRUN x\n');
    const r = execs(g)[0]!;
    expect(r.cwd).toBe('/w');
    expect(r.user).toBe('u');
    expect(g.stages[1]!.baseStage).toBe(0);
    expect(r.rootfs).toBe(g.stages[0]!.last);
  });
  it('COPY --from by index and by case-insensitive name', () => {
    const g = c('FROM scratch AS One\nRUN a\nFROM scratch\nCOPY --from=0 /a /a\nCOPY --from=one /b /b\n');
    const [c1, c2] = files(g);
    const last = g.stages[0]!.last;
    expect(c1!.actions[0]!.action === 'copy' && c1!.actions[0]!.from).toBe(last);
    expect(c2!.actions[0]!.action === 'copy' && c2!.actions[0]!.from).toBe(last);
  });
  it('COPY --from an image becomes an image source', () => {
    const g = c('FROM scratch\nCOPY --from=nginx:1 /etc/nginx /etc/nginx\n');
    const src = steps(g).find((s) => s.kind === 'source' && s.source.type === 'image');
    expect(src && src.kind === 'source' && src.source.type === 'image' && src.source.ref).toBe('docker.io/library/nginx:1');
  });
  it('unknown target: error with did-you-mean', () => {
    const e = err('FROM scratch AS build\n', { target: 'biuld' });
    expect(e.code).toBe('compile/unknown-target');
    expect(e.suggestion).toBe('did you mean build?');
  });
  it('duplicate stage names', () => {
    const e = err('FROM scratch AS a\nFROM scratch AS A\n');
    expect(e.code).toBe('compile/duplicate-stage');
    expect(e.range!.start).toMatchObject({ line: 2, col: 17 });
  });
  it('forward and cyclic references', () => {
    expect(err('FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\n', { target: 'a' }).code).toBe('compile/forward-stage-reference');
    // Not needed by the target: no error, as in BuildKit.
    expect(c('FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\n').stages.map((s) => s.index)).toEqual([1]);
    expect(err('FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\nCOPY --from=a /y /y\n').code).toBe('compile/stage-cycle');
    expect(err('FROM scratch AS a\nCOPY --from=a /x /x\n').code).toBe('compile/stage-cycle');
    expect(err('FROM scratch\nCOPY --from=3 /x /x\n').message).toBe('invalid stage index 3');
    expect(err('FROM b\nFROM scratch AS b\n').code).toBe('compile/forward-stage-reference');
  });
  it('COPY --from=$X is an error; --mount from=$X too', () => {
    const e = err('ARG X=a\nFROM scratch\nCOPY --from=$X /a /a\n');
    expect(e.code).toBe('compile/from-variable');
    expect(e.range!.start.line).toBe(3);
    expect(err('FROM scratch\nRUN --mount=from=$X,target=/x true\n').message).toContain("'from' doesn't support variable expansion");
  });
  it('a blank base name after expansion', () => {
    expect(err('ARG IMG\nFROM $IMG\n').message).toBe('base name ($IMG) should not be blank');
  });
});

describe('image config', () => {
  it('CMD/ENTRYPOINT table', () => {
    const cfg = (df: string) => targetStage(c(`FROM scratch\n${df}`)).image.config;
    expect(cfg('ENTRYPOINT e p\n')).toMatchObject({ Entrypoint: ['/bin/sh', '-c', 'e p'], Cmd: null });
    expect(cfg('ENTRYPOINT ["e","p"]\n')).toMatchObject({ Entrypoint: ['e', 'p'] });
    expect(cfg('CMD ["c","p"]\n')).toMatchObject({ Cmd: ['c', 'p'] });
    expect(cfg('CMD c p\nENTRYPOINT ["e","p"]\n')).toMatchObject({ Entrypoint: ['e', 'p'], Cmd: ['/bin/sh', '-c', 'c p'] });
    expect(cfg('ENTRYPOINT ["e"]\nCMD ["c"]\n')).toMatchObject({ Entrypoint: ['e'], Cmd: ['c'] });
    expect(cfg('SHELL ["/bin/bash","-xc"]\nCMD c\n').Cmd).toEqual(['/bin/bash', '-xc', 'c']);
  });
  it('ENTRYPOINT clears an inherited CMD (from a base image or stage)', () => {
    const g = c('FROM img\nENTRYPOINT ["e"]\n', {}, images({ 'docker.io/library/img:latest': { Cmd: ['sh'] } }));
    expect(targetStage(g).image.config.Cmd).toBeNull();
    const g2 = c('FROM scratch AS a\nCMD ["c"]\nFROM a\nENTRYPOINT ["e"]\n');
    expect(targetStage(g2).image.config.Cmd).toBeNull();
  });
  it('EXPOSE forms and history text', () => {
    const g = c('FROM scratch\nARG P=9000\nEXPOSE 80 80/tcp 53/udp 8000-8002 $P/SCTP\n');
    expect(Object.keys(targetStage(g).image.config.ExposedPorts!)).toEqual(['80/tcp', '53/udp', '8000/tcp', '8001/tcp', '8002/tcp', '9000/sctp']);
    expect(targetStage(g).history[1]!.createdBy).toBe('EXPOSE [80/tcp 80/tcp 53/udp 8000/tcp 8001/tcp 8002/tcp 9000/sctp]');
    expect(err('FROM scratch\nEXPOSE 80/xyz\n').message).toBe('invalid proto: xyz');
    expect(err('FROM scratch\nEXPOSE abc\n').code).toBe('compile/invalid-port');
    expect(err('FROM scratch\nEXPOSE 80 70000\n').range!.start).toMatchObject({ line: 2, col: 11 });
  });
  it('HEALTHCHECK durations in ns and BuildKit history text', () => {
    const g = c('FROM scratch\nHEALTHCHECK --interval=1m30s --timeout=500ms --retries=3 CMD curl -f x\n');
    expect(targetStage(g).image.config.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'curl -f x'], Interval: 90e9, Timeout: 5e8, Retries: 3 });
    expect(targetStage(g).history[0]!.createdBy).toBe('HEALTHCHECK {Test:[CMD-SHELL curl -f x] Interval:1m30s Timeout:500ms StartPeriod:0s StartInterval:0s Retries:3}');
    expect(targetStage(c('FROM scratch\nHEALTHCHECK NONE\n')).image.config.Healthcheck).toEqual({ Test: ['NONE'] });
    expect(targetStage(c('FROM scratch\nHEALTHCHECK CMD ["a","b"]\n')).image.config.Healthcheck!.Test).toEqual(['CMD', 'a', 'b']);
    expect(err('FROM scratch\nHEALTHCHECK --interval=5x CMD a\n').code).toBe('compile/invalid-duration');
    expect(err('FROM scratch\nHEALTHCHECK --interval=1us CMD a\n').message).toContain('cannot be less than 1ms');
    expect(err('FROM scratch\nHEALTHCHECK --retries=-1 CMD a\n').message).toBe('--retries cannot be negative (-1)');
    expect(err('FROM scratch\nHEALTHCHECK CONNECT x\n').message).toContain('Unknown type');
  });
  it('WORKDIR chains, makes a mkdir step owned by USER, history without # buildkit', () => {
    const g = c('FROM scratch\nUSER app:staff\nWORKDIR /a\nWORKDIR b/../c\nWORKDIR /\n');
    const st = targetStage(g);
    expect(st.image.config.WorkingDir).toBe('/');
    const mk = files(g).map((f) => f.actions[0]);
    expect(mk).toEqual([
      { action: 'mkdir', path: '/a', mode: 0o755, parents: true, chown: { user: 'app', group: 'staff' } },
      { action: 'mkdir', path: '/a/c', mode: 0o755, parents: true, chown: { user: 'app', group: 'staff' } },
    ]);
    expect(st.history.map((h) => [h.createdBy, h.layerStep !== undefined])).toEqual([
      ['USER app:staff', false], ['WORKDIR /a', true], ['WORKDIR /a/c', true], ['WORKDIR /', false],
    ]);
  });
  it('default PATH for scratch and for bases without one; kept when the base has it', () => {
    expect(targetStage(c('FROM scratch\n')).image.config.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    const g = c('FROM img\n', {}, images({ 'docker.io/library/img:latest': { Env: ['PATH=/x'] } }));
    expect(targetStage(g).image.config.Env).toEqual(['PATH=/x']);
  });
  it('LABEL, VOLUME, STOPSIGNAL, MAINTAINER, USER', () => {
    const st = targetStage(c('FROM scratch\nLABEL a=1 "b c"="d e"\nVOLUME ["/data", "/x"]\nSTOPSIGNAL SIGKILL\nMAINTAINER me <m@x>\nUSER 1000\n'));
    expect(st.image.config).toMatchObject({ Labels: { a: '1', 'b c': 'd e' }, Volumes: { '/data': {}, '/x': {} }, StopSignal: 'SIGKILL', User: '1000' });
    expect(st.image.author).toBe('me <m@x>');
    expect(st.history.map((h) => h.createdBy)).toEqual(['LABEL a=1 b c=d e', 'VOLUME [/data /x]', 'STOPSIGNAL SIGKILL', 'MAINTAINER me <m@x>', 'USER 1000']);
    expect(err('FROM scratch\nSTOPSIGNAL SIGKIL\n').suggestion).toBe('did you mean SIGKILL?');
  });
  it('ONBUILD: stored in the parent, run first in the child, not passed on', () => {
    const g = c('FROM scratch AS p\nONBUILD RUN echo trig\nFROM p AS child\nRUN echo own\nFROM child\n');
    expect(g.stages[0]!.image.config.OnBuild).toEqual(['RUN echo trig']);
    expect(execs(g).map((e) => e.argv[2])).toEqual(['echo trig', 'echo own']);
    expect(g.stages[1]!.image.config.OnBuild).toBeNull();
    expect(g.stages[2]!.image.config.OnBuild).toBeNull();
  });
  it('ONBUILD triggers of a base image are parsed and run first', () => {
    const g = c('FROM img\nRUN own\n', {}, images({ 'docker.io/library/img:latest': { OnBuild: ['COPY . /app', 'RUN make'] } }));
    expect(steps(g).map((s) => s.description)).toEqual(['FROM docker.io/library/img:latest@' + (steps(g)[0]!.kind === 'source' && steps(g)[0]!.source.type === 'image' ? steps(g)[0]!.source.resolvedDigest : ''), 'load build context', 'COPY . /app', 'RUN make', 'RUN own']);
    expect(targetStage(g).image.config.OnBuild).toBeNull();
    const bad = err('FROM img\n', {}, images({ 'docker.io/library/img:latest': { OnBuild: ['FROM x'] } }));
    expect(bad.code).toBe('compile/onbuild-trigger');
    expect(bad.range!.start.line).toBe(1);
  });
});

describe('RUN', () => {
  it('shell form uses SHELL; exec form is verbatim; env, cwd, user', () => {
    const g = c('FROM scratch\nENV A=1\nWORKDIR /w\nUSER u\nSHELL ["/bin/bash","-c"]\nRUN echo $A\nRUN ["ls","-l"]\n');
    const [a, b] = execs(g);
    expect(a!.argv).toEqual(['/bin/bash', '-c', 'echo $A']);
    expect(b!.argv).toEqual(['ls', '-l']);
    expect(a!).toMatchObject({ cwd: '/w', user: 'u', network: 'default', security: 'sandbox' });
    expect(a!.env).toContain('A=1');
  });
  it('mounts: defaults, context selectors, stage sources, errors', () => {
    const g = c('FROM scratch AS s\nFROM scratch\nWORKDIR /w\nRUN --mount=target=/src,source=app --mount=type=cache,target=c,sharing=locked --mount=type=secret,id=tok --mount=type=ssh --mount=type=tmpfs,target=/t,size=64m --mount=type=bind,from=s,target=/s,rw x\n');
    const r = execs(g)[0]!;
    expect(r.mounts).toEqual([
      { type: 'bind', target: '/src', from: expect.any(String), source: '/app', readwrite: false },
      { type: 'cache', target: '/w/c', id: 'c', sharing: 'locked', readonly: false, mode: 0o755, uid: 0, gid: 0 },
      { type: 'secret', id: 'tok', target: '/run/secrets/tok', required: false, mode: 0o400, uid: 0, gid: 0 },
      { type: 'ssh', id: 'default', target: '/run/buildkit/ssh_agent.0', required: false, mode: 0o600, uid: 0, gid: 0 },
      { type: 'tmpfs', target: '/t', size: 64 * 1024 * 1024 },
      { type: 'bind', target: '/s', from: g.stages[0]!.last, source: '/', readwrite: true },
    ]);
    expect(r.contextSelectors.map((s) => s.include)).toEqual([['app']]);
    expect(err('FROM scratch\nRUN --mount=type=cahce,target=/x y\n').suggestion).toBe('did you mean cache?');
    expect(err('FROM scratch\nRUN --mount=type=bind,target=/x,mode=0700 y\n').message).toBe('mode not allowed for "bind" type mounts');
    expect(err('FROM scratch\nRUN --mount=type=cache,trget=/x y\n').message).toContain("unexpected key 'trget'");
    expect(err('FROM scratch\nRUN --mount=type=cache y\n').message).toBe('invalid mount target "/"');
    expect(execs(c('FROM scratch\nWORKDIR /w\nRUN --mount=type=bind y\n'))[0]!.mounts[0]).toMatchObject({ target: '/w', source: '/' });
    expect(err('FROM scratch\nRUN --network=bridge y\n').message).toBe('unsupported network mode "bridge"');
    expect(err('FROM scratch\nRUN --mount=type=tmpfs,target=/x,required y\n').message).toContain("unexpected key 'required'");
  });
  it('--network and --security are recorded', () => {
    const r = execs(c('FROM scratch\nRUN --network=none --security=insecure x\n'))[0]!;
    expect([r.network, r.security]).toEqual(['none', 'insecure']);
  });
  it('unknown flags: did-you-mean', () => {
    const e = err('FROM scratch\nRUN --mout=type=cache,target=/x y\n');
    expect(e.message).toBe('unknown flag: --mout');
    expect(e.suggestion).toBe('did you mean --mount?');
    expect(e.range!.start).toMatchObject({ line: 2, col: 5 });
  });
});

describe('COPY and ADD', () => {
  it('dest resolution against WORKDIR, trailing slash, chown/chmod, history text', () => {
    const g = c('FROM scratch\nWORKDIR /app\nARG U=1000\nCOPY --chown=$U:$U --chmod=0640 a b/ ./\nCOPY x rel\nCOPY --chmod=u+x y .\n');
    const [, c1, c2, c3] = files(g);
    const a1 = c1!.actions[0]!;
    expect(a1).toMatchObject({ action: 'copy', sources: ['/a', '/b'], dest: '/app/', chown: { user: '1000', group: '1000' }, chmod: 0o640, add: false, link: false });
    expect(c2!.actions[0]).toMatchObject({ dest: '/app/rel' });
    expect(c3!.actions[0]).toMatchObject({ chmod: 'u+x', dest: '/app/' });
    expect(c1!.contextSelectors).toEqual([{ context: expect.any(String), include: ['a', 'b'], exclude: [] }]);
    expect(targetStage(g).history[2]!.createdBy).toBe('COPY --chown=1000:1000 --chmod=0640 a b/ ./ # buildkit');
    expect(err('FROM scratch\nCOPY --chmod=999 a b\n').message).toContain('invalid chmod parameter');
  });
  it('--link drops the rootfs input; --exclude and --parents pass through', () => {
    const f = files(c('FROM scratch\nCOPY --link --exclude=*.md --parents ./x/./y /d/\n'))[0]!;
    expect(f.rootfs).toBeUndefined();
    expect(f.actions[0]).toMatchObject({ link: true, parents: true, exclude: ['*.md'], sources: ['./x/./y'] });
  });
  it('ADD URL becomes a url source; COPY URL is an error; checksum rules', () => {
    const g = c('FROM scratch\nADD --checksum=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef https://example.com/f.tgz /x/\n');
    const u = steps(g).find((s) => s.kind === 'source' && s.source.type === 'url')!;
    expect(u.kind === 'source' && u.source).toMatchObject({ type: 'url', url: 'https://example.com/f.tgz', filename: 'f.tgz' });
    expect(files(g)[0]!.actions[0]).toMatchObject({ sources: ['/f.tgz'], add: true, unpack: false });
    expect(err('FROM scratch\nCOPY https://example.com/f /x\n').message).toBe("source can't be a URL for COPY");
    expect(err('FROM scratch\nADD --checksum=sha256:ab a /x\n').message).toBe('checksum requires HTTP(S) or Git sources');
    expect(err('FROM scratch\nCOPY --checksum=sha256:ab a /x\n').code).toBe('compile/unknown-flag');
  });
  it('heredoc sources become mkfile actions, expanded unless quoted', () => {
    const g = c("FROM scratch\nARG N=world\nCOPY <<EOF <<'RAW' /d/\nhello $N \"q\"\nEOF\nraw $N\nRAW\n");
    expect(files(g)[0]!.actions).toEqual([
      { action: 'mkfile', path: '/d/EOF', content: 'hello world "q"\n', mode: 0o644 },
      { action: 'mkfile', path: '/d/RAW', content: 'raw $N\n', mode: 0o644 },
    ]);
  });
  it('an ARG changes the keys of later RUNs but not of a COPY that does not use it', () => {
    const a = c('FROM scratch\nCOPY a /a\nRUN x\n');
    const b = c('FROM scratch\nARG V=1\nCOPY a /a\nRUN x\n');
    expect(files(a)[0]!.definitionDigest).toBe(files(b)[0]!.definitionDigest);
    expect(execs(a)[0]!.definitionDigest).not.toBe(execs(b)[0]!.definitionDigest);
  });
});

describe('instruction-layer errors', () => {
  it('unknown instruction with position and did-you-mean', () => {
    const e = err('FROM scratch\nCOPPY a b\n');
    expect(e.message).toBe('unknown instruction: COPPY');
    expect(e.suggestion).toBe('did you mean COPY?');
    expect(e.file).toBe('Dockerfile');
    expect(e.range!.start).toMatchObject({ line: 2, col: 1 });
  });
  it('SHELL must be JSON; only ARG before FROM', () => {
    expect(err('FROM scratch\nSHELL /bin/bash -c\n').message).toBe('SHELL requires the arguments to be in JSON form');
    expect(err('RUN x\nFROM scratch\n').message).toBe('no build stage in current context');
  });
});
