//! The durable stores on SQLite and PostgreSQL: case-insensitive unique
//! e-mail, one rotation of a refresh token under concurrency (the rest
//! within the grace), family
//! revocation, key retirement, shared secrets.

use crate::on_both;
use crate::support::{Backend, PgDatabase};
use hk_idp_core::account::email::Email;
use hk_idp_core::account::member::{Member, MemberStatus, MemberWrite};
use hk_idp_core::error::StoreError;
use hk_idp_core::oauth::refresh_token::{RefreshFamily, RefreshToken, Rotation};
use hk_idp_core::oauth::signing_key::{SigningAlg, StoredKey};
use hk_idp_core::ports::store::{KeyStore, MemberStore, RefreshStore};
use hk_idp_store_sql::SqlStore;

on_both!(
    sql_store_passes_the_contract,
    member_writes_do_not_undo_each_other,
    two_nodes_starting_at_once_store_one_key_set,
    nodes_taking_mail_at_once_each_get_other_mail,
    nodes_cleaning_up_at_once_take_turns_and_remove_each_row_once,
);

/// The clean-up: three nodes sweeping the same expired rows at once
/// remove each once and all of them, never more than a batch a
/// transaction, a live row stays; on PostgreSQL a node finds the clean-up
/// lock held by another (here: a session of the test's own) and leaves
/// the work to it.
async fn nodes_cleaning_up_at_once_take_turns_and_remove_each_row_once(b: Backend) {
    use hk_idp_core::ports::store::{CleanupStore, Sweep};
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let (first, dir, pg) = open(b).await;
    let family = |id: String, expires_at: i64| RefreshFamily {
        id,
        client_id: "c".into(),
        member_id: "m".into(),
        scope: "openid".into(),
        sid: "s".into(),
        auth_time: 1,
        offline: false,
        created_at: 1,
        expires_at,
        revoked: false,
    };
    let token = |f: &RefreshFamily| RefreshToken {
        hash: format!("hash-{}", f.id),
        family_id: f.id.clone(),
        created_at: 1,
        expires_at: f.expires_at,
        spent: false,
    };
    for i in 0..90 {
        let f = family(format!("old-{i:02}"), 1000);
        first.insert_family(&f, &token(&f)).await.unwrap();
    }
    let live = family("live".into(), 5000);
    first.insert_family(&live, &token(&live)).await.unwrap();
    let mut nodes = vec![first.clone()];
    for _ in 0..2 {
        nodes.push(SqlStore::connect(&url(&dir, &pg)).await.unwrap());
    }
    let sweepers: Vec<_> = nodes
        .into_iter()
        .map(|n| {
            tokio::spawn(async move {
                let mut removed = 0;
                let mut idle = 0;
                while idle < 20 {
                    match n.sweep(Sweep::RefreshTokens, 2000, 7).await.unwrap() {
                        Some(got) => {
                            assert!(got <= 7, "a batch at most");
                            removed += got;
                            idle = if got == 0 { idle + 1 } else { 0 };
                        }
                        None => tokio::task::yield_now().await,
                    }
                }
                removed
            })
        })
        .collect();
    let mut total = 0;
    for s in sweepers {
        total += s.await.unwrap();
    }
    assert_eq!(total, 90, "each expired token removed once");
    assert!(first.find_token("hash-live").await.unwrap().is_some());
    assert!(first.find_token("hash-old-00").await.unwrap().is_none());

    let Some(pg) = &pg else { return };
    let other = sea_orm::Database::connect(pg.url.as_str()).await.unwrap();
    let held = other.begin().await.unwrap();
    held.execute_unprepared(&format!(
        "SELECT pg_advisory_xact_lock({})",
        hk_idp_store_sql::CLEANUP_LOCK
    ))
    .await
    .unwrap();
    assert_eq!(
        first.sweep(Sweep::RefreshFamilies, 2000, 100).await.unwrap(),
        None,
        "another node is cleaning up"
    );
    assert!(
        first.find_family("old-00").await.unwrap().is_some(),
        "nothing removed meanwhile"
    );
    held.commit().await.unwrap();
    assert_eq!(first.sweep(Sweep::RefreshFamilies, 2000, 100).await.unwrap(), Some(90));
}

