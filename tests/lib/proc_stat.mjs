// What a process costs, read from /proc: CPU time and resident memory. Linux only.
import fs from 'node:fs';

const ticksPerSecond = 100;  // USER_HZ: 100 on every Linux ABI Node runs on

// user + system CPU seconds the process has used so far; NaN once it is gone (a table
// then prints '-', a bound compared with it fails).
export function cpuSeconds(pid) {
  let stat;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return NaN;
  }
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;  // utime, stime (fields 14, 15)
}

// Resident set size in bytes (VmRSS).
export function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

// CPU seconds used during the next `ms` milliseconds.
export async function cpuOver(pid, ms) {
  const before = cpuSeconds(pid);
  await new Promise((r) => setTimeout(r, ms));
  return cpuSeconds(pid) - before;
}
