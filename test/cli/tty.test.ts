/**
 * The TTY view in a real terminal: tmux runs a real build at 100x30, the test reads the screen while two stages
 * run in parallel, resizes the window mid-build (narrower, then wider, then short), and checks after each step
 * that every step shows exactly once (no copies of old frames left behind), then that the final screen holds each
 * step once with its result and the summary. Piped output never gets escape codes.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { repoRoot, requireRoot, tempDir } from '../helpers/env.ts';
import { testStoreRoot, tsbuildCli } from '../helpers/cli.ts';
import { storeBaseImage } from '../helpers/bases.ts';

beforeAll(async () => {
  requireRoot('the TTY view test', ['tmux']);
  await storeBaseImage('busybox');
});

const tmux = (...args: string[]): string => execFileSync('tmux', args, { encoding: 'utf8' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const A = '[a 2/2] RUN for i in $(seq 1 16); do echo "a says $i"; sleep 0.5; done';
const B = '[b 2/2] RUN for i in $(seq 1 16); do echo "b says $i"; sleep 0.5; done';

/** How many screen lines start with a step's label (after the status mark). */
function count(screen: string, label: string, width: number): number {
  const prefix = label.slice(0, Math.min(label.length, width - 4));
  return screen.split('\n').filter((l) => l.slice(2).startsWith(prefix)).length;
}

describe('the TTY view in tmux', () => {
  it('shows parallel steps with spinners and output, survives resizes without garbage, ends with a summary', async () => {
    const dir = await tempDir('tsbuild-tty-');
    writeFileSync(
      path.join(dir, 'Dockerfile'),
      [
        'FROM busybox AS a',
        'RUN for i in $(seq 1 16); do echo "a says $i"; sleep 0.5; done',
        'FROM busybox AS b',
        'RUN for i in $(seq 1 16); do echo "b says $i"; sleep 0.5; done',
        'FROM busybox',
        'COPY --from=a /etc/passwd /a',
        'COPY --from=b /etc/passwd /b',
        '',
      ].join('\n'),
    );
    const session = `tsbuild-tty-${process.pid}`;
    const store = testStoreRoot() ?? '';
    const cmd = `cd ${repoRoot} && env -u CI TSBUILD_ROOT='${store}' ./bin/tsbuild --no-cache --progress tty '${dir}'; echo "EXIT=$?"; sleep 600`;
    tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', cmd);
    onTestFinished(() => {
      try {
        tmux('kill-session', '-t', session);
      } catch {
        // already gone
      }
    });
    const screen = (): string => tmux('capture-pane', '-p', '-t', session);

    // Both RUN steps running at once, each with a spinner, an elapsed time and its latest output.
    let s = '';
    for (let i = 0; i < 200; i++) {
      s = screen();
      if (/says 2/.test(s) && /b says 2/.test(s)) break;
      await sleep(100);
    }
    expect(s).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \[a 2\/2\] RUN .* \d+\.\ds$/m);
    expect(s).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \[b 2\/2\] RUN .* \d+\.\ds$/m);
    expect(s).toMatch(/^ {4}a says \d+$/m);
    expect(s).toMatch(/^ {4}b says \d+$/m);
    expect(s).toMatch(/^ {2}\[stage-2 2\/3\] COPY --from=a \/etc\/passwd \/a$/m);
    expect(s).toMatch(/^✔ \[a 1\/2\] FROM busybox AS a (DONE|CACHED)/m);

    for (const [w, h] of [
      [50, 30],
      [100, 30],
      [70, 9],
      [100, 30],
    ] as const) {
      tmux('resize-window', '-t', session, '-x', String(w), '-y', String(h));
      await sleep(400);
      s = screen();
      const lines = s.replace(/\n$/, '').split('\n');
      expect(lines.length, `screen is ${h} rows`).toBe(h);
      expect(count(s, A, w), `after resize to ${w}x${h}:\n${s}`).toBe(1);
      expect(count(s, B, w), `after resize to ${w}x${h}:\n${s}`).toBe(1);
      // live lines are cut to the width, never wrapped onto a second row
      for (const l of lines) if (/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /.test(l)) expect(l.length).toBeLessThan(w);
    }

    for (let i = 0; i < 600 && !/EXIT=\d+/.test(s); i++) {
      await sleep(100);
      s = screen();
    }
    expect(s).toContain('EXIT=0');
    const final = s.split('\n').filter((l) => l.trim() !== '');
    expect(final.filter((l) => /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/.test(l))).toEqual([]);
    expect(final.filter((l) => l.includes(A))).toEqual([expect.stringMatching(/^✔ .* DONE \d+\.\ds$/)]);
    expect(final.filter((l) => l.includes(B))).toEqual([expect.stringMatching(/^✔ .* DONE \d+\.\ds$/)]);
    expect(final.filter((l) => l.includes('COPY --from=a'))).toHaveLength(1);
    expect(final.filter((l) => l.includes('COPY --from=b'))).toHaveLength(1);
    expect(final.filter((l) => l.startsWith('Built in '))).toEqual([expect.stringMatching(/^Built in \d+\.\ds \(4 run, 0 cached\) sha256:[0-9a-f]+/)]);
    // the cursor is shown again
    expect(tmux('display', '-p', '-t', session, '#{cursor_flag}').trim()).toBe('1');
  });

  it('--progress tty into a pipe falls back to plain: no escape codes', async () => {
    const dir = await tempDir('tsbuild-tty-');
    writeFileSync(path.join(dir, 'Dockerfile'), `FROM busybox\nRUN echo piped ${process.pid}\n`);
    const r = await tsbuildCli(['--progress', 'tty', dir], { env: { CI: undefined } });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('\x1b');
    expect(r.stderr).toMatch(/^#2 [\d.]+ piped \d+$/m);
  });
});
