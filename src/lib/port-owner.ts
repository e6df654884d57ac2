/** Which process holds a TCP port: for a message that names it, not only the port. */
import { readdir, readFile, readlink } from "node:fs/promises";

/** The process listening on TCP `port` (Linux: /proc/net/tcp* and /proc/<pid>/fd), if visible. */
export async function listenerOf(port: number): Promise<{ pid: number; name: string } | undefined> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(table, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (local === undefined || fields[3] !== "0A") continue; // 0A: LISTEN
      if (parseInt(local.split(":")[1] ?? "", 16) === port && fields[9] !== undefined) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  const pids = await readdir("/proc").catch(() => []);
  for (const entry of pids) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => []);
    for (const fd of fds) {
      const link = await readlink(`/proc/${entry}/fd/${fd}`).catch(() => "");
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode !== undefined && inodes.has(inode)) {
        const name = (await readFile(`/proc/${entry}/comm`, "utf8").catch(() => "?")).trim();
        return { pid: Number(entry), name };
      }
    }
  }
  return undefined;
}
