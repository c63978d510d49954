//! Mail bodies: one HTML and one text template shared by every mail, filled
//! with the texts of the mail's kind and language. Names are escaped in HTML.

use askama::Template;
use hk_idp_core::account::otp_purpose::OtpPurpose;
use hk_idp_core::locale::Locale;
use hk_idp_core::ports::mailer::{MailKind, MailMessage};

pub struct RenderedMail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The parts of a mail, in reading order.
struct Body {
    lang: &'static str,
    subject: String,
    greeting: String,
    intro: Vec<String>,
    code: Option<String>,
    link: Option<String>,
    outro: Vec<String>,
    signature: &'static str,
}

#[derive(Template)]
#[template(path = "mail.html")]
struct HtmlMail<'a> {
    b: &'a Body,
}

#[derive(Template)]
#[template(path = "mail.txt")]
struct TextMail<'a> {
    b: &'a Body,
}

pub fn render(mail: &MailMessage) -> Result<RenderedMail, askama::Error> {
    let b = body(mail);
    Ok(RenderedMail {
        text: TextMail { b: &b }.render()?,
        html: HtmlMail { b: &b }.render()?,
        subject: b.subject,
    })
}

fn greeting(locale: Locale, name: Option<&str>) -> String {
    let hello = match locale {
        Locale::Nb => "Hei",
        Locale::En => "Hello",
    };
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => format!("{hello} {n},"),
        None => format!("{hello},"),
    }
}

fn body(mail: &MailMessage) -> Body {
    let (l, name) = (mail.locale, mail.name.as_deref());
    let signature = match l {
        Locale::Nb => "Hilsen\nHandel og Kontor (HK Norge)",
        Locale::En => "Regards\nHandel og Kontor (HK Norge)",
    };
    let mut b = Body {
        lang: l.tag(),
        subject: String::new(),
        greeting: greeting(l, name),
        intro: Vec::new(),
        code: None,
        link: None,
        outro: Vec::new(),
        signature,
    };
    match &mail.kind {
        MailKind::OneTimeCode {
            code,
            purpose,
            valid_minutes,
        } => {
            b.code = Some(code.clone());
            let m = valid_minutes;
            match (l, purpose) {
                (Locale::Nb, OtpPurpose::Activate) => {
                    b.subject = "Engangskode for å aktivere brukerkontoen din".into();
                    b.intro =
                        vec!["Her er engangskoden du ba om for å aktivere brukerkontoen din hos HK Norge:".into()];
                }
                (Locale::Nb, OtpPurpose::Reset) => {
                    b.subject = "Engangskode for å sette nytt passord".into();
                    b.intro = vec!["Her er engangskoden du ba om for å sette nytt passord hos HK Norge:".into()];
                }
                (Locale::En, OtpPurpose::Activate) => {
                    b.subject = "One-time code to activate your account".into();
                    b.intro = vec!["Here is the one-time code you asked for to activate your HK Norge account:".into()];
                }
                (Locale::En, OtpPurpose::Reset) => {
                    b.subject = "One-time code to set a new password".into();
                    b.intro = vec!["Here is the one-time code you asked for to set a new HK Norge password:".into()];
                }
            }
            b.outro = match l {
                Locale::Nb => vec![
                    format!(
                        "Koden er gyldig i {m} minutter og kan brukes én gang. Skriv den inn i feltet «Engangskode»."
                    ),
                    "Har du ikke bedt om en engangskode, kan du se bort fra denne e-posten. Del aldri koden med andre."
                        .into(),
                ],
                Locale::En => vec![
                    format!(
                        "The code is valid for {m} minutes and can be used once. Enter it in the \u{201c}One-time code\u{201d} field."
                    ),
                    "If you did not ask for a code, you can ignore this e-mail. Never share the code with anyone."
                        .into(),
                ],
            };
        }
        MailKind::Invitation { link } => {
            b.link = Some(link.clone());
            match l {
                Locale::Nb => {
                    b.subject = "Velkommen til bedriftsportalen til HK Norge".into();
                    b.intro = vec![
                        "Du er registrert som bruker hos HK Norge. Trykk på lenken nedenfor for å gå videre til bedriftsportalen.".into(),
                    ];
                    b.outro = vec![
                        "Første gang du logger deg på, klikker du «Klikk her for å aktivere din brukerkonto». Du får da en engangskode på e-post og velger ditt passord.".into(),
                    ];
                }
                Locale::En => {
                    b.subject = "Welcome to the HK Norge company portal".into();
                    b.intro = vec![
                        "You are registered as a user with HK Norge. Follow the link below to go to the company portal.".into(),
                    ];
                    b.outro = vec![
                        "The first time you sign in, choose \u{201c}Click here to activate your account\u{201d}. You will get a one-time code by e-mail and choose your password.".into(),
                    ];
                }
            }
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_mail(name: &str) -> MailMessage {
        MailMessage {
            to: "kari@example.no".into(),
            name: Some(name.into()),
            locale: Locale::Nb,
            kind: MailKind::OneTimeCode {
                code: "012345".into(),
                purpose: OtpPurpose::Activate,
                valid_minutes: 10,
            },
        }
    }

    #[test]
    fn the_code_is_in_both_parts_and_the_name_is_escaped_in_html() {
        let r = render(&code_mail("<b>Kari</b> & Co")).unwrap();
        assert!(r.text.contains("012345"));
        assert!(r.html.contains("012345"));
        assert!(r.text.contains("Hei <b>Kari</b> & Co,"));
        assert!(r.html.contains("&#60;b&#62;Kari&#60;/b&#62; &#38; Co") || r.html.contains("&lt;b&gt;Kari"));
        assert!(!r.html.contains("<b>Kari"));
        assert!(r.html.contains("lang=\"nb\""));
        // Not in the subject: lock screens and mail previews show subjects.
        assert!(!r.subject.contains("012345"));
    }
}
