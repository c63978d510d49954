//! Norwegian organisation numbers (Enhetsregisteret): nine digits, the last
//! a modulus-11 check digit over the first eight with weights 3 2 7 6 5 4 3 2.

const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];

/// Accepts `123456785` or `123 456 785`; returns the nine digits.
pub fn parse_org_number(raw: &str) -> Result<String, String> {
    let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("org_number must be nine digits".into());
    }
    let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = d.iter().zip(WEIGHTS).map(|(x, w)| x * w).sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return Err("org_number is not a valid organisation number".into()),
        c => c,
    };
    if check != d[8] {
        return Err("org_number has a wrong check digit".into());
    }
    Ok(digits)
}

#[cfg(test)]
mod tests {
    use super::parse_org_number;

    #[test]
    fn accepts_real_numbers_and_refuses_wrong_check_digits() {
        // Handel og Kontor i Norge and Brønnøysundregistrene.
        assert_eq!(parse_org_number("971274042").as_deref(), Ok("971274042"));
        assert_eq!(parse_org_number("974 760 673").as_deref(), Ok("974760673"));
        assert!(parse_org_number("971274043").is_err());
        assert!(parse_org_number("97127404").is_err());
        assert!(parse_org_number("97127404x").is_err());
    }
}
