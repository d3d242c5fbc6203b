import { defineConfig } from "vite";

// Served by the app under /console; every asset is bundled locally (no CDN, no web fonts).
export default defineConfig({
  base: "/console/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // No data: URIs: the Content-Security-Policy allows only files from this origin.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
  },
});
