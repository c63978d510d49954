//! What the scenarios share: the test server (`app`), the two storage set-ups
//! (`backend`, `pg`), the browser-side flow (`flow`, `http`), the one-time-code
//! steps (`otp`), the SMTP listener (`smtp`), the relying party (`rp`), JWT
//! claims (`jwt`), the binary (`cli`), a node as a process of its own
//! (`node`), and the production topology: nodes behind nginx (`proxy`) with
//! TLS from a test CA (`ca`), as one `cluster`. `site` is what a process
//! and a cluster share: the base URL, the browser and the mailbox. No
//! scenario lives here.

pub mod app;
pub mod backend;
pub mod ca;
pub mod cli;
pub mod cluster;
pub mod flow;
pub mod http;
pub mod jwt;
pub mod node;
pub mod otp;
pub mod pg;
pub mod proxy;
pub mod rp;
pub mod site;
pub mod smtp;
pub mod stores;

pub use app::{ADMIN, PASSWORD, REDIRECT, TestApp, TestClient, email};
pub use backend::{Backend, require_services};
pub use flow::pkce;
pub use http::{input_value, location, query_param};
pub use pg::PgDatabase;
pub use site::Site;
