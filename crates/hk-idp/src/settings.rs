//! Layered configuration: `config/default.toml` (embedded), the file named by
//! `IDP_CONFIG`, then `IDP_*` variables. Parsed once into typed settings;
//! an invalid value stops start-up with a message naming the setting.

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use hk_idp_core::ProviderSettings;
use hk_idp_core::settings::{
    ClientSettings, LoginSettings, OtpSettings, PasswordSettings, SessionSettings, SettingError, TokenSettings,
};
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;

const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// The flat variable names of docs/CONTRACT.md ("Configuration") and the settings they set.
const ENV_NAMES: [(&str, &str); 10] = [
    ("LISTEN", "server.listen"),
    ("TRUSTED_PROXIES", "server.trusted_proxies"),
    ("ISSUER", "server.issuer"),
    ("DATABASE_URL", "database.url"),
    ("REDIS_URL", "redis.url"),
    ("SMTP_URL", "mail.smtp_url"),
    ("MAIL_FROM", "mail.from"),
    ("ADMIN_TOKEN", "admin.token"),
    ("LOG_FORMAT", "log.format"),
    ("OTEL_ENDPOINT", "log.otel_endpoint"),
];

/// A variable name (after `IDP_`) that sets a setting: a flat name or SECTION__NAME.
fn is_known_env(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ENV_NAMES.iter().any(|(n, _)| *n == upper) || upper.contains("__")
}

/// A secret: never printed.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "***" })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: Server,
    pub database: Database,
    pub redis: Redis,
    pub mail: Mail,
    pub admin: Admin,
    pub tokens: TokenSettings,
    pub clients: ClientSettings,
    pub session: SessionSettings,
    pub passwords: PasswordSettings,
    pub otp: OtpSettings,
    pub login: LoginSettings,
    pub keys: Keys,
    pub log: Log,
    pub cleanup: CleanupSettings,
    pub audit: AuditSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub listen: SocketAddr,
    pub issuer: String,
    /// Comma-separated CIDRs of the reverse proxies in front (docs/CONTRACT.md).
    pub trusted_proxies: String,
    /// Seconds a request may take, its body included; then 408.
    pub request_timeout: u32,
    /// Seconds to send a request's headers; then the connection is closed.
    pub header_timeout: u32,
    /// Requests served at once by this node; more get 503 at once.
    pub max_in_flight: u32,
    /// Seconds requests in flight may take after SIGTERM; then they are cut off.
    pub shutdown_grace: u32,
    /// A separate address for `/metrics`; empty: on the main listener.
    pub metrics_listen: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub url: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redis {
    pub url: Secret,
    pub key_prefix: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mail {
    pub smtp_url: Secret,
    pub from: String,
    pub outbox_dir: String,
    pub retry_attempts: u32,
    pub retry_first_delay: u32,
    /// `user invite --all-pending` sends at most this many mails a second.
    pub invitations_per_second: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    pub token: Secret,
    /// More admin tokens, so each admin (or script) has its own and the
    /// audit trail tells them apart.
    pub tokens: Vec<Secret>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    pub encryption_key: Secret,
    /// Earlier key-encryption keys, read (never written) while a rotation
    /// is under way, until `hk-idp keys reencrypt` has run.
    pub previous_encryption_keys: Vec<Secret>,
    pub reload_interval: u32,
    /// Seconds relying parties may keep the JWKS; a new key is published
    /// this long plus `reload_interval` before it signs.
    pub jwks_max_age: u32,
}

/// `[cleanup]`: the background removal of expired rows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupSettings {
    /// Seconds between two runs on a node.
    pub interval: u32,
    /// Rows per transaction.
    pub batch: u32,
}

/// `[audit]`: how long the audit trail keeps events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Days; 0 keeps them for ever.
    pub retention_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    pub format: String,
    /// OTLP/HTTP endpoint traces are exported to; empty: none.
    pub otel_endpoint: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Load(String),
    #[error("configuration: setting {setting}: {reason}")]
    Invalid { setting: &'static str, reason: String },
}

impl From<SettingError> for SettingsError {
    fn from(e: SettingError) -> Self {
        SettingsError::Invalid {
            setting: e.setting,
            reason: e.reason,
        }
    }
}

impl Settings {
    /// What the domain services read, for the given public issuer (the
    /// configured one, or the bound address when it is empty).
    pub fn provider_settings(&self, issuer: &str) -> ProviderSettings {
        ProviderSettings {
            issuer: issuer.trim_end_matches('/').to_owned(),
            tokens: self.tokens.clone(),
            session: self.session.clone(),
            passwords: self.passwords.clone(),
            otp: self.otp.clone(),
            login: self.login.clone(),
        }
    }
}

