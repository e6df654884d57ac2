/**
 * The order test files start in: the browser tests first, then files that failed in vitest's
 * last run here, then the longest first. They are the longest files by far (a real
 * `aixcl serve`, Chromium and screenshots); started late, one ran alone for the last ~40 s of
 * the suite while the other workers sat idle.
 *
 * A file's duration is the one vitest cached in its last run on this machine, else the one in
 * file-durations.json (written by `npm run test:durations`). Without that file a fresh clone, CI's
 * case, has no durations and vitest starts the largest files first: full runs took 190.7 and
 * 195.2 s that way, against 170.5 and 180.4 s longest first, on the same machine and code. A file
 * missing from both (a new one) starts first, as vitest does with unknown files.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const recorded = JSON.parse(
  readFileSync(new URL("./file-durations.json", import.meta.url), "utf8"),
) as Record<string, number>;

export default class BrowserFirstSequencer extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const rank = (file: TestSpecification) => {
      const path = relative(root, file.moduleId).split("\\").join("/");
      const cached = this.ctx.cache.getFileTestResults(`${file.project.name}:${path}`);
      const seconds = cached ? cached.duration / 1000 : recorded[path];
      return {
        browser: path.startsWith("test/web/"),
        failed: cached?.failed === true,
        seconds: seconds ?? Number.MAX_SAFE_INTEGER,
      };
    };
    const ranked = files.map((file) => ({ file, ...rank(file) }));
    ranked.sort(
      (a, b) =>
        Number(b.browser) - Number(a.browser) || Number(b.failed) - Number(a.failed) || b.seconds - a.seconds,
    );
    return Promise.resolve(ranked.map(({ file }) => file));
  }
}
