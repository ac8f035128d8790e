/** Word expansion at Dockerfile positions: errors from compiler/shell are re-thrown at the word's range. */
import { processWord, processWords, ShellExpansionError, type ShellLexOptions } from './shell/index.ts';
import type { At } from './diag.ts';

export function expandAt(word: string, env: ReadonlyMap<string, string>, at: At, opts: ShellLexOptions = {}): string {
  try {
    return processWord(word, env, opts).value;
  } catch (e) {
    if (e instanceof ShellExpansionError) throw e.withLocation(at.file, at.range);
    throw e;
  }
}

export function expandWordsAt(word: string, env: ReadonlyMap<string, string>, at: At, opts: ShellLexOptions = {}): string[] {
  try {
    return processWords(word, env, opts).words;
  } catch (e) {
    if (e instanceof ShellExpansionError) throw e.withLocation(at.file, at.range);
    throw e;
  }
}
