//! HK ID's own benchmark: each figure is a ratio against a baseline measured
//! in the same run on the same machine, so the numbers mean something anywhere.
//!
//! `cargo bench -p hk-idp --bench http` (optionally `BENCH_SECONDS=5`). Prints a
//! Markdown table; `docs/PERFORMANCE.md` keeps the latest run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use figment::providers::Serialized;
use hk_idp::{App, Settings};
use hk_idp_core::account::email::Email;
use hk_idp_core::account::member::Member;
use hk_idp_core::admin::member_registry::NewMember;
use hk_idp_core::oauth::client::{AuthMethod, GrantType, NewClient};
use hk_idp_core::oauth::signing_key::SigningAlg;
use hk_idp_core::ports::signer::{Claims, TokenSigner};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 16;

fn seconds() -> Duration {
    Duration::from_secs_f64(
        std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3.0),
    )
}

/// Requests per second of `make` run by `CONCURRENCY` tasks for the bench duration.
async fn rate<F, Fut>(make: F) -> f64
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let make = Arc::new(make);
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + seconds();
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (make, done, failed) = (make.clone(), done.clone(), failed.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    if make().await {
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "requests failed during the benchmark"
    );
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Median latency of `n` sequential calls of each of two requests, taken in
/// turn so that drift in the machine's load hits both alike.
async fn paired_median_latency<A, FA, B, FB>(a: A, b: B, n: usize) -> (Duration, Duration)
where
    A: Fn() -> FA,
    FA: std::future::Future<Output = bool>,
    B: Fn() -> FB,
    FB: std::future::Future<Output = bool>,
{
    let (mut ta, mut tb) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = Instant::now();
        assert!(a().await);
        ta.push(t.elapsed());
        let t = Instant::now();
        assert!(b().await);
        tb.push(t.elapsed());
    }
    ta.sort();
    tb.sort();
    (ta[n / 2], tb[n / 2])
}

/// Operations per second of a CPU-bound closure on the blocking pool, same concurrency.
async fn cpu_rate(f: impl Fn() + Send + Sync + 'static) -> f64 {
    let f = Arc::new(f);
    rate(move || {
        let f = f.clone();
        async move { tokio::task::spawn_blocking(move || f()).await.is_ok() }
    })
    .await
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

async fn empty_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().route("/empty", axum::routing::get(|| async { "" }).post(|| async { "" }));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}/empty")
}

struct Row(String, f64, String, f64);

fn phase(name: &str, rss: &mut Vec<(String, u64)>) {
    rss.push((name.to_owned(), rss_kib()));
}

const BENCH_ADMIN: &str = "bench-admin-token-0123456789abcdef";

