//! `[http]`: where `dozvon run` serves `/metrics`, `/healthz` and `/readyz`.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::values::key;
use super::{ConfigError, Section};

/// `[http]` as written: every key optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttp {
    pub listen: Option<String>,
}

/// The HTTP endpoint of the service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// Address and port to listen on; port 0 takes a free one (the log names it).
    pub listen: SocketAddr,
}

impl Default for HttpConfig {
    /// All interfaces, port 9464 (reachable by a Prometheus in another container).
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 9464)),
        }
    }
}

impl Section for HttpConfig {
    type Raw = RawHttp;

    fn overlay(&self, raw: &RawHttp, table: &str) -> Result<Self, ConfigError> {
        let mut out = self.clone();
        if let Some(text) = &raw.listen {
            out.listen = text.trim().parse().map_err(|_| {
                ConfigError::invalid(
                    key(table, "listen"),
                    format!("must be an address and port like \"0.0.0.0:9464\", got {text:?}"),
                )
            })?;
        }
        Ok(out)
    }

    fn to_raw(&self) -> RawHttp {
        RawHttp {
            listen: Some(self.listen.to_string()),
        }
    }
}
