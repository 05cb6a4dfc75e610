//! `veghe`: parses the command line, installs logging, runs the command.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = veghe::cli::Cli::parse();
    let mut filter = std::env::var("VEGHE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,sqlx=warn".to_owned());
    // The embedded broker reports ordinary client disconnects as errors: silent unless
    // asked for by name.
    if !filter.contains("rumqttd") {
        filter.push_str(",rumqttd=off");
    }
    // ONNX Runtime narrates session setup at info level; only its warnings by default.
    if !filter.contains("ort") {
        filter.push_str(",ort=warn");
    }
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(veghe::cli::run(cli, std::env::vars().collect())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
