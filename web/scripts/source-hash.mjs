// The hash of the web app's sources; scripts/build-web writes it next to the build and
// tests/test_web_build.py recomputes it (same rule) to catch a stale committed build.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export const SOURCES = ["index.html", "docs.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "src"];

function walk(root, path, out) {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path)) walk(root, join(path, name), out);
  } else out.push(relative(root, path).split("\\").join("/"));
}

export function sourceHash(root) {
  const files = [];
  for (const entry of SOURCES) walk(root, join(root, entry), files);
  files.sort();
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(file + "\0");
    hash.update(readFileSync(join(root, file)));
    hash.update("\0");
  }
  return hash.digest("hex");
}
