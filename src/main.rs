//! The `toolbridge-mcp` binary: parses the command line and hands over to the library.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use toolbridge_mcp::{config::Config, run, telemetry};

#[derive(Parser)]
#[command(
    name = "toolbridge-mcp",
    version,
    about = "MCP gateway for the ToolBridge API"
)]
struct Cli {
    /// Optional TOML config file (lowest precedence after the defaults).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Serve,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => {
                let config = Config::load(cli.config.as_deref())?;
                telemetry::init(&config.log_level, config.log_format);
                run::serve_main(config).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("toolbridge-mcp: {e}");
            ExitCode::FAILURE
        }
    }
}
