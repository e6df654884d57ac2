/**
 * What the app remembers in localStorage: the theme and the last model picked. Nothing secret
 * ever goes here (the session is an HttpOnly cookie the app never sees).
 */
const THEME_KEY = "aixcl.theme";
const MODEL_KEY = "aixcl.model";

export type ThemeChoice = "light" | "dark";

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    // Storage disabled (private mode, policy): the app works, it just forgets.
    return null;
  }
}

function write(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // see read()
  }
}

export function storedTheme(): ThemeChoice | null {
  const value = read(THEME_KEY);
  return value === "light" || value === "dark" ? value : null;
}

export const storeTheme = (theme: ThemeChoice) => write(THEME_KEY, theme);
export const storedModel = () => read(MODEL_KEY);
export const storeModel = (model: string) => write(MODEL_KEY, model);
