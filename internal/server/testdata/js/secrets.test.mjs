// The secrets API through @azure/keyvault-secrets with the SDK's defaults: the soft-delete
// lifecycle through the pollers, paging, versions, updates, backup and restore, and the
// errors a user's program sees.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SecretClient } from "@azure/keyvault-secrets";
import {
  credential, poll, protectedLocation, protectedVaultUrl, rejectsWith, tamper, unique, vaultUrl,
} from "./env.mjs";

const client = new SecretClient(vaultUrl, credential);
const host = vaultUrl.replace(/\/$/, "");

test("set, get, versions and updateSecretProperties", async () => {
  const name = unique("js-secret");
  const v1 = await client.setSecret(name, "value-1", { contentType: "text/plain", tags: { team: "a" } });
  assert.equal(v1.value, "value-1");
  assert.equal(v1.properties.contentType, "text/plain");
  assert.deepEqual(v1.properties.tags, { team: "a" });
  assert.equal(v1.properties.recoveryLevel, "Recoverable+Purgeable");
  assert.match(v1.properties.version, /^[0-9a-f]{32}$/);
  assert.equal(v1.properties.id, `${host}/secrets/${name}/${v1.properties.version}`);
  assert.equal(v1.properties.vaultUrl, host);
  const v2 = await client.setSecret(name, "value-2");

  assert.equal((await client.getSecret(name)).value, "value-2");
  assert.equal((await client.getSecret(name, { version: v1.properties.version })).value, "value-1");

  const versions = [];
  for await (const p of client.listPropertiesOfSecretVersions(name)) {
    versions.push(p.version);
  }
  assert.deepEqual(versions.sort(), [v1.properties.version, v2.properties.version].sort());

  const expiresOn = new Date(Date.now() + 3600_000);
  expiresOn.setMilliseconds(0);
  const updated = await client.updateSecretProperties(name, v1.properties.version, {
    enabled: false, contentType: "application/json", tags: { team: "b" }, expiresOn,
  });
  assert.equal(updated.enabled, false);
  assert.equal(updated.contentType, "application/json");
  assert.deepEqual(updated.tags, { team: "b" });
  assert.equal(updated.expiresOn.getTime(), expiresOn.getTime());

  // A disabled version is refused by name; the latest is untouched.
  const err = await rejectsWith(client.getSecret(name, { version: v1.properties.version }), 403, "Forbidden");
  assert.match(err.message, /disabled/);
  assert.equal((await client.getSecret(name)).value, "value-2");
});

test("the soft-delete lifecycle through the pollers", async () => {
  const name = unique("js-lifecycle");
  const v1 = await client.setSecret(name, "first");
  const v2 = await client.setSecret(name, "second");

  const delPoller = await client.beginDeleteSecret(name, poll);
  const deleted = await delPoller.pollUntilDone();
  assert.equal(deleted.name, name);
  assert.equal(deleted.recoveryId, `${host}/deletedsecrets/${name}`);
  assert.ok(deleted.deletedOn instanceof Date);
  const retention = deleted.scheduledPurgeDate.getTime() - deleted.deletedOn.getTime();
  assert.equal(retention, 90 * 24 * 3600_000, "the default vault keeps deleted objects 90 days");
  assert.ok(Math.abs(deleted.deletedOn.getTime() - Date.now()) < 5 * 60_000);

  // Deleted: reads answer 404, the name is reserved, and it is listed as deleted.
  const notFound = await rejectsWith(client.getSecret(name), 404, "SecretNotFound");
  assert.match(notFound.message, new RegExp(name));
  const conflict = await rejectsWith(client.setSecret(name, "third"), 409, "Conflict");
  assert.match(conflict.message, /deleted but recoverable/);
  assert.match(conflict.message, /recover/i);
  assert.match(conflict.message, /purge/i);
  assert.ok(conflict.message.includes(deleted.scheduledPurgeDate.toISOString().replace(".000Z", "Z")),
    `the 409 says when the secret will be purged: ${conflict.message}`);
  assert.doesNotMatch(conflict.message, /\/deletedsecrets|coffer |\.md\b/, "the message assumes no client");

  const listed = [];
  for await (const d of client.listDeletedSecrets()) {
    listed.push(d.name);
  }
  assert.ok(listed.includes(name), `listDeletedSecrets holds ${name}`);
  const got = await client.getDeletedSecret(name);
  assert.equal(got.recoveryId, deleted.recoveryId);
  assert.equal(got.scheduledPurgeDate.getTime(), deleted.scheduledPurgeDate.getTime());

  // Recover brings back every version with its id and value.
  const recPoller = await client.beginRecoverDeletedSecret(name, poll);
  const recovered = await recPoller.pollUntilDone();
  assert.equal(recovered.name, name);
  assert.equal(recovered.version, v2.properties.version);
  assert.equal((await client.getSecret(name)).value, "second");
  assert.equal((await client.getSecret(name, { version: v1.properties.version })).value, "first");
  await rejectsWith(client.getDeletedSecret(name), 404, "SecretNotFound");

  // Purge removes it for good and frees the name.
  await (await client.beginDeleteSecret(name, poll)).pollUntilDone();
  await client.purgeDeletedSecret(name);
  await rejectsWith(client.getDeletedSecret(name), 404, "SecretNotFound");
  await rejectsWith(client.purgeDeletedSecret(name), 404, "SecretNotFound");
  const again = await client.setSecret(name, "fresh");
  assert.notEqual(again.properties.version, v2.properties.version);
});

