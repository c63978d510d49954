//! The language a person sees: Norwegian bokmål by default, English on request
//! (`ui_locales`, OIDC Core §3.1.2.1, then `Accept-Language`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    Nb,
    En,
}

impl Locale {
    /// The `lang` attribute of pages and mails.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Nb => "nb",
            Self::En => "en",
        }
    }

    fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "nb" | "no" | "nn" => Some(Self::Nb),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// `ui_locales`: space-separated tags in order of preference; the first we speak wins.
    pub fn from_ui_locales(value: &str) -> Option<Self> {
        value.split(' ').find_map(Self::from_tag)
    }

    /// `Accept-Language` (RFC 9110 §12.5.4): the highest-weighted tag we speak.
    pub fn from_accept_language(value: &str) -> Option<Self> {
        let mut best: Option<(u16, Self)> = None;
        for part in value.split(',').take(20) {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("");
            let weight = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .map_or(1000, |q| (q.clamp(0.0, 1.0) * 1000.0) as u16);
            if weight == 0 {
                continue;
            }
            if let Some(l) = Self::from_tag(tag)
                && best.is_none_or(|(w, _)| weight > w)
            {
                best = Some((weight, l));
            }
        }
        best.map(|(_, l)| l)
    }
}

#[cfg(test)]
mod tests {
    use super::Locale;

    #[test]
    fn ui_locales_pick_the_first_language_we_speak() {
        assert_eq!(Locale::from_ui_locales("de en nb"), Some(Locale::En));
        assert_eq!(Locale::from_ui_locales("nb-NO"), Some(Locale::Nb));
        assert_eq!(Locale::from_ui_locales("fr"), None);
    }

    #[test]
    fn accept_language_respects_weights() {
        assert_eq!(
            Locale::from_accept_language("en-US,en;q=0.9,nb;q=0.8"),
            Some(Locale::En)
        );
        assert_eq!(Locale::from_accept_language("en;q=0.5, nb"), Some(Locale::Nb));
        assert_eq!(Locale::from_accept_language("de, en;q=0"), None);
        assert_eq!(Locale::from_accept_language(""), None);
    }
}
