//! What a one-time code is for: activation or a forgotten password. Shared by
//! the code flow and the mail it sends.

use crate::account::member::MemberStatus;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OtpPurpose {
    /// First password for a registered member (for an active one: a reset).
    Activate,
    /// Forgotten password of an active member.
    Reset,
}

impl OtpPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Activate => "activate",
            Self::Reset => "reset",
        }
    }

    /// The statuses a member may have to set a password this way.
    pub(crate) fn statuses(self) -> &'static [MemberStatus] {
        match self {
            Self::Activate => &[MemberStatus::Pending, MemberStatus::Active],
            Self::Reset => &[MemberStatus::Active],
        }
    }

    pub(crate) fn admits(self, status: MemberStatus) -> bool {
        self.statuses().contains(&status)
    }
}
