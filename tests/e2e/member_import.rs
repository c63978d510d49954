//! Member import, over the API and with the real CLI binary: a summary with
//! the line and reason of every refused row, idempotent re-runs, the
//! spellings a member list comes in (semicolons, BOM, CRLF, Unicode domains).

use crate::on_both;
use crate::support::{ADMIN, Backend, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

on_both!(
    import_reports_each_row_and_is_idempotent,
    cli_import_shows_the_same_summary_and_exit_code,
);

async fn import(app: &TestApp, csv: Vec<u8>) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(app.url("/admin/users/import"))
        .bearer_auth(ADMIN)
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A member list with good, duplicate and broken rows; `tag` keeps addresses unique per test.
fn member_list(tag: &str) -> Vec<u8> {
    let mut csv = format!(
        "email,name,org_number,org_name,extra\n\
         kari.{tag}@hk.no,Kari Nordmann,971274042,HK Norge,x\n\
         \"ola.{tag}@hk.no\",\"Nordmann, Ola\",,,\n\
         not-an-address,Nobody,,,\n\
         KARI.{tag}@HK.NO,Kari again,,,\n\
         per.{tag}@hk.no,Per,123456789,Bad org,\n\
         \n\
         lise.{tag}@blåbær.no,Lise,,,\n\
         lise.{tag}@xn--blbr-roah.no,Lise ASCII,,,\n"
    )
    .into_bytes();
    // Line 10: not UTF-8 in the name.
    csv.extend_from_slice(format!("nils.{tag}@hk.no,N\u{0}").as_bytes());
    csv.extend_from_slice(b"\xff\xfe,,,\n");
    csv.extend_from_slice(format!("anne.{tag}@hk.no\n").as_bytes());
    csv
}

fn lines_and_reasons(report: &Value) -> Vec<(u64, String)> {
    report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["reason"].as_str().unwrap().to_owned()))
        .collect()
}

fn check_rejections(report: &Value) {
    let rejected = lines_and_reasons(report);
    let lines: Vec<u64> = rejected.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, vec![4, 5, 6, 9, 10], "{report}");
    assert!(rejected[0].1.starts_with("email:"), "{rejected:?}");
    assert!(
        rejected[1].1.contains("line 2"),
        "a repeat names the first line: {rejected:?}"
    );
    assert!(rejected[2].1.starts_with("org_number"), "{rejected:?}");
    assert!(
        rejected[3].1.contains("line 8"),
        "one address in two spellings: {rejected:?}"
    );
    assert!(
        rejected[4].1.contains("UTF-8") || rejected[4].1.contains("control"),
        "{rejected:?}"
    );
}

async fn import_reports_each_row_and_is_idempotent(b: Backend) {
    let app = TestApp::start_admin(b).await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let csv = member_list(&tag);
    let (status, report) = import(&app, csv.clone()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 4, "{report}");
    assert_eq!(report["existing"], 0, "{report}");
    check_rejections(&report);

    // The rows are there, as given, pending.
    let (status, kari) = app
        .admin(Method::GET, &format!("/admin/users?email=kari.{tag}@hk.no"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(kari["name"], "Kari Nordmann");
    assert_eq!(kari["org_number"], "971274042");
    assert_eq!(kari["status"], "pending");
    let (_, ola) = app
        .admin(Method::GET, &format!("/admin/users?email=ola.{tag}@hk.no"), None)
        .await;
    assert_eq!(ola["name"], "Nordmann, Ola");
    let (status, lise) = app
        .admin(Method::GET, &format!("/admin/users?email=lise.{tag}@Blåbær.no"), None)
        .await;
    assert_eq!(status, 200, "the Unicode spelling finds the member");
    assert_eq!(lise["email"], format!("lise.{tag}@xn--blbr-roah.no"));

    // Again: nothing new, the same rows refused.
    let (status, again) = import(&app, csv).await;
    assert_eq!(status, 200);
    assert_eq!(again["created"], 0, "{again}");
    assert_eq!(again["existing"], 4, "{again}");
    assert_eq!(again["rejected"], report["rejected"]);

    // Semicolons (a spreadsheet in Norwegian), a byte-order mark, a new row.
    let semi = format!("\u{feff}email;name\nkari.{tag}@hk.no;Kari\nny.{tag}@hk.no;Ny\n");
    let (_, r) = import(&app, semi.into_bytes()).await;
    assert_eq!(
        (r["created"].as_u64(), r["existing"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );

    // Windows line ends (CRLF), quoted fields: the line numbers still count right.
    let crlf = format!("email,name\r\ncrlf.{tag}@hk.no,\"Crlf\"\r\nnot-an-address,X\r\n");
    let (_, r) = import(&app, crlf.into_bytes()).await;
    assert_eq!(r["created"], 1, "{r}");
    assert_eq!(r["rejected"][0]["line"], 3, "{r}");
    let (_, c) = app
        .admin(Method::GET, &format!("/admin/users?email=crlf.{tag}@hk.no"), None)
        .await;
    assert_eq!(c["name"], "Crlf", "no stray carriage return");

    // A file without an email column is refused whole, saying why.
    let (status, err) = import(&app, b"name,org_number\nKari,971274042\n".to_vec()).await;
    assert_eq!(status, 400);
    assert!(
        err["error_description"].as_str().unwrap().contains("email column"),
        "{err}"
    );
    // JSON is not CSV.
    let (status, _) = app
        .admin(Method::POST, "/admin/users/import", Some(json!({"email": "a@hk.no"})))
        .await;
    assert_eq!(status, 400);
}

async fn cli_import_shows_the_same_summary_and_exit_code(b: Backend) {
    let app = TestApp::start_admin(b).await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("medlemmer.csv");
    std::fs::write(&file, member_list(&tag)).unwrap();
    let path = file.display().to_string();

    let out = app.cli(&["user", "import", &path, "--json"], None).await;
    assert_eq!(out.status.code(), Some(6), "rows refused: exit code 6");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["created"], 4, "{report}");
    check_rejections(&report);
    // The server sees them at once.
    let (status, _) = app
        .admin(Method::GET, &format!("/admin/users?email=anne.{tag}@hk.no"), None)
        .await;
    assert_eq!(status, 200);

    let out = app.cli(&["user", "import", &path], None).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0 created, 4 already registered, 5 rejected"), "{text}");
    assert!(text.contains("line 4: email:"), "{text}");

    // A clean file exits 0; a missing one exits 3 with the path in the message.
    std::fs::write(&file, format!("email\nfresh.{tag}@hk.no\n")).unwrap();
    let out = app.cli(&["user", "import", &path, "--json"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = app.cli(&["user", "import", "/no/such/file.csv"], None).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/file.csv"));
}
