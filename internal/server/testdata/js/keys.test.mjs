// The keys API through @azure/keyvault-keys: creation of each key type, CryptographyClient
// sign/verify/encrypt/decrypt/wrap/unwrap (signatures checked with node:crypto both ways),
// the soft-delete lifecycle through the pollers, backup and restore.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";
import { credential, poll, rejectsWith, tamper, unique, vaultUrl } from "./env.mjs";

const client = new KeyClient(vaultUrl, credential);
const host = vaultUrl.replace(/\/$/, "");
const b64u = (u8) => Buffer.from(u8).toString("base64url");

// publicKey turns the SDK's JsonWebKey (byte arrays) into a node:crypto public key.
function publicKey(jwk) {
  if (jwk.kty.startsWith("RSA")) {
    return crypto.createPublicKey({ format: "jwk", key: { kty: "RSA", n: b64u(jwk.n), e: b64u(jwk.e) } });
  }
  return crypto.createPublicKey({ format: "jwk", key: { kty: "EC", crv: jwk.crv, x: b64u(jwk.x), y: b64u(jwk.y) } });
}

const sha256 = (data) => crypto.createHash("sha256").update(data).digest();

test("RSA: service signatures verify with node:crypto; local OAEP ciphertext decrypts in the service", async () => {
  const name = unique("js-rsa");
  const key = await client.createRsaKey(name, { keySize: 2048 });
  assert.equal(key.keyType, "RSA");
  assert.equal(key.id, `${host}/keys/${name}/${key.properties.version}`);
  assert.equal(key.key.n.length, 256);
  assert.equal(key.key.d, undefined, "private parts are never returned");
  const pub = publicKey(key.key);
  const cc = new CryptographyClient(key.id, credential);
  const data = Buffer.from("signed by Coffer, verified by node:crypto");

  const rs = await cc.sign("RS256", sha256(data));
  assert.equal(rs.keyID, key.id);
  assert.ok(crypto.verify("sha256", data, pub, Buffer.from(rs.result)), "RS256 signature verifies");
  const ps = await cc.signData("PS256", data);
  assert.ok(crypto.verify("sha256", data, { key: pub, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
    Buffer.from(ps.result)), "PS256 signature verifies");
  assert.equal((await cc.verifyData("RS256", data, rs.result)).result, true);
  assert.equal((await cc.verifyData("RS256", Buffer.from("other data"), rs.result)).result, false);

  // RSA-OAEP (SHA-1) encrypted by node:crypto, decrypted by the service.
  const secret = Buffer.from("a data key, 32 bytes long.......");
  const ct = crypto.publicEncrypt({ key: pub, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha1" }, secret);
  const pt = await cc.decrypt({ algorithm: "RSA-OAEP", ciphertext: ct });
  assert.deepEqual(Buffer.from(pt.result), secret);
  // RSA-OAEP-256 both ways through the service.
  const enc = await cc.encrypt({ algorithm: "RSA-OAEP-256", plaintext: secret });
  assert.deepEqual(Buffer.from((await cc.decrypt({ algorithm: "RSA-OAEP-256", ciphertext: enc.result })).result), secret);
  // Wrap and unwrap.
  const wrapped = await cc.wrapKey("RSA-OAEP-256", secret);
  assert.deepEqual(Buffer.from((await cc.unwrapKey("RSA-OAEP-256", wrapped.result)).result), secret);

  // Ciphertext that does not decrypt is a 400, not a 500.
  await rejectsWith(cc.decrypt({ algorithm: "RSA-OAEP", ciphertext: Buffer.alloc(256, 7) }), 400, "BadParameter");
});

test("EC: signatures checked by the service and by node:crypto", async () => {
  const name = unique("js-ec");
  const key = await client.createEcKey(name, { curve: "P-256" });
  assert.equal(key.keyType, "EC");
  assert.equal(key.key.crv, "P-256");
  const pub = publicKey(key.key);
  const cc = new CryptographyClient(key.id, credential);
  const data = Buffer.from("an EC message");

  const sig = await cc.signData("ES256", data);
  assert.equal(sig.result.length, 64, "ES256 signatures are r || s");
  assert.ok(crypto.verify("sha256", data, { key: pub, dsaEncoding: "ieee-p1363" }, Buffer.from(sig.result)));
  // No local EC provider in the SDK: verify goes to the service.
  assert.equal((await cc.verifyData("ES256", data, sig.result)).result, true);
  assert.equal((await cc.verify("ES256", sha256(Buffer.from("tampered")), sig.result)).result, false);

  // A signature made by node:crypto with another key does not verify; wrong digest sizes are refused.
  const other = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const foreign = crypto.sign("sha256", data, { key: other.privateKey, dsaEncoding: "ieee-p1363" });
  assert.equal((await cc.verifyData("ES256", data, foreign)).result, false);
  await rejectsWith(cc.sign("ES256", Buffer.alloc(20)), 400, "BadParameter");
});

test("oct: AES key wrap and AES-GCM through the service", async () => {
  const name = unique("js-oct");
  const key = await client.createOctKey(name, { keySize: 256 });
  assert.equal(key.keyType, "oct");
  const cc = new CryptographyClient(key.id, credential);
  const cek = crypto.randomBytes(32);
  const wrapped = await cc.wrapKey("A256KW", cek);
  assert.equal(wrapped.result.length, 40);
  assert.deepEqual(Buffer.from((await cc.unwrapKey("A256KW", wrapped.result)).result), cek);

  const aad = Buffer.from("header");
  const enc = await cc.encrypt({ algorithm: "A256GCM", plaintext: Buffer.from("gcm plaintext"), additionalAuthenticatedData: aad });
  assert.ok(enc.iv && enc.authenticationTag, "GCM answers an iv and a tag");
  const dec = await cc.decrypt({
    algorithm: "A256GCM", ciphertext: enc.result, iv: enc.iv, authenticationTag: enc.authenticationTag, additionalAuthenticatedData: aad,
  });
  assert.equal(Buffer.from(dec.result).toString(), "gcm plaintext");
});

test("key operations outside keyOps are refused by the service", async () => {
  const name = unique("js-keyops");
  const key = await client.createRsaKey(name, { keySize: 2048 });
  const cc = new CryptographyClient(key.id, credential);
  await cc.signData("RS256", Buffer.from("x")); // the client now holds the key with every operation
  // Narrowed after the client read the key, so the client's own check passes and the
  // service must refuse.
  const narrowed = await client.updateKeyProperties(name, key.properties.version, { keyOps: ["sign", "verify"] });
  assert.deepEqual(narrowed.keyOperations.sort(), ["sign", "verify"]);
  const err = await rejectsWith(cc.decrypt({ algorithm: "RSA-OAEP-256", ciphertext: Buffer.alloc(256, 1) }), 403, "Forbidden");
  assert.match(err.message, /decrypt/);
});

test("the soft-delete lifecycle, backup and restore", async () => {
  const name = unique("js-key-life");
  const v1 = await client.createEcKey(name, { curve: "P-384", tags: { a: "1" } });
  const v2 = await client.rotateKey(name);
  assert.notEqual(v2.properties.version, v1.properties.version);
  const versions = [];
  for await (const p of client.listPropertiesOfKeyVersions(name)) {
    versions.push(p.version);
  }
  assert.deepEqual(versions.sort(), [v1.properties.version, v2.properties.version].sort());

  const updated = await client.updateKeyProperties(name, v1.properties.version, { enabled: false, tags: { a: "2" } });
  assert.equal(updated.properties.enabled, false);
  assert.deepEqual(updated.properties.tags, { a: "2" });

  const blob = await client.backupKey(name);
  const deleted = await (await client.beginDeleteKey(name, poll)).pollUntilDone();
  assert.equal(deleted.properties.recoveryId, `${host}/deletedkeys/${name}`);
  assert.ok(deleted.properties.scheduledPurgeDate > deleted.properties.deletedOn);
  await rejectsWith(client.getKey(name), 404, "KeyNotFound");
  const conflict = await rejectsWith(client.createEcKey(name), 409, "Conflict");
  assert.match(conflict.message, /deleted but recoverable/);

  const listed = [];
  for await (const d of client.listDeletedKeys()) {
    listed.push(d.name);
  }
  assert.ok(listed.includes(name));

  const recovered = await (await client.beginRecoverDeletedKey(name, poll)).pollUntilDone();
  assert.equal(recovered.properties.version, v2.properties.version);
  assert.equal((await client.getKey(name, { version: v1.properties.version })).properties.enabled, false);

  await (await client.beginDeleteKey(name, poll)).pollUntilDone();
  await client.purgeDeletedKey(name);
  await rejectsWith(client.getDeletedKey(name), 404, "KeyNotFound");

  await rejectsWith(client.restoreKeyBackup(tamper(blob)), 400, "BadParameter");
  await rejectsWith(client.getKey(name), 404, "KeyNotFound");
  const restored = await client.restoreKeyBackup(blob);
  assert.equal(restored.properties.version, v2.properties.version);
  assert.deepEqual(restored.key.x, v2.key.x, "the same key material comes back");
});

test("random bytes", async () => {
  const r = await client.getRandomBytes(32);
  assert.equal(r.length, 32);
});
