/**
 * RUN through the CLI: output streamed with BuildKit plain-progress prefixes, a failing RUN reported with the
 * Dockerfile excerpt, the command, its exit code and its last lines (never a stack trace), and exit status 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRig, markedLines, plainSteps, step, type Rig } from './helpers.ts';

let rig: Rig;
beforeAll(async () => {
  rig = await makeRig();
});
afterAll(() => rig?.cleanup());

describe('RUN basics', () => {
  it('streams RUN output in --progress plain as "#N <seconds> <line>", in order, while the step runs', async () => {
    const ctx = await rig.context({
      Dockerfile: 'FROM busybox\nRUN echo first-line && sleep 0.6 && echo second-line >&2 && sleep 0.1 && printf no-newline\n',
    });
    const r = await rig.ok(['build', '--progress', 'plain', ctx]);
    const lines = r.stderr.split('\n');
    const s = step(r.stderr, 'RUN echo first-line && sleep 0.6 && echo second-line >&2 && sleep 0.1 && printf no-newline');
    expect(s.done).toBe(true);
    expect(s.logs).toEqual(['first-line', 'second-line', 'no-newline']);
    // The timestamps are the offsets within the step: the second line came after the sleep.
    const t = (text: string): number => {
      const line = lines.find((l) => l.startsWith(`#${s.num} `) && l.endsWith(` ${text}`));
      const m = /^#\d+ (\d+\.\d{3}) /.exec(line ?? '');
      if (!m) throw new Error(`no timed line for ${text} in:\n${r.stderr}`);
      return Number(m[1]);
    };
    expect(t('first-line')).toBeLessThan(0.5);
    expect(t('second-line') - t('first-line')).toBeGreaterThanOrEqual(0.5);
    // The step's header precedes its output, and DONE follows it.
    const header = lines.findIndex((l) => l === `#${s.num} [2/2] RUN echo first-line && sleep 0.6 && echo second-line >&2 && sleep 0.1 && printf no-newline`);
    const done = lines.findIndex((l) => new RegExp(`^#${s.num} DONE \\d+\\.\\ds$`).test(l));
    expect(header).toBeGreaterThanOrEqual(0);
    expect(done).toBeGreaterThan(header);
    expect(r.stderr).toMatch(/Built in \d+\.\ds \(1 run, 0 cached\): sha256:[0-9a-f]{64}/);
  });

  it('a failing RUN exits 1 and shows the excerpt with >>>, the command, the exit code and the last output lines', async () => {
    const ctx = await rig.context({
      Dockerfile: [
        'FROM busybox',
        'ENV GREETING=hi',
        'RUN echo before',
        'RUN for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do echo "line $i"; done; \\',
        '    echo oops >&2; exit 7',
        'RUN echo never-runs',
        '',
      ].join('\n'),
    });
    const r = await rig.cli(['build', '--progress', 'plain', ctx]);
    expect(r.code).toBe(1);
    const err = r.stderr;
    // The excerpt marks both physical lines of the failing instruction and no others.
    expect(err).toMatch(/^Dockerfile:4(-5)?$/m);
    const marked = markedLines(err);
    expect(marked.map(([n]) => n)).toEqual([4, 5]);
    expect(marked[0]![1]).toMatch(/^RUN for i in 1 2 3/);
    expect(marked[1]![1]).toMatch(/^ +echo oops >&2; exit 7$/);
    // Context lines around it are shown unmarked.
    expect(err).toMatch(/^\s*3 \| +RUN echo before$/m);
    // The command, quoted as BuildKit quotes it (Go %q), and the exit code.
    expect(err).toContain('process "/bin/sh -c for i in 1 2 3');
    expect(err).toContain('do echo \\"line $i\\"; done');
    expect(err).toContain('exit code: 7');
    // The last lines of output, including stderr, but not the first ones (a tail, not everything).
    const summary = err.slice(err.indexOf('\n------\n'));
    expect(summary).toContain('line 25');
    expect(summary).toContain('oops');
    expect(summary).not.toMatch(/^\s+line 1$/m);
    // The step after the failure never ran; no JavaScript stack trace reached the user.
    expect(err).not.toContain('never-runs\n#');
    expect(plainSteps(err).some((s) => s.label.endsWith('RUN echo never-runs') && s.done)).toBe(false);
    expect(err).not.toMatch(/^\s+at .+\(.*:\d+:\d+\)$/m);
    expect(err).not.toContain('StepFailedError');
    // The one-line diagnostic points at the instruction's position.
    expect(err).toMatch(/Dockerfile:4:1: error: .*exit code: 7/);
  });

  it('a command that does not exist fails with the runtime exit code 127 and the shell message', async () => {
    const ctx = await rig.context({ Dockerfile: 'FROM busybox\nRUN no-such-command-xyz --flag\n' });
    const r = await rig.cli(['build', '--progress', 'plain', ctx]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('exit code: 127');
    expect(r.stderr).toMatch(/no-such-command-xyz: not found/);
    expect(markedLines(r.stderr)).toEqual([[2, 'RUN no-such-command-xyz --flag']]);
  });

  it('exec-form RUN runs without a shell and sees the stage ENV', async () => {
    const ctx = await rig.context({
      Dockerfile: 'FROM busybox\nENV WHO=world\nRUN ["/bin/echo", "$WHO", "literal"]\nRUN ["/bin/sh", "-c", "echo hello $WHO"]\n',
    });
    const r = await rig.ok(['build', '--progress', 'plain', ctx]);
    expect(step(r.stderr, 'RUN ["/bin/echo", "$WHO", "literal"]').logs).toEqual(['$WHO literal']);
    expect(step(r.stderr, 'RUN ["/bin/sh", "-c", "echo hello $WHO"]').logs).toEqual(['hello world']);
  });
});
