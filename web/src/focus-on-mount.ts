/**
 * Ref callbacks that focus an element when it appears. The `autofocus` attribute is honoured only
 * as a page loads: a rename field or a confirmation shown later would leave the focus on <body>,
 * and a keyboard user would have to Tab from the top of the page to reach it. Module-level
 * functions, so Preact calls them once per mount, not at every render.
 */
export const focusOnMount = (element: HTMLElement | null): void => element?.focus();

/** Focuses a text field and selects its text (a rename: typing replaces the old title). */
export const selectOnMount = (element: HTMLInputElement | HTMLTextAreaElement | null): void => {
  element?.focus();
  element?.select();
};
