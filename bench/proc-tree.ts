/**
 * Peak memory of a process tree: samples the summed resident set size (VmRSS) of a process and all its descendants
 * from /proc at a fixed interval. (`getrusage(RUSAGE_CHILDREN)` would give only the largest single descendant and
 * this kernel has no /proc/<pid>/task/<tid>/children, so the tree is rebuilt from every /proc/<pid>/stat's ppid.)
 *
 * Short spikes between two samples are missed: with the default 50 ms interval a figure is a lower bound, good to
 * the accuracy a "< 200 MB" target needs, since a build's memory grows and shrinks over seconds.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** A running sampler: `stop()` returns the largest summed RSS seen, in KiB (0 if the tree was never seen). */
export interface TreeRssSampler {
  stop(): number;
}

/** pid → ppid for every process visible in /proc. */
function parentMap(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue; // exited between readdir and read
    }
    // Field 2 (comm) may contain spaces and parentheses: ppid is the second field after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(pid, Number(rest[1]));
  }
  return out;
}

function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The summed VmRSS (KiB) of `root` and every descendant right now. */
export function treeRssKiB(root: number): number {
  const parents = parentMap();
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  let total = 0;
  const stack = [root];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    total += rssKiB(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return total;
}

/** Starts sampling the tree under `root` every `intervalMs` (default 50 ms). */
export function sampleTreeRss(root: number, intervalMs = 50): TreeRssSampler {
  let max = treeRssKiB(root);
  const timer = setInterval(() => {
    max = Math.max(max, treeRssKiB(root));
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return max;
    },
  };
}
