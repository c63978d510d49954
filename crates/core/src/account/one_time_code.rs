//! One-time codes by e-mail for activation and forgotten passwords.
//!
//! Rules (docs/SECURITY-RULES.md §2): 6 digits from a CSPRNG, stored only as a
//! keyed hash, valid `otp.ttl`, single use, bound to the browser flow that
//! asked for it (a new request from that browser voids it; another browser's
//! does not), void after a later new password; asking and guessing limited
//! where they happen (`otp_limits`, docs/ABUSE-LIMITS.md).
//! Nothing here reveals whether an e-mail is registered: an address that gets
//! no mail gets a decoy flow that no code opens, so both paths do the same
//! work and answer alike.

use crate::account::email::Email;
use crate::account::member::{Member, MemberWrite};
use crate::account::otp_limits::OtpAsker;
use crate::account::otp_purpose::OtpPurpose;
use crate::account::password_policy::{PasswordProblem, check_new_password};
use crate::client_address::limit_group;
use crate::error::CoreError;
use crate::locale::Locale;
use crate::ports::mailer::{MailKind, MailMessage};
use crate::provider::Provider;
use crate::secret::{constant_time_eq, hash_token, random_token};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// One browser's flow between step 1 and step 2, with the code it asked for:
/// a code opens only the flow that asked for it, so another browser's
/// request neither voids it nor guesses at it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OtpFlow {
    email: String,
    purpose: OtpPurpose,
    code_mac: String,
    /// `None` for a decoy: no code opens it.
    member_id: Option<String>,
    /// The address group that asked; its wrong guesses count there.
    group: String,
    /// By the provider's clock; the store's expiry bounds it too.
    created_ms: i64,
    expires_at: i64,
}

/// Outcome of step 1.
#[derive(Debug)]
pub enum OtpStart {
    /// Step 2 follows; the value identifies this browser's flow (a cookie).
    Started {
        flow: String,
    },
    InvalidEmail,
    /// Too many codes asked for this e-mail or from this address.
    TooMany,
}

/// Why the code field is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeProblem {
    Missing,
    /// Wrong, expired or never sent: the person cannot tell which.
    Wrong,
    /// Too many wrong tries: the code is void, a new one is needed.
    Void,
}

/// Outcome of step 2.
#[derive(Debug)]
pub enum OtpFinish {
    /// The password is set; the member may log in.
    PasswordSet,
    /// The flow is unknown or expired: start again from step 1.
    Expired,
    Refused {
        code: Option<CodeProblem>,
        password: Option<PasswordProblem>,
    },
}

fn flow_key(flow: &str) -> String {
    format!("otpflow:{}", hash_token(flow))
}

fn tries_key(flow: &str) -> String {
    format!("otptries:{}", hash_token(flow))
}

/// A six-digit code from the operating system's CSPRNG.
fn new_code() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

