//! One line on standard error, when the run left tests out: which, and how to
//! run them. The PostgreSQL + Redis variants and the browser test are
//! `#[ignore]`d, so `cargo test --workspace` reports them as ignored, never as
//! passed; `-- --include-ignored` (what `.ci/run` passes) runs them.

use std::io::Write;

#[test]
fn say_what_did_not_run() {
    let included = std::env::args().any(|a| a == "--include-ignored" || a == "--ignored");
    if included {
        return;
    }
    // Written to the stream itself, past the test harness's output capture.
    let _ = writeln!(
        std::io::stderr(),
        "\nnot run (ignored): every scenario on PostgreSQL + Redis, the Redis store contract and the \
         browser test. To run them: set TEST_DATABASE_URL and TEST_REDIS_URL, install chromium and \
         chromium-driver, `npm ci` in tests/browser, then `cargo test --workspace -- --include-ignored` \
         (.ci/run does all of this).\n"
    );
}
