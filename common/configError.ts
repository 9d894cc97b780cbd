// A mistake in the configuration file: its syntax, a section's settings, or a file or directory it
// names that cannot be used. The command line answers every one as a usage error (exit 2), whichever
// section and command: the fix is in the file, not in the input.
export class ConfigError extends Error {}
