// Refreshes the project's copy of the lme4 reference data and fits (test/fixtures/reference) from
// ../shared/reference when that folder exists; a fresh clone keeps the committed copy.
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const src = path.resolve(root, "../shared/reference");
const dst = path.join(root, "test/fixtures/reference");
if (!fs.existsSync(src)) {
  console.log(`no ${src}: keeping the committed copy in ${path.relative(root, dst)}`);
  process.exit(0);
}
let copied = 0;
for (const dir of ["data", "fits", "scripts"]) {
  fs.mkdirSync(path.join(dst, dir), { recursive: true });
  for (const f of fs.readdirSync(path.join(src, dir))) {
    fs.copyFileSync(path.join(src, dir, f), path.join(dst, dir, f));
    fs.chmodSync(path.join(dst, dir, f), 0o644);
    copied++;
  }
}
fs.copyFileSync(path.join(src, "README.md"), path.join(dst, "README.md"));
fs.chmodSync(path.join(dst, "README.md"), 0o644);
console.log(`copied ${copied + 1} files from ${src} to ${path.relative(root, dst)}`);
