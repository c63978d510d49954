//! Every text of the mails, in Norwegian bokmål and English, in the same
//! table shape as the pages' texts (`hk-idp-web`'s `texts.rs`): one struct,
//! one table per language. `{name}`, `{n}` are filled in when rendering.

use hk_idp_core::locale::Locale;

pub struct MailTexts {
    /// `{name}` is the member's name.
    pub greeting_named: &'static str,
    pub greeting: &'static str,
    /// Two lines.
    pub signature: &'static str,
    pub activate_subject: &'static str,
    pub activate_intro: &'static str,
    pub reset_subject: &'static str,
    pub reset_intro: &'static str,
    /// `{n}` is the number of minutes the code is valid.
    pub code_validity: &'static str,
    pub code_not_asked: &'static str,
    pub invitation_subject: &'static str,
    pub invitation_intro: &'static str,
    pub invitation_first_login: &'static str,
}

pub const NB: MailTexts = MailTexts {
    greeting_named: "Hei {name},",
    greeting: "Hei,",
    signature: "Hilsen\nHandel og Kontor (HK Norge)",
    activate_subject: "Engangskode for å aktivere brukerkontoen din",
    activate_intro: "Her er engangskoden du ba om for å aktivere brukerkontoen din hos HK Norge:",
    reset_subject: "Engangskode for å sette nytt passord",
    reset_intro: "Her er engangskoden du ba om for å sette nytt passord hos HK Norge:",
    code_validity: "Koden er gyldig i {n} minutter og kan brukes én gang. Skriv den inn i feltet «Engangskode».",
    code_not_asked: "Har du ikke bedt om en engangskode, kan du se bort fra denne e-posten. Del aldri koden med andre.",
    invitation_subject: "Velkommen til bedriftsportalen til HK Norge",
    invitation_intro: "Du er registrert som bruker hos HK Norge. Trykk på lenken nedenfor for å gå videre til bedriftsportalen.",
    invitation_first_login: "Første gang du logger deg på, klikker du «Klikk her for å aktivere din brukerkonto». Du får da en engangskode på e-post og velger ditt passord.",
};

pub const EN: MailTexts = MailTexts {
    greeting_named: "Hello {name},",
    greeting: "Hello,",
    signature: "Regards\nHandel og Kontor (HK Norge)",
    activate_subject: "One-time code to activate your account",
    activate_intro: "Here is the one-time code you asked for to activate your HK Norge account:",
    reset_subject: "One-time code to set a new password",
    reset_intro: "Here is the one-time code you asked for to set a new HK Norge password:",
    code_validity: "The code is valid for {n} minutes and can be used once. Enter it in the \u{201c}One-time code\u{201d} field.",
    code_not_asked: "If you did not ask for a code, you can ignore this e-mail. Never share the code with anyone.",
    invitation_subject: "Welcome to the HK Norge company portal",
    invitation_intro: "You are registered as a user with HK Norge. Follow the link below to go to the company portal.",
    invitation_first_login: "The first time you sign in, choose \u{201c}Click here to activate your account\u{201d}. You will get a one-time code by e-mail and choose your password.",
};

pub fn mail_texts(locale: Locale) -> &'static MailTexts {
    match locale {
        Locale::Nb => &NB,
        Locale::En => &EN,
    }
}
