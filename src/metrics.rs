//! Counters and gauges for `/metrics`, in Prometheus text format.
//!
//! Plain atomics in one static: the hot path pays one relaxed add per event, and the
//! shutdown drain reads `active` without locks.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

pub(crate) static METRICS: Metrics = Metrics::new();

pub(crate) struct Metrics {
    /// Responses by status class: index 0 = 1xx … 4 = 5xx.
    responses: [AtomicU64; 5],
    connect_failures: AtomicU64,
    refusals: AtomicU64,
    active: AtomicI64,
    websockets: AtomicI64,
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
}

impl Metrics {
    const fn new() -> Self {
        Metrics {
            responses: [const { AtomicU64::new(0) }; 5],
            connect_failures: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
            active: AtomicI64::new(0),
            websockets: AtomicI64::new(0),
            bytes_received: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
        }
    }

    pub(crate) fn request_started(&self) {
        self.active.fetch_add(1, Relaxed);
    }

    /// A request is done: `status` 0 means no response was sent.
    pub(crate) fn request_finished(&self, status: u16, received: usize, sent: usize) {
        self.active.fetch_sub(1, Relaxed);
        if (100..600).contains(&status) {
            self.responses[usize::from(status / 100 - 1)].fetch_add(1, Relaxed);
        }
        self.bytes_received.fetch_add(received as u64, Relaxed);
        self.bytes_sent.fetch_add(sent as u64, Relaxed);
    }

    pub(crate) fn connect_failed(&self) {
        self.connect_failures.fetch_add(1, Relaxed);
    }

    pub(crate) fn refused(&self) {
        self.refusals.fetch_add(1, Relaxed);
    }

    pub(crate) fn tunnel_opened(&self) {
        self.websockets.fetch_add(1, Relaxed);
    }

    pub(crate) fn tunnel_closed(&self) {
        self.websockets.fetch_sub(1, Relaxed);
    }

    /// Requests still being served (each holds a client connection).
    pub(crate) fn active(&self) -> i64 {
        self.active.load(Relaxed)
    }

    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        metric(
            &mut out,
            "requests_total",
            "counter",
            "Requests answered, by status class.",
            &self.responses_by_class(),
        );
        for (name, kind, help, value) in [
            (
                "upstream_connect_failures_total",
                "counter",
                "Requests whose upstream could not be connected to.",
                load(&self.connect_failures),
            ),
            (
                "refused_total",
                "counter",
                "Requests refused by policy, host grammar or the loop guard.",
                load(&self.refusals),
            ),
            (
                "active_connections",
                "gauge",
                "Client requests in flight (each holds a client connection).",
                self.active.load(Relaxed),
            ),
            (
                "websocket_tunnels",
                "gauge",
                "Upgraded (WebSocket) connections open now.",
                self.websockets.load(Relaxed),
            ),
            (
                "received_bytes_total",
                "counter",
                "Request body bytes received from clients.",
                load(&self.bytes_received),
            ),
            (
                "sent_bytes_total",
                "counter",
                "Response body bytes sent to clients.",
                load(&self.bytes_sent),
            ),
        ] {
            metric(&mut out, name, kind, help, &[("", value)]);
        }
        out
    }

    /// The responses counted by status class, each with its label.
    fn responses_by_class(&self) -> Vec<(&'static str, i64)> {
        let classes = [
            "{class=\"1xx\"}",
            "{class=\"2xx\"}",
            "{class=\"3xx\"}",
            "{class=\"4xx\"}",
            "{class=\"5xx\"}",
        ];
        classes
            .iter()
            .zip(&self.responses)
            .map(|(label, n)| (*label, load(n)))
            .collect()
    }
}

/// One metric: its help and type lines, then a line per sample.
fn metric(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(&str, i64)]) {
    let _ = writeln!(
        out,
        "# HELP portproxy_{name} {help}\n# TYPE portproxy_{name} {kind}"
    );
    for (labels, value) in samples {
        let _ = writeln!(out, "portproxy_{name}{labels} {value}");
    }
}

fn load(counter: &AtomicU64) -> i64 {
    counter.load(Relaxed) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.request_started();
        m.request_started();
        m.request_finished(502, 10, 20);
        m.request_finished(0, 0, 0);
        m.connect_failed();
        m.tunnel_opened();
        let text = m.render();
        assert!(text.contains("portproxy_requests_total{class=\"5xx\"} 1\n"));
        assert!(text.contains("portproxy_requests_total{class=\"2xx\"} 0\n"));
        assert!(text.contains(
            "# TYPE portproxy_active_connections gauge\nportproxy_active_connections 0\n"
        ));
        assert!(text.contains("portproxy_upstream_connect_failures_total 1\n"));
        assert!(text.contains("portproxy_websocket_tunnels 1\n"));
        assert!(text.contains("portproxy_received_bytes_total 10\n"));
        assert!(text.contains("portproxy_sent_bytes_total 20\n"));
    }
}
