//! Mail bodies: one HTML and one text template shared by every mail, filled
//! with the texts (`texts.rs`) of the mail's kind and language. Names are
//! escaped in HTML.

use crate::texts::{MailTexts, mail_texts};
use askama::Template;
use hk_idp_core::account::otp_purpose::OtpPurpose;
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

fn greeting(t: &MailTexts, name: Option<&str>) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => t.greeting_named.replace("{name}", n),
        None => t.greeting.to_owned(),
    }
}

fn body(mail: &MailMessage) -> Body {
    let t = mail_texts(mail.locale);
    let mut b = Body {
        lang: mail.locale.tag(),
        subject: String::new(),
        greeting: greeting(t, mail.name.as_deref()),
        intro: Vec::new(),
        code: None,
        link: None,
        outro: Vec::new(),
        signature: t.signature,
    };
    match &mail.kind {
        MailKind::OneTimeCode {
            code,
            purpose,
            valid_minutes,
        } => {
            b.code = Some(code.clone());
            let (subject, intro) = match purpose {
                OtpPurpose::Activate => (t.activate_subject, t.activate_intro),
                OtpPurpose::Reset => (t.reset_subject, t.reset_intro),
            };
            b.subject = subject.into();
            b.intro = vec![intro.into()];
            b.outro = vec![
                t.code_validity.replace("{n}", &valid_minutes.to_string()),
                t.code_not_asked.into(),
            ];
        }
        MailKind::Invitation { link } => {
            b.link = Some(link.clone());
            b.subject = t.invitation_subject.into();
            b.intro = vec![t.invitation_intro.into()];
            b.outro = vec![t.invitation_first_login.into()];
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use hk_idp_core::locale::Locale;

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

    #[test]
    fn mails_speak_the_member_s_language() {
        let mut mail = code_mail("");
        mail.locale = Locale::En;
        mail.kind = MailKind::Invitation {
            link: "https://portal.hk.no/login".into(),
        };
        let r = render(&mail).unwrap();
        assert_eq!(r.subject, "Welcome to the HK Norge company portal");
        assert!(r.text.starts_with("Hello,"), "{}", r.text);
        assert!(r.html.contains("lang=\"en\"") && r.html.contains("https://portal.hk.no/login"));
        let r = render(&code_mail("Kari")).unwrap();
        assert!(r.text.contains("Koden er gyldig i 10 minutter"), "{}", r.text);
    }
}
