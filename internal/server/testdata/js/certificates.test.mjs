// The certificates API through @azure/keyvault-certificates: a self-signed certificate with
// the SDK's default policy whose linked secret serves TLS in Node, the soft-delete
// lifecycle through the pollers (certificate, key and secret together), backup and restore.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import tls from "node:tls";
import { once } from "node:events";
import { CertificateClient, DefaultCertificatePolicy } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import { credential, poll, rejectsWith, tamper, unique, vaultUrl } from "./env.mjs";

const client = new CertificateClient(vaultUrl, credential);
const secrets = new SecretClient(vaultUrl, credential);
const keys = new KeyClient(vaultUrl, credential);
const host = vaultUrl.replace(/\/$/, "");

// handshake serves TLS on loopback with pfx and connects to it trusting only cert; it
// answers the certificate the client saw.
async function handshake(pfx, cert) {
  const server = tls.createServer({ pfx }, (s) => s.end("hello"));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    const sock = tls.connect({
      host: "127.0.0.1", port: server.address().port, ca: cert.toString(),
      checkServerIdentity: () => undefined, // the default policy's subject is not a host name
    });
    await once(sock, "secureConnect");
    const peer = sock.getPeerX509Certificate();
    sock.destroy();
    return peer;
  } finally {
    server.close();
  }
}

test("beginCreateCertificate with the default policy; the linked secret loads into a TLS context", async () => {
  const name = unique("js-cert");
  const poller = await client.beginCreateCertificate(name, DefaultCertificatePolicy, poll);
  const created = await poller.pollUntilDone();
  assert.equal(created.name, name);
  assert.equal(created.properties.id, `${host}/certificates/${name}/${created.properties.version}`);
  assert.equal(created.policy.issuerName, "Self");
  assert.equal(created.policy.subject, "cn=MyCert");
  assert.equal(created.secretId, `${host}/secrets/${name}/${created.properties.version}`);
  assert.equal(created.keyId, `${host}/keys/${name}/${created.properties.version}`);

  const cert = new crypto.X509Certificate(Buffer.from(created.cer));
  assert.equal(cert.subject, "CN=MyCert");
  assert.equal(cert.issuer, "CN=MyCert");
  assert.ok(cert.verify(cert.publicKey), "self-signed");
  assert.deepEqual(Buffer.from(created.properties.x509Thumbprint), Buffer.from(cert.fingerprint.replaceAll(":", ""), "hex"));

  const secret = await secrets.getSecret(name);
  assert.equal(secret.properties.contentType, "application/x-pkcs12");
  assert.equal(secret.properties.managed, true);
  const pfx = Buffer.from(secret.value, "base64");
  const peer = await handshake(pfx, cert);
  assert.equal(peer.fingerprint256, cert.fingerprint256, "the TLS server presented the vault's certificate");

  // The certificate's key signs through the keys API, and the certificate verifies it.
  const key = await keys.getKey(name);
  assert.equal(key.properties.managed, true);
  assert.equal(key.properties.version, created.properties.version);

  const op = await client.getCertificateOperation(name);
  assert.equal(op.getOperationState().certificateOperation.status, "completed");
});

test("the soft-delete lifecycle takes the key and the secret with the certificate", async () => {
  const name = unique("js-cert-life");
  const created = await (await client.beginCreateCertificate(name, DefaultCertificatePolicy, poll)).pollUntilDone();

  const deleted = await (await client.beginDeleteCertificate(name, poll)).pollUntilDone();
  assert.equal(deleted.recoveryId, `${host}/deletedcertificates/${name}`);
  assert.ok(deleted.scheduledPurgeDate > deleted.deletedOn);
  await rejectsWith(client.getCertificate(name), 404, "CertificateNotFound");
  await rejectsWith(secrets.getSecret(name), 404, "SecretNotFound");
  await rejectsWith(keys.getKey(name), 404, "KeyNotFound");
  const conflict = await rejectsWith(client.beginCreateCertificate(name, DefaultCertificatePolicy, poll), 409, "Conflict");
  assert.match(conflict.message, /deleted but recoverable/);

  const listed = [];
  for await (const d of client.listDeletedCertificates()) {
    listed.push(d.name);
  }
  assert.ok(listed.includes(name));
  assert.equal((await client.getDeletedCertificate(name)).recoveryId, deleted.recoveryId);

  const recovered = await (await client.beginRecoverDeletedCertificate(name, poll)).pollUntilDone();
  assert.equal(recovered.properties.version, created.properties.version);
  assert.equal((await secrets.getSecret(name)).properties.version, created.properties.version);

  await (await client.beginDeleteCertificate(name, poll)).pollUntilDone();
  await client.purgeDeletedCertificate(name);
  await rejectsWith(client.getDeletedCertificate(name), 404, "CertificateNotFound");
  await rejectsWith(secrets.getDeletedSecret(name), 404, "SecretNotFound");
});

test("backup and restore; a tampered blob is refused", async () => {
  const name = unique("js-cert-backup");
  const created = await (await client.beginCreateCertificate(name, DefaultCertificatePolicy, poll)).pollUntilDone();
  const blob = await client.backupCertificate(name);
  await (await client.beginDeleteCertificate(name, poll)).pollUntilDone();
  await client.purgeDeletedCertificate(name);

  await rejectsWith(client.restoreCertificateBackup(tamper(blob)), 400, "BadParameter");
  await rejectsWith(client.getCertificate(name), 404, "CertificateNotFound");
  const restored = await client.restoreCertificateBackup(blob);
  assert.equal(restored.properties.version, created.properties.version);
  assert.deepEqual(Buffer.from(restored.cer), Buffer.from(created.cer));
  assert.equal((await secrets.getSecret(name)).properties.version, created.properties.version);
});

test("a managed secret cannot be changed directly", async () => {
  const name = unique("js-cert-managed");
  await (await client.beginCreateCertificate(name, DefaultCertificatePolicy, poll)).pollUntilDone();
  const err = await rejectsWith(secrets.beginDeleteSecret(name, poll), 403, "Forbidden");
  assert.match(err.message, new RegExp(`certificate ${name}`));
});
