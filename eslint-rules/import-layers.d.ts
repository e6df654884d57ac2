import type { ESLint, Linter } from "eslint";

export interface Layer {
  files?: string[];
  dirs?: string[];
  may: string[];
  entries?: Record<string, string[]>;
}

export const LAYERS: Record<string, Layer>;
export function layerOf(relative: string): string | undefined;
export const layersPlugin: ESLint.Plugin;
export const layersConfig: Linter.Config;
