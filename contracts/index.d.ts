// The module's exports (index.js). The contracts' own types (one per schema,
// StatusCode, ShippingCompany, CancelStatus) are generated into types/index.d.ts
// from the schemas and re-exported here.
import type { Ajv2020, ErrorObject, ValidateFunction } from "ajv/dist/2020.js";

export * from "./types/index.js";

/** The contracts a client sends as a request body: the ones the strict profile covers. */
export type RequestContractName =
  | "bulk-status-update-request"
  | "login-request"
  | "order-update-request"
  | "order-item-update-request"
  | "create-mapping-request";

/** Every contract: the file names of schemas/ without .json. */
export type ContractName =
  | RequestContractName
  | "active-user"
  | "address"
  | "bulk-status-update-error-response"
  | "bulk-status-update-response"
  | "cancel-status"
  | "customer"
  | "detail-error"
  | "fault"
  | "field-errors"
  | "login-response"
  | "mapping"
  | "order"
  | "order-item"
  | "order-item-page"
  | "order-item-status"
  | "order-page"
  | "seed"
  | "shipping-company";

export declare const requestContracts: readonly RequestContractName[];
export declare const contractNames: readonly ContractName[];

/** Every schema as shipped, by contract name. */
export declare const schemas: Readonly<Record<ContractName, Readonly<Record<string, unknown>>>>;

/** The ajv instance holding every schema by its `$id`. */
export declare const ajv: Ajv2020;

/** A compiled validator for each contract. */
export declare const validators: Readonly<Record<ContractName, ValidateFunction>>;

/** The strict request profile: unknown fields are errors (`unevaluatedProperties: false`). */
export declare const strictValidators: Readonly<Record<RequestContractName, ValidateFunction>>;

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

/** Check `body` against the named contract. Throws a RangeError for an unknown name. */
export declare function validate(name: ContractName, body: unknown, options?: ValidateOptions): ValidationResult;
