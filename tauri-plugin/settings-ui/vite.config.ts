// Vitest browser mode: the tests render the real component in headless
// Chromium (Debian's package, found via CHROMIUM_PATH or /usr/bin/chromium;
// Playwright's own browser download is never used).
import { existsSync } from 'node:fs'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { playwright } from '@vitest/browser-playwright'
import { defineConfig } from 'vitest/config'

const executablePath =
  process.env.CHROMIUM_PATH ??
  ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))

export default defineConfig({
  plugins: [svelte()],
  resolve: {
    // One copy of the Tauri API for the bindings (linked from ../guest-js) and the tests' mocks.
    dedupe: ['@tauri-apps/api', 'svelte']
  },
  server: {
    // The linked bindings, and the README's screenshot folder the tests write to.
    fs: { allow: ['..', '../../docs/screenshots'] }
  },
  define: {
    // `npm run screenshots` (SCREENSHOTS=1) writes docs/screenshots/*.png.
    __SAVE_SCREENSHOTS__: JSON.stringify(process.env.SCREENSHOTS === '1')
  },
  test: {
    include: ['test/**/*.test.ts'],
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      provider: playwright({
        launchOptions: {
          ...(executablePath ? { executablePath } : {}),
          args: ['--no-sandbox']
        },
        // Fixed zone and language so times read the same on every machine.
        contextOptions: { timezoneId: 'UTC', locale: 'en-GB', viewport: { width: 1000, height: 1700 } }
      }),
      viewport: { width: 760, height: 1500 },
      instances: [{ browser: 'chromium' }]
    }
  }
})
