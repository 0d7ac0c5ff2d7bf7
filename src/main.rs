//! The `dozvon` command line: thin wrappers over the library's commands.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use dozvon::config::{Config, LogFormat};
use dozvon::generator::{self, GenConfig};
use dozvon::model::Timestamp;
use dozvon::replay::{self, Summary};

/// mimalloc instead of glibc's malloc: the service allocates and frees per record and per
/// commit from several threads, where glibc spent about a quarter of the service's CPU
/// (BENCHMARKS.md, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// dozvon — real-time enforcement of a sales department's calling regulation.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine over call and lead files and write the findings.
    Replay {
        /// Calls: NDJSON (one SPEC §1.1 object per line) or an Avro container file; Bitrix24
        /// rows or Asterisk CDR rows (NDJSON) when the configuration says `[kafka.format]
        /// calls = "bitrix24"` or `"asterisk"` (the legs of a call are merged by linkedid).
        #[arg(long)]
        calls: PathBuf,
        /// Lead events: NDJSON or an Avro container file; Bitrix24 lead records (NDJSON) when
        /// the configuration says `[kafka.format] leads = "bitrix24"`.
        #[arg(long)]
        leads: PathBuf,
        /// Configuration (TOML); SPEC defaults when absent.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Final watermark (RFC 3339); default: the latest event time seen.
        #[arg(long)]
        until: Option<String>,
        /// Directory for violations.ndjson and qc-reviews.ndjson.
        #[arg(long)]
        out: PathBuf,
        /// Print no summary.
        #[arg(long)]
        quiet: bool,
        /// Leave calls without `lead_id` unresolved and flag no duplicate leads (the engine
        /// alone; docs/contacts.md).
        #[arg(long)]
        no_contacts: bool,
    },
    /// A simulated sales floor (20 managers, ~100 leads a day) published to an in-process Kafka
    /// (rdkafka's mock cluster) and processed by the real service; findings are printed as they
    /// are published (a working day in about a minute). Ctrl-C stops it.
    Demo {
        /// Simulated calendar days.
        #[arg(long, default_value_t = 5)]
        days: u32,
        /// Wall-clock seconds per simulated working day.
        #[arg(long, default_value_t = 60.0)]
        seconds_per_day: f64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Configuration (TOML); SPEC defaults when absent.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// The service: consume calls and lead events from Kafka, publish findings (SPEC §6).
    /// SIGTERM / Ctrl-C commit the in-flight batch and exit 0.
    Run {
        /// Configuration (TOML) with the `[kafka]` and `[processing]` tables.
        #[arg(long)]
        config: PathBuf,
    },
    /// Validate a configuration file and print the effective configuration.
    CheckConfig { file: PathBuf },
    /// Generate a realistic dataset: into a directory (calls.ndjson, leads.ndjson) with
    /// `--out`, or published to Kafka topics with `--brokers`.
    Gen {
        #[arg(long, required_unless_present = "brokers", conflicts_with = "brokers")]
        out: Option<PathBuf>,
        /// Publish to Kafka (bootstrap servers) instead of writing files.
        #[arg(long)]
        brokers: Option<String>,
        #[arg(long, default_value = "pbx.calls", requires = "brokers")]
        calls_topic: String,
        #[arg(long, default_value = "crm.leads", requires = "brokers")]
        leads_topic: String,
        /// Events per second over both topics; 0 = as fast as the broker takes them.
        #[arg(long, default_value_t = 0.0, requires = "brokers")]
        rate: f64,
        /// Create missing topics with this many partitions.
        #[arg(long, requires = "brokers")]
        partitions: Option<i32>,
        /// Wire format: json or avro (single-object encoding).
        #[arg(long, default_value = "json", requires = "brokers")]
        encoding: String,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// First local day (YYYY-MM-DD).
        #[arg(long, default_value = "2026-03-02")]
        start: chrono::NaiveDate,
        #[arg(long, default_value_t = 10)]
        days: u32,
        #[arg(long, default_value_t = 20)]
        managers: u32,
        #[arg(long, default_value_t = 100)]
        leads_per_day: u32,
        /// Fraction of records delivered twice.
        #[arg(long, default_value_t = 0.01)]
        duplicate_rate: f64,
        /// Largest delivery delay (e.g. "5m"): records arrive out of order within it.
        #[arg(long, default_value = "5m")]
        disorder: humantime::Duration,
        /// Tenant written into every record (none by default).
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// Exit status of `replay` when it completed but skipped malformed input.
const EXIT_MALFORMED_INPUT: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `run` reads its configuration once, here: it names the log format (errors in it are
    // reported by `run` itself, once logging is set up).
    let run_config = match &cli.command {
        Command::Run { config } => Some(Config::load(config)),
        _ => None,
    };
    let configured = run_config
        .as_ref()
        .and_then(|loaded| loaded.as_ref().ok())
        .map(|c| c.log.format);
    // The demo prints findings on stdout; its service logs only warnings unless RUST_LOG says.
    let level = if matches!(cli.command, Command::Demo { .. }) {
        "warn"
    } else {
        "info"
    };
    init_logging(level, configured);
    match run(cli.command, run_config) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Overrides `[log] format`: `pretty` or `json`.
const LOG_FORMAT_VAR: &str = "DOZVON_LOG_FORMAT";

/// Logs to stderr; `RUST_LOG` filters (default `default_level`); the format is
/// `DOZVON_LOG_FORMAT`, else `[log] format` of `run`'s configuration, else pretty.
/// Colours only on a terminal, so log files and collectors get plain text.
fn init_logging(default_level: &str, configured: Option<LogFormat>) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let from_env = std::env::var(LOG_FORMAT_VAR).ok();
    let format = from_env
        .as_deref()
        .and_then(LogFormat::parse)
        .or(configured)
        .unwrap_or_default();
    match format {
        // Spans (partition, task) are listed with each line.
        LogFormat::Json => builder.json().with_current_span(true).init(),
        LogFormat::Pretty => builder.init(),
    }
    if let Some(text) = from_env.filter(|text| LogFormat::parse(text).is_none()) {
        tracing::warn!("{LOG_FORMAT_VAR}={text:?} is neither \"pretty\" nor \"json\"; ignored");
    }
}

/// The demo's status page, API and metrics on `listen`; a port in use only costs the page.
/// Bound and announced here, before the demo starts: the demo holds the stdout lock while it
/// runs, so the server must never print.
fn demo_server(
    listen: std::net::SocketAddr,
    stats: Arc<dozvon::service::ServiceStats>,
    queries: dozvon::service::QueryClient,
) -> impl std::future::Future<Output = Result<()>> + Send + 'static {
    let bound = std::net::TcpListener::bind(listen).and_then(|listener| {
        listener.set_nonblocking(true)?;
        Ok(listener)
    });
    match &bound {
        Ok(listener) => {
            let shown = match listener.local_addr() {
                Ok(address) if address.ip().is_unspecified() => {
                    format!("127.0.0.1:{}", address.port())
                }
                Ok(address) => address.to_string(),
                Err(_) => listen.to_string(),
            };
            println!("status page: http://{shown}/  (query API /api/v1/…, metrics /metrics)");
        }
        Err(error) => {
            println!("no status page: cannot listen on {listen} ({error}); set [http] listen");
        }
    }
    async move {
        let Ok(listener) = bound else {
            return std::future::pending().await;
        };
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let tenants = vec![dozvon::model::DEFAULT_TENANT.to_owned()];
        dozvon::http::serve(listener, stats, queries, tenants).await?;
        Ok(())
    }
}

/// Sets `stop` on SIGTERM or SIGINT.
async fn stop_on_signal(stop: Arc<std::sync::atomic::AtomicBool>) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM"),
        _ = int.recv() => tracing::info!("SIGINT"),
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Runs blocking `work` on tokio's blocking pool, never on an executor thread; SIGTERM and
/// SIGINT set the stop flag it is given.
fn until_signal<T: Send + 'static>(
    work: impl FnOnce(Arc<std::sync::atomic::AtomicBool>) -> T + Send + 'static,
) -> Result<T> {
    until_signal_serving(work, std::future::pending())
}

