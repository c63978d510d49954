//! The relying party: "Logg inn" sends the person to HK ID; the callback
//! redeems the code and verifies the ID token; the home page shows the claims.
//! Also the target of third-party initiated login (OIDC Core §4), so the
//! invitation mail's link lands here and goes on with `login_hint`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, LoginHint, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

pub struct PortalConfig {
    /// HK ID's issuer URL.
    pub issuer: String,
    /// This portal's own base URL.
    pub base: String,
    /// The demo client (public, PKCE).
    pub client_id: String,
    pub outbox_dir: PathBuf,
}

#[derive(Default)]
struct Visit {
    pending: Option<(CsrfToken, Nonce, PkceCodeVerifier)>,
    claims: Option<String>,
    id_token: Option<String>,
}

pub struct Portal {
    pub(crate) config: PortalConfig,
    client: Client,
    http: reqwest::Client,
    visits: Mutex<HashMap<String, Visit>>,
}

const COOKIE: &str = "demo_portal";

impl Portal {
    pub async fn discover(config: PortalConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(config.issuer.clone())?, &http).await?;
        let client = CoreClient::from_provider_metadata(metadata, ClientId::new(config.client_id.clone()), None)
            .set_redirect_uri(RedirectUrl::new(format!("{}/callback", config.base))?);
        Ok(Self {
            config,
            client,
            http,
            visits: Mutex::default(),
        })
    }

    fn with_visit<T>(&self, jar: &CookieJar, f: impl FnOnce(&mut Visit) -> T) -> T {
        let id = jar.get(COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
        let mut visits = self.visits.lock().unwrap_or_else(|e| e.into_inner());
        f(visits.entry(id).or_default())
    }
}

fn visit_cookie(jar: CookieJar) -> CookieJar {
    if jar.get(COOKIE).is_some() {
        return jar;
    }
    let id: String = (0..32).map(|_| format!("{:x}", rand::random::<u8>() & 15)).collect();
    jar.add(
        Cookie::build((COOKIE, id))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .build(),
    )
}

#[derive(Template)]
#[template(path = "portal.html")]
struct HomePage<'a> {
    issuer: &'a str,
    claims: Option<String>,
}

pub async fn home(State(p): State<Arc<Portal>>, jar: CookieJar) -> Response {
    let claims = p.with_visit(&jar, |v| v.claims.clone());
    page(&HomePage {
        issuer: &p.config.issuer,
        claims,
    })
}

pub(crate) fn page<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Starts a login; `login_hint` (and `iss`, checked) come from an invitation link.
pub async fn login(State(p): State<Arc<Portal>>, jar: CookieJar, Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("iss").is_some_and(|iss| iss != &p.config.issuer) {
        return (StatusCode::BAD_REQUEST, "iss names another provider").into_response();
    }
    let jar = visit_cookie(jar);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = p
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("organization".into()))
        .set_pkce_challenge(challenge);
    if let Some(hint) = q.get("login_hint") {
        req = req.set_login_hint(LoginHint::new(hint.clone()));
    }
    let (url, csrf, nonce) = req.url();
    p.with_visit(&jar, |v| v.pending = Some((csrf, nonce, verifier)));
    (jar, Redirect::to(url.as_str())).into_response()
}

pub async fn callback(
    State(p): State<Arc<Portal>>,
    jar: CookieJar,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match finish(&p, &jar, &q).await {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "demo.login_failed");
            (StatusCode::BAD_REQUEST, format!("Innloggingen mislyktes: {e}")).into_response()
        }
    }
}

async fn finish(p: &Portal, jar: &CookieJar, q: &HashMap<String, String>) -> anyhow::Result<()> {
    if let Some(e) = q.get("error") {
        anyhow::bail!("{e}");
    }
    let (csrf, nonce, verifier) = p
        .with_visit(jar, |v| v.pending.take())
        .ok_or_else(|| anyhow::anyhow!("no login was started in this browser"))?;
    if q.get("state") != Some(csrf.secret()) {
        anyhow::bail!("state does not match");
    }
    // RFC 9207: the response names the provider it came from.
    if q.get("iss") != Some(&p.config.issuer) {
        anyhow::bail!("iss does not match");
    }
    let code = q.get("code").ok_or_else(|| anyhow::anyhow!("no code"))?;
    let tokens = p
        .client
        .exchange_code(AuthorizationCode::new(code.clone()))?
        .set_pkce_verifier(verifier)
        .request_async(&p.http)
        .await?;
    let id_token = tokens.id_token().ok_or_else(|| anyhow::anyhow!("no ID token"))?;
    let claims = id_token.claims(&p.client.id_token_verifier(), &nonce)?;
    // The ID token's standard claims, plus what userinfo releases (organization too).
    let mut shown = serde_json::to_value(claims)?;
    if let Some(endpoint) = p.client.user_info_url() {
        let info: serde_json::Value = p
            .http
            .get(endpoint.url().as_str())
            .bearer_auth(tokens.access_token().secret())
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        shown["userinfo"] = info;
    }
    let shown = serde_json::to_string_pretty(&shown)?;
    let raw = id_token.to_string();
    p.with_visit(jar, |v| {
        v.claims = Some(shown);
        v.id_token = Some(raw);
    });
    Ok(())
}

/// RP-initiated logout: back to the portal's front page afterwards.
pub async fn logout(State(p): State<Arc<Portal>>, jar: CookieJar) -> Response {
    let id_token = p.with_visit(&jar, |v| {
        v.claims = None;
        v.id_token.take()
    });
    let mut url = match url::Url::parse(&format!("{}/logout", p.config.issuer)) {
        Ok(u) => u,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    {
        let mut qp = url.query_pairs_mut();
        if let Some(t) = id_token {
            qp.append_pair("id_token_hint", &t);
        }
        qp.append_pair("client_id", &p.config.client_id);
        qp.append_pair("post_logout_redirect_uri", &format!("{}/", p.config.base));
    }
    Redirect::to(url.as_str()).into_response()
}
