//! HK ID end to end: the real server on a random port, driven over real HTTP
//! by the `openidconnect` crate and by plain requests, on SQLite with the
//! in-process store and on PostgreSQL with Redis.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod abuse;
mod abuse_accounts;
mod abuse_web;
mod activation;
mod admin_users;
mod audit_trail;
mod authorize;
mod bad_input;
mod browser;
mod cleanup;
mod config;
mod demo;
mod docs_name_real_tests;
mod flow;
mod invite;
mod kv_contract;
mod logout;
mod logs;
mod member_import;
mod metrics;
mod migrations;
mod ops;
mod otp_rules;
mod outages;
mod pages;
mod register;
mod shutdown;
mod store_contract;
mod token;
mod topology;
mod what_did_not_run;
