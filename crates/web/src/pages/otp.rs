//! Account activation and forgotten password: the same two steps from two
//! entrances. Step 1 asks for the e-mail and sends a one-time code; step 2
//! takes the code and the new password. Step 2 reads the same whether or not
//! the e-mail is registered; its flow is tied to the browser by a cookie, so
//! the page itself carries nothing that differs.

use super::{PageCtx, in_locale, query, render};
use crate::error::PageError;
use crate::extract::{ClientIp, PageParams};
use crate::session_cookie::{clear_otp_flow, csrf_ok, csrf_token, otp_flow, set_otp_flow};
use crate::state::AppState;
use crate::texts::{Texts, with_n};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use hk_idp_core::account::one_time_code::{CodeProblem, OtpFinish, OtpStart};
use hk_idp_core::account::otp_purpose::OtpPurpose;
use hk_idp_core::account::password_policy::PasswordProblem;

/// The two entrances and where their steps live.
#[derive(Clone, Copy)]
struct Entrance {
    purpose: OtpPurpose,
    start: &'static str,
    code: &'static str,
}

const ACTIVATE: Entrance = Entrance {
    purpose: OtpPurpose::Activate,
    start: "/activate",
    code: "/activate/code",
};
const FORGOT: Entrance = Entrance {
    purpose: OtpPurpose::Reset,
    start: "/forgot-password",
    code: "/forgot-password/code",
};

impl Entrance {
    fn title(self, t: &Texts) -> &'static str {
        match self.purpose {
            OtpPurpose::Activate => t.activate_title,
            OtpPurpose::Reset => t.forgot_title,
        }
    }
}

pub fn router() -> Router<AppState> {
    let mut r = Router::new();
    for e in [ACTIVATE, FORGOT] {
        r = r
            .route(
                e.start,
                get(move |s, j, h, p| show_start(e, s, j, h, p))
                    .post(move |s, j, h, ip, p| submit_start(e, s, j, h, ip, p)),
            )
            .route(
                e.code,
                get(move |s, j, h, p| show_code(e, s, j, h, p))
                    .post(move |s, j, h, ip, p| submit_code(e, s, j, h, ip, p)),
            );
    }
    r
}

