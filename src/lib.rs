//! dozvon: enforces a sales department's calling regulation over PBX and CRM event streams.
//!
//! Module map:
//! - [`model`]: input events (calls, lead stage changes), outputs (violations, QC reviews), time.
//! - [`codec`]: JSON and Avro (Confluent wire format, single-object, container files) codecs.
//! - [`config`]: TOML configuration with defaults from the SPEC, validation and per-tenant overrides.
//! - [`calendar`]: business days and working-time arithmetic in a tenant's time zone.
//! - [`engine`]: the pure rules engine — per-lead state, episodes, event-time timers, findings.
//! - [`contacts`]: phone and e-mail normalisation, the leads' contact directory, resolution of
//!   calls without `lead_id` and duplicate-lead detection (outside the per-partition engine).
//! - [`demo`]: a simulated sales floor through the engine, findings printed as they happen.
//! - [`replay`]: runs the engine over files (NDJSON or Avro containers) and writes the findings.
//! - [`generator`]: a realistic, seeded generator of calls and lead events for tests, benches and demos.
//! - [`service`]: `dozvon run`, the engine as an exactly-once Kafka service; [`http`] serves its
//!   metrics and health; [`registry`] registers Avro schemas with a Schema Registry.

pub mod admin;
mod ascii;
pub mod calendar;
pub mod changelog;
pub mod codec;
pub mod config;
pub mod contacts;
pub mod demo;
pub mod engine;
pub mod formats;
pub mod generator;
pub mod http;
mod keyhash;
pub mod metrics;
pub mod model;
pub mod registry;
pub mod replay;
pub mod service;
mod slab;
mod spare;
