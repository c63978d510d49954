//! The client's address: the TCP peer, or — when the peer is one of the
//! trusted reverse proxies (`server.trusted_proxies`) — the right-most entry
//! of `Forwarded` (RFC 7239) or else `X-Forwarded-For` that is not itself a
//! trusted proxy. Forwarding headers from any other peer are ignored, so
//! nobody outside picks the address the limits, the audit trail and the logs
//! see.

use axum::http::{HeaderMap, header};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The client address as resolved for this request (a request extension).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Comma-separated CIDRs or plain addresses; blank: none.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let net = item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{item:?} is not an address or CIDR"))?;
            nets.push(net);
        }
        Ok(Self(nets))
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client address of a request from `peer` with these headers.
    pub fn client_address(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer.ip());
        if !self.trusts(peer) {
            return peer;
        }
        let chain = forwarded_chain(headers);
        let mut client = peer;
        for entry in chain.iter().rev() {
            match entry {
                Some(ip) if self.trusts(*ip) => client = *ip,
                Some(ip) => return *ip,
                // "unknown", an obfuscated name or garbage: the walk ends at
                // the last proxy we trust.
                None => return client,
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 as IPv4, so one client has one spelling.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The hops the proxies recorded, left (client) to right (nearest proxy);
/// `Forwarded` when present, else `X-Forwarded-For`.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let forwarded = values(header::FORWARDED);
    if !forwarded.is_empty() {
        return forwarded.iter().map(|element| forwarded_for(element)).collect();
    }
    values(header::HeaderName::from_static("x-forwarded-for"))
        .iter()
        .map(|s| node(s))
        .collect()
}

/// The `for=` parameter of one `Forwarded` element (RFC 7239 §4).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim().eq_ignore_ascii_case("for").then(|| node(v.trim())).flatten()
    })
}

/// A node: `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn node(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok().map(canonical);
    }
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn resolve(trusted: &str, peer: &str, pairs: &[(&'static str, &str)]) -> String {
        let proxies = TrustedProxies::parse(trusted).unwrap();
        let peer = SocketAddr::new(peer.parse().unwrap(), 443);
        proxies.client_address(peer, &headers(pairs)).to_string()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        assert_eq!(
            resolve("", "192.0.2.9", &[("x-forwarded-for", "198.51.100.1")]),
            "192.0.2.9"
        );
        assert_eq!(
            resolve("10.0.0.0/8", "192.0.2.9", &[("forwarded", "for=198.51.100.1")]),
            "192.0.2.9"
        );
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        let t = "10.0.0.0/8, 127.0.0.5";
        // The client prepends a lie; the proxy appends the truth.
        let xff = [("x-forwarded-for", "203.0.113.66, 198.51.100.7, 10.1.2.3")];
        assert_eq!(resolve(t, "127.0.0.5", &xff), "198.51.100.7");
        let split = [("x-forwarded-for", "203.0.113.66"), ("x-forwarded-for", "198.51.100.7")];
        assert_eq!(resolve(t, "10.0.0.1", &split), "198.51.100.7");
        assert_eq!(resolve(t, "10.0.0.1", &[]), "10.0.0.1", "no header: the peer");
        assert_eq!(
            resolve(t, "10.0.0.1", &[("x-forwarded-for", "10.9.9.9")]),
            "10.9.9.9",
            "all trusted: the left-most"
        );
        assert_eq!(resolve(t, "10.0.0.1", &[("x-forwarded-for", "unknown")]), "10.0.0.1");
    }

    #[test]
    fn forwarded_is_read_with_ports_brackets_and_quotes_and_wins_over_x_forwarded_for() {
        let t = "10.0.0.0/8";
        let f = [
            (
                "forwarded",
                r#"for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.3"#,
            ),
            ("x-forwarded-for", "198.51.100.1"),
        ];
        assert_eq!(resolve(t, "10.0.0.1", &f), "2001:db8:cafe::17");
        assert_eq!(
            resolve(t, "10.0.0.1", &[("forwarded", "proto=https;for=192.0.2.60:47011")]),
            "192.0.2.60"
        );
        assert_eq!(resolve(t, "10.0.0.1", &[("forwarded", "for=_hidden")]), "10.0.0.1");
        assert_eq!(
            resolve(t, "::ffff:10.0.0.1", &[("x-forwarded-for", "::ffff:192.0.2.8")]),
            "192.0.2.8"
        );
    }

    #[test]
    fn bad_lists_name_the_bad_entry() {
        assert!(
            TrustedProxies::parse("10.0.0.0/8, nonsense")
                .unwrap_err()
                .contains("nonsense")
        );
        assert!(TrustedProxies::parse(" ").unwrap().0.is_empty());
        assert!(
            TrustedProxies::parse("127.0.0.5")
                .unwrap()
                .trusts("127.0.0.5".parse().unwrap())
        );
    }
}
