//! Nothing lost when a node dies: the one-time code a node queued is in the
//! outbox table, and another node sends it, once.

use crate::in_topology;
use crate::support::cluster::Cluster;
use crate::support::email;
use crate::support::otp::{FORGOT, NEW_PASSWORD};
use hk_idp_core::ports::store::OutboxStore;
use std::time::{Duration, Instant};

in_topology!(a_code_queued_by_a_node_killed_at_once_is_sent_by_another);

async fn a_code_queued_by_a_node_killed_at_once_is_sent_by_another() {
    let mut c = Cluster::start(3, &[]).await;
    let mail = email();
    c.member(&mail).await;
    // The first try is refused (421): the mail is due again a second later.
    c.mailbox.refuse_next(1);
    let browser = c.browser_from("127.0.0.2");
    c.steer_to(2).await;
    let (status, step2) = c.ask_code(&browser, FORGOT, "", &mail).await;
    assert_eq!(status, 200);
    c.kill(0);
    let asked = c.hits("POST", "/forgot-password").await;
    assert_eq!(
        asked.last().unwrap().upstreams,
        [c.node_addr(0)],
        "node 0 queued it: {asked:?}"
    );

    let start = Instant::now();
    while c.mailbox.to(&mail).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "the code was lost with node 0"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("the code arrived {:?} after node 0 was killed", start.elapsed());
    let code = c.mailbox.wait_for(&mail, 1).await.code();
    let done = c
        .set_password(&browser, FORGOT, &step2, &code, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(done.status(), 303, "the code works at the nodes left");

    // Sent once, and gone from the outbox.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(c.mailbox.to(&mail).len(), 1);
    let db = hk_idp_store_sql::SqlStore::connect(c.database_url()).await.unwrap();
    assert_eq!(db.count_mail().await.unwrap(), 0);
}