test("paging with byPage({ maxPageSize })", async () => {
  const prefix = unique("js-page");
  const names = [];
  for (let i = 0; i < 7; i++) {
    names.push(`${prefix}-${i}`);
  }
  await Promise.all(names.map((n) => client.setSecret(n, "x")));

  const seen = [];
  let pages = 0;
  for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 2 })) {
    assert.ok(page.length <= 2, `a page holds at most 2 items, got ${page.length}`);
    pages++;
    seen.push(...page.map((p) => p.name));
  }
  for (const n of names) {
    assert.ok(seen.includes(n), `${n} listed`);
  }
  assert.equal(new Set(seen).size, seen.length, "no item listed twice");
  assert.ok(pages >= 4, `7+ secrets in pages of 2 take 4+ pages, got ${pages}`);

  // Deleted secrets page the same way.
  await Promise.all(names.map(async (n) => (await client.beginDeleteSecret(n, poll)).pollUntilDone()));
  const deleted = [];
  for await (const page of client.listDeletedSecrets().byPage({ maxPageSize: 3 })) {
    assert.ok(page.length <= 3);
    deleted.push(...page.map((d) => d.name));
  }
  for (const n of names) {
    assert.ok(deleted.includes(n), `${n} listed as deleted`);
  }
});

test("backup and restore; a tampered blob is refused", async () => {
  const name = unique("js-backup");
  const v1 = await client.setSecret(name, "one");
  await client.setSecret(name, "two");
  const blob = await client.backupSecret(name);
  assert.ok(blob instanceof Uint8Array && blob.length > 0);

  // The name is taken while the secret lives.
  await rejectsWith(client.restoreSecretBackup(blob), 409, "Conflict");

  await (await client.beginDeleteSecret(name, poll)).pollUntilDone();
  await client.purgeDeletedSecret(name);

  const bad = await rejectsWith(client.restoreSecretBackup(tamper(blob)), 400, "BadParameter");
  assert.match(bad.message, /backup/i);
  await rejectsWith(client.restoreSecretBackup(blob.subarray(0, blob.length - 10)), 400, "BadParameter");
  await rejectsWith(client.getSecret(name), 404, "SecretNotFound");

  const restored = await client.restoreSecretBackup(blob);
  assert.equal(restored.name, name);
  assert.equal((await client.getSecret(name)).value, "two");
  assert.equal((await client.getSecret(name, { version: v1.properties.version })).value, "one");
});

test("purge protection refuses the purge and names the vault's location", async () => {
  const prot = new SecretClient(protectedVaultUrl, credential);
  const name = unique("js-protected");
  await prot.setSecret(name, "keep");
  const deleted = await (await prot.beginDeleteSecret(name, poll)).pollUntilDone();
  // Purge protection with a retention under 90 days, as Azure names it.
  assert.equal(deleted.properties.recoveryLevel, "CustomizedRecoverable");
  const err = await rejectsWith(prot.purgeDeletedSecret(name), 403, "Forbidden");
  assert.match(err.message, /purge protection/);
  assert.ok(err.message.includes(`location=${protectedLocation}`), `the message names location ${protectedLocation}: ${err.message}`);
  // Nothing changed: still deleted and recoverable.
  await (await prot.beginRecoverDeletedSecret(name, poll)).pollUntilDone();
  assert.equal((await prot.getSecret(name)).value, "keep");
});

test("bad input gets an Azure-shaped error and changes nothing", async () => {
  await rejectsWith(client.setSecret("bad_name!", "x"), 400, "BadParameter");
  await rejectsWith(client.getSecret(unique("js-missing")), 404, "SecretNotFound");
  await rejectsWith(client.updateSecretProperties(unique("js-missing"), "0".repeat(32), { enabled: true }), 404, "SecretNotFound");
});
