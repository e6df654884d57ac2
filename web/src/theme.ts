import { useEffect, useState } from "preact/hooks";
import { storedTheme, storeTheme, type ThemeChoice } from "./preferences";

const darkQuery = () => matchMedia("(prefers-color-scheme: dark)");

const resolve = (chosen: ThemeChoice | null, systemDark: boolean): ThemeChoice =>
  chosen ?? (systemDark ? "dark" : "light");

/** Sets the theme on <html> before the first render, so a dark system never flashes light. */
export function applyInitialTheme(): void {
  document.documentElement.dataset.theme = resolve(storedTheme(), darkQuery().matches);
}

/** The theme: the user's stored choice, else the system's (followed live until they choose). */
export function useTheme(): { theme: ThemeChoice; toggle: () => void } {
  const [chosen, setChosen] = useState<ThemeChoice | null>(storedTheme);
  const [systemDark, setSystemDark] = useState(() => darkQuery().matches);
  useEffect(() => {
    const query = darkQuery();
    const update = () => setSystemDark(query.matches);
    query.addEventListener("change", update);
    return () => query.removeEventListener("change", update);
  }, []);
  const theme = resolve(chosen, systemDark);
  useEffect(() => {
    // A class on <html>, not a style attribute: the CSP allows no inline style.
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  const toggle = () => {
    const next = theme === "dark" ? "light" : "dark";
    storeTheme(next);
    setChosen(next);
  };
  return { theme, toggle };
}