/// A member list of `n` rows, every field filled, addresses under `domain`.
fn member_csv(n: usize, domain: &str) -> Vec<u8> {
    let mut csv = String::from("email,name,org_number,org_name\n");
    for i in 0..n {
        csv.push_str(&format!(
            "medlem{i}@{domain},Medlem Nummer {i},971274042,Bedrift {} AS\n",
            i % 500
        ));
    }
    csv.into_bytes()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let rss_before = rss_kib();
    let started = Instant::now();
    let fig = Settings::figment()
        .merge(Serialized::default("server.listen", "127.0.0.1:0"))
        .merge(Serialized::default("server.issuer", ""))
        .merge(Serialized::default(
            "database.url",
            format!("sqlite://{}/bench.sqlite?mode=rwc", dir.path().display()),
        ))
        .merge(Serialized::default(
            "mail.outbox_dir",
            format!("{}/outbox", dir.path().display()),
        ))
        // The benchmark asks for many one-time codes from one address.
        .merge(Serialized::default("otp.per_email", 1_000_000_000))
        .merge(Serialized::default("otp.per_address", 1_000_000_000))
        .merge(Serialized::default("otp.per_email_all_addresses", 1_000_000_000))
        // ... parks many login requests from one address ...
        .merge(Serialized::default("session.parked_per_address", 1_000_000_000))
        // ... and tries many wrong passwords: no throttle waits.
        .merge(Serialized::default("login.account_free_failures", 1_000_000_000))
        .merge(Serialized::default("login.address_free_failures", 1_000_000_000))
        .merge(Serialized::default("admin.token", BENCH_ADMIN));
    let settings = Settings::from_figment(fig).unwrap();
    let app = App::build(&settings).await.unwrap();
    let startup = started.elapsed();
    let base = app.issuer().to_owned();
    let services = app.services.clone();
    tokio::spawn(app.run_until(std::future::pending()));
    let idle_rss = rss_kib() - rss_before.min(rss_kib());
    let p = services.provider.clone();

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let get = |url: String| {
        let http = http.clone();
        move || {
            let (http, url) = (http.clone(), url.clone());
            async move { http.get(&url).send().await.is_ok_and(|r| r.status().is_success()) }
        }
    };
    let mut rows = Vec::new();
    let mut rss = Vec::new();
    phase("after start", &mut rss);

    let empty_url = empty_server().await;
    let empty = (rate(get(empty_url.clone())).await, empty_url);
    let discovery = rate(get(format!("{base}/.well-known/openid-configuration"))).await;
    let jwks = rate(get(format!("{base}/jwks"))).await;
    rows.push(Row("discovery".into(), discovery, "empty axum handler".into(), empty.0));
    rows.push(Row("JWKS".into(), jwks, "empty axum handler".into(), empty.0));
    phase("after discovery and JWKS", &mut rss);

    // Token endpoint (client_credentials: one ES256 access token) against ES256 signing alone.
    let issued = p
        .create_client(
            NewClient {
                name: "bench".into(),
                redirect_uris: vec![],
                post_logout_redirect_uris: vec![],
                grant_types: vec![GrantType::ClientCredentials],
                auth_method: AuthMethod::ClientSecretBasic,
                id_token_alg: SigningAlg::RS256,
                initiate_login_uri: None,
                first_party: true,
                ..Default::default()
            },
            &hk_idp_core::audit::Actor::cli(),
        )
        .await
        .unwrap();
    let (service, secret) = (issued.client, issued.secret.unwrap());
    let token_url = format!("{base}/token");
    let empty_url = empty.1.clone();
    let token_like = |url: String| {
        let (http, id, secret) = (http.clone(), service.id.clone(), secret.clone());
        move || {
            let (http, id, secret, url) = (http.clone(), id.clone(), secret.clone(), url.clone());
            async move {
                let r = http
                    .post(&url)
                    .basic_auth(&id, Some(&secret))
                    .form(&[("grant_type", "client_credentials")])
                    .send();
                r.await.is_ok_and(|r| r.status().is_success())
            }
        }
    };
    let token_rate = rate(token_like(token_url.clone())).await;
    let empty_post = rate(token_like(empty_url)).await;
    let signer = services.keyring.clone();
    let mut claims = Claims::new();
    claims.insert("sub".into(), serde_json::json!("bench"));
    let c2 = claims.clone();
    let s2 = signer.clone();
    let es256 = cpu_rate(move || {
        s2.sign(SigningAlg::ES256, "at+jwt", &c2).unwrap();
    })
    .await;
    rows.push(Row(
        "token endpoint, client_credentials (ES256)".into(),
        token_rate,
        "ES256 signing alone".into(),
        es256,
    ));
    rows.push(Row(
        "token endpoint, client_credentials (ES256)".into(),
        token_rate,
        "empty axum handler, same POST".into(),
        empty_post,
    ));
    phase("after the token endpoint", &mut rss);

    let s3 = signer.clone();
    let rs256 = cpu_rate(move || {
        s3.sign(SigningAlg::RS256, "JWT", &claims).unwrap();
    })
    .await;

    // Login: POST /login end to end against one argon2 verification.
    let mail = "bench@hk.no";
    let pw = "et langt og godt passord for benchmark";
    let add_member = |email: &'static str, password: Option<&'static str>| {
        let p = p.clone();
        async move {
            let m = NewMember {
                email: email.into(),
                password: password.map(str::to_owned),
                ..Default::default()
            };
            p.create_member(m, 15, &hk_idp_core::audit::Actor::cli()).await.unwrap();
        }
    };
    add_member(mail, Some(pw)).await;
    let login_url = format!("{base}/login");
    let csrf_page = {
        let c = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let html = c.get(&login_url).send().await.unwrap().text().await.unwrap();
        let m = "name=\"csrf_token\" value=\"";
        let i = html.find(m).unwrap() + m.len();
        (c, html[i..i + html[i..].find('"').unwrap()].to_owned())
    };
    let (browser, csrf) = csrf_page;
    // POST /login with `email` and `password`, expecting `status`.
    let post_login = |email: &'static str, password: &'static str, status: u16| {
        let (b, csrf, url) = (browser.clone(), csrf.clone(), login_url.clone());
        move || {
            let (b, csrf, url) = (b.clone(), csrf.clone(), url.clone());
            async move {
                let form = [("csrf_token", csrf.as_str()), ("email", email), ("password", password)];
                let r = b.post(&url).form(&form).send();
                r.await.is_ok_and(|r| r.status() == status)
            }
        }
    };
    let login_rate = rate(post_login(mail, pw, 200)).await;
    let hash = p.passwords.hash(pw.into()).await.unwrap();
    let hasher = p.passwords.clone();
    let verify_rate = rate(move || {
        let (h, hash) = (hasher.clone(), hash.clone());
        async move { h.verify(pw.into(), Some(hash)).await.is_ok_and(|v| v.ok) }
    })
    .await;
    rows.push(Row(
        "login (POST /login, one argon2id verify)".into(),
        login_rate,
        "argon2id verify alone".into(),
        verify_rate,
    ));
    phase("after logins", &mut rss);

    // A wrong password must cost the same whether or not the e-mail is registered.
    add_member("wrong@hk.no", Some(pw)).await;
    let wrong_password = |email: &'static str| post_login(email, "feil passord her", 400);
    let (lat_wrong_known, lat_wrong_unknown) =
        paired_median_latency(wrong_password("wrong@hk.no"), wrong_password("ukjent@hk.no"), 300).await;

    // Activation step 1 must cost the same whether or not the e-mail is registered.
    let pending = "pending@hk.no";
    add_member(pending, None).await;
    let activate = |email: &'static str| {
        let (b, csrf, url) = (browser.clone(), csrf.clone(), format!("{base}/activate"));
        move || {
            let (b, csrf, url) = (b.clone(), csrf.clone(), url.clone());
            async move {
                let r = b
                    .post(&url)
                    .form(&[("csrf_token", csrf.as_str()), ("email", email)])
                    .send();
                r.await.is_ok_and(|r| r.status().is_success())
            }
        }
    };
    let registered = rate(activate(pending)).await;
    let unknown = rate(activate("nobody@hk.no")).await;
    rows.push(Row(
        "activation step 1, registered e-mail (code mailed)".into(),
        registered,
        "activation step 1, unknown e-mail".into(),
        unknown,
    ));
    let (lat_registered, lat_unknown) = paired_median_latency(activate(pending), activate("nobody@hk.no"), 300).await;
    phase("after activation requests", &mut rss);

    // Cost per request does not grow with the number of members: userinfo with 20 000 more members.
    let at = {
        let member = p.members.find_member_by_email(mail).await.unwrap().unwrap();
        let scope = hk_idp_core::oauth::scope::Scope::parse("openid email").unwrap();
        let client = p.clients.find_client(&service.id).await.unwrap().unwrap();
        let grant = hk_idp_core::oauth::token_minting::Grant {
            client: &client,
            member: Some(&member),
            scope: &scope,
            nonce: None,
            auth_time: Some(0),
            sid: None,
            family_id: None,
            audience: None,
        };
        p.mint_access_token(&grant, &hk_idp_core::oauth::token_minting::new_jti(None, 0))
            .unwrap()
    };
    let userinfo = |at: String| {
        let (http, url) = (http.clone(), format!("{base}/userinfo"));
        move || {
            let (http, url, at) = (http.clone(), url.clone(), at.clone());
            async move {
                http.get(&url)
                    .bearer_auth(&at)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        }
    };
    let small = rate(userinfo(at.clone())).await;
    for i in 0..20_000 {
        let m = Member::new(Email::parse(&format!("m{i}@bench.hk.no")).unwrap(), None, 0);
        p.members.insert_member(&m).await.unwrap();
    }
    let large = rate(userinfo(at)).await;
    rows.push(Row(
        "userinfo with 20 001 members".into(),
        large,
        "userinfo with 1 member".into(),
        small,
    ));
    phase("after userinfo", &mut rss);

    // Member import: 100 000 rows through POST /admin/users/import against the
    // store's own batch insert of the same rows, already parsed and checked.
    const ROWS: usize = 100_000;
    let members: Vec<Member> = (0..ROWS)
        .map(|i| {
            let mut m = Member::new(
                Email::parse(&format!("medlem{i}@baseline.hk.no")).unwrap(),
                Some(format!("Medlem Nummer {i}")),
                0,
            );
            m.org_number = Some("971274042".into());
            m.org_name = Some(format!("Bedrift {} AS", i % 500));
            m
        })
        .collect();
    let t = Instant::now();
    for chunk in members.chunks(1000) {
        p.members.import_members(chunk, &[]).await.unwrap();
    }
    let baseline = ROWS as f64 / t.elapsed().as_secs_f64();
    let csv = member_csv(ROWS, "import.hk.no");
    let import = |csv: Vec<u8>| {
        let (http, url) = (http.clone(), format!("{base}/admin/users/import"));
        async move {
            let t = Instant::now();
            let report: serde_json::Value = http
                .post(&url)
                .bearer_auth(BENCH_ADMIN)
                .header("content-type", "text/csv")
                .body(csv)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (t.elapsed(), report)
        }
    };
    let (first, report) = import(csv.clone()).await;
    assert_eq!(report["created"], ROWS, "{report}");
    let (again, report) = import(csv.clone()).await;
    assert_eq!(report["existing"], ROWS, "{report}");
    rows.push(Row(
        "import of 100 000 new members (HTTP, CSV)".into(),
        ROWS as f64 / first.as_secs_f64(),
        "batch insert of the same rows, parsed".into(),
        baseline,
    ));
    rows.push(Row(
        "the same file again (all existing)".into(),
        ROWS as f64 / again.as_secs_f64(),
        "batch insert of the same rows, parsed".into(),
        baseline,
    ));
    phase("after importing 200 000 members", &mut rss);

    println!("| measured | rate (/s) | baseline | rate (/s) | ratio |");
    println!("| --- | ---: | --- | ---: | ---: |");
    for Row(name, r, base_name, b) in &rows {
        println!("| {name} | {r:.0} | {base_name} | {b:.0} | {:.2} |", r / b);
    }
    println!();
    println!(
        "- RS256 signing alone: {rs256:.0}/s; ES256 alone: {es256:.0}/s (ratio {:.1}).",
        es256 / rs256
    );
    println!(
        "- activation step 1, one request at a time (median of 300 each, taken in turn): registered {lat_registered:.2?}, unknown {lat_unknown:.2?} (ratio {:.2}).",
        lat_registered.as_secs_f64() / lat_unknown.as_secs_f64()
    );
    println!(
        "- wrong password, one request at a time (median of 300 each, taken in turn): registered e-mail {lat_wrong_known:.2?}, unknown {lat_wrong_unknown:.2?} (ratio {:.2}).",
        lat_wrong_known.as_secs_f64() / lat_wrong_unknown.as_secs_f64()
    );
    println!(
        "- import of {ROWS} rows ({} MiB of CSV): {first:.1?} the first time, {again:.1?} again.",
        csv.len() / (1024 * 1024)
    );
    println!("- start-up (App::build: SQLite created, migrations, three keys generated): {startup:.0?}");
    let phases: Vec<String> = rss.iter().map(|(n, k)| format!("{n} {} MiB", k / 1024)).collect();
    println!(
        "- RSS of server and load generator in one process (the server's own share at start: {} MiB): {}.",
        idle_rss / 1024,
        phases.join(", ")
    );
    println!(
        "- {CONCURRENCY} concurrent keep-alive clients on loopback, {:?} per measurement, {} cores.",
        seconds(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
}