fn is_code_shaped(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

fn usable_flow(flow: Option<&str>) -> Option<&str> {
    flow.filter(|f| !f.is_empty() && f.len() <= 64)
}

impl Provider {
    /// Keyed hash of a code: six digits are too few to store as a plain hash.
    fn code_mac(&self, email: &str, code: &str) -> String {
        crate::secret::keyed_hash(&self.pepper, &[email, code])
    }

    /// Step 1: a code for `raw_email`, mailed if the member may have one. The
    /// browser's earlier flow (`previous`), if any, ends: its code is void.
    pub async fn start_otp(
        &self,
        purpose: OtpPurpose,
        raw_email: &str,
        ip: Option<&str>,
        previous: Option<&str>,
        locale: Locale,
    ) -> Result<OtpStart, CoreError> {
        let Ok(email) = Email::parse(raw_email) else {
            return Ok(OtpStart::InvalidEmail);
        };
        let group = limit_group(ip);
        let asker = OtpAsker {
            email: email.as_str(),
            group: &group,
        };
        if !self.count_otp_request(&asker).await? {
            tracing::info!(purpose = purpose.as_str(), "otp.refused");
            return Ok(OtpStart::TooMany);
        }
        if let Some(old) = usable_flow(previous) {
            self.kv.delete(&flow_key(old)).await?;
        }
        let s = &self.settings;
        let member = self.members.find_member_by_email(email.as_str()).await?;
        let eligible = member.filter(|m| purpose.admits(m.status));
        let code = new_code();
        let flow = random_token(32);
        let state = OtpFlow {
            email: email.as_str().to_owned(),
            purpose,
            code_mac: self.code_mac(email.as_str(), &code),
            member_id: eligible.as_ref().map(|m| m.id.clone()),
            group,
            created_ms: self.clock.now_millis(),
            expires_at: self.clock.now() + s.otp.ttl,
        };
        self.kv.put_json(&flow_key(&flow), &state, s.otp.ttl).await?;
        let mail = MailMessage {
            to: eligible
                .as_ref()
                .map_or_else(|| email.as_str().to_owned(), |m| m.email.to_string()),
            name: eligible.as_ref().and_then(|m| m.name.clone()),
            locale,
            kind: MailKind::OneTimeCode {
                code,
                purpose,
                valid_minutes: s.otp.valid_minutes(),
            },
        };
        match eligible {
            Some(m) => {
                self.mail.enqueue(mail).await?;
                tracing::info!(member_id = %m.id, purpose = purpose.as_str(), "otp.sent");
                self.telemetry.count(crate::ports::telemetry::Counted::CodeSent);
                self.audit_member("otp.sent", &m.id, None, ip.map(str::to_owned)).await;
            }
            None => {
                // Stored and recorded too, so both paths write alike (and an
                // admin sees the attempt); the decoy is never sent.
                self.mail.enqueue_decoy(mail).await?;
                tracing::info!(purpose = purpose.as_str(), "otp.not_sent");
                let event = crate::audit::AuditEvent::new("otp.not_sent", "anonymous".into(), self.clock.now())
                    .ip(ip.map(str::to_owned))
                    .detail(purpose.as_str());
                self.record(event).await;
            }
        }
        Ok(OtpStart::Started { flow })
    }

    /// True while the flow behind this browser's cookie is alive.
    pub async fn otp_flow_alive(&self, flow: Option<&str>) -> Result<bool, CoreError> {
        Ok(self.find_flow(flow).await?.is_some())
    }

    async fn find_flow(&self, flow: Option<&str>) -> Result<Option<OtpFlow>, CoreError> {
        match usable_flow(flow) {
            Some(f) => Ok(self.kv.get_json(&flow_key(f)).await?),
            None => Ok(None),
        }
    }

    /// Step 2: checks the code of this browser's flow and sets the new password.
    pub async fn finish_otp(
        &self,
        flow: Option<&str>,
        code: &str,
        password: &str,
        confirmation: &str,
        ip: Option<&str>,
    ) -> Result<OtpFinish, CoreError> {
        let (Some(flow), Some(state)) = (usable_flow(flow), self.find_flow(flow).await?) else {
            return Ok(OtpFinish::Expired);
        };
        let email = state.email.as_str();
        let min = self.settings.passwords.min_length;
        let code = code.trim();
        let code_problem = (!is_code_shaped(code)).then_some(if code.is_empty() {
            CodeProblem::Missing
        } else {
            CodeProblem::Wrong
        });
        let password_problem = check_new_password(password, confirmation, min, &[email]).err();
        if code_problem.is_some() || password_problem.is_some() {
            return Ok(OtpFinish::Refused {
                code: code_problem,
                password: password_problem,
            });
        }
        let wrong = |p| OtpFinish::Refused {
            code: Some(p),
            password: None,
        };
        // Guesses count where they are made: against the flow and the address
        // group that asked for the code (and the one guessing, if another).
        let group = limit_group(ip);
        let askers = [
            OtpAsker {
                email,
                group: &state.group,
            },
            OtpAsker { email, group: &group },
        ];
        let askers = if state.group == group {
            &askers[..1]
        } else {
            &askers[..]
        };
        // Counting first makes concurrent guesses count too (RFC 6749 §10.10 spirit).
        let tries = self.kv.incr(&tries_key(flow), self.settings.otp.ttl).await?;
        let mut blocked = false;
        for a in askers {
            blocked |= self.otp_guesses_blocked(a).await?;
        }
        if tries > self.settings.otp.max_attempts || blocked {
            return Ok(wrong(CodeProblem::Void));
        }
        let fresh = self.clock.now() < state.expires_at;
        let matches = fresh && constant_time_eq(&state.code_mac, &self.code_mac(email, code));
        let member_id = match (matches, &state.member_id) {
            (true, Some(id)) => id.clone(),
            _ => {
                tracing::info!(tries, "otp.wrong_code");
                let mut used_up = false;
                for a in askers {
                    used_up |= self.count_wrong_otp(a).await?;
                }
                if tries == self.settings.otp.max_attempts || used_up {
                    return Ok(wrong(CodeProblem::Void));
                }
                return Ok(wrong(CodeProblem::Wrong));
            }
        };
        let Some(member) = self.members.find_member(&member_id).await? else {
            return Ok(wrong(CodeProblem::Wrong));
        };
        // A code asked for before a later new password, disable or removal is void.
        if self.member_marker_after(&member_id, state.created_ms).await? {
            return Ok(wrong(CodeProblem::Void));
        }
        let name = member.name.clone().unwrap_or_default();
        if let Err(p) = check_new_password(password, confirmation, min, &[email, &name]) {
            return Ok(OtpFinish::Refused {
                code: None,
                password: Some(p),
            });
        }
        // Single use: of concurrent submissions, one takes the flow.
        if self.kv.0.take(&flow_key(flow)).await?.is_none() {
            return Ok(wrong(CodeProblem::Wrong));
        }
        if !state.purpose.admits(member.status) {
            return Ok(wrong(CodeProblem::Wrong));
        }
        if !self
            .set_password(member, password.to_owned(), state.purpose, ip)
            .await?
        {
            return Ok(wrong(CodeProblem::Wrong));
        }
        self.kv.delete(&tries_key(flow)).await?;
        Ok(OtpFinish::PasswordSet)
    }

    /// Stores a new password; the member's sessions and refresh tokens end.
    /// False if the member's status changed meanwhile (e.g. disabled): then
    /// nothing is written.
    async fn set_password(
        &self,
        member: Member,
        password: String,
        purpose: OtpPurpose,
        ip: Option<&str>,
    ) -> Result<bool, CoreError> {
        let write = MemberWrite::NewPassword {
            hash: self.passwords.hash(password).await?,
            from: purpose.statuses().to_vec(),
        };
        if !self.members.write_member(&member.id, &write, self.clock.now()).await? {
            tracing::info!(member_id = %member.id, "password.not_set_status_changed");
            return Ok(false);
        }
        self.end_member_sessions(&member.id).await?;
        self.clear_login_throttle(member.email.as_str()).await?;
        tracing::info!(member_id = %member.id, purpose = purpose.as_str(), "password.set");
        let kind = match purpose {
            OtpPurpose::Activate => "member.activated",
            OtpPurpose::Reset => "password.reset",
        };
        self.audit_member(kind, &member.id, None, ip.map(str::to_owned)).await;
        Ok(true)
    }
}

#[cfg(test)]
#[path = "one_time_code_tests.rs"]
mod tests;
