// A relying party built on openid-client (OpenID Certified) against a running HK ID:
// discovery, PKCE + state + nonce, login through the real form, RFC 9207 `iss`
// check, code exchange with ID-token validation, userinfo, refresh, and
// RP-initiated logout. Any deviation from the specs makes the library throw.
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, EMAIL, PASSWORD.
import * as oidc from 'openid-client';
import assert from 'node:assert/strict';

const { ISSUER, CLIENT_ID, CLIENT_SECRET, EMAIL, PASSWORD } = process.env;
const REDIRECT = 'https://rp.example/cb';

const config = await oidc.discovery(new URL(ISSUER), CLIENT_ID, CLIENT_SECRET, oidc.ClientSecretBasic(CLIENT_SECRET), {
  execute: [oidc.allowInsecureRequests],
});
const meta = config.serverMetadata();
assert.equal(meta.issuer, ISSUER);
assert.ok(meta.authorization_response_iss_parameter_supported);

const verifier = oidc.randomPKCECodeVerifier();
const state = oidc.randomState();
const nonce = oidc.randomNonce();
const authUrl = oidc.buildAuthorizationUrl(config, {
  redirect_uri: REDIRECT,
  scope: 'openid email profile',
  code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
  state,
  nonce,
});

// A minimal browser: keeps cookies, follows nothing by itself.
const jar = new Map();
async function browse(url, init = {}) {
  const headers = { ...(init.headers || {}), cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') };
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair.indexOf('=');
    jar.set(pair.slice(0, i), pair.slice(i + 1));
  }
  return res;
}
const field = (html, name) => html.match(new RegExp(`name="${name}" value="([^"]*)"`))?.[1];

let res = await browse(authUrl);
assert.ok([302, 303].includes(res.status));
const loginUrl = new URL(res.headers.get('location'), ISSUER);
res = await browse(loginUrl);
const html = await res.text();
assert.match(html, /Innlogging/);
res = await browse(new URL('/login', ISSUER), {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ csrf_token: field(html, 'csrf_token'), req: field(html, 'req'), email: EMAIL, password: PASSWORD }),
});
assert.equal(res.status, 303);
const callback = new URL(res.headers.get('location'));

const tokens = await oidc.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();
assert.equal(claims.iss, ISSUER);
assert.equal(claims.aud, CLIENT_ID);
assert.equal(claims.email, EMAIL);

const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
assert.equal(info.sub, claims.sub);
assert.equal(info.email, EMAIL);

const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
assert.equal(refreshed.claims().sub, claims.sub);

const introspection = await oidc.tokenIntrospection(config, refreshed.access_token);
assert.equal(introspection.active, true);
await oidc.tokenRevocation(config, refreshed.access_token);
assert.equal((await oidc.tokenIntrospection(config, refreshed.access_token)).active, false);

const logout = oidc.buildEndSessionUrl(config, {
  id_token_hint: refreshed.id_token ?? tokens.id_token,
  post_logout_redirect_uri: 'https://rp.example/logged-out',
  state: 'bye',
});
res = await browse(logout);
assert.equal(res.headers.get('location'), 'https://rp.example/logged-out?state=bye');

console.log('openid-client interop: 1 passed, 0 failed');
