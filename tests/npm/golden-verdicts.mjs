// Prints, as one JSON object, what the installed @omnitron-mock/contracts
// makes of every golden example it ships: keyed by the example's path under
// examples/, the normal contract's verdict, the strict profile's, and the
// unknown fields. tests/test_npm_package.py compares them with Python's.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { validate } from "@omnitron-mock/contracts";

const root = join(dirname(createRequire(import.meta.url).resolve("@omnitron-mock/contracts/package.json")), "examples");

function* files(folder) {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.name.endsWith(".json")) yield path;
  }
}

const verdicts = {};
for (const path of files(root)) {
  const example = JSON.parse(readFileSync(path, "utf8"));
  const normal = validate(example.contract, example.body);
  const strict = validate(example.contract, example.body, { strict: true });
  verdicts[relative(root, path).split("\\").join("/")] = {
    valid: normal.valid,
    strict_valid: strict.valid,
    unknown_fields: strict.unknownFields,
    errors: normal.errors.map((error) => `${error.instancePath || "/"} ${error.message}`),
  };
}
process.stdout.write(JSON.stringify(verdicts));
