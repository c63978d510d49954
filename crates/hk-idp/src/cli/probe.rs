//! `hk-idp probe`: the container's health check. Asks this node's own
//! `/readyz` (or `/healthz` with `--live`) over loopback and exits 0 when it
//! answers 200: an image without a shell or curl still has a health check.

use anyhow::{Context, bail};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where to knock: the listen address, with an unspecified host made loopback.
fn target(listen: SocketAddr) -> SocketAddr {
    match listen {
        SocketAddr::V4(a) if a.ip().is_unspecified() => SocketAddr::from((Ipv4Addr::LOCALHOST, a.port())),
        SocketAddr::V6(a) if a.ip().is_unspecified() => SocketAddr::from((Ipv6Addr::LOCALHOST, a.port())),
        other => other,
    }
}

/// The status code of an HTTP/1.x status line.
fn status_of(head: &str) -> Option<u16> {
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    parts.next().filter(|v| v.starts_with("HTTP/1."))?;
    parts.next()?.parse().ok()
}

pub async fn run(listen: SocketAddr, live: bool) -> anyhow::Result<u16> {
    let path = if live { "/healthz" } else { "/readyz" };
    let at = target(listen);
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(at).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {at}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut head = vec![0u8; 512];
        let n = stream.read(&mut head).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&head[..n]).into_owned())
    };
    let head = tokio::time::timeout(Duration::from_secs(2), ask)
        .await
        .with_context(|| format!("{at}{path}: no answer within 2 s"))?
        .with_context(|| format!("{at}{path}"))?;
    match status_of(&head) {
        Some(200) => Ok(200),
        Some(code) => bail!("{at}{path} answered {code}"),
        None => bail!("{at}{path}: not an HTTP answer"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listen_address_is_probed_on_loopback() {
        assert_eq!(
            target("0.0.0.0:8080".parse().unwrap()),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(target("[::]:8080".parse().unwrap()), "[::1]:8080".parse().unwrap());
        assert_eq!(target("10.0.0.5:80".parse().unwrap()), "10.0.0.5:80".parse().unwrap());
    }

    #[test]
    fn the_status_line_is_read() {
        assert_eq!(status_of("HTTP/1.1 503 Service Unavailable\r\n"), Some(503));
        assert_eq!(status_of("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n"), Some(200));
        assert_eq!(status_of("SSH-2.0-OpenSSH"), None);
    }
}
