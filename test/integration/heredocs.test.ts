/**
 * Heredocs through the CLI: `RUN <<EOF` as a shell script, `RUN <<EOF` with a shebang (run by its interpreter),
 * `COPY <<EOF` with variable expansion and `COPY <<'EOF'` without.
 */
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRig, markedLines, plainSteps, type Rig } from './helpers.ts';

let rig: Rig;
beforeAll(async () => {
  rig = await makeRig();
});
afterAll(() => rig?.cleanup());

/** Output lines of the step whose label starts with `prefix` (heredoc labels hold the first line only). */
function logsOf(stderr: string, prefix: string): string[] {
  const s = plainSteps(stderr).filter((x) => x.label.replace(/^\[[^\]]*\] /, '').startsWith(prefix));
  if (s.length !== 1) throw new Error(`expected one step starting "${prefix}", found ${s.length}:\n${stderr}`);
  return s[0]!.logs;
}

describe('heredocs', () => {
  it('RUN <<EOF runs the body with the shell, line by line, with the stage ENV', async () => {
    const ctx = await rig.context({
      Dockerfile: [
        'FROM busybox',
        'ENV WHO=heredoc',
        'RUN <<EOF',
        'echo "one $WHO"',
        'set -e',
        'for i in 1 2; do echo "loop $i"; done',
        'echo built > /from-heredoc',
        'EOF',
        'RUN cat /from-heredoc',
        '',
      ].join('\n'),
    });
    const out = await mkdtemp(path.join(rig.dir, 'out-'));
    const r = await rig.ok(['build', '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx]);
    expect(logsOf(r.stderr, 'RUN <<EOF')).toEqual(['one heredoc', 'loop 1', 'loop 2']);
    expect(logsOf(r.stderr, 'RUN cat /from-heredoc')).toEqual(['built']);
    expect(await readFile(path.join(out, 'from-heredoc'), 'utf8')).toBe('built\n');
  });

  it('RUN <<EOF fails like any RUN when a line fails under set -e', async () => {
    const ctx = await rig.context({ Dockerfile: 'FROM busybox\nRUN <<EOF\nset -e\necho before\nfalse\necho after\nEOF\n' });
    const r = await rig.cli(['build', '--progress', 'plain', ctx]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('exit code: 1');
    // The whole heredoc instruction is marked, and the command is quoted on one line (Go %q, as BuildKit).
    expect(markedLines(r.stderr)).toEqual([
      [2, 'RUN <<EOF'],
      [3, 'set -e'],
      [4, 'echo before'],
      [5, 'false'],
      [6, 'echo after'],
      [7, 'EOF'],
    ]);
    expect(r.stderr).toContain('process "/bin/sh -c set -e\\necho before\\nfalse\\necho after\\n" did not complete successfully: exit code: 1');
    expect(r.stderr).not.toMatch(/#\d+ [\d.]+ after$/m);
  });

  it('RUN <<EOF with a #! line runs the body with that interpreter', async () => {
    const ctx = await rig.context({
      Dockerfile: [
        'FROM busybox',
        // /bin/cat as the interpreter prints the script file itself: proof that the shebang, not sh, ran it.
        'RUN <<EOF',
        '#!/bin/cat',
        'echo this line is printed, not run',
        'EOF',
        'RUN <<EOT',
        '#!/bin/sh -e',
        'echo "argv0 is a file: $(test -f "$0" && echo yes)"',
        'EOT',
        '',
      ].join('\n'),
    });
    const r = await rig.ok(['build', '--progress', 'plain', ctx]);
    expect(logsOf(r.stderr, 'RUN <<EOF')).toEqual(['#!/bin/cat', 'echo this line is printed, not run']);
    expect(logsOf(r.stderr, 'RUN <<EOT')).toEqual(['argv0 is a file: yes']);
  });

  it("COPY <<EOF expands variables; COPY <<'EOF' keeps them literal; --chmod applies", async () => {
    const ctx = await rig.context({
      Dockerfile: [
        'FROM busybox',
        'ARG NAME=world',
        'ENV PLACE=here',
        'COPY <<EOF /greeting',
        'hello ${NAME} from $PLACE',
        'EOF',
        "COPY <<'EOF' /literal",
        'hello ${NAME} from $PLACE',
        'EOF',
        'COPY --chmod=0755 <<EOF /script.sh',
        '#!/bin/sh',
        'echo script',
        'EOF',
        'RUN /script.sh',
        '',
      ].join('\n'),
    });
    const out = await mkdtemp(path.join(rig.dir, 'out-'));
    const r = await rig.ok(['build', '--progress', 'plain', '--build-arg', 'NAME=tsbuild', '-o', `type=local,dest=${out}`, ctx]);
    expect(await readFile(path.join(out, 'greeting'), 'utf8')).toBe('hello tsbuild from here\n');
    expect(await readFile(path.join(out, 'literal'), 'utf8')).toBe('hello ${NAME} from $PLACE\n');
    expect((await stat(path.join(out, 'script.sh'))).mode & 0o777).toBe(0o755);
    expect(logsOf(r.stderr, 'RUN /script.sh')).toEqual(['script']);
  });
});
