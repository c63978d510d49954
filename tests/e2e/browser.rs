//! A real browser (Debian's chromium through chromedriver, driven with
//! fantoccini) walks the person's flow (docs/USER-FLOWS.md) by label texts, from an `openidconnect`
//! relying party's authorization request to the redirect with a code it
//! redeems; then the forgotten-password flow. On every page axe-core checks
//! accessibility and a screenshot is written, at desktop width and at 320 px.

use crate::support::otp::NEW_PASSWORD;
use crate::support::rp::RelyingParty;
use crate::support::{Backend, TestApp};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// axe-core, fetched from npm by `.ci/run` (or `npm install` in tests/browser).
fn axe_source() -> Option<String> {
    let path = std::env::var("AXE_CORE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("tests/browser/node_modules/axe-core/axe.min.js"));
    std::fs::read_to_string(path).ok()
}

/// For a run that asked for the browser test: chromium, chromedriver and
/// axe-core must be there, or the test fails saying what is missing.
fn require_browser() -> String {
    assert!(
        std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
        "install chromium and chromium-driver (Debian packages)"
    );
    axe_source().expect("axe-core: run npm ci in tests/browser, or set AXE_CORE_JS")
}

struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Driver { child, port }
}

/// A browser session; `mobile` emulates a 320 px wide screen.
async fn session(driver: &Driver, mobile: bool) -> Client {
    let mut options = json!({
        "binary": CHROMIUM,
        "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=nb"],
        // A Norwegian person's browser; English is tested without a browser.
        "prefs": {"intl.accept_languages": "nb-NO,nb"},
    });
    if mobile {
        options["mobileEmulation"] = json!({"deviceMetrics": {"width": 320, "height": 640, "pixelRatio": 2}});
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a chromium session")
}

/// Checks one page: accessibility (no serious or critical axe violation),
/// no sideways scrolling, and a screenshot under target/screenshots.
struct Tour {
    axe: String,
    width: &'static str,
    shots: PathBuf,
}

impl Tour {
    async fn check(&self, c: &Client, name: &str) {
        c.execute(&self.axe, vec![]).await.expect("axe-core loads");
        let found = c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']}).then(r => done(
                   r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))));",
                vec![],
            )
            .await
            .expect("axe runs");
        assert_eq!(found, json!([]), "{name} ({}): accessibility violations", self.width);
        let wide = c
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(wide, Value::Bool(false), "{name} ({}) scrolls sideways", self.width);
        let png = c.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}-{}.png", self.width)), png).unwrap();
    }
}

/// The input whose `<label>` reads `text` (so the test reads the page as a person does).
async fn field(c: &Client, text: &str) -> fantoccini::elements::Element {
    let label = c
        .find(Locator::XPath(&format!("//label[normalize-space()='{text}']")))
        .await
        .unwrap_or_else(|_| panic!("no label {text}"));
    let id = label.attr("for").await.unwrap().expect("label for");
    c.find(Locator::Id(&id)).await.unwrap()
}

