//! The command line: `veghe demo`, `run`, `migrate`, `sim sensors`, `config check`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::system;

#[derive(Debug, Parser)]
#[command(
    name = "veghe",
    version,
    about = "Smart-city sensor and camera-alert pipeline"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the configuration and the local data are.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// TOML configuration file (keys can be overridden by VEGHE_SECTION__KEY).
    #[arg(long, short = 'c', env = "VEGHE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (the embedded store lives here unless store.url is set).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything in one process on embedded defaults: MQTT broker, SQLite store under
    /// the data directory, the sensor simulator, and the dashboard.
    Demo {
        #[command(flatten)]
        store: StoreArgs,
        /// HTTP address of the dashboard and API [default: 127.0.0.1:8080].
        #[arg(long)]
        http: Option<SocketAddr>,
        /// Address of the embedded MQTT broker [default: 127.0.0.1:1883].
        #[arg(long)]
        mqtt: Option<SocketAddr>,
        /// Simulated sensor nodes.
        #[arg(long, default_value_t = 60)]
        sensors: usize,
        /// How often each simulated node reports.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        interval: Duration,
        /// Simulated cameras watched by the vision pipeline (0: none).
        #[arg(long, default_value_t = 24)]
        cameras: usize,
        /// Address of the camera simulator [default: 127.0.0.1:8554].
        #[arg(long)]
        camera_sim: Option<SocketAddr>,
    },
    /// Production: external broker and database as the configuration says.
    Run {
        #[command(flatten)]
        store: StoreArgs,
        /// Overrides http.listen.
        #[arg(long)]
        http: Option<SocketAddr>,
    },
    /// Applies the store's migrations and exits.
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Simulators that feed a running veghe.
    #[command(subcommand)]
    Sim(SimCommand),
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The camera pipeline.
    #[command(subcommand)]
    Vision(VisionCommand),
    /// Users of the dashboard.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Adds a user; the password is read from standard input (first line).
    Add {
        name: String,
        /// dispatcher, supervisor, environment or admin.
        #[arg(long)]
        role: veghe_alerts::Role,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Lists the users and their roles.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum VisionCommand {
    /// Runs the configured model on image files (JPEG or PNG) and prints each detection
    /// as a JSON line: file, class, class_id, score, box [x1, y1, x2, y2] in pixels.
    Detect {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// TOML configuration file (its [vision] section).
        #[arg(long, short = 'c', env = "VEGHE_CONFIG")]
        config: Option<PathBuf>,
        /// Model file (overrides vision.model.path).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Output layout of the model: nanodet, yolov8 or yolox.
        #[arg(long)]
        layout: Option<String>,
        /// Minimum score.
        #[arg(long)]
        threshold: Option<f32>,
    },
    /// Runs only the camera pipeline on the configured cameras and prints its events
    /// as JSON lines until Ctrl-C.
    Run {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Sustained MQTT -> committed readings: veghe on PostgreSQL and SQLite, and a
    /// Python peer, on the same input in one run.
    Ingest(crate::bench::IngestBench),
    /// Alert fan-out: detection events raised at a rate, delivered to many WebSocket
    /// clients; latency p50/p99 and the share delivered.
    Alerts(crate::bench_alerts::AlertsBench),
    /// Camera pipeline: stage times on 640x360 and 1920x1080 frames, a Python peer on
    /// the same frames and model, and the cameras 1 frame/s the machine sustains.
    Vision {
        #[command(flatten)]
        args: crate::bench_vision::VisionBench,
        /// TOML configuration file (its [vision] section).
        #[arg(long, short = 'c', env = "VEGHE_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// A fleet of noise and air-quality nodes over Bucharest Sector 6, publishing to a
    /// broker until Ctrl-C.
    Sensors {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, default_value_t = 50)]
        nodes: usize,
        #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
        broker: String,
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        interval: Duration,
        #[arg(long, default_value_t = 6)]
        seed: u64,
        /// Also register the simulated nodes (public, active) in the store named by
        /// --config/--data, so that they appear on the map.
        #[arg(long)]
        register: bool,
        /// Share of nodes (0..1) whose SDS011 goes silent (reported as sds011_silent).
        #[arg(long, default_value_t = 0.0)]
        silent_sds011: f64,
        /// Probability that garbage bytes precede an SDS011 frame on the UART.
        #[arg(long, default_value_t = 0.0)]
        uart_garbage: f64,
        /// Every node loses WiFi for this long (with --wifi-outage-after).
        #[arg(long, value_parser = humantime::parse_duration)]
        wifi_outage: Option<Duration>,
        /// When the WiFi outage starts, after the fleet starts.
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        wifi_outage_after: Duration,
    },
    /// Simulated police cameras over HTTP (JPEG snapshots and MJPEG) until Ctrl-C:
    /// scripted street scenes the detector recognises, over Bucharest Sector 6.
    Cameras(SimCamerasArgs),
}

#[derive(Debug, Args)]
pub struct SimCamerasArgs {
    /// Simulated cameras.
    #[arg(long, default_value_t = 24)]
    pub count: usize,
    /// Address to serve them on.
    #[arg(long, default_value = "127.0.0.1:8554")]
    pub listen: SocketAddr,
    /// Print a [[cameras]] configuration for veghe (TOML) for these cameras and exit.
    #[arg(long)]
    pub print_config: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Loads and validates a configuration file (with environment overrides).
    Check { file: PathBuf },
}

fn load(store: &StoreArgs, env: &[(String, String)]) -> anyhow::Result<Config> {
    let mut config = Config::load(store.config.as_deref(), env.iter().cloned())?;
    if let Some(data) = &store.data {
        config.data_dir = data.clone();
    }
    Ok(config)
}

/// Runs a parsed command. `env` is the process environment.
pub async fn run(cli: Cli, env: Vec<(String, String)>) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo {
            store,
            http,
            mqtt,
            sensors,
            interval,
            cameras,
            camera_sim,
        } => {
            let mut config = load(&store, &env)?;
            config.camera_simulator.enabled = cameras > 0;
            config.camera_simulator.count = cameras;
            if let Some(addr) = camera_sim {
                config.camera_simulator.listen = addr;
            }
            config.broker.embedded = true;
            if let Some(addr) = mqtt {
                config.broker.listen = addr;
            }
            if let Some(addr) = http {
                config.http.listen = addr;
            }
            config.mqtt.client_id = "veghe-demo-ingest".into();
            config.simulator.enabled = true;
            config.simulator.nodes = sensors;
            config.simulator.interval = interval;
            serve_until_signal(config).await
        }
        Command::Run { store, http } => {
            if store.config.is_none() {
                anyhow::bail!("`veghe run` needs --config FILE (see veghe.example.toml)");
            }
            let mut config = load(&store, &env)?;
            if let Some(addr) = http {
                config.http.listen = addr;
            }
            serve_until_signal(config).await
        }
        Command::Migrate { store } => {
            let config = load(&store, &env)?;
            let db = system::open_store(&config).await?;
            db.close().await;
            println!(
                "store at {} is up to date",
                system::redact(&config.store_url())
            );
            Ok(())
        }
        Command::Sim(SimCommand::Sensors {
            store,
            nodes,
            broker,
            interval,
            seed,
            register,
            silent_sds011,
            uart_garbage,
            wifi_outage,
            wifi_outage_after,
        }) => {
            if !(0.0..=1.0).contains(&silent_sds011) || !(0.0..=1.0).contains(&uart_garbage) {
                anyhow::bail!("--silent-sds011 and --uart-garbage are fractions between 0 and 1");
            }
            let (host, port) = veghe_ingest::mqtt::parse_broker_url(&broker)?;
            let fleet = veghe_fleet_sim::fleet(nodes, seed);
            if register {
                let config = load(&store, &env)?;
                let db = system::open_store(&config).await?;
                for sim in &fleet {
                    db.upsert_node(&sim.node).await?;
                }
                db.close().await;
            }
            let (stop, stop_rx) = tokio::sync::watch::channel(false);
            let sim = veghe_fleet_sim::SimConfig {
                broker_host: host,
                broker_port: port,
                interval,
                client_prefix: "veghe-sim-".into(),
                username: None,
                password: None,
                faults: veghe_fleet_sim::Faults {
                    silent_sds011,
                    uart_garbage,
                    wifi_outage: wifi_outage.map(|d| (wifi_outage_after, d)),
                },
                reconnect_max: Duration::from_secs(30),
            };
            let stats = veghe_fleet_sim::SimStats::new(fleet.len());
            let task = tokio::spawn(veghe_fleet_sim::run(sim, fleet, stats.clone(), stop_rx));
            shutdown_signal().await;
            let _ = stop.send(true);
            task.await.context("simulator task")??;
            println!(
                "readings produced {}, acknowledged by the broker {}",
                stats.total_produced(),
                stats.total_acknowledged()
            );
            Ok(())
        }
        Command::Sim(SimCommand::Cameras(args)) => sim_cameras(args).await,
        Command::User(UserCommand::Add { name, role, store }) => {
            let config = load(&store, &env)?;
            let password = crate::users::read_password(std::io::stdin().lock())?;
            let db = system::open_store(&config).await?;
            let result = crate::users::add(&db, &name, role, &password).await;
            db.close().await;
            result?;
            println!("user {name} added as {role}");
            Ok(())
        }
        Command::User(UserCommand::List { store }) => {
            let config = load(&store, &env)?;
            let db = system::open_store(&config).await?;
            let users = db.users().await;
            db.close().await;
            for u in users? {
                println!("{}\t{}\t{}", u.name, u.role, u.created_at.to_rfc3339());
            }
            Ok(())
        }
        Command::Config(ConfigCommand::Check { file }) => check(&file, &env),
        Command::Vision(VisionCommand::Detect {
            files,
            config,
            model,
            layout,
            threshold,
        }) => {
            let mut config = Config::load(config.as_deref(), env.iter().cloned())?;
            if let Some(model) = model {
                config.vision.model.path = model;
            }
            if let Some(layout) = layout {
                config.vision.model.layout = layout
                    .parse()
                    .map_err(|e: String| anyhow::anyhow!("--layout: {e}"))?;
            }
            if let Some(t) = threshold {
                if !(0.0..=1.0).contains(&t) {
                    anyhow::bail!("--threshold must be between 0 and 1");
                }
                config.vision.model.score_threshold = t;
            }
            let vision = config.vision.clone();
            tokio::task::spawn_blocking(move || {
                crate::vision::detect(&vision, &files, &mut std::io::stdout().lock())
            })
            .await
            .context("detect task")?
        }
        Command::Vision(VisionCommand::Run { store }) => {
            let config = load(&store, &env)?;
            if config.cameras.is_empty() {
                anyhow::bail!("no [[cameras]] in the configuration");
            }
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let pipeline = crate::vision::start_pipeline(&config.vision, config.cameras.clone(), tx)?;
            let print = tokio::spawn(async move {
                while let Some(event) = rx.recv().await {
                    let line = match &event {
                        veghe_vision::VisionEvent::Detection(d) => serde_json::to_string(d),
                        veghe_vision::VisionEvent::Health(h) => serde_json::to_string(h),
                    };
                    if let Ok(line) = line {
                        println!("{line}");
                    }
                }
            });
            shutdown_signal().await;
            pipeline.shutdown().await;
            print.abort();
            Ok(())
        }
        Command::Bench(BenchCommand::Vision { args, config }) => {
            let config = Config::load(config.as_deref(), env.iter().cloned())?;
            crate::bench_vision::run(args, config.vision).await
        }
        Command::Bench(BenchCommand::Alerts(args)) => crate::bench_alerts::run(args).await,
        Command::Bench(BenchCommand::Ingest(args)) => {
            crate::bench::ingest(args, &env).await.map(|_| ())
        }
    }
}

