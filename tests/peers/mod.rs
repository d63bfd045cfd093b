//! Local protocol peers for the receiver tests: an HTTP service that answers as the real ones
//! document and records what it received (`http`), and a real SMTP server, Python's aiosmtpd
//! (`smtp`). Include with `#[path = "peers/mod.rs"] mod peers;` beside the harness.

#![allow(dead_code)]

pub mod http;
pub mod smtp;