async fn fill(c: &Client, label: &str, value: &str) {
    let input = field(c, label).await;
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

async fn press(c: &Client, button: &str) {
    let b = c
        .find(Locator::XPath(&format!("//button[normalize-space()='{button}']")))
        .await
        .unwrap_or_else(|_| panic!("no button {button}"));
    b.click().await.unwrap();
    left(c, b).await;
}

async fn follow_link(c: &Client, text: &str) {
    let a = c
        .find(Locator::LinkText(text))
        .await
        .unwrap_or_else(|_| panic!("no link {text}"));
    a.click().await.unwrap();
    left(c, a).await;
}

/// Waits until the page that held `old` has been replaced and the new one has loaded.
async fn left(c: &Client, old: fantoccini::elements::Element) {
    for _ in 0..100 {
        if old.attr("id").await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..100 {
        let state = c.execute("return document.readyState;", vec![]).await;
        if state.is_ok_and(|s| s == "complete") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn body(c: &Client) -> String {
    c.find(Locator::Css("body")).await.unwrap().text().await.unwrap()
}

/// A tiny relying-party callback, so the browser's last redirect lands somewhere.
async fn callback_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/cb", axum::routing::get(|| async { "Tilbake i portalen" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/cb")
}

async fn walk(app: &TestApp, c: &Client, tour: &Tour, addr: &str) {
    let redirect = callback_server().await;
    let client = app
        .client_with(|n| {
            n.redirect_uris = vec![redirect.clone()];
            n.first_party = false;
        })
        .await;
    app.pending_member(addr, "Kari Nordmann").await;
    let rp = RelyingParty::discover_with(app, &client, &redirect).await;
    let pending = rp.start(&["email", "profile"]);

    // Innlogging → Aktiver brukerkonto (step 1) → step 2, as docs/USER-FLOWS.md shows.
    c.goto(&pending.url).await.unwrap();
    let text = body(c).await;
    assert!(
        text.contains("Dersom det er første gang du logger deg på må du aktivere din brukerkonto."),
        "{text}"
    );
    tour.check(c, "01-login").await;
    follow_link(c, "Klikk her for å aktivere din brukerkonto").await;
    tour.check(c, "02-activate-email").await;
    fill(c, "E-post", addr).await;
    press(c, "Send engangskode").await;
    let text = body(c).await;
    assert!(text.contains("Dersom din e-post er registrert i systemet vårt vil du om kort tid motta engangskode."));
    tour.check(c, "03-activate-code").await;

    // A wrong code first: the error sits at its field, which gets the focus.
    let code = app.mailbox.wait_for(addr, 1).await.code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    fill(c, "Engangskode", wrong).await;
    fill(c, "Nytt passord", NEW_PASSWORD).await;
    fill(c, "Bekreft nytt passord", NEW_PASSWORD).await;
    press(c, "Sett nytt passord").await;
    assert!(body(c).await.contains("Engangskoden er feil eller utløpt."));
    let focused = c.active_element().await.unwrap().attr("id").await.unwrap();
    assert_eq!(focused.as_deref(), Some("code"), "focus on the first error");
    tour.check(c, "04-activate-code-error").await;

    fill(c, "Engangskode", &code).await;
    fill(c, "Nytt passord", NEW_PASSWORD).await;
    fill(c, "Bekreft nytt passord", NEW_PASSWORD).await;
    press(c, "Sett nytt passord").await;
    assert!(body(c).await.contains("Passordet ditt er lagret. Du kan nå logge inn."));
    tour.check(c, "05-login-password-set").await;

    // Innlogging: e-mail and the new password, then consent, then back at the relying party.
    fill(c, "E-post", addr).await;
    fill(c, "Passord", NEW_PASSWORD).await;
    press(c, "Logg inn").await;
    assert!(body(c).await.contains("ber om tilgang"));
    tour.check(c, "06-consent").await;
    press(c, "Gi tilgang").await;
    let landed = c.current_url().await.unwrap().to_string();
    assert!(landed.starts_with(&redirect), "{landed}");
    let (_, claims) = rp.finish(app, pending, &landed).await;
    assert_eq!(claims.email().map(|e| e.as_str()), Some(addr));

    // Forgotten password, from the login page.
    c.delete_all_cookies().await.unwrap();
    c.goto(&app.url("/login")).await.unwrap();
    follow_link(c, "Glemt passord").await;
    tour.check(c, "07-forgot-email").await;
    fill(c, "E-post", addr).await;
    press(c, "Send engangskode").await;
    let code = app.mailbox.wait_for(addr, 2).await.code();
    fill(c, "Engangskode", &code).await;
    fill(c, "Nytt passord", "kort").await;
    fill(c, "Bekreft nytt passord", "kort").await;
    press(c, "Sett nytt passord").await;
    assert!(body(c).await.contains("Passordet må ha minst 15 tegn."));
    tour.check(c, "08-forgot-password-error").await;
    let another = "tre grønne traktorer i tåka";
    fill(c, "Nytt passord", another).await;
    fill(c, "Bekreft nytt passord", another).await;
    press(c, "Sett nytt passord").await;
    fill(c, "E-post", addr).await;
    fill(c, "Passord", another).await;
    press(c, "Logg inn").await;
    assert!(body(c).await.contains("Du er nå logget inn i HK ID."));

    // The logout confirmation and an error page.
    c.goto(&app.url("/logout")).await.unwrap();
    tour.check(c, "09-logout").await;
    press(c, "Logg ut").await;
    assert!(body(c).await.contains("Du er nå logget ut av HK ID."));
    c.goto(&app.url("/authorize?client_id=unknown")).await.unwrap();
    assert!(body(c).await.contains("Noe gikk galt"));
    tour.check(c, "10-error").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromedriver and axe-core (tests/browser); run with -- --include-ignored"]
async fn a_person_activates_logs_in_and_resets_the_password_in_a_real_browser() {
    let axe = require_browser();
    let shots = repo().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let app = TestApp::start(Backend::Embedded).await;
    let driver = start_driver().await;
    for (mobile, width) in [(false, "desktop"), (true, "320px")] {
        let c = session(&driver, mobile).await;
        let tour = Tour {
            axe: axe.clone(),
            width,
            shots: shots.clone(),
        };
        walk(&app, &c, &tour, &crate::support::email()).await;
        c.close().await.unwrap();
    }
}
