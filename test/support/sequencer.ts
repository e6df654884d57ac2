/**
 * The order test files start in: vitest's own (longest first, from the durations it cached on
 * this machine; larger files first in a fresh clone), except that the browser tests go first.
 * They are the longest files by far (a real `aixcl serve`, Chromium and screenshots); started
 * late, one ran alone for the last ~40 s of the suite while the other workers sat idle.
 */
import { BaseSequencer, type TestSpecification } from "vitest/node";

export default class BrowserFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const browser = (file: TestSpecification) => /[\\/]test[\\/]web[\\/]/.test(file.moduleId);
    return [...sorted.filter(browser), ...sorted.filter((file) => !browser(file))];
  }
}