/// Empty (unset) or starting with one of `schemes`.
/// Set but shorter than 32 characters.
fn short_secret(s: &Secret) -> bool {
    !s.0.is_empty() && s.0.chars().count() < 32
}

fn optional_url_ok(value: &str, schemes: &[&str]) -> bool {
    value.is_empty() || schemes.iter().any(|s| value.starts_with(s))
}

/// Names the setting (lower case, dotted) and where its value came from.
fn describe(errors: figment::Error) -> SettingsError {
    let lines: Vec<String> = errors
        .into_iter()
        .map(|e| {
            let path = e.path.join(".").to_ascii_lowercase();
            let source = e.metadata.as_ref().map(|m| m.name.to_string()).unwrap_or_default();
            match (path.is_empty(), source.is_empty()) {
                (true, _) => e.kind.to_string(),
                (false, true) => format!("setting {path}: {}", e.kind),
                (false, false) => format!("setting {path}: {} (from {source})", e.kind),
            }
        })
        .collect();
    SettingsError::Load(lines.join("; "))
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        setting,
        reason: reason.into(),
    }
}

impl Settings {
    /// Defaults, then `IDP_CONFIG`, then the environment.
    pub fn load() -> Result<Self, SettingsError> {
        Self::from_figment(Self::figment())
    }

    /// The layers, for callers (tests, `demo`) that add their own on top.
    pub fn figment() -> Figment {
        let mut fig = Figment::from(Toml::string(DEFAULTS));
        if let Ok(path) = std::env::var("IDP_CONFIG") {
            fig = fig.merge(Toml::file_exact(path));
        }
        // Unknown flat names are warned about (see `unknown_env_vars`), not fatal.
        let env = Env::prefixed("IDP_")
            .filter(|key| is_known_env(key.as_str()))
            .map(|key| {
                let upper = key.as_str().to_ascii_uppercase();
                match ENV_NAMES.iter().find(|(name, _)| *name == upper) {
                    Some((_, path)) => (*path).into(),
                    None => key.as_str().replace("__", ".").into(),
                }
            });
        fig.merge(env)
    }

    pub fn from_figment(fig: Figment) -> Result<Self, SettingsError> {
        let s: Settings = fig.extract().map_err(describe)?;
        s.validate()?;
        Ok(s)
    }

    /// `server.metrics_listen`, parsed; `None` when empty.
    pub fn metrics_listen(&self) -> Result<Option<SocketAddr>, SettingsError> {
        let raw = self.server.metrics_listen.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse()
            .map(Some)
            .map_err(|_| invalid("server.metrics_listen", "must be an address like 127.0.0.1:9090"))
    }

    /// `server.trusted_proxies`, parsed.
    pub fn trusted_proxies(&self) -> Result<hk_idp_web::client_address::TrustedProxies, SettingsError> {
        hk_idp_web::client_address::TrustedProxies::parse(&self.server.trusted_proxies)
            .map_err(|e| invalid("server.trusted_proxies (IDP_TRUSTED_PROXIES)", e))
    }

