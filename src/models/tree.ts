/**
 * The manifests tree: `manifests/<host>/<ns>/<model>/<tag>`. Lookups are case-insensitive (Ollama
 * compares names with EqualFold) while the on-disk spelling is kept, so `TINY` finds `tiny:latest`
 * on a case-sensitive file system too.
 */
import { rmdir } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { dirEntries } from "../lib/files.js";
import { manifestDigests, readManifestFile } from "./manifest.js";
import { manifestPath } from "./names.js";
import type { ModelName } from "./types.js";

function manifestsDir(root: string): string {
  return join(resolve(root), "manifests");
}

export interface ResolvedManifest {
  /** The name as spelled on disk. */
  name: ModelName;
  path: string;
}

/** Finds the manifest of `name`: exact spelling first, else the one equal ignoring case. */
export async function resolveManifest(root: string, name: ModelName): Promise<ResolvedManifest | undefined> {
  const wanted = [name.host, name.namespace, name.model, name.tag];
  const found: string[] = [];
  let dir = manifestsDir(root);
  for (let level = 0; level < wanted.length; level++) {
    const part = wanted[level] as string;
    const last = level === wanted.length - 1;
    const list = (await dirEntries(dir)).filter((e) => (last ? e.isFile() : e.isDirectory()));
    const match =
      list.find((e) => e.name === part) ?? list.find((e) => e.name.toLowerCase() === part.toLowerCase());
    if (!match) return undefined;
    found.push(match.name);
    dir = join(dir, match.name);
  }
  const [host, namespace, model, tag] = found as [string, string, string, string];
  const onDisk = { host, namespace, model, tag };
  // Re-derive the path through manifestPath so its checks apply to the on-disk spelling too.
  return { name: onDisk, path: manifestPath(root, onDisk) };
}

export interface ManifestEntry {
  /** The four path parts under `manifests/` (not yet validated as a name). */
  parts: [string, string, string, string];
  path: string;
}

/** Every regular file exactly four levels under `manifests/` (Ollama's `*\/*\/*\/*` glob). */
export async function walkManifests(root: string): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  const visit = async (dir: string, parts: string[]): Promise<void> => {
    const list = await dirEntries(dir);
    await Promise.all(
      list.map(async (entry) => {
        const path = join(dir, entry.name);
        if (parts.length === 3) {
          if (entry.isFile()) {
            out.push({ parts: [...parts, entry.name] as ManifestEntry["parts"], path });
          }
        } else if (entry.isDirectory()) {
          await visit(path, [...parts, entry.name]);
        }
      }),
    );
  };
  await visit(manifestsDir(root), []);
  return out;
}

/**
 * Digests referenced by every readable manifest file, whatever its name (a file we would not list
 * may still be Ollama's, and its blobs must survive). Unreadable files reference nothing.
 */
export async function referencedDigests(root: string): Promise<Set<string>> {
  const used = new Set<string>();
  const files = await walkManifests(root);
  await Promise.all(
    files.map(async ({ path }) => {
      try {
        for (const d of manifestDigests((await readManifestFile(path)).manifest)) used.add(d);
      } catch {
        // Unreadable or invalid: it protects no blob (as in Ollama's Manifests(continueOnError)).
      }
    }),
  );
  return used;
}

/** Removes the now-empty directories above a deleted manifest, stopping at `manifests/`. */
export async function pruneEmptyParents(root: string, manifestFile: string): Promise<void> {
  const top = manifestsDir(root);
  let dir = dirname(manifestFile);
  while (dir.startsWith(top + sep) && dir !== top) {
    try {
      await rmdir(dir);
    } catch {
      return; // not empty (or already gone): the directories above are in use too
    }
    dir = dirname(dir);
  }
}
