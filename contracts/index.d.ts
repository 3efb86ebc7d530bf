// The module's exports (index.js). The contracts' own types (one per schema,
// StatusCode, ShippingCompany, CancelStatus, and ContractTypes mapping each
// contract name to its type) are generated into types/index.d.ts from the
// schemas, and re-exported here.
import type { Ajv2020, ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import type { ContractName, ContractTypes, RequestContractName } from "./types/index.js";

export * from "./types/index.js";

/** The request contracts: those of the strict request profile. */
export declare const requestContracts: readonly RequestContractName[];
/** Every contract: the file names of schemas/ without .json. */
export declare const contractNames: readonly ContractName[];

/** Every schema as shipped, by contract name. */
export declare const schemas: { readonly [Name in ContractName]: Readonly<Record<string, unknown>> };

/** The ajv instance holding every schema by its `$id`. */
export declare const ajv: Ajv2020;

/** A compiled validator for each contract: a type guard for the contract's type. */
export declare const validators: { readonly [Name in ContractName]: ValidateFunction<ContractTypes[Name]> };

/** The strict request profile (bundles/strict/): fields the contract does not name are errors. */
export declare const strictValidators: {
  readonly [Name in RequestContractName]: ValidateFunction<ContractTypes[Name]>;
};

export interface ValidateOptions {
  /** Judge with the strict request profile (request contracts only). */
  strict?: boolean;
}

export interface ValidationResult {
  /** The contract's verdict, or the strict profile's with `{ strict: true }`. */
  valid: boolean;
  /** ajv's errors for that verdict (empty when valid). */
  errors: ErrorObject[];
  /** JSON paths of the fields the contract does not name, e.g. `$.orderitem_set[0].tracking_no`. */
  unknownFields: string[];
}

/**
 * Check `body` against the named contract. Throws a RangeError for an unknown
 * name, and for `{ strict: true }` with a contract that is not a request.
 */
export declare function validate(name: ContractName, body: unknown, options?: ValidateOptions): ValidationResult;
