//! Members: the people who log in. Registered by HK, activated by the member.

use crate::account::email::Email;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    Pending,
    Active,
    Disabled,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "active" => Some(Self::Active),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Stable opaque identifier, the `sub` of every token.
    pub id: String,
    pub email: Email,
    pub name: Option<String>,
    pub org_number: Option<String>,
    pub org_name: Option<String>,
    pub password_hash: Option<String>,
    pub status: MemberStatus,
    /// Consecutive failed logins; at the limit the password stops working.
    pub failed_logins: i32,
    pub created_at: i64,
    pub updated_at: i64,
    /// When the last invitation mail went out.
    pub invited_at: Option<i64>,
}

impl Member {
    pub fn new(email: Email, name: Option<String>, now: i64) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            email,
            name,
            org_number: None,
            org_name: None,
            password_hash: None,
            status: MemberStatus::Pending,
            failed_logins: 0,
            created_at: now,
            updated_at: now,
            invited_at: None,
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == MemberStatus::Active
    }
}

/// One change to a stored member: only the columns it names, and only under
/// its condition, so a write from an earlier read never undoes another
/// (an admin's disable during an activation, a rename during a reset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberWrite {
    /// A password set through a one-time code: active, failures cleared;
    /// only while the status is one of `from`.
    NewPassword { hash: String, from: Vec<MemberStatus> },
    /// A rehash at login: only while the stored hash is still `old`.
    Rehash { old: String, new: String },
    /// An admin's change of the profile columns that are `Some`.
    Profile {
        name: Option<Option<String>>,
        org_number: Option<Option<String>>,
        org_name: Option<Option<String>>,
    },
    /// Disabled; only if not disabled already.
    Disable,
    /// Enabled again: active with a password, pending without; only while disabled.
    Enable,
}

/// The member as the admin API and `--json` output show it (no hash).
#[derive(Debug, Clone, Serialize)]
pub struct MemberView {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub org_number: Option<String>,
    pub org_name: Option<String>,
    pub status: MemberStatus,
    pub created_at: i64,
    pub updated_at: i64,
    pub invited_at: Option<i64>,
}

impl From<&Member> for MemberView {
    fn from(m: &Member) -> Self {
        Self {
            id: m.id.clone(),
            email: m.email.to_string(),
            name: m.name.clone(),
            org_number: m.org_number.clone(),
            org_name: m.org_name.clone(),
            status: m.status,
            created_at: m.created_at,
            updated_at: m.updated_at,
            invited_at: m.invited_at,
        }
    }
}
