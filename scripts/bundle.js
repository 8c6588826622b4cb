// The CLI as one module graph, for bin/sluice.js: Node's ESM loader resolves, reads and compiles each module a run
// loads on its own (about 270 for a CSV → PostgreSQL run, 95 of them zod's), which cost a third of a second at every
// start. Bundled, `sluice` starts about 95 ms sooner. Runs after tsc, from its output: the tests and the library
// entry (dist/src/index.js) use that output directly; only the CLI's entry points are bundled. Connectors the
// CLI imports on demand become chunks, loaded on demand still. Packages with native addons stay outside.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

// node-postgres asks whether it runs on Cloudflare Workers when it is loaded, and part of the question is
// `typeof Response` and `new Response(…)`: on Node 20 that loads Node's own copy of undici, about 45 ms of every
// start, for a runtime the CLI never runs on. The bundled CLI answers no. The build fails if pg's code changes shape.
const nodeOnlyPg = {
  name: 'node-only-pg',
  setup(b) {
    b.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const asked = 'if (isCloudflareRuntime()) {';
      if (!text.includes(asked)) throw new Error(`${args.path}: no "${asked}" to answer; see scripts/bundle.js`);
      return { contents: text.replace(asked, 'if (false) {'), loader: 'js' };
    });
  },
};

// zod's namespace carries every locale's messages (`z.locales`, ~45 modules); errors use English, which zod sets
// from its own `en` module, so the namespace keeps English only: ~45 modules fewer to compile at every start.
const englishOnlyZod = {
  name: 'english-only-zod',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
      contents: 'export { default as en } from "./en.js";',
      loader: 'js',
    }));
  },
};

// Old chunks have other names: start empty.
rmSync('dist/bundle', { recursive: true, force: true });
await build({
  // `sluice serve`'s run threads start run-thread.js beside the module that starts them (new URL('./run-thread.js',
  // import.meta.url)): in the bundle, that module is a chunk of this same folder.
  entryPoints: {
    main: 'dist/src/cli/main.js',
    heap: 'dist/src/cli/heap.js',
    'run-thread': 'dist/src/orchestrate/run-thread.js',
  },
  // The same depth as dist/src/cli/, where main.js finds ../../../package.json.
  outdir: 'dist/bundle/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The AWS SDK stays outside too: only pipelines with s3:// paths load it, and Node's own loader gives its dual
  // CommonJS/ESM packages the named exports the code imports.
  external: ['better-sqlite3', 'better-sqlite3-napi', '@duckdb/node-api', 'pg-native', '@aws-sdk/*'],
  // Bundled CommonJS packages call require(); in an ES module it has to be made.
  banner: { js: "import { createRequire as __sluiceRequire } from 'node:module'; const require = __sluiceRequire(import.meta.url);" },
  plugins: [nodeOnlyPg, englishOnlyZod],
  // Less text for V8 to scan at every start (~30 ms); names stay, so stack traces still say which function.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
