//! A page as JSON, for scripts: its `error`, `status` and `message`, and the listening ports
//! or a clash's claims where it has them; the dashboard's is its domain and ports.

use serde_json::json;

use super::Page;

impl Page {
    pub(super) fn json(&self) -> String {
        let mut body = match self {
            Page::Dashboard { domain, ports, .. } => {
                json!({ "domain": domain, "ports": ports })
            }
            _ => {
                json!({ "error": self.kind(), "status": self.status(), "message": self.message() })
            }
        };
        if let (Some(listening), Some(map)) = (
            self.ports()
                .filter(|_| !matches!(self, Page::Dashboard { .. })),
            body.as_object_mut(),
        ) {
            map.insert("listening".into(), json!(listening));
        }
        if let (Page::NameClash { claims, .. }, Some(map)) = (self, body.as_object_mut()) {
            let claims: Vec<_> = claims
                .iter()
                .map(|(url, title, claim)| json!({ "port": claim.port, "url": url, "title": title, "dir": claim.dir }))
                .collect();
            map.insert("claims".into(), json!(claims));
        }
        format!("{body}\n")
    }
}
