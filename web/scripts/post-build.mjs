import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sourceHash } from "./source-hash.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
writeFileSync(join(root, "../src/claystack/web/SOURCE_HASH"), sourceHash(root) + "\n");
