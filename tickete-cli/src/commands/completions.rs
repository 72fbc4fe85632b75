//! `tickete completions <shell>`.

use clap_complete::Shell;

use crate::error::CliError;
use crate::output;

/// Prints the completion script for `shell` on stdout.
pub fn run(shell: Shell) -> Result<(), CliError> {
    let mut command = crate::cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "tickete", &mut script);
    let script = String::from_utf8(script)
        .map_err(|e| CliError::failure(format!("completion script is not UTF-8: {e}")))?;
    output::line(script.trim_end());
    Ok(())
}
