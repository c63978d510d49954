//! Bulk registration from a CSV member list (`POST /admin/users/import`,
//! `hk-idp user import`). The file is read as a stream, a batch of rows at a
//! time; each batch is one transaction, so a run that stops leaves the rows
//! before some line registered and none after, and running the same file
//! again finishes the work: rows already registered count as `existing`.

use crate::account::member::Member;
use crate::admin::member_registry::NewMember;
use crate::audit::{Actor, AuditEvent};
use crate::error::{CoreError, StoreError};
use crate::provider::Provider;
use csv_async::{AsyncReaderBuilder, ByteRecord};
use serde::Serialize;
use std::collections::HashMap;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

/// Rows per transaction.
const BATCH: usize = 1000;
/// Rejected rows listed in the report at most; the count goes on.
const MAX_LISTED: usize = 10_000;

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub created: u64,
    pub existing: u64,
    pub rejected: Vec<Rejected>,
    /// Rejected rows beyond the ones listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub rejected_unlisted: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rejected {
    /// The file's line, the header being line 1.
    pub line: u64,
    pub reason: String,
}

impl ImportReport {
    fn reject(&mut self, line: u64, reason: impl Into<String>) {
        if self.rejected.len() < MAX_LISTED {
            self.rejected.push(Rejected {
                line,
                reason: reason.into(),
            });
        } else {
            self.rejected_unlisted += 1;
        }
    }

    pub fn rejected_count(&self) -> u64 {
        self.rejected.len() as u64 + self.rejected_unlisted
    }
}

/// Which column holds what; found by name in the header row.
struct Columns {
    email: usize,
    name: Option<usize>,
    org_number: Option<usize>,
    org_name: Option<usize>,
}

impl Columns {
    fn from_header(header: &ByteRecord) -> Result<Self, CoreError> {
        let names: Vec<String> = header
            .iter()
            .map(|f| {
                String::from_utf8_lossy(f)
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_lowercase()
            })
            .collect();
        let find = |n: &str| names.iter().position(|c| c == n);
        Ok(Self {
            email: find("email")
                .ok_or_else(|| CoreError::Invalid("the header row (line 1) has no email column".into()))?,
            name: find("name"),
            org_number: find("org_number"),
            org_name: find("org_name"),
        })
    }

    fn read(&self, rec: &ByteRecord) -> Result<NewMember, String> {
        let field = |i: Option<usize>, what: &str| -> Result<Option<String>, String> {
            match i.and_then(|i| rec.get(i)) {
                None => Ok(None),
                Some(raw) => std::str::from_utf8(raw)
                    .map(|s| Some(s.to_owned()))
                    .map_err(|_| format!("{what}: not valid UTF-8")),
            }
        };
        Ok(NewMember {
            email: field(Some(self.email), "email")?.ok_or("email: the row has no such field")?,
            name: field(self.name, "name")?,
            org_number: field(self.org_number, "org_number")?,
            org_name: field(self.org_name, "org_name")?,
            password: None,
        })
    }
}

/// `;` if the header row uses it (as spreadsheets set to Norwegian write), else `,`.
fn delimiter(first_line: &[u8]) -> u8 {
    let line = first_line.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |d: u8| line.iter().filter(|b| **b == d).count();
    if count(b';') > count(b',') { b';' } else { b',' }
}

