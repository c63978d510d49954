//! A real SMTP listener for the tests: speaks enough of RFC 5321 for lettre,
//! keeps every message, and can answer 451 to make the sender retry.

use mail_parser::MessageParser;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub subject: String,
    pub from: String,
    pub text: String,
    pub html: String,
    /// The header section as it arrived, folded lines and all.
    pub headers: String,
}

impl Received {
    /// The first run of exactly six digits in the text part.
    pub fn code(&self) -> String {
        six_digits(&self.text).unwrap_or_else(|| panic!("no code in mail:\n{}", self.text))
    }
}

pub fn six_digits(s: &str) -> Option<String> {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(5)).find_map(|i| {
        let run = &b[i..i + 6];
        let before = i.checked_sub(1).map(|j| b[j]);
        let after = b.get(i + 6);
        (run.iter().all(u8::is_ascii_digit)
            && !before.is_some_and(|c| c.is_ascii_digit())
            && !after.is_some_and(u8::is_ascii_digit))
        .then(|| String::from_utf8_lossy(run).into_owned())
    })
}

#[derive(Clone)]
pub struct Mailbox {
    pub port: u16,
    mails: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
    /// Messages still to refuse with a transient 451 reply.
    refuse_next: Arc<AtomicU32>,
}

impl Mailbox {
    pub async fn start() -> Mailbox {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mailbox = Mailbox {
            port: listener.local_addr().unwrap().port(),
            mails: Arc::default(),
            arrived: Arc::default(),
            refuse_next: Arc::default(),
        };
        let m = mailbox.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let m = m.clone();
                tokio::spawn(async move {
                    let _ = m.session(stream).await;
                });
            }
        });
        mailbox
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn refuse_next(&self, n: u32) {
        self.refuse_next.store(n, Ordering::SeqCst);
    }

    pub fn to(&self, address: &str) -> Vec<Received> {
        self.mails
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .cloned()
            .collect()
    }

    /// Waits (up to 15 s) for the `nth` mail (counting from 1) to `address`.
    pub async fn wait_for(&self, address: &str, nth: usize) -> Received {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let notified = self.arrived.notified();
            if let Some(m) = self.to(address).get(nth - 1) {
                return m.clone();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("mail {nth} to {address} did not arrive");
            }
        }
    }

    async fn session(&self, stream: TcpStream) -> std::io::Result<()> {
        let (r, mut w) = stream.into_split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"220 test-smtp ESMTP\r\n").await?;
        let mut to = Vec::new();
        let mut from = String::new();
        while let Some(line) = lines.next_line().await? {
            let upper = line.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                b"250-test-smtp\r\n250 8BITMIME\r\n"
            } else if upper.starts_with("MAIL FROM:") {
                from = addr(&line[10..]);
                to.clear();
                b"250 OK\r\n"
            } else if upper.starts_with("RCPT TO:") {
                to.push(addr(&line[8..]));
                b"250 OK\r\n"
            } else if upper == "DATA" {
                w.write_all(b"354 go ahead\r\n").await?;
                let mut raw = String::new();
                while let Some(l) = lines.next_line().await? {
                    if l == "." {
                        break;
                    }
                    raw.push_str(l.strip_prefix('.').filter(|_| l.starts_with("..")).unwrap_or(&l));
                    raw.push_str("\r\n");
                }
                let refused = self
                    .refuse_next
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if refused {
                    b"451 4.3.0 try again later\r\n"
                } else {
                    self.keep(std::mem::take(&mut to), from.clone(), raw);
                    b"250 OK queued\r\n"
                }
            } else if upper == "QUIT" {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                b"250 OK\r\n"
            };
            w.write_all(reply).await?;
        }
        Ok(())
    }

    fn keep(&self, to: Vec<String>, from: String, raw: String) {
        let parsed = MessageParser::default().parse(raw.as_bytes());
        let (subject, text, html) = match &parsed {
            Some(m) => (
                m.subject().unwrap_or_default().to_owned(),
                m.body_text(0).map(|c| c.into_owned()).unwrap_or_default(),
                m.body_html(0).map(|c| c.into_owned()).unwrap_or_default(),
            ),
            None => Default::default(),
        };
        let headers = raw.split("\r\n\r\n").next().unwrap_or_default().to_owned();
        self.mails.lock().unwrap().push(Received {
            to,
            subject,
            from,
            text,
            html,
            headers,
        });
        self.arrived.notify_waiters();
    }
}

fn addr(s: &str) -> String {
    let s = s.trim();
    let s = s.split_whitespace().next().unwrap_or(s);
    s.trim_start_matches('<').trim_end_matches('>').to_owned()
}
