//! The client address as the limits count it: an IPv4 address on its own,
//! an IPv6 address by its /64 (one subscriber's network: handing out new
//! addresses inside it buys nothing), an IPv4-mapped IPv6 address as IPv4.
//! Anything that is not an address (or none at all) is one group, "unknown".

use std::net::{IpAddr, Ipv6Addr};

/// The group `ip` is counted in by every per-address limit.
pub fn limit_group(ip: Option<&str>) -> String {
    match ip.and_then(|s| s.parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        None => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::limit_group;

    #[test]
    fn ipv6_counts_by_its_64_and_ipv4_by_itself() {
        assert_eq!(limit_group(Some("192.0.2.7")), "192.0.2.7");
        assert_eq!(limit_group(Some("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(
            limit_group(Some("2001:db8:1:2:ffff:1:2:3")),
            limit_group(Some("2001:db8:1:2::9")),
            "one /64, one group"
        );
        assert_ne!(
            limit_group(Some("2001:db8:1:3::1")),
            limit_group(Some("2001:db8:1:2::1"))
        );
        assert_eq!(limit_group(Some("::ffff:192.0.2.7")), "192.0.2.7");
        assert_eq!(limit_group(None), "unknown");
        assert_eq!(limit_group(Some("not an address")), "unknown");
    }
}
