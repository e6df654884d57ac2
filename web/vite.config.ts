import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

// Built by `npm run build:web` (`vite build web`): the root is this folder, the output the
// package's dist/web, which the server serves (src/server/routes/web/static.ts).
export default defineConfig({
  plugins: [preact()],
  base: "/",
  build: {
    outDir: "../dist/web",
    emptyOutDir: true,
    assetsDir: "assets",
    // The CSP forbids inline script and style (and data: only for images): never inline assets.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022",
  },
  server: {
    // `vite web` during development: the API on aixcl's default port, same origin for cookies.
    proxy: { "/api": "http://127.0.0.1:11434" },
  },
});
