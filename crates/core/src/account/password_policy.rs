//! Rules for a new password (NIST SP 800-63B-4 §3.1.1.2): long enough, at
//! most 256 characters, typed twice alike, and not common or guessable by a
//! strength estimator that knows the member's e-mail and name. No
//! composition rules.

/// Longest password accepted or even looked at (docs/SECURITY-RULES.md §1).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Why a new password is refused; the page shows it at the password field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    Missing,
    TooShort {
        min: usize,
    },
    TooLong,
    Guessable,
    /// The confirmation differs (shown at the confirmation field).
    Mismatch,
}

impl PasswordProblem {
    /// In English, for the CLI and the admin API; pages have their own texts.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Missing => "a password is required",
            Self::TooShort { .. } => "the password is too short",
            Self::TooLong => "the password must be at most 256 characters",
            Self::Guessable => "the password is too common or easy to guess",
            Self::Mismatch => "the passwords differ",
        }
    }
}

/// zxcvbn score a password needs: 3 = "safely unguessable", ~10^8 guesses or more.
const MIN_SCORE: u8 = 3;

/// Checks `password` against the policy; `context` are words a guesser
/// would try first (the e-mail, its local part, the name).
pub fn check_new_password(
    password: &str,
    confirmation: &str,
    min_chars: usize,
    context: &[&str],
) -> Result<(), PasswordProblem> {
    let n = password.chars().count();
    if n == 0 {
        return Err(PasswordProblem::Missing);
    }
    if n < min_chars {
        return Err(PasswordProblem::TooShort { min: min_chars });
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    if !is_hard_to_guess(password, context) {
        return Err(PasswordProblem::Guessable);
    }
    if password != confirmation {
        return Err(PasswordProblem::Mismatch);
    }
    Ok(())
}

fn is_hard_to_guess(password: &str, context: &[&str]) -> bool {
    // zxcvbn lowercases the password before its dictionary match, not the inputs.
    let mut inputs: Vec<String> = Vec::new();
    for c in context.iter().map(|c| c.to_lowercase()) {
        inputs.extend(
            c.split(['@', '.', ' ', '-', '_'])
                .filter(|p| p.chars().count() >= 3)
                .map(str::to_owned),
        );
        inputs.push(c.replace([' ', '.', '-', '_'], ""));
        inputs.push(c);
    }
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    u8::from(zxcvbn::zxcvbn(password, &inputs).score()) >= MIN_SCORE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_and_personal_passwords_are_refused() {
        let ctx = ["kari.nordmann@example.no", "Kari Nordmann"];
        assert_eq!(
            check_new_password("passwordpassword", "passwordpassword", 15, &ctx),
            Err(PasswordProblem::Guessable)
        );
        assert_eq!(
            check_new_password("karinordmann1234", "karinordmann1234", 15, &ctx),
            Err(PasswordProblem::Guessable)
        );
        assert_eq!(
            check_new_password("aaaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaa", 15, &ctx),
            Err(PasswordProblem::Guessable)
        );
    }

    #[test]
    fn length_and_confirmation_are_checked() {
        assert_eq!(
            check_new_password("kort", "kort", 15, &[]),
            Err(PasswordProblem::TooShort { min: 15 })
        );
        let long = "x".repeat(257);
        assert_eq!(check_new_password(&long, &long, 15, &[]), Err(PasswordProblem::TooLong));
        assert_eq!(
            check_new_password("blå hest danser i regnet", "blå hest danser i regne", 15, &[]),
            Err(PasswordProblem::Mismatch)
        );
        assert_eq!(
            check_new_password("blå hest danser i regnet", "blå hest danser i regnet", 15, &[]),
            Ok(())
        );
    }
}
