import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const shared = path.resolve(repoRoot, '../shared');
export const conformance = path.join(shared, 'conformance/buildkit/parser');

export function readJson<T>(p: string): T {
  return JSON.parse(readFileSync(p, 'utf8')) as T;
}

/** The real-world corpus: every MANIFEST.tsv row of kind `dockerfile` (columns by header name). */
export function corpusDockerfiles(): { name: string; text: string }[] {
  const dir = path.join(shared, 'corpus/real');
  const [header, ...rows] = readFileSync(path.join(dir, 'MANIFEST.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
  const col = (n: string): number => header!.indexOf(n);
  return rows
    .filter((r) => r[col('kind')] === 'dockerfile')
    .map((r) => ({ name: r[col('local_file')]!, text: readFileSync(path.join(dir, r[col('local_file')]!), 'utf8') }));
}