impl Provider {
    pub async fn import_csv<R: AsyncRead + Unpin + Send>(
        &self,
        input: R,
        actor: &Actor,
    ) -> Result<ImportReport, CoreError> {
        // A final newline, so every row ends with one: the line count below relies on it.
        let mut input = BufReader::with_capacity(64 * 1024, input.chain(&b"\n"[..]));
        let first = input
            .fill_buf()
            .await
            .map_err(|e| CoreError::Invalid(format!("the file cannot be read: {e}")))?;
        let mut reader = AsyncReaderBuilder::new()
            .delimiter(delimiter(first))
            .flexible(true)
            // Rows end at \n, so a CRLF file counts its lines right; the \r is trimmed.
            .terminator(csv_async::Terminator::Any(b'\n'))
            .trim(csv_async::Trim::All)
            .create_reader(input);
        let header = reader
            .byte_headers()
            .await
            .map_err(|e| CoreError::Invalid(format!("the header row cannot be read: {e}")))?
            .clone();
        let columns = Columns::from_header(&header)?;
        let mut report = ImportReport::default();
        let mut seen: HashMap<String, u64> = HashMap::new();
        let mut batch: Vec<Member> = Vec::with_capacity(BATCH);
        // The line of the batch's first row, for the log if the batch fails.
        let mut batch_line = 0;
        let mut rec = ByteRecord::new();
        loop {
            let read = reader.read_byte_record(&mut rec).await;
            let more = match read {
                Ok(more) => more,
                Err(e) => {
                    // What is batched so far is saved, so the report is exact.
                    self.import_batch(&mut batch, batch_line, actor, &mut report).await?;
                    let line = e.position().map(|p| p.line()).unwrap_or_default();
                    tracing::warn!(error = %e, line, created = report.created, "import.unreadable");
                    return Err(CoreError::Invalid(format!(
                        "the file cannot be read after line {line} ({e}); {} members before it were registered; \
                         send the whole file again to finish (rows already registered count as existing)",
                        report.created
                    )));
                }
            };
            if !more {
                break;
            }
            // The row's own line: the parser's position counts the blank
            // lines it skipped before the row, so count back from its end.
            let inside: u64 = rec
                .iter()
                .map(|f| f.iter().filter(|b| **b == b'\n').count() as u64)
                .sum();
            let line = reader.position().line().saturating_sub(inside + 1);
            if rec.iter().all(|f| f.is_empty()) {
                continue;
            }
            let member = columns
                .read(&rec)
                .map_err(CoreError::Invalid)
                .and_then(|new| self.member_from(new));
            match member {
                Err(e) => report.reject(line, invalid_reason(e)),
                Ok(m) => match seen.get(m.email.as_str()) {
                    Some(first) => report.reject(line, format!("email: the same address as line {first}")),
                    None => {
                        seen.insert(m.email.as_str().to_owned(), line);
                        if batch.is_empty() {
                            batch_line = line;
                        }
                        batch.push(m);
                    }
                },
            }
            if batch.len() >= BATCH {
                self.import_batch(&mut batch, batch_line, actor, &mut report).await?;
            }
        }
        self.import_batch(&mut batch, batch_line, actor, &mut report).await?;
        let detail = format!(
            "created {}, existing {}, rejected {}",
            report.created,
            report.existing,
            report.rejected_count()
        );
        self.record(AuditEvent::by("member.import", actor, self.clock.now()).detail(detail))
            .await;
        Ok(report)
    }

    /// One transaction; a batch that lost a race with another writer is
    /// tried again, a few times.
    async fn import_batch(
        &self,
        batch: &mut Vec<Member>,
        line: u64,
        actor: &Actor,
        report: &mut ImportReport,
    ) -> Result<(), CoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        let events: Vec<AuditEvent> = batch
            .iter()
            .map(|m| {
                AuditEvent::by("member.created", actor, now)
                    .member(&m.id)
                    .detail("import")
            })
            .collect();
        let mut tries = 0;
        let created = loop {
            tries += 1;
            match self.members.import_members(batch, &events).await {
                // Another writer got in first (the same e-mail, or SQLite's
                // write lock): the batch is read again.
                Err(e) if tries < 5 && is_transient(&e) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50 * tries)).await;
                }
                other => break other,
            }
        }
        .map_err(|e| {
            tracing::error!(error = %e, line, created = report.created, "import.stopped");
            CoreError::Store(e)
        })?;
        for c in created {
            if c {
                report.created += 1;
            } else {
                report.existing += 1;
            }
        }
        batch.clear();
        Ok(())
    }
}

fn is_transient(e: &StoreError) -> bool {
    match e {
        StoreError::Conflict => true,
        StoreError::Backend(m) => m.contains("database is locked") || m.contains("busy"),
        StoreError::NotFound => false,
    }
}

fn invalid_reason(e: CoreError) -> String {
    match e {
        CoreError::Invalid(r) => r,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::delimiter;

    #[test]
    fn semicolons_when_the_header_uses_them() {
        assert_eq!(delimiter(b"email;name\nkari@hk.no;Kari"), b';');
        assert_eq!(delimiter(b"email,name;x\n"), b',');
        assert_eq!(delimiter(b"email\n"), b',');
    }
}