/// The outbox: three nodes, each with its own connections, take due mail
/// at the same moment; every mail is taken by exactly one, a taken mail is
/// not due again until its lease ends, and a retry and a removal stick.
async fn nodes_taking_mail_at_once_each_get_other_mail(b: Backend) {
    use hk_idp_core::ports::store::{OutboxMail, OutboxStore};
    let (first, dir, pg) = open(b).await;
    for i in 0..60 {
        let m = OutboxMail {
            id: format!("mail-{i:02}"),
            kind: "one_time_code".into(),
            payload: "{}".into(),
            attempts: 0,
            created_at: 1000,
        };
        first.add_mail(&m, 1_000_000 + i).await.unwrap();
    }
    let mut nodes = vec![first.clone()];
    for _ in 0..2 {
        nodes.push(SqlStore::connect(&url(&dir, &pg)).await.unwrap());
    }
    let takers: Vec<_> = nodes
        .into_iter()
        .map(|n| {
            tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let batch = n.claim_mail(2_000_000, 2_030_000, 4).await.unwrap();
                    if batch.is_empty() {
                        return got;
                    }
                    got.extend(batch.into_iter().map(|m| m.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in takers {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let expected: Vec<String> = (0..60).map(|i| format!("mail-{i:02}")).collect();
    assert_eq!(all, expected, "each mail taken once");
    assert!(
        first.claim_mail(2_029_999, 2_060_000, 100).await.unwrap().is_empty(),
        "leased"
    );
    first.retry_mail("mail-00", 1, 2_040_000).await.unwrap();
    first.remove_mail("mail-01").await.unwrap();
    let again = first.claim_mail(2_040_000, 2_070_000, 100).await.unwrap();
    assert_eq!(again.len(), 59, "the lease ended, mail-01 is gone");
    let retried = again.iter().find(|m| m.id == "mail-00").unwrap();
    assert_eq!(retried.attempts, 1);
    assert_eq!(first.count_mail().await.unwrap(), 59);
}

/// Two nodes on one fresh database, each with its own connections, start at
/// the same moment: both find no keys and generate a set; one set is stored,
/// and both load it. (Before the partial unique index both were stored, and
/// the two nodes signed with different keys.)
async fn two_nodes_starting_at_once_store_one_key_set(b: Backend) {
    use hk_idp_jose::{KeyRing, KeySchedule, Sealer, ensure_keys};
    use std::sync::Arc;
    let (first, dir, pg) = open(b).await;
    let second = SqlStore::connect(&url(&dir, &pg)).await.unwrap();
    let schedule = KeySchedule {
        publish_first: 360,
        keep_retired: 3600,
    };
    let start = |store: SqlStore| {
        tokio::spawn(async move {
            let ring = KeyRing::new(Arc::new(Sealer::default()));
            ensure_keys(&store, &ring, 1000, schedule).await.unwrap();
            SigningAlg::ALL.map(|alg| ring.signing_kid(alg))
        })
    };
    let (a, b) = (start(first.clone()), start(second));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let keys = first.list_keys().await.unwrap();
    for alg in SigningAlg::ALL {
        let n = keys.iter().filter(|k| k.alg == alg && k.retire_after.is_none()).count();
        assert_eq!(n, 1, "{alg:?}: one key, not one per node");
    }
    assert_eq!(a, b, "both nodes sign with the same keys");
}

fn url(dir: &tempfile::TempDir, pg: &Option<PgDatabase>) -> String {
    match pg {
        None => format!("sqlite://{}/s.sqlite?mode=rwc", dir.path().display()),
        Some(pg) => pg.url.clone(),
    }
}

async fn open(b: Backend) -> (SqlStore, tempfile::TempDir, Option<PgDatabase>) {
    let dir = tempfile::tempdir().unwrap();
    let pg = match b {
        Backend::Embedded => None,
        Backend::PostgresRedis => Some(PgDatabase::create().await),
    };
    let store = SqlStore::connect(&url(&dir, &pg)).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    (store, dir, pg)
}

async fn sql_store_passes_the_contract(b: Backend) {
    let (s, _dir, _pg) = open(b).await;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let email = Email::parse(&format!("Ola.{id}@HK.no")).unwrap();
    let m = Member::new(email.clone(), Some("Ola".into()), 1);
    s.insert_member(&m).await.unwrap();
    let dup = Member::new(Email::parse(&format!("ola.{id}@hk.no")).unwrap(), None, 2);
    assert!(matches!(s.insert_member(&dup).await, Err(StoreError::Conflict)));
    let found = s
        .find_member_by_email(&format!("OLA.{id}@hk.NO"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, m);
    assert_eq!(s.increment_failed_logins(&m.id).await.unwrap(), 1);
    assert_eq!(s.increment_failed_logins(&m.id).await.unwrap(), 2);
    s.reset_failed_logins(&m.id).await.unwrap();
    assert_eq!(s.find_member(&m.id).await.unwrap().unwrap().failed_logins, 0);

    let fam = RefreshFamily {
        id: uuid::Uuid::new_v4().to_string(),
        client_id: "c".into(),
        member_id: m.id.clone(),
        scope: "openid".into(),
        sid: uuid::Uuid::new_v4().to_string(),
        auth_time: 1,
        offline: false,
        created_at: 1,
        expires_at: i64::MAX / 2,
        revoked: false,
    };
    let tok = |hash: &str, at: i64| RefreshToken {
        hash: format!("{hash}{id}"),
        family_id: fam.id.clone(),
        created_at: at,
        expires_at: i64::MAX / 2,
        spent: false,
    };
    s.insert_family(&fam, &tok("h0", 1)).await.unwrap();
    assert!(
        s.find_token(&tok("h0", 1).hash).await.unwrap().is_some(),
        "stored with its family"
    );
    let rotations = (0..8).map(|_| {
        let s = s.clone();
        let (old, next) = (tok("h0", 1).hash, tok("h1", 100));
        tokio::spawn(async move { s.rotate_token(&old, &next, 95).await.unwrap() })
    });
    let mut seen: Vec<Rotation> = futures::future::join_all(rotations)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    seen.sort_by_key(|r| *r as u8);
    let mut want = vec![Rotation::Repeated; 8];
    want[0] = Rotation::Rotated;
    assert_eq!(
        seen, want,
        "one rotation; the others within the grace get its successor"
    );
    let (old, next) = (tok("h0", 1).hash, tok("h1", 100));
    assert_eq!(
        s.rotate_token(&old, &next, 101).await.unwrap(),
        Rotation::Reused,
        "after the grace"
    );
    assert_eq!(
        s.rotate_token(&next.hash, &tok("h2", 102), 0).await.unwrap(),
        Rotation::Rotated
    );
    assert_eq!(
        s.rotate_token(&old, &next, 0).await.unwrap(),
        Rotation::Reused,
        "its successor is spent"
    );
    assert_eq!(
        s.revoke_online_families_of_session(&fam.sid).await.unwrap(),
        vec![fam.id.clone()]
    );
    assert!(s.find_family(&fam.id).await.unwrap().unwrap().revoked);
    assert!(!s.revoke_family(&fam.id).await.unwrap(), "already revoked");

    let key = |kid: &str, at: i64| StoredKey {
        kid: kid.into(),
        alg: SigningAlg::ES256,
        private_key: "{}".into(),
        created_at: at,
        retire_after: None,
    };
    let (k1, k2) = (format!("k1{id}"), format!("k2{id}"));
    assert!(s.insert_first_key(&key(&k1, 10)).await.unwrap());
    assert!(
        !s.insert_first_key(&key(&format!("k0{id}"), 11)).await.unwrap(),
        "one not-retired key per algorithm"
    );
    assert!(s.rotate_keys(100, &[key(&k2, 50)]).await.unwrap() >= 1);
    let keys = s.list_keys().await.unwrap();
    let find = |kid: &str| keys.iter().find(|k| k.kid == kid).unwrap().retire_after;
    assert_eq!(
        (find(&k1), find(&k2)),
        (Some(100), None),
        "the old retires, the new one signs"
    );
    s.delete_keys_retired_before(101).await.unwrap();
    assert!(!s.list_keys().await.unwrap().iter().any(|k| k.kid == k1));

    let name = format!("secret-{id}");
    let first = s.get_or_create_secret(&name, "one").await.unwrap();
    assert_eq!(first, "one");
    assert_eq!(
        s.get_or_create_secret(&name, "two").await.unwrap(),
        "one",
        "the first value wins"
    );
}

/// A write from an earlier read must not undo another write: an admin's
/// disable during an activation stays, and so does a rename; a rehash does
/// not replace a password set meanwhile; enabling restores what the password allows.
async fn member_writes_do_not_undo_each_other(b: Backend) {
    let (s, _dir, _pg) = open(b).await;
    let email = Email::parse(&format!("per.{}@hk.no", uuid::Uuid::new_v4().simple())).unwrap();
    let m = Member::new(email, Some("Per".into()), 1);
    s.insert_member(&m).await.unwrap();
    let profile = MemberWrite::Profile {
        name: Some(Some("Per Olsen".into())),
        org_number: None,
        org_name: Some(None),
    };
    assert!(s.write_member(&m.id, &profile, 2).await.unwrap());
    assert!(s.write_member(&m.id, &MemberWrite::Disable, 3).await.unwrap());
    assert!(
        !s.write_member(&m.id, &MemberWrite::Disable, 3).await.unwrap(),
        "disabled once"
    );
    // The activation, from its earlier read of a pending member, writes now.
    let activate = MemberWrite::NewPassword {
        hash: "$argon2id$first".into(),
        from: vec![MemberStatus::Pending, MemberStatus::Active],
    };
    assert!(!s.write_member(&m.id, &activate, 4).await.unwrap());
    let now = s.find_member(&m.id).await.unwrap().unwrap();
    assert_eq!(now.status, MemberStatus::Disabled, "the disable stays");
    assert_eq!(now.name.as_deref(), Some("Per Olsen"), "the rename stays");
    assert_eq!(now.password_hash, None);
    assert_eq!(now.updated_at, 3);
    // Enabled without a password: pending again; then activated.
    assert!(s.write_member(&m.id, &MemberWrite::Enable, 5).await.unwrap());
    assert_eq!(
        s.find_member(&m.id).await.unwrap().unwrap().status,
        MemberStatus::Pending
    );
    assert!(s.write_member(&m.id, &activate, 6).await.unwrap());
    // A rehash computed from the first hash loses to a reset made meanwhile.
    let reset = MemberWrite::NewPassword {
        hash: "$argon2id$reset".into(),
        from: vec![MemberStatus::Active],
    };
    assert!(s.write_member(&m.id, &reset, 7).await.unwrap());
    let rehash = MemberWrite::Rehash {
        old: "$argon2id$first".into(),
        new: "$argon2id$rehashed".into(),
    };
    assert!(!s.write_member(&m.id, &rehash, 8).await.unwrap());
    let now = s.find_member(&m.id).await.unwrap().unwrap();
    assert_eq!(now.password_hash.as_deref(), Some("$argon2id$reset"));
    assert_eq!((now.status, now.org_name), (MemberStatus::Active, None));
    assert!(
        !s.write_member("no-such-member", &MemberWrite::Disable, 9)
            .await
            .unwrap()
    );
}
