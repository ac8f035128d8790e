import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseTolerant } from '../../grammar/index.ts';
import { lint, loadShellSyntax, type Finding, type LintOptions, type ShellSyntaxChecker } from '../../compiler/lint/index.ts';
import { repoRoot, sharedDir } from '../helpers/env.ts';

export { repoRoot, sharedDir };

/** Lints a Dockerfile text. */
export function lintText(text: string, options: LintOptions = {}): Finding[] {
  return lint(parseTolerant(text, { file: 'Dockerfile' }).dockerfile, options);
}

/** Codes of the findings. */
export function codes(text: string, options: LintOptions = {}): string[] {
  return lintText(text, options).map((f) => f.code);
}

export function shellChecker(): Promise<ShellSyntaxChecker> {
  return loadShellSyntax(readFileSync(path.join(repoRoot, 'node_modules/sh-syntax/main.wasm')));
}

/** The real-world corpus: name and text of every Dockerfile in the manifest. */
export function corpus(): { name: string; text: string }[] {
  const dir = path.join(sharedDir, 'corpus/real');
  const rows = readFileSync(path.join(dir, 'MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
  return rows.filter((r) => r[6] === 'dockerfile').map((r) => ({ name: r[3]!, text: readFileSync(path.join(dir, r[3]!), 'utf8') }));
}
