/** Linux signal names as moby/sys/signal's SignalMap knows them (without the SIG prefix). */
const NAMES = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL',
  'PROF', 'PWR', 'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1',
  'USR2', 'VTALRM', 'WINCH', 'XCPU', 'XFSZ', 'RTMIN', 'RTMAX',
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

/** Whether STOPSIGNAL accepts `raw` (moby/sys/signal.ParseSignal): a non-zero number or a known name. */
export function isValidSignal(raw: string): boolean {
  if (/^[+-]?\d+$/.test(raw)) return Number(raw) !== 0;
  const up = raw.toUpperCase();
  return NAMES.has(up.startsWith('SIG') ? up.slice(3) : up);
}

/** All names with the SIG prefix, for did-you-mean. */
export const SIGNAL_NAMES: readonly string[] = [...NAMES].map((n) => `SIG${n}`);