async fn sim_cameras(args: SimCamerasArgs) -> anyhow::Result<()> {
    let url = format!("http://{}", args.listen);
    if args.print_config {
        let cameras = veghe_camera_sim::demo_cameras(args.count, &url);
        #[derive(serde::Serialize)]
        struct Cameras {
            cameras: Vec<veghe_vision::camera::CameraConfig>,
        }
        print!("{}", toml::to_string(&Cameras { cameras }).context("cameras as TOML")?);
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}; pick another address with --listen", args.listen))?;
    let sim = veghe_camera_sim::CameraSim::new(
        veghe_camera_sim::demo_sim_cameras(args.count),
        veghe_camera_sim::SimClock::real(),
    )?;
    println!(
        "veghe: {} simulated cameras on {url}/cameras (snapshot.jpg, stream.mjpeg)  Ctrl-C stops",
        args.count
    );
    veghe_camera_sim::http::serve_with_shutdown(listener, std::sync::Arc::new(sim), shutdown_signal()).await?;
    Ok(())
}

fn check(file: &Path, env: &[(String, String)]) -> anyhow::Result<()> {
    let config = Config::load(Some(file), env.iter().cloned())?;
    println!(
        "{} is valid: store {}, broker {}, http {}, {} configured nodes",
        file.display(),
        system::redact(&config.store_url()),
        config.mqtt.url,
        config.http.listen,
        config.nodes.len()
    );
    Ok(())
}

async fn serve_until_signal(config: Config) -> anyhow::Result<()> {
    let demo = config.camera_simulator.enabled;
    let running = system::start(config).await?;
    println!(
        "veghe: dashboard and API on http://{}  (MQTT {})  Ctrl-C stops",
        running.http_addr, running.mqtt_url
    );
    if demo {
        match crate::users::ensure_demo_dispatcher(&running.store).await {
            Ok(Some((name, password))) => println!(
                "veghe: dispatch wall on http://{}/wall  log in as {name} / {password}  (shown once)",
                running.http_addr
            ),
            Ok(None) => println!(
                "veghe: dispatch wall on http://{}/wall  (the demo dispatcher's password was shown at the first start; `veghe user add` makes another user)",
                running.http_addr
            ),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "demo dispatcher not created"),
        }
    }
    shutdown_signal().await;
    tracing::info!("shutting down: flushing what was received");
    running.shutdown().await
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