#[derive(Template)]
#[template(path = "otp_start.html")]
struct StartPage {
    t: &'static Texts,
    title: &'static str,
    action: &'static str,
    csrf: String,
    req: Option<String>,
    query: String,
    email: String,
    email_error: Option<&'static str>,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "otp_code.html")]
struct CodePage {
    t: &'static Texts,
    title: &'static str,
    action: &'static str,
    start: &'static str,
    csrf: String,
    req: Option<String>,
    query: String,
    code: String,
    password_hint: String,
    code_error: Option<&'static str>,
    password_error: Option<String>,
    confirm_error: Option<&'static str>,
    /// The field that gets focus: the first with an error.
    focus: &'static str,
    notice: Option<&'static str>,
}

fn start_page(e: Entrance, ctx: &PageCtx, csrf: String, email: String) -> StartPage {
    StartPage {
        t: ctx.t,
        title: e.title(ctx.t),
        action: e.start,
        csrf,
        req: ctx.req.clone(),
        query: ctx.query(),
        email,
        email_error: None,
        notice: None,
    }
}

fn code_page(e: Entrance, state: &AppState, ctx: &PageCtx, csrf: String) -> CodePage {
    CodePage {
        t: ctx.t,
        title: e.title(ctx.t),
        action: e.code,
        start: e.start,
        csrf,
        req: ctx.req.clone(),
        query: ctx.query(),
        code: String::new(),
        password_hint: with_n(ctx.t.new_password_hint, state.provider.settings.passwords.min_length),
        code_error: None,
        password_error: None,
        confirm_error: None,
        focus: "",
        notice: None,
    }
}

async fn show_start(
    e: Entrance,
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    PageParams(p): PageParams,
) -> Result<Response, PageError> {
    let ctx = PageCtx::load(&state, &headers, &p).await?;
    in_locale(ctx.locale, async move {
        let email = p
            .field("email")
            .map(str::to_owned)
            .or_else(|| ctx.login_hint())
            .unwrap_or_default();
        let (jar, csrf) = csrf_token(&state, jar);
        Ok((jar, render(StatusCode::OK, &start_page(e, &ctx, csrf, email))).into_response())
    })
    .await
}

async fn submit_start(
    e: Entrance,
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    PageParams(p): PageParams,
) -> Result<Response, PageError> {
    let ctx = PageCtx::load(&state, &headers, &p).await?;
    in_locale(ctx.locale, async move {
        let email = p.field("email").unwrap_or_default().to_owned();
        let csrf_valid = csrf_ok(&state, &jar, &p);
        let (jar, csrf) = csrf_token(&state, jar);
        let mut page = start_page(e, &ctx, csrf, email);
        if !csrf_valid {
            tracing::info!("otp.csrf_rejected");
            page.notice = Some(ctx.t.form_expired);
            return Ok((jar, render(StatusCode::FORBIDDEN, &page)).into_response());
        }
        let started = state
            .provider
            .start_otp(
                e.purpose,
                &page.email,
                ip.as_deref(),
                otp_flow(&state, &jar).as_deref(),
                ctx.locale,
            )
            .await?;
        match started {
            OtpStart::Started { flow } => {
                let jar = set_otp_flow(&state, jar, flow);
                let (jar, csrf) = csrf_token(&state, jar);
                Ok((jar, render(StatusCode::OK, &code_page(e, &state, &ctx, csrf))).into_response())
            }
            OtpStart::InvalidEmail => {
                page.email_error = Some(ctx.t.invalid_email);
                Ok((jar, render(StatusCode::BAD_REQUEST, &page)).into_response())
            }
            OtpStart::TooMany => {
                page.notice = Some(ctx.t.too_many_codes);
                Ok((jar, render(StatusCode::TOO_MANY_REQUESTS, &page)).into_response())
            }
        }
    })
    .await
}

async fn show_code(
    e: Entrance,
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    PageParams(p): PageParams,
) -> Result<Response, PageError> {
    let ctx = PageCtx::load(&state, &headers, &p).await?;
    in_locale(ctx.locale, async move {
        if !state.provider.otp_flow_alive(otp_flow(&state, &jar).as_deref()).await? {
            return Ok(Redirect::to(&format!("{}{}", e.start, ctx.query())).into_response());
        }
        let (jar, csrf) = csrf_token(&state, jar);
        Ok((jar, render(StatusCode::OK, &code_page(e, &state, &ctx, csrf))).into_response())
    })
    .await
}

async fn submit_code(
    e: Entrance,
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    PageParams(p): PageParams,
) -> Result<Response, PageError> {
    let ctx = PageCtx::load(&state, &headers, &p).await?;
    in_locale(ctx.locale, async move {
        let field = |name: &str| p.field(name).unwrap_or_default().to_owned();
        let csrf_valid = csrf_ok(&state, &jar, &p);
        let (jar, csrf) = csrf_token(&state, jar);
        let mut page = code_page(e, &state, &ctx, csrf);
        page.code = field("code").chars().filter(char::is_ascii_digit).take(6).collect();
        if !csrf_valid {
            tracing::info!("otp.csrf_rejected");
            page.notice = Some(ctx.t.form_expired);
            return Ok((jar, render(StatusCode::FORBIDDEN, &page)).into_response());
        }
        let flow = otp_flow(&state, &jar);
        let outcome = state
            .provider
            .finish_otp(
                flow.as_deref(),
                &field("code"),
                &field("password"),
                &field("password_confirm"),
                ip.as_deref(),
            )
            .await?;
        let t = ctx.t;
        match outcome {
            OtpFinish::PasswordSet => {
                let jar = clear_otp_flow(&state, jar);
                let to = format!("/login{}", query(ctx.req.as_deref(), &[("password_set", "1")]));
                Ok((jar, Redirect::to(&to)).into_response())
            }
            OtpFinish::Expired => {
                let mut start = start_page(e, &ctx, page.csrf, String::new());
                start.notice = Some(t.code_wrong);
                Ok((jar, render(StatusCode::BAD_REQUEST, &start)).into_response())
            }
            OtpFinish::Refused { code, password } => {
                page.code_error = code.map(|c| match c {
                    CodeProblem::Missing => t.code_missing,
                    CodeProblem::Wrong => t.code_wrong,
                    CodeProblem::Void => t.code_void,
                });
                if code == Some(CodeProblem::Void) {
                    page.code.clear();
                }
                match password {
                    Some(PasswordProblem::Mismatch) => page.confirm_error = Some(t.password_mismatch),
                    Some(other) => page.password_error = Some(password_text(t, other)),
                    None => {}
                }
                page.focus = if page.code_error.is_some() {
                    "code"
                } else if page.password_error.is_some() {
                    "password"
                } else {
                    "confirm"
                };
                Ok((jar, render(StatusCode::BAD_REQUEST, &page)).into_response())
            }
        }
    })
    .await
}

fn password_text(t: &Texts, p: PasswordProblem) -> String {
    match p {
        PasswordProblem::Missing => t.password_missing.into(),
        PasswordProblem::TooShort { min } => with_n(t.password_too_short, min),
        PasswordProblem::TooLong => t.password_too_long.into(),
        PasswordProblem::Guessable => t.password_guessable.into(),
        PasswordProblem::Mismatch => t.password_mismatch.into(),
    }
}