/// [`until_signal`] with `server` running beside `work` on the runtime; if the server fails,
/// `work` is told to stop and the server's error is returned once it has.
fn until_signal_serving<T: Send + 'static>(
    work: impl FnOnce(Arc<std::sync::atomic::AtomicBool>) -> T + Send + 'static,
    server: impl std::future::Future<Output = Result<()>> + Send + 'static,
) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let signals = tokio::spawn(stop_on_signal(Arc::clone(&stop)));
        let mut server = tokio::spawn(server);
        let work_stop = Arc::clone(&stop);
        let mut work = tokio::task::spawn_blocking(move || work(work_stop));
        let result = tokio::select! {
            result = &mut work => result,
            served = &mut server => {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                let result = work.await;
                match served {
                    Ok(Err(error)) => return Err(error),
                    Err(error) => return Err(error.into()),
                    Ok(Ok(())) => result,
                }
            }
        };
        server.abort();
        signals.abort();
        Ok(result?)
    })
}

/// `gen --brokers`: the generated records in delivery order to Kafka; Ctrl-C stops early.
fn publish_generated(
    config: &GenConfig,
    options: &generator::publish::PublishOptions,
) -> Result<ExitCode> {
    let mut events = Vec::new();
    generator::generate_into(config, &mut |event| events.push(event));
    let options = options.clone();
    let report = until_signal(move |stop| generator::publish::publish(&events, &options, &stop))??;
    println!(
        "published {} calls and {} lead events in {:.1} s ({:.0} events/s){}",
        report.calls,
        report.leads,
        report.elapsed.as_secs_f64(),
        report.rate(),
        if report.stopped {
            ", stopped early"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn load_config(path: Option<&Path>) -> Result<Arc<Config>> {
    let config = match path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    Ok(Arc::new(config))
}

/// Runs `command`; `run_config` is `run`'s configuration, already read by `main`.
fn run(
    command: Command,
    run_config: Option<Result<Config, dozvon::config::ConfigError>>,
) -> Result<ExitCode> {
    match command {
        Command::Replay {
            calls,
            leads,
            config,
            until,
            out,
            quiet,
            no_contacts,
        } => {
            let config = load_config(config.as_deref())?;
            let until = until
                .map(|u| Timestamp::parse_rfc3339(&u).context("--until"))
                .transpose()?;
            let output = replay::replay_files_with(config, &calls, &leads, until, !no_contacts)?;
            replay::write_outputs(&out, &output)?;
            for bad in &output.malformed {
                eprintln!("skipped {bad}");
            }
            if !quiet {
                println!(
                    "replayed {} events (watermark {}): {} violations, {} QC reviews -> {}",
                    output.events,
                    output
                        .until
                        .map_or_else(|| "-".to_owned(), |t| t.to_rfc3339()),
                    output.violations.len(),
                    output.reviews.len(),
                    out.display()
                );
                if let Some(m) = &output.merger {
                    println!(
                        "asterisk: {} CDR legs merged into {} calls; {} duplicate legs, {} late legs, {} internal calls",
                        m.legs, m.calls, m.duplicate_legs, m.late_legs, m.internal_calls
                    );
                }
                let s = &output.stats;
                let c = &output.contacts;
                println!(
                    "input: {} calls, {} lead events, {} late, {} duplicates, {} calls without lead_id, {} malformed, {} not applicable",
                    s.calls_applied + s.calls_late,
                    s.lead_events_applied + s.lead_events_late,
                    s.calls_late + s.lead_events_late,
                    s.duplicates,
                    c.resolved_calls + c.unresolved_calls,
                    output.malformed.len(),
                    output.skipped
                );
                println!(
                    "contacts: {} calls resolved by phone, {} unresolved, {} duplicate leads\n",
                    c.resolved_calls, c.unresolved_calls, c.duplicate_leads
                );
                print!(
                    "{}",
                    Summary::new(&output.violations, &output.reviews).render()
                );
            }
            if output.malformed.is_empty() {
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{} malformed records skipped", output.malformed.len());
                Ok(ExitCode::from(EXIT_MALFORMED_INPUT))
            }
        }
        Command::Demo {
            days,
            seconds_per_day,
            seed,
            config,
        } => {
            let config = load_config(config.as_deref())?;
            let mut options = dozvon::demo::DemoOptions::default();
            options.generator.days = days;
            options.generator.seed = seed;
            // Simulated days start tomorrow, so event time runs ahead of the wall clock and the
            // service's idle-partition rule (follow the wall clock) never overtakes it.
            options.generator.start = chrono::Local::now().date_naive() + chrono::Days::new(1);
            options.seconds_per_working_day = seconds_per_day;
            println!(
                "dozvon demo: {} managers, ~{} leads a day, {} days from {}; a working day takes ~{} s. Ctrl-C stops.",
                options.generator.managers,
                options.generator.leads_per_day,
                days,
                options.generator.start,
                seconds_per_day
            );
            let stats = Arc::new(dozvon::service::ServiceStats::new());
            let (queries, inbox) = dozvon::service::queries::channel();
            let service = dozvon::demo::DemoService {
                stats: Arc::clone(&stats),
                queries: inbox,
            };
            let server = demo_server(config.http.listen, stats, queries);
            let report = until_signal_serving(
                move |stop| {
                    dozvon::demo::run(
                        &options,
                        &config,
                        service,
                        &mut std::io::stdout().lock(),
                        &stop,
                    )
                },
                server,
            )??;
            println!(
                "demo finished: {} records published, {} findings printed",
                report.published, report.printed
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { config } => {
            let loaded = run_config.unwrap_or_else(|| Config::load(&config));
            let config = Arc::new(loaded?);
            let stats = Arc::new(dozvon::service::ServiceStats::new());
            let (queries, inbox) = dozvon::service::queries::channel();
            let tenants: Vec<String> = std::iter::once(dozvon::model::DEFAULT_TENANT.to_owned())
                .chain(config.tenants.keys().cloned())
                .collect();
            let (listen, http_stats) = (config.http.listen, Arc::clone(&stats));
            let server = async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("[http] listen = \"{listen}\""))?;
                tracing::info!(
                    address = %listener.local_addr()?,
                    "http: serving /, /metrics, /healthz, /readyz, /api/v1"
                );
                dozvon::http::serve(listener, http_stats, queries, tenants).await?;
                Ok(())
            };
            until_signal_serving(
                move |stop| dozvon::service::run_blocking(config, stop, stats, inbox),
                server,
            )??;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { file } => {
            let config = Config::load(&file)?;
            dozvon::engine::Engine::new(Arc::new(config.clone()))?;
            print!("{}", config.to_effective_toml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Gen {
            out,
            brokers,
            calls_topic,
            leads_topic,
            rate,
            partitions,
            encoding,
            seed,
            start,
            days,
            managers,
            leads_per_day,
            duplicate_rate,
            disorder,
            tenant,
        } => {
            let config = GenConfig {
                seed,
                start,
                days,
                managers,
                leads_per_day,
                duplicate_rate,
                max_disorder_ms: i64::try_from(disorder.as_millis()).unwrap_or(i64::MAX),
                tenant,
                ..GenConfig::default()
            };
            if let Some(brokers) = brokers {
                let options = generator::publish::PublishOptions {
                    calls_topic,
                    leads_topic,
                    encoding: match encoding.as_str() {
                        "json" => dozvon::codec::Encoding::Json,
                        "avro" => dozvon::codec::Encoding::AvroSingleObject,
                        other => anyhow::bail!("--encoding must be json or avro, not {other:?}"),
                    },
                    pace: if rate > 0.0 {
                        generator::publish::Pace::Rate(rate)
                    } else {
                        generator::publish::Pace::Unlimited
                    },
                    create_partitions: partitions,
                    ..generator::publish::PublishOptions::new(brokers)
                };
                return publish_generated(&config, &options);
            }
            let Some(out) = out else {
                anyhow::bail!("--out or --brokers is required");
            };
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let dataset = generator::generate(&config);
            let calls_path = out.join("calls.ndjson");
            let leads_path = out.join("leads.ndjson");
            let mut calls = std::io::BufWriter::new(std::fs::File::create(&calls_path)?);
            let mut leads = std::io::BufWriter::new(std::fs::File::create(&leads_path)?);
            dataset.write_ndjson(&mut calls, &mut leads)?;
            println!(
                "wrote {} calls to {} and {} lead events to {}",
                dataset.calls.len(),
                calls_path.display(),
                dataset.leads.len(),
                leads_path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
