#!/usr/bin/env node
// campanile-js-build: builds a JavaScript or TypeScript routing plugin into a component.
//
//   campanile-js-build src/router.ts [out.wasm]   the component (default: dist/router.wasm)
//   campanile-js-build --test src/router.test.ts  the test, bundled for `node --test dist/`
//
// The plugin is bundled with the SDK by esbuild (which also strips TypeScript's types), the SDK's
// host functions swapped for the component's (condition "campanile-component"), then made a
// component by componentize-js for the world `router` of the SDK's copy of wit/router.wit, with
// every capability campanile refuses disabled (-d http -d fetch-event). Both tools are pinned in
// the lock file; nothing is downloaded, and no AOT step runs.

import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";

const sdk = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const WIT = join(sdk, "wit", "router.wit");
/** The WASI features campanile does not link: without this, the component imports wasi:http. */
const DISABLED = ["http", "fetch-event"];

const args = process.argv.slice(2);
const testing = args[0] === "--test";
const [source, output] = testing ? args.slice(1) : args;
if (!source) {
  console.error("usage: campanile-js-build SOURCE [OUT.wasm] | campanile-js-build --test TEST");
  process.exit(2);
}
const stem = basename(source, extname(source));

if (testing) {
  await build({
    entryPoints: [source],
    bundle: true,
    format: "esm",
    platform: "node",
    packages: "external",
    outfile: join("dist", `${stem}.mjs`),
    logLevel: "warning",
  });
  process.exit(0);
}

const out = resolve(output ?? join("dist", `${stem}.wasm`));
const work = await mkdtemp(join(tmpdir(), "campanile-js-build-"));
try {
  const entry = join(work, "entry.js");
  await writeFile(
    entry,
    `import ${JSON.stringify(resolve(source))};\n` +
      `export { route, identity } from ${JSON.stringify(join(sdk, "src", "exports.js"))};\n`,
  );
  const bundle = join(work, "plugin.js");
  await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["campanile-component"],
    mainFields: ["module", "main"],
    external: ["campanile:router/*"],
    target: "es2022",
    outfile: bundle,
    logLevel: "warning",
  });
  const { componentize } = await import("@bytecodealliance/componentize-js");
  const { component } = await componentize({
    sourcePath: bundle,
    // The WIT as text: componentize-js's WebAssembly WIT reader cannot open every path.
    witWorld: await readFile(WIT, "utf8"),
    worldName: "router",
    disableFeatures: DISABLED,
  });
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, component);
  console.log(`${source}: built ${out} (${component.length} bytes); check it with: campanile plugin check ${out}`);
} finally {
  await rm(work, { recursive: true, force: true });
}
