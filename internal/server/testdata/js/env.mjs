// What every test file shares: the server the Go test started, a credential made the way
// a user makes one from bootstrap-credentials.json, and helpers for expected failures.
//
// The Go test (TestJavaScriptSDK in internal/server) passes, by environment:
//   COFFER_CREDENTIALS          path of the server's bootstrap-credentials.json
//   COFFER_VAULT_URL            https://V.localhost:PORT/ of a vault without purge protection
//   COFFER_PROTECTED_VAULT_URL  the same for a vault with purge protection
//   COFFER_PROTECTED_LOCATION   that vault's ARM location
//   NODE_EXTRA_CA_CERTS         the server's CA certificate
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ClientSecretCredential } from "@azure/identity";
import { RestError } from "@azure/core-rest-pipeline";

function required(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: these tests run under the Go test TestJavaScriptSDK (internal/server)`);
  }
  return v;
}

export const creds = JSON.parse(readFileSync(required("COFFER_CREDENTIALS"), "utf8"));
export const vaultUrl = required("COFFER_VAULT_URL");
export const protectedVaultUrl = required("COFFER_PROTECTED_VAULT_URL");
export const protectedLocation = required("COFFER_PROTECTED_LOCATION");

// Instance discovery would ask login.microsoftonline.com about the authority; Coffer is
// its own authority.
export const credential = new ClientSecretCredential(creds.tenantId, creds.clientId, creds.clientSecret, {
  authorityHost: creds.authorityHost,
  disableInstanceDiscovery: true,
});

// Pollers check every 2 s by default; Coffer completes deletes and recoveries at once.
export const poll = { intervalInMs: 20 };

// unique returns a name no earlier run of a test in this server has used.
let counter = 0;
export function unique(prefix) {
  counter++;
  return `${prefix}-${process.pid}-${counter}`;
}

// rejectsWith asserts that promise fails with the SDK's RestError carrying status and
// code, and returns the error for further checks.
export async function rejectsWith(promise, statusCode, code) {
  let err;
  await assert.rejects(promise, (e) => {
    err = e;
    return true;
  });
  assert.ok(err instanceof RestError, `want a RestError, got ${err?.name}: ${err?.message}`);
  assert.equal(err.statusCode, statusCode, `status of ${err.message}`);
  assert.equal(err.code, code, `code of ${err.message}`);
  return err;
}

// tamper flips one byte in the middle of a backup blob.
export function tamper(blob) {
  const b = Buffer.from(blob);
  b[Math.floor(b.length / 2)] ^= 0x01;
  return new Uint8Array(b);
}