    fn validate(&self) -> Result<(), SettingsError> {
        if !self.server.issuer.is_empty() {
            let url = url::Url::parse(&self.server.issuer)
                .map_err(|e| invalid("server.issuer (IDP_ISSUER)", e.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") || url.query().is_some() || url.fragment().is_some() {
                return Err(invalid(
                    "server.issuer (IDP_ISSUER)",
                    "must be an http(s) URL without query or fragment",
                ));
            }
        }
        self.trusted_proxies()?;
        // A guessable admin token is worse than none (docs/CONTRACT.md).
        if short_secret(&self.admin.token) {
            return Err(invalid(
                "admin.token (IDP_ADMIN_TOKEN)",
                "must be at least 32 characters",
            ));
        }
        if self.admin.tokens.iter().any(|t| t.0.is_empty() || short_secret(t)) {
            return Err(invalid("admin.tokens", "each must be at least 32 characters"));
        }
        if !(1..=1000).contains(&self.mail.invitations_per_second) {
            return Err(invalid("mail.invitations_per_second", "must be 1 to 1000"));
        }
        let db = &self.database.url.0;
        if !(db.starts_with("sqlite:") || db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            return Err(invalid(
                "database.url (IDP_DATABASE_URL)",
                "must start with sqlite:// or postgres://",
            ));
        }
        let redis = &self.redis.url.0;
        if !optional_url_ok(redis, &["redis://", "rediss://", "redis+sentinel://"]) {
            return Err(invalid(
                "redis.url (IDP_REDIS_URL)",
                "must start with redis://, rediss:// or redis+sentinel://",
            ));
        }
        let smtp = &self.mail.smtp_url.0;
        if !optional_url_ok(smtp, &["smtp://", "smtps://"]) {
            return Err(invalid(
                "mail.smtp_url (IDP_SMTP_URL)",
                "must start with smtp:// or smtps://",
            ));
        }
        self.tokens.check()?;
        self.session.check()?;
        self.passwords.check()?;
        self.otp.check()?;
        self.login.check()?;
        for (name, v) in [
            ("keys.reload_interval", self.keys.reload_interval),
            ("server.request_timeout", self.server.request_timeout),
            ("server.header_timeout", self.server.header_timeout),
            ("server.max_in_flight", self.server.max_in_flight),
            ("mail.retry_attempts", self.mail.retry_attempts),
            ("cleanup.interval", self.cleanup.interval),
            ("cleanup.batch", self.cleanup.batch),
        ] {
            if v == 0 {
                return Err(invalid(name, "must be greater than 0"));
            }
        }
        self.metrics_listen()?;
        if self.keys.jwks_max_age > 86_400 {
            return Err(invalid("keys.jwks_max_age", "must be at most 86400 seconds"));
        }
        if self.server.shutdown_grace > 3600 {
            return Err(invalid("server.shutdown_grace", "must be at most 3600 seconds"));
        }
        if self.cleanup.batch > 10_000 {
            return Err(invalid("cleanup.batch", "must be at most 10000 rows"));
        }
        self.sealer()?;
        if !optional_url_ok(&self.log.otel_endpoint, &["http://", "https://"]) {
            return Err(invalid(
                "log.otel_endpoint (IDP_OTEL_ENDPOINT)",
                "must start with http:// or https:// (OTLP over HTTP)",
            ));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(invalid("log.format", "must be text or json"));
        }
        Ok(())
    }

    /// What the background clean-up removes, and how many rows at a time.
    pub fn cleanup_policy(&self) -> hk_idp_core::cleanup::CleanupPolicy {
        hk_idp_core::cleanup::CleanupPolicy {
            batch: self.cleanup.batch,
            audit_retention_days: self.audit.retention_days,
            ..Default::default()
        }
    }

    /// The sealer for stored secrets: the key-encryption key, if one is
    /// set, and the previous ones of a rotation.
    pub fn sealer(&self) -> Result<hk_idp_jose::Sealer, SettingsError> {
        let k = &self.keys;
        let current = decode_kek("keys.encryption_key", &k.encryption_key.0)?;
        let previous = k
            .previous_encryption_keys
            .iter()
            .map(|p| {
                decode_kek("keys.previous_encryption_keys", &p.0)?
                    .ok_or_else(|| invalid("keys.previous_encryption_keys", "must not hold an empty key"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        hk_idp_jose::Sealer::new(current.as_deref(), &previous)
            .map_err(|e| invalid("keys.encryption_key", e.to_string()))
    }

    /// `IDP_*` variables that set nothing: warned about at start.
    pub fn unknown_env_vars() -> Vec<String> {
        std::env::vars()
            .map(|(k, _)| k)
            .filter(|k| k.starts_with("IDP_") && k != "IDP_CONFIG" && !is_known_env(&k[4..]))
            .collect()
    }
}

/// A key-encryption key: base64 of 32 bytes; empty means none.
fn decode_kek(setting: &'static str, raw: &str) -> Result<Option<Vec<u8>>, SettingsError> {
    use base64::Engine;
    if raw.is_empty() {
        return Ok(None);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .map_err(|_| invalid(setting, "must be base64"))?;
    if bytes.len() != 32 {
        return Err(invalid(setting, "must be 32 bytes"));
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Serialized;

    #[test]
    fn defaults_are_valid() {
        let s = Settings::from_figment(Figment::from(Toml::string(DEFAULTS))).unwrap();
        assert_eq!(s.server.listen.port(), 8080);
        assert_eq!(
            s.tokens.access_token_alg,
            hk_idp_core::oauth::signing_key::SigningAlg::ES256
        );
    }

    #[test]
    fn invalid_values_name_the_setting() {
        let fig = Figment::from(Toml::string(DEFAULTS)).merge(Serialized::default("tokens.access_token_alg", "HS256"));
        let e = Settings::from_figment(fig).unwrap_err().to_string();
        assert!(e.contains("tokens.access_token_alg"), "{e}");
        let fig = Figment::from(Toml::string(DEFAULTS)).merge(Serialized::default("server.listen", "nowhere"));
        let e = Settings::from_figment(fig).unwrap_err().to_string();
        assert!(e.contains("listen"), "{e}");
        let fig = Figment::from(Toml::string(DEFAULTS)).merge(Serialized::default("server.nonsense", 1));
        assert!(Settings::from_figment(fig).is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret("hunter2".into())), "***");
    }

    /// The settings named in the second column of the README's settings table.
    fn readme_settings() -> std::collections::BTreeSet<String> {
        let readme = include_str!("../../../README.md");
        let table = readme
            .split("\n## Settings")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap_or_default();
        table
            .lines()
            .filter(|l| l.starts_with('|'))
            .filter_map(|l| l.split('|').nth(2))
            .flat_map(|cell| {
                cell.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn every_setting_is_in_the_readme_table_and_every_row_is_a_setting() {
        let keys: std::collections::BTreeSet<String> = default_keys().into_iter().collect();
        let documented = readme_settings();
        let undocumented: Vec<_> = keys.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&keys).collect();
        assert!(
            undocumented.is_empty(),
            "in config/default.toml, not in the README's table: {undocumented:?}"
        );
        assert!(
            unknown.is_empty(),
            "in the README's table, not in config/default.toml: {unknown:?}"
        );
    }

    /// The deploy files (Kubernetes manifests, the compose file) set only
    /// variables the service reads: a flat name of the contract or
    /// `IDP_SECTION__NAME` of a setting in `config/default.toml`.
    #[test]
    fn the_deploy_files_set_only_settings_that_exist() {
        let keys: std::collections::BTreeSet<String> = default_keys().into_iter().collect();
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy");
        let mut files = vec![format!("{root}/compose.yaml")];
        for entry in std::fs::read_dir(format!("{root}/kubernetes")).unwrap() {
            files.push(entry.unwrap().path().display().to_string());
        }
        let mut seen = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                let Some(name) = word.strip_prefix("IDP_") else {
                    continue;
                };
                seen += 1;
                let setting = match ENV_NAMES.iter().find(|(flat, _)| *flat == name) {
                    Some((_, path)) => (*path).to_owned(),
                    None => name.to_ascii_lowercase().replacen("__", ".", 1),
                };
                assert!(
                    keys.contains(&setting),
                    "{file}: IDP_{name} sets no setting ({setting})"
                );
            }
        }
        assert!(seen >= 10, "the deploy files name the settings they set");
    }

    /// Every setting of `config/default.toml`, as `section.name`.
    fn default_keys() -> Vec<String> {
        let defaults: toml::Table = DEFAULTS.parse().unwrap();
        defaults
            .iter()
            .flat_map(|(section, table)| {
                table
                    .as_table()
                    .into_iter()
                    .flat_map(|t| t.keys())
                    .map(move |k| format!("{section}.{k}"))
            })
            .collect()
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use serde_json::{Value, json};

        fn value() -> impl Strategy<Value = Value> {
            let scalar = prop_oneof![
                1 => any::<i64>().prop_map(|n| json!(n)),
                1 => any::<u64>().prop_map(|n| json!(n)),
                3 => (-3i64..70_000).prop_map(|n| json!(n)),
                3 => (0u32..64).prop_map(|k| json!(1u64 << k)),
                1 => any::<f64>().prop_map(|f| json!(f)),
                1 => any::<bool>().prop_map(Value::Bool),
                1 => "\\PC{0,40}".prop_map(Value::String),
                3 => proptest::sample::select(vec![
                    "",
                    "0",
                    "-1",
                    "ES256",
                    "RS256",
                    "none",
                    "json",
                    "127.0.0.1:0",
                    "[::1]:0",
                    "10.0.0.0/8, ::1",
                    "sqlite::memory:",
                    "postgres://x@127.0.0.1/x",
                    "redis://127.0.0.1:1",
                    "smtp://127.0.0.1:1",
                    "https://id.hk.no/",
                    "http://x?y",
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                    "-----------------------------------",
                ])
                .prop_map(|s| Value::String(s.to_owned())),
            ];
            prop_oneof![
                4 => scalar.clone(),
                1 => proptest::collection::vec(scalar, 0..3).prop_map(Value::Array),
                1 => Just(json!({ "x": 1 })),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: 2048,
                failure_persistence: Some(Box::new(
                    proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
                )),
                ..ProptestConfig::default()
            })]

            /// Any value for any setting: the settings, or an error naming
            /// the setting (never a panic); and what is accepted, the hasher
            /// takes.
            #[test]
            fn any_setting_is_taken_or_refused_by_name(
                key in proptest::sample::select(default_keys()),
                v in value(),
            ) {
                let fig = Figment::from(Toml::string(DEFAULTS)).merge(Serialized::default(&key, &v));
                match Settings::from_figment(fig) {
                    Ok(s) => {
                        let argon2 = s.passwords.argon2();
                        prop_assert!(argon2.params().is_ok(), "{key} = {v}: {:?}", argon2.params().err());
                    }
                    Err(e) => {
                        let text = e.to_string();
                        let (section, name) = key.split_once('.').unwrap();
                        let named = text.contains(&key)
                            || (section == "passwords" && name.starts_with("argon2_") && text.contains("passwords.argon2_"));
                        prop_assert!(named, "{key} = {v}: {text}");
                    }
                }
            }
        }
    }
}
