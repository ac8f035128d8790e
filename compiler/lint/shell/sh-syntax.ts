/**
 * sh-syntax (mvdan/sh compiled to WASM) as a synchronous checker: the module is compiled and instantiated once
 * (sh-syntax's own `parse` builds a fresh Go instance per call, ~8 ms each) and `process` is called per script.
 * The caller supplies the WASM bytes (the CLI reads `sh-syntax/main.wasm`), so this module stays free of I/O.
 */
import type { ShellSyntaxChecker, ShellSyntaxError } from '../types.ts';

/** The slice of the WebAssembly API used here (tsconfig has no DOM lib, @types/node does not declare it). */
interface WasmModule {
  readonly __wasmModule?: never;
}
interface WasmInstance {
  readonly exports: unknown;
}
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Instance: new (m: WasmModule, imports: unknown) => WasmInstance;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Exports {
  memory: { buffer: ArrayBuffer };
  wasmAlloc(n: number): number;
  wasmFree(p: number): void;
  process(...args: (number | boolean)[]): number;
}

interface GoRuntime {
  importObject: unknown;
  run(instance: WasmInstance): Promise<void>;
}

/** mvdan/sh LangVariant bit flags (v3.13+): bash = 1, posix = 2. */
const VARIANT = { bash: 1, posix: 2 } as const;

let loading: Promise<ShellSyntaxChecker> | undefined;

/** Loads the checker once; later calls return the same instance. */
export function loadShellSyntax(wasm: Uint8Array): Promise<ShellSyntaxChecker> {
  loading ??= load(wasm);
  return loading;
}

async function load(wasm: Uint8Array): Promise<ShellSyntaxChecker> {
  // wasm_exec installs the Go runtime class on globalThis; it expects crypto/performance there (Node 24 has both)
  await import('sh-syntax/vendors/wasm_exec');
  const Go = (globalThis as unknown as { Go: new () => GoRuntime }).Go;
  const module = await WA.compile(wasm);
  // The Go program's main returns at once, so its runtime does not reclaim memory between our calls: after a few
  // hundred scripts the next call traps. Instances are cheap to make from the compiled module (synchronously, so
  // the checker stays synchronous): a new one starts when an input budget is spent, and once more on a trap.
  const fresh = (): Exports => {
    const go = new Go();
    const instance = new WA.Instance(module, go.importObject);
    void go.run(instance);
    return instance.exports as unknown as Exports;
  };
  let ex = fresh();
  let used = 0;
  const BUDGET = 2 * 1024 * 1024;
  const enc = new TextEncoder();
  const dec = new TextDecoder();

  const put = (bytes: Uint8Array): number => {
    const p = ex.wasmAlloc(bytes.byteLength);
    new Uint8Array(ex.memory.buffer).set(bytes, p);
    return p;
  };
  interface Raw {
    file?: { Stmts?: { Pos: { Offset: number }; End: { Offset: number } }[] };
    parseError?: { Text: string; Pos?: { Line: number; Col: number; Offset: number } } | null;
    message?: string;
  }
  const run = (script: string, variant: 'bash' | 'posix'): Raw => {
    if (used > BUDGET) {
      ex = fresh();
      used = 0;
    }
    try {
      return runOnce(script, variant);
    } catch (e) {
      if (!(e instanceof Error) || !/memory|unreachable|exit/i.test(e.message)) throw e;
      ex = fresh();
      used = 0;
      return runOnce(script, variant);
    }
  };
  const runOnce = (script: string, variant: 'bash' | 'posix'): Raw => {
    const text = enc.encode(script);
    // the JSON result is ~30x the script; allocations are what fill the instance
    used += text.byteLength * 32 + 2048;
    const name = put(new Uint8Array(0));
    const tp = put(text);
    const stop = put(new Uint8Array(0));
    // argument order: see sh-syntax's processor.js (Go slices are passed as ptr, len, cap)
    const r = ex.process(name, 0, 0, tp, text.byteLength, text.byteLength, false, false, VARIANT[variant], stop, 0, 0, 0, false, 2, true, true, true, false, false, false, false);
    ex.wasmFree(name);
    ex.wasmFree(tp);
    ex.wasmFree(stop);
    const mem = new Uint8Array(ex.memory.buffer);
    const end = mem.indexOf(0, r);
    return JSON.parse(dec.decode(mem.subarray(r, end))) as Raw;
  };
  // byte offsets (UTF-8) → UTF-16 offsets
  const toUtf16 = (script: string, byteOffset: number): number => {
    if (/^[\x00-\x7f]*$/.test(script)) return byteOffset;
    let bytes = 0;
    let i = 0;
    for (const ch of script) {
      if (bytes >= byteOffset) break;
      bytes += enc.encode(ch).byteLength;
      i += ch.length;
    }
    return i;
  };
  const errorOf = (script: string, raw: Raw): ShellSyntaxError | undefined => {
    if (raw.parseError) {
      const p = raw.parseError.Pos ?? { Line: 1, Col: 1, Offset: 0 };
      return { message: raw.parseError.Text, line: p.Line, col: p.Col, offset: toUtf16(script, p.Offset) };
    }
    if (raw.message) return { message: raw.message, line: 1, col: 1, offset: 0 };
    return undefined;
  };
  return {
    check(script, variant) {
      return errorOf(script, run(script, variant));
    },
    statements(script, variant) {
      const raw = run(script, variant);
      const e = errorOf(script, raw);
      if (e) return e;
      return (raw.file?.Stmts ?? []).map((s) => ({ start: toUtf16(script, s.Pos.Offset), end: toUtf16(script, s.End.Offset) }));
    },
  };
}
