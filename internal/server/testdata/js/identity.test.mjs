// Signing in as a Node.js program does: @azure/identity's ClientSecretCredential against
// Coffer's authority, and Coffer's tokens verified with node:crypto against the JWKS its
// discovery documents publish.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { ClientSecretCredential } from "@azure/identity";
import { creds, credential } from "./env.mjs";

const authority = creds.authorityHost.replace(/\/$/, "");

async function getJSON(url) {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  assert.match(res.headers.get("content-type"), /^application\/json/);
  return res.json();
}

// verifyJWT checks an ES256 JWT against a JWKS and returns its claims.
function verifyJWT(token, jwks) {
  const [h, p, s] = token.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url"));
  assert.equal(header.alg, "ES256");
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `the JWKS holds the token's kid ${header.kid}`);
  const key = crypto.createPublicKey({ format: "jwk", key: jwk });
  const ok = crypto.verify("sha256", Buffer.from(`${h}.${p}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"));
  assert.ok(ok, "the token's signature verifies against the JWKS");
  return JSON.parse(Buffer.from(p, "base64url"));
}

for (const form of ["v2", "adfs"]) {
  test(`the ${form} discovery document names a JWKS that verifies Coffer's tokens`, async () => {
    const path = form === "v2" ? `/${creds.tenantId}/v2.0/.well-known/openid-configuration` : "/adfs/.well-known/openid-configuration";
    const doc = await getJSON(authority + path);
    for (const member of ["issuer", "token_endpoint", "authorization_endpoint", "jwks_uri"]) {
      assert.ok(typeof doc[member] === "string" && doc[member].startsWith(authority + "/"), `${member}: ${doc[member]}`);
    }
    const jwks = await getJSON(doc.jwks_uri);
    assert.ok(jwks.keys.length > 0);
    for (const k of jwks.keys) {
      assert.equal(k.kty, "EC");
      assert.equal(k.d, undefined, "public keys only");
    }

    const { token } = await credential.getToken("https://vault.azure.net/.default");
    const claims = verifyJWT(token, jwks);
    assert.equal(claims.tid, creds.tenantId);
    assert.equal(claims.appid, creds.clientId);
    assert.ok(claims.exp * 1000 > Date.now());
  });
}

test("a wrong client secret is refused with the identity library's own error", async () => {
  const wrong = new ClientSecretCredential(creds.tenantId, creds.clientId, "not-the-secret", {
    authorityHost: creds.authorityHost, disableInstanceDiscovery: true,
  });
  await assert.rejects(wrong.getToken("https://vault.azure.net/.default"), (e) => {
    // MSAL's server error, which @azure/identity wraps as it does for Microsoft Entra ID.
    assert.equal(e.name, "AuthenticationRequiredError");
    assert.match(e.message, /invalid_client/);
    assert.match(e.message, /AADSTS7000215/);
    return true;
  });
});
