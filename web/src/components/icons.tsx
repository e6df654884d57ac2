/** Small inline SVG icons (markup, not style: allowed by the CSP). Decorative: aria-hidden. */
import type { JSX } from "preact";

type IconProps = { name: keyof typeof PATHS };

const PATHS = {
  menu: "M4 6h16M4 12h16M4 18h16",
  plus: "M12 5v14M5 12h14",
  sun: "M12 3v2M12 19v2M5.6 5.6l1.4 1.4M17 17l1.4 1.4M3 12h2M19 12h2M5.6 18.4L7 17M17 7l1.4-1.4M12 8a4 4 0 100 8 4 4 0 000-8z",
  moon: "M20 14.5A8 8 0 019.5 4 8 8 0 1020 14.5z",
  settings: "M4 7h10M18 7h2M4 17h4M12 17h8M14 5v4M8 15v4",
  send: "M5 12h14M13 6l6 6-6 6",
  stop: "M7 7h10v10H7z",
  pin: "M9 4h6l-1 5 3 3v2H7v-2l3-3-1-5zM12 14v6",
  edit: "M4 20h4L19 9l-4-4L4 16v4zM14 6l4 4",
  trash: "M5 7h14M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
  refresh: "M20 12a8 8 0 11-2.3-5.7M20 4v5h-5",
  copy: "M9 9h10v11H9zM5 15V4h10",
  logout: "M15 12H4M8 8l-4 4 4 4M13 4h6v16h-6",
  close: "M6 6l12 12M18 6L6 18",
  user: "M12 12a4 4 0 100-8 4 4 0 000 8zM4 21a8 8 0 0116 0",
  left: "M15 6l-6 6 6 6",
  right: "M9 6l6 6-6 6",
};

export function Icon({ name }: IconProps): JSX.Element {
  return (
    <svg
      class="icon"
      viewBox="0 0 24 24"
      width="18"
      height="18"
      aria-hidden="true"
      fill="none"
      stroke="currentColor"
      stroke-width="1.8"
      stroke-linecap="round"
      stroke-linejoin="round"
    >
      <path d={PATHS[name]} />
    </svg>
  );
}
