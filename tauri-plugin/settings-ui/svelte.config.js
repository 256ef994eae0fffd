// Svelte compiler options: TypeScript in components via vite-plugin-svelte's preprocessor.
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte'

export default {
  preprocess: vitePreprocess(),
  compilerOptions: { runes: true }
}
