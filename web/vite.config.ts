import { resolve } from "node:path";
import { defineConfig } from "vite";

// Builds into the Python package, so `pip install claystack` ships the app without Node.
export default defineConfig({
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: resolve(import.meta.dirname, "../src/claystack/web"),
    emptyOutDir: true,
    assetsDir: "assets",
    chunkSizeWarningLimit: 4000,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: { index: resolve(import.meta.dirname, "index.html"), docs: resolve(import.meta.dirname, "docs.html") },
    },
  },
  server: { proxy: { "/v3": "http://127.0.0.1:8080", "/_claystack": "http://127.0.0.1:8080" } },
});
