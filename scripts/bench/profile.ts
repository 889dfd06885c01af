// The top functions by self time in a V8 .cpuprofile (nodes, samples, timeDeltas), as written by
// `node --cpu-prof`. A sample's time is the delta to the next sample, as Chrome DevTools counts it.
// The profile is written when the gateway exits, so it is stopped (SIGTERM: graceful) before reading.
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stop } from './procs.ts';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  selfMs: number;
  /** Share of the non-idle time. */
  share: number;
  fn: string;
  where: string;
}

export function topSelfTime(file: string, n: number): { rows: ProfileRow[]; busyMs: number; idleMs: number } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const selfUs = new Map<string, { us: number; fn: string; where: string }>();
  let idleUs = 0;
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const f = frames.get(id);
    if (!f) return;
    if (f.functionName === '(idle)') {
      idleUs += us;
      return;
    }
    busyUs += us;
    const where = f.url === '' ? '' : `${location(f.url)}:${f.lineNumber + 1}`;
    const key = `${f.functionName}\u0000${where}`;
    const row = selfUs.get(key) ?? { us: 0, fn: f.functionName || '(anonymous)', where };
    row.us += us;
    selfUs.set(key, row);
  });
  const rows = [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, n)
    .map((r) => ({ selfMs: r.us / 1000, share: busyUs > 0 ? r.us / busyUs : 0, fn: r.fn, where: r.where }));
  return { rows, busyMs: busyUs / 1000, idleMs: idleUs / 1000 };
}

/** A project file relative to the working directory, node_modules shortened to the package path. */
function location(url: string): string {
  if (!url.startsWith('file://')) return url;
  const path = relative(process.cwd(), fileURLToPath(url));
  const nm = path.lastIndexOf('node_modules/');
  return nm >= 0 ? path.slice(nm) : path;
}

/** Stops the profiled gateway with SIGTERM (it shuts down gracefully and writes the profile) and summarizes the profile. */
export async function profileSummary(gateway: ChildProcess, profileDir: string): Promise<string> {
  const exit = await stop(gateway, 'SIGTERM', 30_000);
  let files: string[] = [];
  try {
    files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    /* no directory: no profile */
  }
  if (files.length === 0) return `no .cpuprofile in ${profileDir} (the gateway exited ${exit})\n`;
  const file = join(profileDir, files[0]!);
  const { rows, busyMs, idleMs } = topSelfTime(file, 25);
  const lines = [
    `gateway CPU profile: ${file}`,
    `  busy ${(busyMs / 1000).toFixed(1)} s, idle ${(idleMs / 1000).toFixed(1)} s (whole process life: start-up, checks, warm-up, every round); top 25 by self time:`,
    `  ${'self ms'.padStart(9)} ${'%busy'.padStart(6)}  function  (file:line)`,
    ...rows.map(
      (r) => `  ${r.selfMs.toFixed(0).padStart(9)} ${(r.share * 100).toFixed(1).padStart(6)}  ${r.fn}${r.where ? `  (${r.where})` : ''}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
