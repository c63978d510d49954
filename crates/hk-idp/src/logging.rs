//! Logging and traces: text or JSON lines on stderr (colour only at a
//! terminal), and, when `log.otel_endpoint` (`IDP_OTEL_ENDPOINT`) is set,
//! every span exported over OTLP/HTTP to a collector, batched off the
//! request path. The request span carries the request id, route, status,
//! latency, client address and member id; never a secret (the spans have
//! no other fields).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Keeps the trace exporter alive; dropping it (at exit) sends what is left.
pub struct Tracing(Option<SdkTracerProvider>);

impl Drop for Tracing {
    fn drop(&mut self) {
        if let Some(p) = self.0.take()
            && let Err(e) = p.shutdown()
        {
            eprintln!("hk-idp: traces not all exported at exit: {e}");
        }
    }
}

/// Where OTLP/HTTP takes traces: the endpoint's `/v1/traces`.
fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    }
}

fn exporter(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(traces_url(endpoint))
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("hk-idp")
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Sets up the log (`format`: `text` or `json`) and the trace export.
pub fn init(format: &str, otel_endpoint: &str) -> Tracing {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let fmt = if format == "json" {
        fmt.json().boxed()
    } else {
        fmt.boxed()
    };
    let (provider, failed) = match otel_endpoint {
        "" => (None, None),
        e => match exporter(e) {
            Ok(p) => (Some(p), None),
            Err(err) => (None, Some(err)),
        },
    };
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("hk-idp")));
    tracing_subscriber::registry().with(filter).with(fmt).with(otel).init();
    match (&provider, failed) {
        (Some(_), _) => tracing::info!(endpoint = %traces_url(otel_endpoint), "traces.exporting"),
        (None, Some(e)) => tracing::error!(error = %e, "traces.exporter_failed"),
        (None, None) => {}
    }
    Tracing(provider)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_go_to_the_endpoints_v1_traces() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/v1/traces"), "http://c:4318/v1/traces");
    }
}
