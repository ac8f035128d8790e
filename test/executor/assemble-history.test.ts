/** History times as BuildKit's exporter sets them (executor/assemble.ts stampHistory). */
import { describe, expect, it } from 'vitest';
import { stampHistory } from '../../executor/assemble.ts';
import type { HistoryEntry } from '../../compiler/graph.ts';

const T0 = '2020-01-01T00:00:00Z';
const T5 = '2026-11-23T10:00:05.000Z';
const T9 = '2026-11-23T10:00:09.000Z';

describe('stampHistory', () => {
  const history: HistoryEntry[] = [
    { created: T0, created_by: 'base layer' },
    { created_by: 'ENV A=1', empty_layer: true },
    { created_by: 'RUN make' },
    { created_by: 'CMD ["x"]', empty_layer: true },
    { created_by: 'COPY . /' },
    { created_by: 'LABEL l=1', empty_layer: true },
  ];
  const layers = new Map([
    [2, T5],
    [4, T9],
  ]);

  it('layer entries get their layer time; metadata entries the first new layer time, then the latest one', () => {
    const out = stampHistory(history, (i) => layers.get(i));
    expect(out.map((h) => h.created)).toEqual([T0, T5, T5, T5, T9, T9]);
    expect(out.map((h) => h.created_by)).toEqual(history.map((h) => h.created_by));
  });

  it('SOURCE_DATE_EPOCH stamps every new entry with the epoch; base entries keep theirs', () => {
    const out = stampHistory(history, (i) => layers.get(i), 1700000000);
    expect(out.map((h) => h.created)).toEqual([T0, ...Array(5).fill('2023-11-14T22:13:20Z')]);
  });

  it('no new layer: new entries take the base image time; nothing at all stays unset', () => {
    expect(stampHistory(history.slice(0, 2), () => undefined).map((h) => h.created)).toEqual([T0, T0]);
    expect(stampHistory([{ created_by: 'CMD ["x"]', empty_layer: true }], () => undefined)[0]!.created).toBeUndefined();
  });

  it('is the same for the same inputs (a cached rebuild keeps the image config)', () => {
    expect(stampHistory(history, (i) => layers.get(i))).toEqual(stampHistory(history, (i) => layers.get(i)));
  });
});
