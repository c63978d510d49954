//! The relying party: the `openidconnect` crate, as HK's portal would use it.

use crate::support::{REDIRECT, Site, TestClient, query_param};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};

pub type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

pub struct RelyingParty {
    pub client: Client,
    pub http: reqwest::Client,
    redirect: String,
}

pub struct PendingLogin {
    pub url: String,
    pub csrf: CsrfToken,
    pub nonce: Nonce,
    pub verifier: PkceCodeVerifier,
}

impl RelyingParty {
    pub async fn discover(site: &Site, c: &TestClient) -> Self {
        Self::discover_with(site, c, REDIRECT).await
    }

    /// With a redirect URI of its own.
    pub async fn discover_with(site: &Site, c: &TestClient, redirect: &str) -> Self {
        let http = site.http_client();
        let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(site.base.clone()).unwrap(), &http)
            .await
            .expect("discovery and JWKS are accepted by openidconnect");
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(c.id.clone()),
            c.secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(redirect.into()).unwrap());
        Self {
            client,
            http,
            redirect: redirect.to_owned(),
        }
    }

    pub fn start(&self, scopes: &[&str]) -> PendingLogin {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for s in scopes {
            req = req.add_scope(Scope::new((*s).into()));
        }
        let (url, csrf, nonce) = req.url();
        PendingLogin {
            url: url.into(),
            csrf,
            nonce,
            verifier,
        }
    }

    /// Checks the callback (state, RFC 9207 iss) and redeems the code.
    pub async fn finish(
        &self,
        site: &Site,
        pending: PendingLogin,
        callback: &str,
    ) -> (CoreTokenResponse, CoreIdTokenClaims) {
        assert!(
            callback.starts_with(&self.redirect),
            "callback to the client: {callback}"
        );
        assert_eq!(
            query_param(callback, "state").as_deref(),
            Some(pending.csrf.secret().as_str()),
            "state echoed"
        );
        assert_eq!(
            query_param(callback, "iss").as_deref(),
            Some(site.base.as_str()),
            "RFC 9207 iss"
        );
        let code = query_param(callback, "code").expect("code");
        let tokens = self
            .client
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(pending.verifier)
            .request_async(&self.http)
            .await
            .expect("token response");
        let id_token = tokens.id_token().expect("id token");
        let verifier = self.client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, &pending.nonce)
            .expect("ID token verifies with JWKS")
            .clone();
        let expected = AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg().unwrap(),
            id_token.signing_key(&verifier).unwrap(),
        )
        .unwrap();
        assert_eq!(
            claims.access_token_hash(),
            Some(&expected),
            "at_hash binds the access token"
        );
        (tokens, claims)
    }
}
