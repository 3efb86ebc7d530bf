// @omnitron-mock/contracts: omnitron-mock's JSON Schemas, compiled with ajv.
//
// The JSON files of this package are the contracts; this module only loads
// them (read from the package's own folder, so it needs no bundler and no
// import attributes) and compiles them with ajv's JSON Schema 2020-12 build.
import { readdirSync, readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const SCHEMAS = new URL("./schemas/", import.meta.url);
const STRICT = new URL("./bundles/strict/", import.meta.url);

function readJson(url) {
  return JSON.parse(readFileSync(url, "utf8"));
}

function namesIn(folder) {
  return readdirSync(folder)
    .filter((file) => file.endsWith(".json"))
    .map((file) => file.slice(0, -".json".length))
    .sort();
}

function newAjv() {
  // allErrors: a consumer wants every mistake of a body, as the emulator's journal lists them.
  const ajv = new Ajv2020({ allErrors: true });
  addFormats(ajv);
  return ajv;
}

/** Every schema of schemas/, by contract name, as shipped. */
export const schemas = Object.freeze(
  Object.fromEntries(namesIn(SCHEMAS).map((name) => [name, readJson(new URL(`${name}.json`, SCHEMAS))])),
);

/** The contract names (the file names of schemas/ without .json). */
export const contractNames = Object.freeze(Object.keys(schemas));

/** One ajv instance holding every schema by its `$id`: references between them resolve. */
export const ajv = newAjv();
for (const schema of Object.values(schemas)) {
  ajv.addSchema(schema);
}

/** A compiled validator for each contract, by name. */
export const validators = Object.freeze(
  Object.fromEntries(contractNames.map((name) => [name, ajv.getSchema(schemas[name].$id)])),
);

/** The request contracts: those of the strict request profile, one bundle each in bundles/strict/. */
export const requestContracts = Object.freeze(namesIn(STRICT));

/**
 * The strict request profile: a validator for each request contract that
 * refuses fields the contract does not name (`unevaluatedProperties: false`),
 * compiled from bundles/strict/. Each bundle is self-contained and gets an
 * ajv instance of its own, so that no `$id` in it meets another bundle's.
 */
export const strictValidators = Object.freeze(
  Object.fromEntries(
    requestContracts.map((name) => [name, newAjv().compile(readJson(new URL(`${name}.json`, STRICT)))]),
  ),
);

/**
 * Check `body` against the named contract.
 *
 * Returns `{valid, errors, unknownFields}`: `valid` is the contract's verdict
 * (the strict profile's with `{strict: true}`), `errors` ajv's errors for that
 * verdict, and `unknownFields` the JSON paths (`$.orderitem_set[0].tracking_no`)
 * of the fields the contract does not name, in the order the body holds them,
 * whichever profile judged: the service ignores such fields, so a misspelt
 * one is lost without an error.
 */
export function validate(name, body, { strict = false } = {}) {
  const validator = validators[name];
  if (validator === undefined) {
    throw new RangeError(`unknown contract ${JSON.stringify(name)}; known: ${contractNames.join(", ")}`);
  }
  const strictValidator = strictValidators[name];
  if (strict && strictValidator === undefined) {
    throw new RangeError(`no strict profile for ${JSON.stringify(name)}: it covers ${requestContracts.join(", ")}`);
  }
  const judged = strict ? strictValidator : validator;
  const valid = judged(body);
  const errors = judged.errors ? [...judged.errors] : [];
  let unknownFields = [];
  if (strictValidator !== undefined) {
    const strictErrors = strict ? errors : strictValidator(body) ? [] : strictValidator.errors;
    unknownFields = unknownFieldsIn(body, strictErrors);
  }
  return { valid, errors, unknownFields };
}

function unknownFieldsIn(body, errors) {
  const found = new Set();
  for (const error of errors) {
    if (error.keyword === "unevaluatedProperties" || error.keyword === "additionalProperties") {
      const field = error.params.unevaluatedProperty ?? error.params.additionalProperty;
      found.add(`${jsonPath(body, error.instancePath)}.${field}`);
    }
  }
  return found.size > 1 ? inDocumentOrder(body, found) : [...found];
}

/** A JSON Pointer into `body` as a JSON path: `/orderitem_set/0` is `$.orderitem_set[0]`. */
function jsonPath(body, pointer) {
  let path = "$";
  let value = body;
  for (const raw of pointer.split("/").slice(1)) {
    const segment = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    path += Array.isArray(value) ? `[${segment}]` : `.${segment}`;
    value = value?.[segment];
  }
  return path;
}

function inDocumentOrder(body, paths) {
  const ordered = [];
  const walk = (value, path) => {
    if (paths.has(path)) ordered.push(path);
    if (Array.isArray(value)) {
      value.forEach((item, index) => walk(item, `${path}[${index}]`));
    } else if (value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) walk(item, `${path}.${key}`);
    }
  };
  walk(body, "$");
  return ordered;
}
