import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The web app is built to `dist/` and served by `tessera serve` at `/`; in development, Vite proxies `/v1`. */
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/v1': 'http://127.0.0.1:8700' } },
});
